import { KinesisClient } from "@aws-sdk/client-kinesis";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { NodeHttpHandler } from "@smithy/node-http-handler";

/**
 * Where to reach AWS: nothing for the real thing (the SDK's own chain: env, profile, role), or an endpoint
 * for LocalStack / the embedded stack. `AWS_ENDPOINT_URL` (the SDK's standard variable) is honoured too.
 */
export interface AwsConnection {
  /** @default - AWS_REGION, then "us-east-1" */
  readonly region?: string;
  /** @default - AWS_ENDPOINT_URL, else the service's real endpoint */
  readonly endpoint?: string;
}

function common(conn: AwsConnection = {}) {
  const endpoint = conn.endpoint ?? process.env.AWS_ENDPOINT_URL;
  const region = conn.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
  // Emulators accept any key, but the SDK refuses to sign without one: give local endpoints a dummy pair
  // unless the environment has real ones.
  const local = endpoint !== undefined && /^https?:\/\/(127\.|localhost|\[::1\])/.test(endpoint);
  const credentials =
    local && !process.env.AWS_ACCESS_KEY_ID ? { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } : undefined;
  return { region, ...(endpoint ? { endpoint } : {}), ...(credentials ? { credentials } : {}), maxAttempts: 3 };
}

export function kinesisClient(conn?: AwsConnection): KinesisClient {
  // The Kinesis client speaks HTTP/2 by default; kinesis-mock's plain port (and LocalStack's) does not.
  // NodeHttpHandler is HTTP/1.1 and works against AWS too.
  return new KinesisClient({ ...common(conn), requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000 }) });
}

export function dynamoDbClient(conn?: AwsConnection): DynamoDBClient {
  return new DynamoDBClient(common(conn));
}

export function s3Client(conn?: AwsConnection): S3Client {
  // Path-style addressing: emulators serve buckets under the path, not as sub-domains of 127.0.0.1.
  const c = common(conn);
  return new S3Client({ ...c, forcePathStyle: c.endpoint !== undefined });
}

/** Lambda, for the functions that invoke the finalizer per partition (AWS_ENDPOINT_URL_LAMBDA locally). */
export function lambdaClient(conn?: AwsConnection): LambdaClient {
  return new LambdaClient(common(conn));
}

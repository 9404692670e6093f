/**
 * SDK clients for the CLI: aws-clients.ts' settings, plus the credentials a local stack names in stack.json.
 * aws-clients signs for a local endpoint with s3rver's key only when the environment has no key of its own; a
 * developer with real AWS keys in the environment would then be refused by s3rver. The stack file says what
 * the emulators take, so the CLI uses that for them. (Drop this once AwsConnection takes credentials.)
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { S3Client } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { dynamoDbClient, kinesisClient, s3Client } from "../../lib/io/aws-clients.js";

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface ClientConnection {
  readonly region?: string;
  /** @default - AWS_ENDPOINT_URL, else AWS */
  readonly endpoint?: string;
  /** @default - the SDK's chain (env, profile, role), or s3rver's key for a loopback endpoint */
  readonly credentials?: Credentials;
}

function base(c: ClientConnection) {
  return { region: c.region ?? "us-east-1", ...(c.endpoint ? { endpoint: c.endpoint } : {}), credentials: c.credentials!, maxAttempts: 3 };
}

const opt = (c: ClientConnection) => ({ ...(c.region ? { region: c.region } : {}), ...(c.endpoint ? { endpoint: c.endpoint } : {}) });

export function cliKinesisClient(c: ClientConnection): KinesisClient {
  // HTTP/1.1: kinesis-mock (and LocalStack) do not speak the SDK's default HTTP/2 (see aws-clients.ts).
  return c.credentials ? new KinesisClient({ ...base(c), requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000 }) }) : kinesisClient(opt(c));
}

export function cliDynamoDbClient(c: ClientConnection): DynamoDBClient {
  return c.credentials ? new DynamoDBClient(base(c)) : dynamoDbClient(opt(c));
}

export function cliS3Client(c: ClientConnection): S3Client {
  return c.credentials ? new S3Client({ ...base(c), forcePathStyle: c.endpoint !== undefined }) : s3Client(opt(c));
}

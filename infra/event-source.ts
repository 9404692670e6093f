/**
 * The Kinesis event-source mapping of the shard function, with every setting the runtime relies on
 * (infra/README.md, "Decisions").
 */
import * as iam from "aws-cdk-lib/aws-iam";
import * as kinesis from "aws-cdk-lib/aws-kinesis";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { KinesisEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { FUNCTIONS } from "../lib/contract/index.js";
import { grantObjects } from "./grants.js";
import type { Resolved } from "./props.js";

export function shardEventSource(stream: kinesis.IStream, bucket: s3.IBucket, config: Resolved): KinesisEventSource {
  return new KinesisEventSource(stream, {
    startingPosition: lambda.StartingPosition.TRIM_HORIZON,
    batchSize: config.batchSize,
    maxBatchingWindow: config.maxBatchingWindow,
    parallelizationFactor: config.parallelizationFactor,
    reportBatchItemFailures: true,
    bisectBatchOnError: true,
    retryAttempts: config.retryAttempts,
    maxRecordAge: config.maxRecordAge,
    onFailure: new ScopedS3OnFailureDestination(bucket),
    metricsConfig: { metrics: [lambda.MetricType.EVENT_COUNT] },
  });
}

/**
 * The S3 on-failure destination, with permissions scoped to the keys Lambda writes (the contract's
 * `FUNCTIONS.shard.mapping.writes`). aws-cdk-lib's `S3OnFailureDestination` (which does support Kinesis) grants
 * the function `bucket.grantReadWrite` — read, write and delete on every object — which would undo the prefix
 * scoping of the pipeline's own permissions.
 */
export class ScopedS3OnFailureDestination implements lambda.IEventSourceDlq {
  constructor(private readonly bucket: s3.IBucket) {}

  bind(_target: lambda.IEventSourceMapping, targetHandler: lambda.IFunction): lambda.DlqDestinationConfig {
    // Lambda documents s3:PutObject and s3:ListBucket for S3 destinations.
    grantObjects(targetHandler, this.bucket, { reads: [], writes: FUNCTIONS.shard.mapping.writes });
    iam.Grant.addToPrincipal({ grantee: targetHandler, actions: ["s3:ListBucket"], resourceArns: [this.bucket.bucketArn] });
    return { destination: this.bucket.bucketArn };
  }
}

/**
 * The pipeline's stores: the stream, the table and the bucket, each created unless an existing one is given.
 */
import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as kinesis from "aws-cdk-lib/aws-kinesis";
import * as s3 from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";
import { SPILL, TABLE } from "../lib/contract/index.js";
import type { Resolved } from "./props.js";

export function pipelineStream(scope: Construct, config: Resolved): kinesis.IStream {
  if (config.stream) return config.stream;
  return new kinesis.Stream(scope, "Stream", {
    ...(config.onDemand ? { streamMode: kinesis.StreamMode.ON_DEMAND } : { shardCount: config.shardCount }),
    retentionPeriod: config.retentionPeriod,
    // aws/kinesis unless a key is given: no key policy to manage, and the consumers need no kms: permissions.
    ...(config.encryptionKey
      ? { encryption: kinesis.StreamEncryption.KMS, encryptionKey: config.encryptionKey }
      : { encryption: kinesis.StreamEncryption.MANAGED }),
    removalPolicy: config.removalPolicy,
  });
}

export function pipelineTable(scope: Construct, config: Resolved): dynamodb.ITable {
  if (config.table) return config.table;
  return new dynamodb.Table(scope, "Table", {
    partitionKey: { name: TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: { name: TABLE.sortKey, type: dynamodb.AttributeType.STRING },
    timeToLiveAttribute: TABLE.timeToLive,
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    ...(config.encryptionKey
      ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: config.encryptionKey }
      : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
    removalPolicy: config.removalPolicy,
  });
}

/** The pipeline's bucket and, unless one is given, the bucket that receives its server access logs. */
export function pipelineBucket(scope: Construct, config: Resolved, pipelineName: string): s3.IBucket {
  if (config.bucket) return config.bucket;
  const removeAll = config.removalPolicy === RemovalPolicy.DESTROY;
  const accessLogsBucket =
    config.serverAccessLogsBucket ??
    // No access logs of its own (logging it into itself would log its own deliveries); cdk-nag's S1 recognises
    // a bucket that receives another bucket's access logs and does not ask for them.
    new s3.Bucket(scope, "AccessLogsBucket", {
      // Server access logging delivers only to SSE-S3 buckets.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [{ id: "ExpireAccessLogs", expiration: Duration.days(90) }],
      removalPolicy: config.removalPolicy,
      autoDeleteObjects: removeAll,
    });
  const bucket = new s3.Bucket(scope, "Bucket", {
    ...(config.encryptionKey ? { encryption: s3.BucketEncryption.KMS, encryptionKey: config.encryptionKey, bucketKeyEnabled: true } : { encryption: s3.BucketEncryption.S3_MANAGED }),
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    versioned: config.versioned,
    serverAccessLogsBucket: accessLogsBucket,
    serverAccessLogsPrefix: "sparkless-bucket/",
    lifecycleRules: [
      // Spilled parts are read once, by the finalizer of their batch; spilled node memory (windows, state)
      // lives as long as its DynamoDB item, whose TTL is the batch time + what later batches read + 14 days.
      { id: "ExpireSpilledParts", prefix: SPILL.partsPrefix(pipelineName), expiration: Duration.days(SPILL.partsExpirationDays) },
      { id: "ExpireSpilledMemory", prefix: SPILL.memoryPrefix(pipelineName), expiration: Duration.days(SPILL.memoryExpirationDays) },
      { id: "AbortIncompleteUploads", abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ...(config.versioned ? [{ id: "ExpireOldVersions", noncurrentVersionExpiration: Duration.days(30) }] : []),
    ],
    removalPolicy: config.removalPolicy,
    autoDeleteObjects: removeAll,
  });
  if (removeAll) acknowledgeAutoDeleteProvider(scope);
  return bucket;
}

/**
 * `autoDeleteObjects` (only with RemovalPolicy.DESTROY) adds aws-cdk-lib's stack-wide custom-resource
 * provider, whose function and role the construct does not shape.
 */
function acknowledgeAutoDeleteProvider(scope: Construct): void {
  const provider = Stack.of(scope).node.tryFindChild("Custom::S3AutoDeleteObjectsCustomResourceProvider");
  if (!provider) return;
  Validations.of(provider).acknowledge(
    {
      id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
      reason: "aws-cdk-lib's S3 auto-delete provider uses AWSLambdaBasicExecutionRole; it exists only with RemovalPolicy.DESTROY (development stacks) and its role is not configurable.",
    },
    {
      id: "AwsSolutions-L1",
      reason: "aws-cdk-lib chooses the runtime of its S3 auto-delete provider; it is not configurable.",
    },
  );
}

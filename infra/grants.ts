/**
 * Each function's permissions, derived from the contract's {@link FUNCTIONS} and nothing else: the actions it
 * names on the table, the stream (or the Kafka cluster: kafka-grants.ts) and the bucket's prefixes
 * (`<prefix>*`), never `*`.
 */
import * as iam from "aws-cdk-lib/aws-iam";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as kinesis from "aws-cdk-lib/aws-kinesis";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { BUCKET_PREFIXES, type BucketPrefix, type FunctionContract, INVOKE_ACTION, type InvokedFunction, OBJECT_ACTIONS } from "../lib/contract/index.js";
import { grantKafkaCode } from "./kafka-grants.js";
import type { ResolvedKafka } from "./props.js";

/** The stores a pipeline's functions use. */
export interface PipelineStores {
  readonly table: dynamodb.ITable;
  readonly bucket: s3.IBucket;
  /** The Kinesis stream; undefined when the pipeline reads Kafka. */
  readonly stream: kinesis.IStream | undefined;
  /** The Kafka source; undefined when the pipeline reads Kinesis. */
  readonly kafka?: ResolvedKafka;
  /** The customer-managed key of any of them. */
  readonly encryptionKey?: kms.IKey;
}

/**
 * What a function's code may do with a customer-managed key: SSE-KMS puts need a data key, gets and Kinesis
 * reads decrypt; DynamoDB encrypts and decrypts through the table's own grant.
 */
export const KEY_ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"] as const;

/**
 * Grants `grantee` what `contract` says its code does. The event-source mapping's own needs (`contract.mapping`)
 * are granted by the mapping: aws-cdk-lib's KinesisEventSource reads the stream, {@link grantObjects} the
 * on-failure destination.
 */
export function grantFunction(grantee: iam.IGrantable, contract: FunctionContract, stores: PipelineStores): void {
  const add = (actions: readonly string[], resources: string[]) => {
    if (actions.length) iam.Grant.addToPrincipal({ grantee, actions: [...actions], resourceArns: resources });
  };
  add(contract.table, [stores.table.tableArn]);
  if (stores.stream) add(contract.stream, [stores.stream.streamArn]);
  if (stores.kafka) grantKafkaCode(grantee, stores.kafka);
  grantObjects(grantee, stores.bucket, { reads: contract.reads, writes: contract.writes });
  if (stores.encryptionKey) add(KEY_ACTIONS, [stores.encryptionKey.keyArn]);
}

/**
 * `lambda:InvokeFunction` on exactly the functions `contract.invokes` names among `targets` (the finalizer, when
 * the pipeline fans out): the unqualified ARN, no `:*`, since the fan-out invokes `$LATEST` by name.
 */
export function grantInvokes(grantee: iam.IGrantable, contract: FunctionContract, targets: Partial<Record<InvokedFunction, lambda.IFunction>>): void {
  const arns = contract.invokes.flatMap((kind) => (targets[kind] ? [targets[kind].functionArn] : []));
  if (arns.length) iam.Grant.addToPrincipal({ grantee, actions: [INVOKE_ACTION], resourceArns: arns });
}

/** Object permissions by prefix, plus ListBucket when reading (a missing key is then a 404, not a 403). */
export function grantObjects(grantee: iam.IGrantable, bucket: s3.IBucket, access: { reads: readonly BucketPrefix[]; writes: readonly BucketPrefix[] }): void {
  const objects = (prefixes: readonly BucketPrefix[]) => prefixes.map((prefix) => bucket.arnForObjects(`${BUCKET_PREFIXES[prefix]}*`));
  if (access.reads.length) {
    iam.Grant.addToPrincipal({ grantee, actions: [OBJECT_ACTIONS.list], resourceArns: [bucket.bucketArn] });
    iam.Grant.addToPrincipal({ grantee, actions: [OBJECT_ACTIONS.read], resourceArns: objects(access.reads) });
  }
  if (access.writes.length) iam.Grant.addToPrincipal({ grantee, actions: [OBJECT_ACTIONS.write], resourceArns: objects(access.writes) });
}

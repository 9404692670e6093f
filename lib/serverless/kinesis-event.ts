import type { LambdaKinesisRecord } from "../io/kinesis/records.js";

export { shardIdOf } from "../io/kinesis/records.js";

/**
 * The shapes of Lambda's Kinesis event and context that the runtime reads, declared here so that lib/ does
 * not depend on the `aws-lambda` types (functions/ adapts the real ones, which match structurally).
 */
export interface KinesisRecordLike extends LambdaKinesisRecord {
  readonly eventSourceARN?: string;
}

export interface KinesisEventLike {
  readonly Records: readonly KinesisRecordLike[];
}

export interface InvocationContextLike {
  getRemainingTimeInMillis(): number;
  readonly awsRequestId?: string;
}

/** Lambda's partial-batch response: the first record not committed, so Lambda resumes there. */
export interface BatchResponse {
  readonly batchItemFailures: Array<{ readonly itemIdentifier: string }>;
}

/**
 * The shapes of Lambda's Kinesis event and context that the runtime reads, declared here so that lib/ does
 * not depend on the `aws-lambda` types (functions/ adapts the real ones, which match structurally).
 */
export interface KinesisRecordLike {
  readonly kinesis: {
    readonly partitionKey: string;
    readonly sequenceNumber: string;
    /** Base64 of the record's bytes. */
    readonly data: string;
    /** Epoch SECONDS, with a fraction. */
    readonly approximateArrivalTimestamp: number;
  };
  /** `shardId-000000000000:49590338271490256608559692538361571095921575989136588898` */
  readonly eventID: string;
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

/** The shard an event's records come from (every record of one invocation shares it). */
export function shardIdOf(record: KinesisRecordLike): string {
  const i = record.eventID.indexOf(":");
  return i > 0 ? record.eventID.slice(0, i) : record.eventID;
}

/**
 * The shapes Lambda gives a Kinesis-triggered function, written out here because `lib/` must not depend on the
 * `aws-lambda` types package. Field for field what AWS sends (see "Example event" in the Lambda developer guide,
 * "Using Lambda with Kinesis").
 */

/** One record of a Kinesis event. */
export interface KinesisStreamRecordLike {
  kinesis: {
    kinesisSchemaVersion: "1.0";
    partitionKey: string;
    /** Decimal string of up to 129 digits: compare as BigInt. */
    sequenceNumber: string;
    /** The record's bytes, base64. Lambda does not de-aggregate KPL records: this may be an aggregate. */
    data: string;
    /** Epoch SECONDS with a fraction (milliseconds), e.g. 1545084650.987. */
    approximateArrivalTimestamp: number;
  };
  eventSource: "aws:kinesis";
  eventVersion: "1.0";
  /** `shardId-000000000006:<sequenceNumber>` */
  eventID: string;
  eventName: "aws:kinesis:record";
  invokeIdentityArn: string;
  awsRegion: string;
  eventSourceARN: string;
}

/** The event of one invocation: records of one shard, in sequence-number order. */
export interface KinesisStreamEventLike {
  Records: KinesisStreamRecordLike[];
}

/** The subset of Lambda's Node.js context object that a handler can rely on. */
export interface LambdaContextLike {
  /** Milliseconds left before the invocation times out. */
  getRemainingTimeInMillis(): number;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  /** A string, as in the Node.js runtime. */
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
}

/** Partial batch response (`FunctionResponseTypes: [ReportBatchItemFailures]`). */
export interface StreamsEventResponseLike {
  batchItemFailures?: { itemIdentifier?: string | null }[] | null;
}

/** A Kinesis-triggered handler, as the bundled Lambda asset exports it (async style). */
export type KinesisHandler = (
  event: KinesisStreamEventLike,
  context: LambdaContextLike,
) => Promise<StreamsEventResponseLike | void | null | undefined>;

/** What both pollers count (their `stats()`). */
export interface PollerCounts {
  readonly state: "new" | "starting" | "running" | "stopping" | "stopped";
  readonly recordsRead: number;
  /** Records the function processed successfully. */
  readonly recordsDelivered: number;
  /** Records given up on (on-failure destination). */
  readonly recordsDiscarded: number;
  readonly invocations: number;
  /** Invocations that failed: thrown errors, timeouts, invalid partial responses. */
  readonly functionErrors: number;
  readonly timeouts: number;
  /** Invocations that returned batchItemFailures. */
  readonly partialFailures: number;
  readonly inFlight: number;
}

/** Why records were discarded, as Lambda names it in `requestContext.condition`. */
export type FailureCondition = "RetryAttemptsExhausted" | "RecordAgeExceeded";

/**
 * The envelope of what Lambda sends an on-failure destination when it discards records, the same for Kinesis and
 * Kafka mappings; each adds its own batch info (`KinesisBatchInfo`, `KafkaBatchInfo`). For S3 destinations Lambda
 * adds the invocation record (`payload`).
 */
export interface FailureEnvelope {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: FailureCondition;
    /** Invocations that carried these records (0 when they expired before any). */
    approximateInvokeCount: number;
  };
  responseContext: {
    statusCode: number;
    executedVersion: string;
    /** "Unhandled" for a thrown error or a timeout; absent after a partial batch response. */
    functionError?: string;
  };
  version: "1.0";
  /** ISO-8601 time of the discard. */
  timestamp: string;
  /** The event of the discarded records, JSON (what an S3 destination receives besides the metadata). */
  payload?: string;
}

/**
 * What Lambda sends to an on-failure destination for a Kinesis event source mapping ("Retain discarded batch
 * records for a Kinesis Data Streams event source"). Metadata only: the records stay in the stream (until
 * retention ends) and can be re-read with the sequence numbers.
 */
export interface KinesisFailureRecord extends FailureEnvelope {
  KinesisBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    /** ISO-8601 */
    approximateArrivalOfFirstRecord: string;
    /** ISO-8601 */
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
}

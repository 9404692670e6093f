import type { BucketPrefix } from "./bucket.js";

/**
 * What each of a pipeline's functions does to the stores, as IAM sees it. The construct grants each role exactly
 * this (test/infra/grants.test.ts) and the runtime is checked to stay inside it on every path
 * (test/serverless/contract-calls.test.ts), so a grant cannot drift from the code: a new store call is added
 * here first, and both tests follow.
 *
 * Every function finalizes (the shard function inline after a commit that completes a batch, the ticker on
 * its schedule, the finalizer when invoked), so all three write outputs, checkpoints, spills and failed batches.
 */
export interface FunctionContract {
  /** The export of the pipeline module that Lambda invokes (`index.<handler>` in the bundle). */
  readonly handler: string;
  /** What it is, for descriptions and logs. */
  readonly role: string;
  /** DynamoDB actions on the pipeline's table (no index, no other table). */
  readonly table: readonly TableAction[];
  /** Prefixes it reads objects under (s3:GetObject), each `<prefix>*`. */
  readonly reads: readonly BucketPrefix[];
  /** Prefixes it writes objects under (s3:PutObject), each `<prefix>*`. */
  readonly writes: readonly BucketPrefix[];
  /**
   * Kinesis actions on the pipeline's stream made by the function's code. Nothing in the runtime deletes objects,
   * so there is no field for it: add one with the code that needs it.
   */
  readonly stream: readonly StreamAction[];
  /**
   * The pipeline's functions this one invokes ({@link INVOKE_ACTION}, asynchronously): the finalizer, once per
   * partition, when the pipeline has more than one finalizer partition. Granted on exactly those functions, and
   * only when P > 1 (with P = 1 the runtime finalizes inline and fans nothing out).
   */
  readonly invokes: readonly InvokedFunction[];
  /**
   * What the function's Kinesis event-source mapping does with the function's role: read the stream, and write
   * the records it discards to the on-failure destination.
   */
  readonly mapping?: { readonly stream: readonly StreamAction[]; readonly writes: readonly BucketPrefix[] };
}

export type TableAction =
  | "dynamodb:GetItem"
  | "dynamodb:PutItem"
  | "dynamodb:UpdateItem"
  | "dynamodb:DeleteItem"
  | "dynamodb:Query"
  | "dynamodb:BatchWriteItem"
  | "dynamodb:BatchGetItem";

export type StreamAction =
  | "kinesis:ListShards"
  | "kinesis:GetShardIterator"
  | "kinesis:GetRecords"
  | "kinesis:DescribeStream"
  | "kinesis:DescribeStreamSummary"
  | "kinesis:DescribeStreamConsumer"
  | "kinesis:ListStreams"
  | "kinesis:SubscribeToShard";

/** The functions another may invoke: the finalizer, for one partition (event `{ "partition": n }`). */
export type InvokedFunction = "finalizer";

/** What fanning out to a function takes: an asynchronous `Invoke` (`InvocationType: "Event"`). */
export const INVOKE_ACTION = "lambda:InvokeFunction";

/** The event the finalizer function is invoked with to finalize one partition (absent: partition 0). */
export interface FinalizerEvent {
  readonly partition?: number;
}

/** S3 actions by what they do to an object; `s3:ListBucket` (on the bucket) comes with reading. */
export const OBJECT_ACTIONS = { read: "s3:GetObject", write: "s3:PutObject", list: "s3:ListBucket" } as const;

/**
 * Reading, leasing and finishing batches: status, progress, parts, memory, lease (dynamodb-pipeline-store.ts);
 * BatchGetItem reads and BatchWriteItem indexes mapWithState's per-key state (dynamodb-keyed-state-store.ts).
 */
const FINALIZE_TABLE: readonly TableAction[] = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:Query",
  "dynamodb:BatchGetItem",
  "dynamodb:BatchWriteItem",
];
/** Graph records, the metadata checkpoint and spilled payloads are read back; the rest is write-only. */
const FINALIZE_READS: readonly BucketPrefix[] = ["checkpoint", "spill"];
const FINALIZE_WRITES: readonly BucketPrefix[] = ["output", "checkpoint", "spill", "deadLetter"];

export const FUNCTIONS = {
  /** Stage 1: the target of the Kinesis event-source mapping; finalizes inline what its commit completed. */
  shard: {
    handler: "shardHandler",
    role: "shard handler (stage 1)",
    // BatchWriteItem (in FINALIZE_TABLE) also writes the parts of a commit.
    table: FINALIZE_TABLE,
    reads: FINALIZE_READS,
    // late/: event-time records older than the watermark.
    writes: [...FINALIZE_WRITES, "late"],
    // The finalizer lists the shards to decide completeness.
    stream: ["kinesis:ListShards"],
    mapping: {
      // What aws-cdk-lib's KinesisEventSource grants (Stream.grantRead): Lambda's poller reads with this role.
      stream: [
        "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:ListShards",
        "kinesis:SubscribeToShard",
        "kinesis:DescribeStream",
        "kinesis:ListStreams",
        "kinesis:DescribeStreamConsumer",
      ],
      writes: ["esmFailures"],
    },
    // The commit that completes a batch fans it out to the finalizer partitions.
    invokes: ["finalizer"],
  },
  /** On the schedule: follows the shards, probes quiet ones, then finalizes what became complete. */
  ticker: {
    handler: "tickerHandler",
    role: "ticker",
    table: FINALIZE_TABLE,
    reads: FINALIZE_READS,
    writes: FINALIZE_WRITES,
    stream: ["kinesis:ListShards", "kinesis:GetShardIterator", "kinesis:GetRecords"],
    // Each tick fans the complete batches out to the finalizer partitions.
    invokes: ["finalizer"],
  },
  /** Finalizes one partition (`{ "partition": n }`) when the shard function or the ticker fans a batch out, or on demand. */
  finalizer: {
    handler: "finalizerHandler",
    role: "finalizer (stage 2)",
    table: FINALIZE_TABLE,
    reads: FINALIZE_READS,
    writes: FINALIZE_WRITES,
    stream: ["kinesis:ListShards"],
    invokes: [],
  },
} as const satisfies Record<string, FunctionContract>;

export type FunctionKind = keyof typeof FUNCTIONS;

/** The functions in a fixed order (construct ids, tests, tools). */
export const FUNCTION_KINDS: readonly FunctionKind[] = ["shard", "ticker", "finalizer"];

/** The handler names, as the bundle exports them. */
export const HANDLERS = {
  shard: FUNCTIONS.shard.handler,
  ticker: FUNCTIONS.ticker.handler,
  finalizer: FUNCTIONS.finalizer.handler,
} as const;

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
   * Kinesis actions on the pipeline's stream made by the function's code. Nothing in the runtime deletes objects
   * or invokes another function, so there is no field for either: add one with the code that needs it.
   */
  readonly stream: readonly StreamAction[];
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
  },
  /** On the schedule: follows the shards, probes quiet ones, then finalizes what became complete. */
  ticker: {
    handler: "tickerHandler",
    role: "ticker",
    table: FINALIZE_TABLE,
    reads: FINALIZE_READS,
    writes: FINALIZE_WRITES,
    stream: ["kinesis:ListShards", "kinesis:GetShardIterator", "kinesis:GetRecords"],
  },
  /** Finalizes on demand (`aws lambda invoke`), outside a shard invocation and the schedule. */
  finalizer: {
    handler: "finalizerHandler",
    role: "finalizer (stage 2)",
    table: FINALIZE_TABLE,
    reads: FINALIZE_READS,
    writes: FINALIZE_WRITES,
    stream: ["kinesis:ListShards"],
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

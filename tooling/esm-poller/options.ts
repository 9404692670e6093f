import type { KinesisClient } from "@aws-sdk/client-kinesis";
import { ValidationError } from "../../lib/core/errors.js";
import type { CheckpointStore } from "./checkpoint-store.js";
import { MemoryCheckpointStore } from "./checkpoint-store.js";
import type { KinesisFailureRecord, KinesisHandler } from "./types.js";

export type StartingPosition = "TRIM_HORIZON" | "LATEST" | "AT_TIMESTAMP";

/**
 * The settings of an `AWS::Lambda::EventSourceMapping` on a Kinesis stream (same names, camelCase, durations in
 * the unit of the name), plus what the local poller needs to run it.
 */
export interface EsmPollerOptions {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  readonly handler: KinesisHandler;
  /** Records per invocation, 1..10000. @default 100 */
  readonly batchSize?: number;
  /** How long to gather records before invoking, 0..300_000 ms. @default 0 (invoke as soon as records are read) */
  readonly maximumBatchingWindowMs?: number;
  /** Where a shard without a checkpoint starts. @default "TRIM_HORIZON" */
  readonly startingPosition?: StartingPosition;
  /** For AT_TIMESTAMP: the time to start from. Required then. */
  readonly startingPositionTimestamp?: Date;
  /** Split a failing batch in two and retry the halves separately. @default false */
  readonly bisectBatchOnFunctionError?: boolean;
  /** Retries of a failing batch before its records are discarded, -1..10000; -1 = until they expire. @default -1 */
  readonly maximumRetryAttempts?: number;
  /** Records older than this are discarded unprocessed, -1 or 60..604800; -1 = never. @default -1 */
  readonly maximumRecordAgeSeconds?: number;
  /** Honour `batchItemFailures` in the handler's response. @default false */
  readonly reportBatchItemFailures?: boolean;
  /** Concurrent batches per shard, 1..10, split by partition key (order is kept per key). @default 1 */
  readonly parallelizationFactor?: number;
  /** The function's timeout: a handler still running after it has failed. @default 3_000 (Lambda's default) */
  readonly functionTimeoutMs?: number;
  /** Receives the on-failure record of each discarded set of records. @default - discarded records are only counted */
  readonly onFailure?: (failure: KinesisFailureRecord) => Promise<void>;
  /** Where shard positions are kept. @default - in memory (a restart starts from `startingPosition`) */
  readonly checkpointStore?: CheckpointStore;
  /** Pause between reads of a shard that returned nothing (Lambda: about once per second). @default 1_000 */
  readonly pollIntervalMs?: number;
  /** Pause before retrying a failed batch. @default - pollIntervalMs */
  readonly retryDelayMs?: number;
  /** How often ListShards runs to find new shards (a shard reaching its end triggers one too). @default 10_000 */
  readonly shardDiscoveryIntervalMs?: number;
  /** Records read ahead per shard and not yet processed before reading pauses. @default max(10_000, 2 × batchSize × parallelizationFactor) */
  readonly maxBufferedRecordsPerShard?: number;
  /** @default "sparkless-local" */
  readonly functionName?: string;
  /** @default "128" */
  readonly memoryLimitInMB?: string;
  /** Region in the event's `awsRegion` and the function ARN. @default - from the stream ARN */
  readonly region?: string;
  /** The function's execution role, the event's `invokeIdentityArn`. @default "arn:aws:iam::<account>:role/<functionName>-role" */
  readonly roleArn?: string;
  /** The clock that record ages are measured by (tests move it). @default Date.now */
  readonly now?: () => number;
}

/** Every option with its default applied. */
export type ResolvedOptions = Required<
  Omit<EsmPollerOptions, "onFailure" | "startingPositionTimestamp" | "region" | "roleArn">
> &
  Pick<EsmPollerOptions, "onFailure" | "startingPositionTimestamp" | "region" | "roleArn">;

function intIn(name: string, value: number, min: number, max: number, also?: number): void {
  if (!Number.isInteger(value) || ((value < min || value > max) && value !== also)) {
    const allowed = also === undefined ? `${min}..${max}` : `${also} or ${min}..${max}`;
    throw new ValidationError("EsmSettingOutOfRange", `${name} must be an integer in ${allowed}, got ${value}`, {
      name,
      value,
    });
  }
}

/** Applies the defaults (in this one place) and checks every value against the range AWS accepts. */
export function resolveOptions(o: EsmPollerOptions): ResolvedOptions {
  const batchSize = o.batchSize ?? 100;
  const parallelizationFactor = o.parallelizationFactor ?? 1;
  const pollIntervalMs = o.pollIntervalMs ?? 1_000;
  const r: ResolvedOptions = {
    kinesis: o.kinesis,
    streamName: o.streamName,
    handler: o.handler,
    batchSize,
    maximumBatchingWindowMs: o.maximumBatchingWindowMs ?? 0,
    startingPosition: o.startingPosition ?? "TRIM_HORIZON",
    startingPositionTimestamp: o.startingPositionTimestamp,
    bisectBatchOnFunctionError: o.bisectBatchOnFunctionError ?? false,
    maximumRetryAttempts: o.maximumRetryAttempts ?? -1,
    maximumRecordAgeSeconds: o.maximumRecordAgeSeconds ?? -1,
    reportBatchItemFailures: o.reportBatchItemFailures ?? false,
    parallelizationFactor,
    functionTimeoutMs: o.functionTimeoutMs ?? 3_000,
    onFailure: o.onFailure,
    checkpointStore: o.checkpointStore ?? new MemoryCheckpointStore(),
    pollIntervalMs,
    retryDelayMs: o.retryDelayMs ?? pollIntervalMs,
    shardDiscoveryIntervalMs: o.shardDiscoveryIntervalMs ?? 10_000,
    maxBufferedRecordsPerShard: o.maxBufferedRecordsPerShard ?? Math.max(10_000, 2 * batchSize * parallelizationFactor),
    functionName: o.functionName ?? "sparkless-local",
    memoryLimitInMB: o.memoryLimitInMB ?? "128",
    region: o.region,
    roleArn: o.roleArn,
    now: o.now ?? Date.now,
  };
  if (!r.streamName) throw new ValidationError("EsmStreamNameMissing", "streamName is required");
  intIn("batchSize", r.batchSize, 1, 10_000);
  if (!(r.maximumBatchingWindowMs >= 0 && r.maximumBatchingWindowMs <= 300_000)) {
    throw new ValidationError(
      "EsmSettingOutOfRange",
      `maximumBatchingWindowMs must be in 0..300000, got ${r.maximumBatchingWindowMs}`,
      { name: "maximumBatchingWindowMs", value: r.maximumBatchingWindowMs },
    );
  }
  intIn("maximumRetryAttempts", r.maximumRetryAttempts, 0, 10_000, -1);
  intIn("maximumRecordAgeSeconds", r.maximumRecordAgeSeconds, 60, 604_800, -1);
  intIn("parallelizationFactor", r.parallelizationFactor, 1, 10);
  if (!["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"].includes(r.startingPosition)) {
    throw new ValidationError("EsmStartingPositionInvalid", `startingPosition must be TRIM_HORIZON, LATEST or AT_TIMESTAMP, got ${r.startingPosition}`, {
      value: r.startingPosition,
    });
  }
  if (r.startingPosition === "AT_TIMESTAMP" && !r.startingPositionTimestamp) {
    throw new ValidationError("EsmStartingTimestampMissing", "startingPosition AT_TIMESTAMP needs startingPositionTimestamp");
  }
  if (!(r.functionTimeoutMs > 0)) {
    throw new ValidationError("EsmSettingOutOfRange", `functionTimeoutMs must be positive, got ${r.functionTimeoutMs}`, {
      name: "functionTimeoutMs",
      value: r.functionTimeoutMs,
    });
  }
  return r;
}

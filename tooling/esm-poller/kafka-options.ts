import { ValidationError } from "../../lib/core/errors.js";
import type { KafkaFailureRecord, KafkaHandler } from "./kafka-types.js";
import type { StartingPosition } from "./options.js";

/**
 * The settings of an `AWS::Lambda::EventSourceMapping` on a Kafka topic (self-managed or MSK; same names,
 * camelCase, durations in the unit of the name), plus what the local poller needs to run it.
 */
export interface KafkaEsmPollerOptions {
  /** `host:port` of the brokers the poller connects to. */
  readonly brokers: readonly string[];
  readonly topic: string;
  /** The mapping's consumer group (Lambda's default is the mapping's UUID). */
  readonly consumerGroupId: string;
  readonly handler: KafkaHandler;
  /** What the event's `bootstrapServers` says. @default - brokers, comma-separated */
  readonly bootstrapServers?: string;
  /** An MSK cluster's ARN: the event is `aws:kafka` with this `eventSourceArn`. @default - a self-managed cluster (`SelfManagedKafka`) */
  readonly eventSourceArn?: string;
  /** Records per invocation, 1..10000. @default 100 */
  readonly batchSize?: number;
  /** How long to gather records before invoking, 0..300_000 ms. @default 500 (Lambda's default for Kafka) */
  readonly maximumBatchingWindowMs?: number;
  /**
   * Where a partition starts when the consumer group has no committed offset for it. A group that already
   * committed offsets resumes from them, as Lambda does ("Lambda ignores the StartingPosition").
   * @default "TRIM_HORIZON"
   */
  readonly startingPosition?: StartingPosition;
  /** For AT_TIMESTAMP: the time to start from. Required then. */
  readonly startingPositionTimestamp?: Date;
  /**
   * Retries of a failing batch before its records are discarded, -1..10000; -1 = until they succeed. With an
   * on-failure destination and -1, Lambda applies 10.
   * @default -1
   */
  readonly maximumRetryAttempts?: number;
  /** Records older than this (by their timestamp) are discarded unprocessed, -1 or 60..604800; -1 = never. @default -1 */
  readonly maximumRecordAgeSeconds?: number;
  /**
   * Split a batch whose invocation failed in two and retry each half as a batch of its own, down to single
   * records, so one bad record is discarded alone (provisioned mode on AWS). Splitting is not a retry.
   * @default false
   */
  readonly bisectBatchOnFunctionError?: boolean;
  /** Honour `batchItemFailures` (`{ partition: "<topic>-<partition>", offset }`) in the handler's response. @default false */
  readonly reportBatchItemFailures?: boolean;
  /** The function's timeout: a handler still running after it has failed. @default 3_000 */
  readonly functionTimeoutMs?: number;
  /** Receives the on-failure record of each discarded set of records. @default - discarded records are only counted */
  readonly onFailure?: (failure: KafkaFailureRecord) => Promise<void>;
  /** Pause before retrying a failed batch. @default 1_000 */
  readonly retryDelayMs?: number;
  /** How often topic metadata is read again, so partitions added to the topic are consumed. @default 10_000 */
  readonly partitionDiscoveryIntervalMs?: number;
  /** Records read ahead and not yet processed before fetching pauses. @default max(10_000, 2 × batchSize) */
  readonly maxBufferedRecords?: number;
  /** @default "sparkless-local" */
  readonly functionName?: string;
  /** @default "128" */
  readonly memoryLimitInMB?: string;
  /** @default "us-east-1" */
  readonly region?: string;
  /** @default "000000000000" */
  readonly account?: string;
  /** The clock record ages are measured by (tests move it). @default Date.now */
  readonly now?: () => number;
}

export type ResolvedKafkaOptions = Required<Omit<KafkaEsmPollerOptions, "onFailure" | "startingPositionTimestamp" | "eventSourceArn">> &
  Pick<KafkaEsmPollerOptions, "onFailure" | "startingPositionTimestamp" | "eventSourceArn">;

function intIn(name: string, value: number, min: number, max: number, also?: number): void {
  if (!Number.isInteger(value) || ((value < min || value > max) && value !== also)) {
    const allowed = also === undefined ? `${min}..${max}` : `${also} or ${min}..${max}`;
    throw new ValidationError("EsmSettingOutOfRange", `${name} must be an integer in ${allowed}, got ${value}`, { name, value });
  }
}

/** Applies the defaults (in this one place) and checks every value against the range AWS accepts. */
export function resolveKafkaOptions(o: KafkaEsmPollerOptions): ResolvedKafkaOptions {
  const batchSize = o.batchSize ?? 100;
  const retries = o.maximumRetryAttempts ?? -1;
  const r: ResolvedKafkaOptions = {
    brokers: o.brokers,
    topic: o.topic,
    consumerGroupId: o.consumerGroupId,
    handler: o.handler,
    bootstrapServers: o.bootstrapServers ?? o.brokers.join(","),
    eventSourceArn: o.eventSourceArn,
    batchSize,
    maximumBatchingWindowMs: o.maximumBatchingWindowMs ?? 500,
    startingPosition: o.startingPosition ?? "TRIM_HORIZON",
    startingPositionTimestamp: o.startingPositionTimestamp,
    // "When you configure both infinite retries and an on-failure destination, Lambda automatically applies a
    // maximum of 10 retry attempts" (Lambda guide, Kafka on-failure destinations).
    maximumRetryAttempts: retries === -1 && o.onFailure ? 10 : retries,
    maximumRecordAgeSeconds: o.maximumRecordAgeSeconds ?? -1,
    reportBatchItemFailures: o.reportBatchItemFailures ?? false,
    bisectBatchOnFunctionError: o.bisectBatchOnFunctionError ?? false,
    functionTimeoutMs: o.functionTimeoutMs ?? 3_000,
    onFailure: o.onFailure,
    retryDelayMs: o.retryDelayMs ?? 1_000,
    partitionDiscoveryIntervalMs: o.partitionDiscoveryIntervalMs ?? 10_000,
    maxBufferedRecords: o.maxBufferedRecords ?? Math.max(10_000, 2 * batchSize),
    functionName: o.functionName ?? "sparkless-local",
    memoryLimitInMB: o.memoryLimitInMB ?? "128",
    region: o.region ?? "us-east-1",
    account: o.account ?? "000000000000",
    now: o.now ?? Date.now,
  };
  if (r.brokers.length === 0) throw new ValidationError("KafkaBrokersMissing", "brokers is empty: give at least one host:port to connect to");
  if (!r.topic) throw new ValidationError("KafkaTopicMissing", "topic is required");
  if (!r.consumerGroupId) throw new ValidationError("KafkaConsumerGroupMissing", "consumerGroupId is required (Lambda uses the mapping's UUID when the template sets none)");
  intIn("batchSize", r.batchSize, 1, 10_000);
  intIn("maximumBatchingWindowMs", r.maximumBatchingWindowMs, 0, 300_000);
  intIn("maximumRetryAttempts", r.maximumRetryAttempts, 0, 10_000, -1);
  intIn("maximumRecordAgeSeconds", r.maximumRecordAgeSeconds, 60, 604_800, -1);
  if (!["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"].includes(r.startingPosition)) {
    throw new ValidationError("EsmStartingPositionInvalid", `startingPosition must be TRIM_HORIZON, LATEST or AT_TIMESTAMP, got ${r.startingPosition}`, { value: r.startingPosition });
  }
  if (r.startingPosition === "AT_TIMESTAMP" && !r.startingPositionTimestamp) {
    throw new ValidationError("EsmStartingTimestampMissing", "startingPosition AT_TIMESTAMP needs startingPositionTimestamp");
  }
  if (!(r.functionTimeoutMs > 0)) {
    throw new ValidationError("EsmSettingOutOfRange", `functionTimeoutMs must be positive, got ${r.functionTimeoutMs}`, { name: "functionTimeoutMs", value: r.functionTimeoutMs });
  }
  return r;
}

import type { KafkaRecordMeta } from "./kafka/record-meta.js";

/**
 * A partition of an ordered log with offsets — the unit the serverless commit protocol tracks progress in.
 * A Kinesis shard (offsets: sequence numbers) or a Kafka topic-partition (offsets: its message
 * offsets, `shardId` = `<topic>-<partition>`), as Lambda's MSK and self-managed Kafka event sources deliver
 * them. What is said here holds for both: offsets are decimal strings compared as BigInt, a partition may
 * close and hand over to children (Kinesis resharding; a Kafka partition never closes, it only has new
 * siblings), and one invocation carries records of one partition in offset order.
 */

/** A partition as the log lists it. */
export interface LogPartition {
  readonly shardId: string;
  readonly parentShardId?: string;
  readonly adjacentParentShardId?: string;
  /** The partition takes no new records (a split or merged Kinesis shard). */
  readonly closed: boolean;
}

/** What a probe after a partition's committed offset found. */
export interface ProbeResult {
  readonly hasRecords: boolean;
  /** No next iterator: the partition is closed and read to its end. */
  readonly ended: boolean;
}

/** The log's partitions, for the finalizer (is every partition accounted for?) and the ticker (probes). */
export interface PartitionDirectory {
  list(): Promise<LogPartition[]>;
  /** Looks for records after `afterOffset` (from the start when undefined). */
  probe(shardId: string, afterOffset: string | undefined): Promise<ProbeResult>;
}

/** One record of a partition as an event source mapping hands it to a function. */
export interface LogRecord {
  /** Decimal string (a Kinesis sequence number has up to 129 digits): compare as BigInt, never as Number. */
  readonly offset: string;
  /** The partition key (Kinesis) or message key (Kafka). */
  readonly key: string;
  /** When the log received it, epoch ms. */
  readonly arrivalTime: number;
  /** The payload, base64, as Lambda's events carry it. */
  readonly data: string;
  /** Kafka: the record's topic, partition, timestamp, key bytes and headers, built when asked (absent on Kinesis). */
  kafkaMeta?(): KafkaRecordMeta;
}

/** One invocation's records: one partition, in offset order, and how a payload splits into user records. */
export interface LogBatch {
  readonly shardId: string;
  readonly records: readonly LogRecord[];
  /**
   * One record's bytes as its user records (Kinesis: KPL de-aggregation; a log without aggregation passes the
   * bytes through as one). A failure is a value, for the dead-letter output.
   */
  readonly unpack: (bytes: Uint8Array, key: string) => UnpackResult;
  /** Whether `unpack` could do anything but pass `bytes` through (checked first, so plain records cost nothing). */
  readonly packed: (bytes: Uint8Array) => boolean;
}

/** One user record out of a log record (Kinesis: one record of a KPL aggregate; 0 for a plain record). */
export interface UserRecord {
  readonly data: Uint8Array;
  readonly partitionKey: string;
  readonly subSequenceNumber: number;
}

/** A record's user records, or why its bytes cannot be split (a value, never a throw). */
export type UnpackResult =
  | { readonly ok: true; readonly records: readonly UserRecord[] }
  | { readonly ok: false; readonly code: string; readonly reason: string };

/** The parents a partition must be drained of before it is read, so a key's records stay in order. */
export function parentsOf(p: LogPartition): string[] {
  return [p.parentShardId, p.adjacentParentShardId].filter((id): id is string => !!id);
}

/**
 * Whether a partition may be read: every parent is drained, or no longer listed (a parent past the log's
 * retention was drained long ago). `drained(id)` is undefined for a partition not known.
 */
export function parentsDrained(parents: readonly string[], drained: (shardId: string) => boolean | undefined): boolean {
  return parents.every((id) => drained(id) ?? true);
}

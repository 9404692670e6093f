/**
 * A simulated Kinesis stream as Lambda shows it to the serverless runtime: records per shard with Kinesis-like
 * sequence numbers, events shaped as Lambda builds them, and a shard directory that answers as ListShards and
 * GetRecords would. The test driver is built on these; tests that need finer control use them directly.
 */
import type { InvocationContextLike, KinesisEventLike, KinesisRecordLike } from "../serverless/kinesis-event.js";
import type { ProbeResult, ShardDirectory, ShardInfo } from "../serverless/runtime-deps.js";

/** One record on a simulated shard. */
export interface SimRecord {
  readonly shardId: string;
  /** A decimal string of up to 129 digits, as Kinesis hands them: compare as BigInt. */
  readonly seq: string;
  /** Arrival time (Kinesis' `approximateArrivalTimestamp`), epoch ms. */
  readonly arrival: number;
  /** The record's bytes, base64 (as Lambda hands them). */
  readonly data: string;
  readonly partitionKey: string;
}

/** Kinesis-like sequence numbers: long decimal strings, ordered as BigInts, never as Numbers. */
export function sequenceNumber(shardIndex: number, i: number): string {
  return `4959${String(shardIndex).padStart(4, "0")}${String(i + 1).padStart(48, "0")}`;
}

/** `shardId-00000000000N`, as Kinesis names shards. */
export const shardName = (i: number): string => `shardId-${String(i).padStart(12, "0")}`;

/** Base64 of a string (UTF-8) or bytes, as Lambda hands a record's data. */
export function b64(data: string | Uint8Array): string {
  return Buffer.from(data).toString("base64");
}

/** The Kinesis event Lambda would deliver for `records` (all from one shard). */
export function kinesisEvent(records: readonly SimRecord[]): KinesisEventLike {
  return {
    Records: records.map(
      (r): KinesisRecordLike => ({
        kinesis: { partitionKey: r.partitionKey, sequenceNumber: r.seq, data: r.data, approximateArrivalTimestamp: r.arrival / 1000 },
        eventID: `${r.shardId}:${r.seq}`,
      }),
    ),
  };
}

/** A Lambda context with a fixed remaining time. */
export const lambdaContext = (remainingMs = 60_000): InvocationContextLike => ({ getRemainingTimeInMillis: () => remainingMs, awsRequestId: "test" });

/** A Lambda context whose remaining time is read from a function on every call (deadline tests). */
export const timedContext = (remainingMs: () => number): InvocationContextLike => ({ getRemainingTimeInMillis: remainingMs, awsRequestId: "timed" });

/**
 * One shard's records, sequence numbers from {@link sequenceNumber}. `data` is encoded to base64; `base64` is
 * passed through as Lambda's `data` field unchanged (for corrupt input). Partition key "pk" unless given.
 */
export function shardRecords(
  shardIndex: number,
  shardId: string,
  items: ReadonlyArray<{ arrival: number; partitionKey?: string } & ({ data: string | Uint8Array } | { base64: string })>,
): SimRecord[] {
  return items.map((r, i) => ({
    shardId,
    seq: sequenceNumber(shardIndex, i),
    arrival: r.arrival,
    data: "base64" in r ? r.base64 : b64(r.data),
    partitionKey: r.partitionKey ?? "pk",
  }));
}

/**
 * The stream's shards as a test's model says: `records` per shard id, and `visible` deciding which ListShards
 * shows (change it to simulate resharding). A probe finds the records after a sequence number; a closed shard
 * with none left is at its end.
 */
export class SimShards implements ShardDirectory {
  visible: ShardInfo[];
  constructor(
    readonly records: Map<string, SimRecord[]>,
    visible: ShardInfo[],
  ) {
    this.visible = visible;
  }

  async list(): Promise<ShardInfo[]> {
    return this.visible.slice();
  }

  async probe(shardId: string, afterSeq: string | undefined): Promise<ProbeResult> {
    const after = afterSeq === undefined ? -1n : BigInt(afterSeq);
    const rest = (this.records.get(shardId) ?? []).filter((r) => BigInt(r.seq) > after);
    const info = this.visible.find((s) => s.shardId === shardId);
    return { hasRecords: rest.length > 0, ended: rest.length === 0 && (info?.closed ?? false) };
  }
}

/**
 * A simulated Kinesis stream and Lambda for the serverless runtime: records per shard, events as Lambda
 * builds them, a shard directory that answers as ListShards/GetRecords would, and a manual clock.
 */
import { Seconds } from "../../lib/core/duration.js";
import type { KinesisEventLike, KinesisRecordLike } from "../../lib/serverless/kinesis-event.js";
import type { ProbeResult, ShardDirectory, ShardInfo } from "../../lib/serverless/runtime-deps.js";

export interface SimRecord {
  readonly shardId: string;
  readonly seq: string;
  readonly arrival: number;
  readonly data: string;
  readonly partitionKey: string;
}

/** Kinesis-like sequence numbers: long decimal strings, ordered as BigInts, never as Numbers. */
export function sequenceNumber(shardIndex: number, i: number): string {
  return `4959${String(shardIndex).padStart(4, "0")}${String(i + 1).padStart(48, "0")}`;
}

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

export const lambdaContext = (remainingMs = 60_000) => ({ getRemainingTimeInMillis: () => remainingMs, awsRequestId: "test" });

/** The stream's shards as the test's model says; `visible` decides which ListShards shows (resharding). */
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

export const IDLE_AFTER = Seconds(1);

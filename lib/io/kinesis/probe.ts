import { GetRecordsCommand, type KinesisClient } from "@aws-sdk/client-kinesis";
import type { ProbeResult } from "../ordered-log.js";
import { shardIterator, startAfter } from "./iterators.js";
import { type StreamRef, streamParams } from "./stream-ref.js";

/**
 * Looking past a shard's committed position without consuming anything: the ticker's probe (is the shard
 * idle? drained?) and the CLI's count of records behind. Kinesis has no "count" or "peek" call; reading is
 * the honest way. An empty page with MillisBehindLatest > 0 is a gap in the shard (trimmed or sparse data),
 * not its end: both read on.
 */

/** Pages followed before a shard with only empty pages is called idle. */
const PROBE_PAGES = 5;

/**
 * Whether there are records after `afterSeq` (from the start when undefined), and whether the shard ended
 * there: no next iterator, i.e. closed and read to its end (SHARD_END).
 */
export async function probeShard(client: KinesisClient, stream: StreamRef, shardId: string, afterSeq: string | undefined): Promise<ProbeResult> {
  let iterator = await shardIterator(client, stream, shardId, startAfter(afterSeq));
  const arn = streamParams(stream).StreamARN;
  for (let page = 0; page < PROBE_PAGES && iterator; page++) {
    const r = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1, ...(arn ? { StreamARN: arn } : {}) }));
    if ((r.Records ?? []).length > 0) return { hasRecords: true, ended: false };
    iterator = r.NextShardIterator;
    if (!r.MillisBehindLatest) break;
  }
  return { hasRecords: false, ended: iterator === undefined || iterator === null };
}

/** What {@link countRecordsAfter} found. */
export interface RecordsAfter {
  /** Records after the position, at most the cap. */
  readonly count: number;
  /** More than the cap were there: `count` is a lower bound. */
  readonly capped: boolean;
  /** MillisBehindLatest of the first read. */
  readonly millis?: number;
  /** Arrival time (epoch ms) of the first record after the position. */
  readonly oldestArrival?: number;
}

/**
 * Records after `afterSeq` in a shard (from TRIM_HORIZON when there is none), up to `cap`, in at most
 * `maxCalls` GetRecords calls (Kinesis allows 5 per second per shard).
 */
export async function countRecordsAfter(
  client: KinesisClient,
  stream: StreamRef,
  shardId: string,
  afterSeq: string | undefined,
  { cap, maxCalls }: { readonly cap: number; readonly maxCalls: number },
): Promise<RecordsAfter> {
  let iterator = await shardIterator(client, stream, shardId, startAfter(afterSeq));
  let n = 0;
  let millis: number | undefined;
  let oldestArrival: number | undefined;
  for (let call = 0; call < maxCalls && iterator && n <= cap; call++) {
    const limit = Math.min(10_000, cap - n + 1);
    const r = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }));
    const records = r.Records ?? [];
    millis ??= r.MillisBehindLatest;
    oldestArrival ??= records[0]?.ApproximateArrivalTimestamp?.getTime();
    n += records.length;
    iterator = r.NextShardIterator;
    // Caught up: MillisBehindLatest 0 on a page that was not full.
    if (!r.MillisBehindLatest && records.length < limit) break;
  }
  return {
    count: Math.min(n, cap),
    capped: n > cap,
    ...(millis !== undefined ? { millis } : {}),
    ...(oldestArrival !== undefined ? { oldestArrival } : {}),
  };
}

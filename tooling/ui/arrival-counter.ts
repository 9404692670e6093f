/**
 * Records received per batch of a deployed pipeline, for the input-rate chart: the pipeline keeps no per-batch
 * count (a shard folds records into partials), so the monitor reads the stream itself, as `sparkless status`
 * does to count what is behind, and buckets each record by its arrival time into the batch ending at
 * `floor(arrival / B) * B + B` — the batch the shard stage gives it in arrival-time mode, except a record
 * delivered after its batch was finalized, which the pipeline moves into the first open batch.
 *
 * Incremental: each shard is read from where the last poll stopped (its first poll from `since`), at most a few
 * GetRecords calls per poll, so it shares a shard's 5 reads a second with the event source mapping politely.
 */
import { GetRecordsCommand, type KinesisClient } from "@aws-sdk/client-kinesis";
import { shardIterator } from "../../lib/io/kinesis/iterators.js";

/** GetRecords calls per shard per poll. */
const CALLS_PER_POLL = 2;

export class ArrivalCounter {
  private readonly counts = new Map<number, number>();
  private readonly after = new Map<string, string>();

  constructor(
    private readonly kinesis: KinesisClient,
    private readonly stream: string,
    private readonly batchMs: number,
    /**
     * Arrivals before this (epoch ms) are not read; batches that begin before it have no count. Undefined:
     * the pipeline's whole history is shown, so read each shard from its start.
     */
    private readonly since: number | undefined,
    /** The pipeline's first batch: records that arrived before it started belong to it. */
    private readonly firstBatch: number,
  ) {}

  /** Reads what arrived on each shard since the last poll. */
  async poll(shardIds: readonly string[]): Promise<void> {
    await Promise.all(shardIds.map((id) => this.pollShard(id)));
  }

  /** Records that arrived in the batch ending at `time`; undefined for a batch that began before counting did. */
  count(time: number): number | undefined {
    if (this.since !== undefined && time - this.batchMs < this.since) return undefined;
    return this.counts.get(time) ?? 0;
  }

  private async pollShard(shardId: string): Promise<void> {
    const last = this.after.get(shardId);
    let iterator = await shardIterator(
      this.kinesis,
      this.stream,
      shardId,
      last ? { at: "AFTER_SEQUENCE_NUMBER", sequenceNumber: last } : this.since === undefined ? { at: "TRIM_HORIZON" } : { at: "AT_TIMESTAMP", timestamp: this.since },
    );
    for (let call = 0; call < CALLS_PER_POLL && iterator; call++) {
      const r = await this.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const rec of r.Records ?? []) {
        const arrival = rec.ApproximateArrivalTimestamp?.getTime();
        if (arrival !== undefined && (this.since === undefined || arrival >= this.since)) {
          const t = Math.max(this.firstBatch, Math.floor(arrival / this.batchMs) * this.batchMs + this.batchMs);
          this.counts.set(t, (this.counts.get(t) ?? 0) + 1);
        }
        this.after.set(shardId, rec.SequenceNumber!);
      }
      iterator = r.NextShardIterator;
      if (!r.MillisBehindLatest) break;
    }
  }
}

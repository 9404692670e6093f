import { kafkaPartitionId } from "../io/kafka/lambda-event.js";
import type { LogPartition, PartitionDirectory, ProbeResult } from "../io/ordered-log.js";

/**
 * A Kafka topic's partitions as the ticker and the finalizer see them, as KinesisShardDirectory (kinesis-shards.ts) shows a
 * stream's shards. Kafka's metadata lists the partitions (a partition never closes; added ones simply appear);
 * a probe needs no read: a partition is idle when its committed offset has reached the high watermark (the
 * offset the next record will get), which one ListOffsets call answers for every partition at once.
 *
 * Known limit: a transactional producer's commit markers take offsets that are never delivered, so a partition
 * whose last entry is a marker looks busy (committed + 1 < high watermark) until a record follows. Use the
 * read-committed offsets (last stable offset) as `highWatermark` when the topic is written transactionally.
 */

/** One partition's offsets, as Kafka's metadata and ListOffsets give them. */
export interface PartitionOffsets {
  readonly partition: number;
  /** The first offset still in the log (decimal string). */
  readonly earliest: string;
  /** The offset the next record will get (decimal string). */
  readonly highWatermark: string;
}

/** Reads every partition of the topic with its offsets (one metadata and one ListOffsets request). */
export type TopicOffsetsReader = () => Promise<readonly PartitionOffsets[]>;

export class KafkaPartitionDirectory implements PartitionDirectory {
  /** The offsets of the last list(), which the probes that follow it in the same tick reuse. */
  private snapshot: { at: number; offsets: Promise<Map<string, PartitionOffsets>> } | undefined;

  constructor(
    private readonly topic: string,
    private readonly readOffsets: TopicOffsetsReader,
    /** How long the probes may reuse list()'s offsets, ms. @default 5000 */
    private readonly reuseMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  async list(): Promise<LogPartition[]> {
    const offsets = await this.refresh();
    return [...offsets.keys()].map((shardId) => ({ shardId, closed: false }));
  }

  async probe(shardId: string, afterOffset: string | undefined): Promise<ProbeResult> {
    const fresh = this.snapshot && this.now() - this.snapshot.at <= this.reuseMs ? await this.snapshot.offsets : await this.refresh();
    const p = fresh.get(shardId);
    // A partition the topic no longer lists (deleted with its topic) has nothing to read.
    if (!p) return { hasRecords: false, ended: false };
    const next = afterOffset === undefined ? BigInt(p.earliest) : BigInt(afterOffset) + 1n;
    return { hasRecords: next < BigInt(p.highWatermark), ended: false };
  }

  private refresh(): Promise<Map<string, PartitionOffsets>> {
    const offsets = this.readOffsets().then((list) => new Map(list.map((p) => [kafkaPartitionId(this.topic, p.partition), p])));
    this.snapshot = { at: this.now(), offsets };
    offsets.catch(() => (this.snapshot = undefined));
    return offsets;
  }
}

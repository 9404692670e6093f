/**
 * `sparkless push --kafka`'s sender: records to one Kafka topic in batches, accounting for every record as
 * `put-records.ts` does for Kinesis — sent, skipped (over the broker's default message size), or failed (the
 * producer gave up after its retries).
 */
import { produce } from "../../lib/io/kafka/produce.js";
import type { NotPut, PutStats } from "./put-records.js";

/** The broker's default `message.max.bytes` (1 MB and a record batch's overhead): a bigger record is refused. */
export const MAX_KAFKA_RECORD_BYTES = 1_000_000;
/** Records per produce request. */
const BATCH_RECORDS = 500;
/** Bytes per produce request (well under the broker's default request size). */
const BATCH_BYTES = 1024 * 1024;

export interface KafkaEntry {
  readonly data: Uint8Array;
  /** Undefined: no key (the producer spreads such records over the partitions). */
  readonly key: string | undefined;
  readonly line: number;
}

export interface KafkaRecordProducerOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  /** Told after each produce request. */
  readonly onRequest?: () => void;
  readonly onNotPut?: (entry: NotPut & { readonly kind: "skipped" | "failed" }) => void;
}

export class KafkaRecordProducer {
  readonly stats: PutStats = { records: 0, bytes: 0, requests: 0, retriedRecords: 0, retriedRequests: 0, skipped: [], failed: [] };
  private pending: KafkaEntry[] = [];
  private pendingBytes = 0;

  constructor(private readonly o: KafkaRecordProducerOptions) {}

  async add(entry: KafkaEntry): Promise<void> {
    if (entry.data.length > MAX_KAFKA_RECORD_BYTES) {
      const skipped = { line: entry.line, reason: `${entry.data.length} bytes is over the broker's default record limit of ${MAX_KAFKA_RECORD_BYTES} bytes` };
      this.stats.skipped.push(skipped);
      this.o.onNotPut?.({ ...skipped, kind: "skipped" });
      return;
    }
    if (this.pending.length >= BATCH_RECORDS || this.pendingBytes + entry.data.length > BATCH_BYTES) await this.send();
    this.pending.push(entry);
    this.pendingBytes += entry.data.length;
  }

  /** Sends what is buffered. */
  async flush(): Promise<void> {
    await this.send();
  }

  private async send(): Promise<void> {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.pendingBytes = 0;
    try {
      // One batch at a time, each acknowledged by all in-sync replicas before the next: a key's records keep
      // the order of the input lines in their partition.
      await produce({ bootstrapServers: this.o.brokers, clientId: "sparkless-push" }, this.o.topic, batch.map((e) => ({ value: e.data, key: e.key ?? null })));
      this.stats.records += batch.length;
      this.stats.bytes += batch.reduce((n, e) => n + e.data.length, 0);
    } catch (error) {
      const reason = (error as Error).message;
      for (const e of batch) {
        this.stats.failed.push({ line: e.line, reason });
        this.o.onNotPut?.({ line: e.line, reason, kind: "failed" });
      }
    } finally {
      this.stats.requests++;
      this.o.onRequest?.();
    }
  }
}

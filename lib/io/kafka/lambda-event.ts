import type { LogBatch, LogRecord, UnpackResult } from "../ordered-log.js";
import type { KafkaHeader, KafkaRecordMeta } from "./record-meta.js";

/**
 * What Lambda's Kafka event source mappings (Amazon MSK: `aws:kafka`; self-managed: `SelfManagedKafka`) hand a
 * function, and the same records as batches of an ordered log. Declared here, not imported from `aws-lambda`
 * (lib/ declares the shapes it reads; functions/ passes the real ones, which match structurally).
 *
 * One invocation may carry several topic-partitions: `records` is keyed by `<topic>-<partition>`, each list in
 * offset order. Each becomes its own {@link LogBatch} — its own progress item and commit — exactly as a Kinesis
 * shard's batch: the partition plays the shard, the offset the sequence number.
 */
export interface LambdaKafkaRecord {
  readonly topic: string;
  readonly partition: number;
  /** A JSON number (Kafka's int64; offsets past 2^53 do not occur in practice). */
  readonly offset: number;
  /** Epoch ms. */
  readonly timestamp: number;
  readonly timestampType: string;
  /** Base64 of the key's bytes; absent or null for a record without a key. */
  readonly key?: string | null;
  /** Base64 of the value's bytes; absent or null for a tombstone. */
  readonly value?: string | null;
  /** Each header as `{ name: [byte, byte, ...] }`. */
  readonly headers?: ReadonlyArray<Readonly<Record<string, readonly number[]>>>;
}

export interface LambdaKafkaEvent {
  readonly eventSource: string;
  readonly eventSourceArn?: string;
  readonly bootstrapServers?: string;
  readonly records: Readonly<Record<string, readonly LambdaKafkaRecord[]>>;
}

/**
 * Lambda's partial-batch response for Kafka: the first record not committed of each partition that stopped
 * early, named by `<topic>-<partition>` and offset (Lambda resumes each such partition there; the others
 * succeeded as a whole).
 */
export interface KafkaBatchResponse {
  readonly batchItemFailures: Array<{ readonly itemIdentifier: { readonly partition: string; readonly offset: number } }>;
}

/** Whether an event is one of Lambda's Kafka events (and not a Kinesis one). */
export function isLambdaKafkaEvent(event: unknown): event is LambdaKafkaEvent {
  return typeof event === "object" && event !== null && typeof (event as { records?: unknown }).records === "object" && !Array.isArray((event as { records?: unknown }).records);
}

/** The partition's id where progress is tracked: `<topic>-<partition>`, as Lambda keys the event's records. */
export function kafkaPartitionId(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/**
 * A Kafka record as a log record. Kafka needs no de-aggregation; its metadata (key bytes, headers) is built only
 * when a decoder or extractor asks, through {@link KafkaLogRecord.kafkaMeta}.
 */
export class KafkaLogRecord implements LogRecord {
  readonly offset: string;
  /** The key's base64, as Lambda delivers it ("" without a key): what a dead letter's `partitionKey` shows. */
  readonly key: string;
  readonly arrivalTime: number;
  readonly data: string;

  constructor(private readonly raw: LambdaKafkaRecord) {
    this.offset = String(raw.offset);
    this.key = raw.key ?? "";
    this.arrivalTime = raw.timestamp;
    // A tombstone's value is null: it reaches the decoder as zero bytes (its meta says so: no value, no bytes).
    this.data = raw.value ?? "";
  }

  kafkaMeta(): KafkaRecordMeta {
    const raw = this.raw;
    const headers: KafkaHeader[] = [];
    for (const h of raw.headers ?? []) for (const [key, bytes] of Object.entries(h)) headers.push({ key, value: Uint8Array.from(bytes) });
    return {
      topic: raw.topic,
      partition: raw.partition,
      offset: this.offset,
      timestamp: raw.timestamp,
      timestampType: raw.timestampType,
      key: raw.key ? new Uint8Array(Buffer.from(raw.key, "base64")) : undefined,
      headers,
    };
  }
}

const passThrough = (bytes: Uint8Array, key: string): UnpackResult => ({ ok: true, records: [{ data: bytes, partitionKey: key, subSequenceNumber: 0 }] });
const neverPacked = () => false;

/**
 * The event's records as one batch per topic-partition, each in offset order, partitions in the order of the
 * event's keys. Lambda already sends each partition in order; a list that is not (a hand-built event) is sorted,
 * as the commit protocol needs offsets to rise within a batch (an offset given twice is taken once).
 */
export function kafkaLogBatches(event: LambdaKafkaEvent): LogBatch[] {
  const batches: LogBatch[] = [];
  for (const list of Object.values(event.records)) {
    if (list.length === 0) continue;
    const records: KafkaLogRecord[] = new Array(list.length);
    let ordered = true;
    for (let i = 0; i < list.length; i++) {
      records[i] = new KafkaLogRecord(list[i]!);
      if (i > 0 && list[i]!.offset <= list[i - 1]!.offset) ordered = false;
    }
    const first = list[0]!;
    batches.push({ shardId: kafkaPartitionId(first.topic, first.partition), records: ordered ? records : inOrder(records), unpack: passThrough, packed: neverPacked });
  }
  return batches;
}

/** Sorted by offset, each offset once. */
function inOrder(records: KafkaLogRecord[]): KafkaLogRecord[] {
  const sorted = [...records].sort((a, b) => (BigInt(a.offset) < BigInt(b.offset) ? -1 : BigInt(a.offset) > BigInt(b.offset) ? 1 : 0));
  return sorted.filter((r, i) => i === 0 || r.offset !== sorted[i - 1]!.offset);
}

/** The partial-batch response entry that makes Lambda resume `partitionId` at `offset`. */
export function kafkaItemFailure(partitionId: string, offset: string): KafkaBatchResponse["batchItemFailures"][number] {
  return { itemIdentifier: { partition: partitionId, offset: Number(offset) } };
}

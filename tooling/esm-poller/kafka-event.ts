/**
 * Kafka records as Lambda puts them in an event: bytes base64, headers as byte arrays, grouped by
 * `<topic>-<partition>`, and the envelope's size (invoke.ts's payloadBatchLength fits records to the 6 MB cap).
 */
import type { KafkaEventLike, KafkaRecordLike } from "./kafka-types.js";

/** A record read from a partition, ready to go into an event. */
export interface BufferedKafkaRecord {
  readonly record: KafkaRecordLike;
  /** Bytes it adds to the event JSON (its own JSON, a comma, and its group's key at worst). */
  readonly bytes: number;
}

/** What the client hands over for one record (kafkajs' `KafkaMessage`, narrowed). */
export interface RawKafkaMessage {
  readonly offset: string;
  readonly timestamp: string;
  readonly key?: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, Buffer | string | Array<Buffer | string> | undefined>>;
  /** Kafka's record attribute bit 3: the timestamp is the broker's. */
  readonly logAppendTime?: boolean;
}

const bytesOf = (v: Buffer | string): number[] => [...(typeof v === "string" ? Buffer.from(v) : v)];

export function toKafkaRecord(topic: string, partition: number, m: RawKafkaMessage): BufferedKafkaRecord {
  const headers: Array<Record<string, number[]>> = [];
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    if (value === undefined) continue;
    // A header repeated under one name arrives as a list; Lambda lists each occurrence as its own object.
    for (const v of Array.isArray(value) ? value : [value]) headers.push({ [name]: bytesOf(v) });
  }
  const record: KafkaRecordLike = {
    topic,
    partition,
    offset: Number(m.offset),
    timestamp: Number(m.timestamp),
    timestampType: m.logAppendTime ? "LOG_APPEND_TIME" : "CREATE_TIME",
    ...(m.key ? { key: m.key.toString("base64") } : {}),
    value: (m.value ?? Buffer.alloc(0)).toString("base64"),
    headers,
  };
  const groupKey = `"${topic}-${partition}":[],`;
  return { record, bytes: Buffer.byteLength(JSON.stringify(record)) + 1 + groupKey.length };
}

/** Bytes of the event envelope around the records (the longest bootstrap list / ARN the event carries). */
export function envelopeBytes(bootstrapServers: string, eventSourceArn?: string): number {
  return Buffer.byteLength(JSON.stringify(eventOf([], bootstrapServers, eventSourceArn)));
}

/** The event of a batch: records grouped by `<topic>-<partition>`, each group in the order they were read. */
export function eventOf(batch: readonly BufferedKafkaRecord[], bootstrapServers: string, eventSourceArn?: string): KafkaEventLike {
  const records: Record<string, KafkaRecordLike[]> = {};
  for (const { record } of batch) (records[`${record.topic}-${record.partition}`] ??= []).push(record);
  return eventSourceArn
    ? { eventSource: "aws:kafka", eventSourceArn, bootstrapServers, records }
    : { eventSource: "SelfManagedKafka", bootstrapServers, records };
}

/** What is known of a Kafka record besides its key and value bytes (Spark's ConsumerRecord fields). */
export interface KafkaRecordMeta {
  readonly topic: string;
  readonly partition: number;
  /** The record's offset in its partition, a decimal string (compare as BigInt). */
  readonly offset: string;
  /** The record's timestamp (CreateTime, or LogAppendTime when the topic says so), epoch ms; -1 when it has none. */
  readonly timestamp: number;
}

/**
 * One element of `ssc.kafkaStream` (Spark's `ConsumerRecord<K, V>`): the decoded key and value with where the
 * record came from. Plain data, so that windows and checkpoints can keep it.
 */
export interface KafkaRecord<K = string, V = string> extends KafkaRecordMeta {
  /** The decoded key; null when the record has none. */
  readonly key: K | null;
  /** The decoded value; null for a tombstone (a record with no value). */
  readonly value: V | null;
  /** The record's headers, each value as UTF-8 text (bytes that are not UTF-8 come out as U+FFFD). */
  readonly headers: Readonly<Record<string, string>>;
}

/** Turns a key's or value's bytes into what the stream carries (Spark's `Deserializer`). A throw dead-letters the record. */
export type KafkaDecoder<T> = (bytes: Uint8Array, meta: KafkaRecordMeta) => T;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const lenientUtf8 = new TextDecoder("utf-8");

/** The default decoder (Spark's StringDeserializer), except that bytes that are not UTF-8 are refused, not mangled. */
export function utf8Decoder(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** A header value as text; headers are metadata, so a stray byte does not cost the record. */
export function headerText(bytes: Uint8Array | string): string {
  return typeof bytes === "string" ? bytes : lenientUtf8.decode(bytes);
}

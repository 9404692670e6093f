/**
 * What a Kafka record carries besides its value, as decoders and timestamp extractors see it
 * (`RecordMeta.kafka`) and as a dead letter keeps it. Kafka-only facts live here so that the log-neutral types
 * (io/ordered-log.ts) and the pipeline's `RecordMeta` only point at them.
 */

/** One header, in the order the producer set them (a name may repeat, as Kafka allows). */
export interface KafkaHeader {
  readonly key: string;
  readonly value: Uint8Array;
}

export interface KafkaRecordMeta {
  readonly topic: string;
  readonly partition: number;
  /** Decimal string, as every log offset here: compare as BigInt. */
  readonly offset: string;
  /** Epoch ms: the producer's create time or the broker's append time, as `timestampType` says. */
  readonly timestamp: number;
  /** `CREATE_TIME` or `LOG_APPEND_TIME`. */
  readonly timestampType: string;
  /** The message key's bytes; undefined for a record without a key. */
  readonly key: Uint8Array | undefined;
  readonly headers: readonly KafkaHeader[];
}

/** What a dead letter of a Kafka record says of it, beside the shared fields (bytes as base64, JSON-safe). */
export interface KafkaDeadLetterFields {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly timestamp: number;
  readonly timestampType: string;
  /** The key's bytes, base64; absent for a record without a key. */
  readonly key?: string;
  /** Each header's value, base64. */
  readonly headers: ReadonlyArray<{ readonly key: string; readonly value: string }>;
}

/** The meta as a dead letter stores it. */
export function kafkaDeadLetterFields(meta: KafkaRecordMeta): KafkaDeadLetterFields {
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
  return {
    topic: meta.topic,
    partition: meta.partition,
    offset: meta.offset,
    timestamp: meta.timestamp,
    timestampType: meta.timestampType,
    ...(meta.key ? { key: b64(meta.key) } : {}),
    headers: meta.headers.map((h) => ({ key: h.key, value: b64(h.value) })),
  };
}

import { Partitioners } from "kafkajs";
import { SourceError } from "../../core/errors.js";
import { type KafkaClientConfig, kafkaClient } from "./client.js";

/** One record to write to a topic. */
export interface KafkaRecordToSend {
  /** The message key; records with the same key go to the same partition. @default - none (spread by the partitioner) */
  readonly key?: string | Uint8Array | null;
  readonly value: string | Uint8Array | null;
  /** @default - chosen by Kafka's default partitioner (murmur2 of the key; sticky batches without one) */
  readonly partition?: number;
  /** The record's CreateTime, epoch ms. @default - now */
  readonly timestamp?: number;
  /** @default - none */
  readonly headers?: Readonly<Record<string, string | Uint8Array>>;
}

/** Where a partition's share of a `produce` call landed: its records have offsets from `baseOffset` on, in order. */
export interface ProducedBatch {
  readonly topic: string;
  readonly partition: number;
  /** Decimal string. */
  readonly baseOffset: string;
}

/**
 * Writes `records` to `topic` and waits until every in-sync replica has them (acks=all). Opens and closes a
 * producer connection per call: for tools and tests (`sparkless push --kafka`), not for a hot path.
 *
 * @example
 * await produce({ bootstrapServers: "127.0.0.1:9092" }, "clicks", [{ key: "u1", value: JSON.stringify(click) }]);
 */
export async function produce(config: KafkaClientConfig, topic: string, records: readonly KafkaRecordToSend[]): Promise<ProducedBatch[]> {
  if (records.length === 0) return [];
  const producer = kafkaClient(config).producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const sent = await producer.send({
      topic,
      acks: -1,
      messages: records.map((r) => ({
        key: bytes(r.key),
        value: bytes(r.value),
        ...(r.partition !== undefined ? { partition: r.partition } : {}),
        ...(r.timestamp !== undefined ? { timestamp: String(r.timestamp) } : {}),
        ...(r.headers ? { headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, bytes(v)!])) } : {}),
      })),
    });
    return sent.map((m) => ({ topic: m.topicName, partition: m.partition, baseOffset: m.baseOffset ?? "0" }));
  } catch (err) {
    throw new SourceError("KafkaProduceFailed", `cannot write ${records.length} record(s) to Kafka topic ${topic}: ${(err as Error).message}`, { topic }, { cause: err });
  } finally {
    await producer.disconnect();
  }
}

function bytes(v: string | Uint8Array | null | undefined): Buffer | string | null {
  if (v === undefined || v === null) return null;
  return typeof v === "string" ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

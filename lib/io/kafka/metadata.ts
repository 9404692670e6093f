import type { Admin } from "kafkajs";
import { SourceError } from "../../core/errors.js";
import { type KafkaClientConfig, kafkaClient } from "./client.js";

/** One partition of a topic and the offsets it holds now. */
export interface TopicPartitionInfo {
  readonly topic: string;
  readonly partition: number;
  /** The first offset still in the log (the log start offset), a decimal string. */
  readonly earliestOffset: string;
  /**
   * The offset the next record will get (the high watermark), a decimal string: the partition holds records
   * `[earliestOffset, highWatermark)`, and is idle at a consumer position equal to it.
   */
  readonly highWatermark: string;
}

/**
 * Every partition of `topics` with its earliest offset and high watermark, ordered by topic then partition: how
 * a reader learns the partitions (new ones included) and which are idle. Offsets are decimal strings, as
 * everywhere in sparkless (compare as BigInt).
 *
 * Takes a config (a connection is opened and closed for the call) or a connected kafkajs `Admin` to reuse.
 * An unknown topic is a SourceError with code `KafkaTopicNotFound`.
 *
 * @example
 * const parts = await listTopicPartitions({ bootstrapServers: "127.0.0.1:9092" }, ["clicks"]);
 * const idle = parts.filter((p) => p.highWatermark === committed.get(`${p.topic}-${p.partition}`));
 */
export async function listTopicPartitions(client: KafkaClientConfig | Admin, topics: readonly string[]): Promise<TopicPartitionInfo[]> {
  if (isAdmin(client)) return list(client, topics);
  const admin = kafkaClient(client).admin();
  try {
    await admin.connect();
  } catch (err) {
    // A refused TLS handshake or SASL sign-in ends here too, as a closed connection after kafkajs's retries.
    throw new SourceError("KafkaUnavailable", `cannot connect to Kafka at ${String(client.bootstrapServers)} (check the brokers, the network and the credentials): ${(err as Error).message}`, { bootstrapServers: String(client.bootstrapServers) }, { cause: err });
  }
  try {
    return await list(admin, topics);
  } finally {
    await admin.disconnect();
  }
}

async function list(admin: Admin, topics: readonly string[]): Promise<TopicPartitionInfo[]> {
  const out: TopicPartitionInfo[] = [];
  for (const topic of [...new Set(topics)].sort()) {
    let offsets: Array<{ partition: number; high: string; low: string }>;
    try {
      offsets = await admin.fetchTopicOffsets(topic);
    } catch (err) {
      throw kafkaLookupError(err, topic);
    }
    for (const o of offsets.sort((a, b) => a.partition - b.partition)) {
      out.push({ topic, partition: o.partition, earliestOffset: o.low, highWatermark: o.high });
    }
  }
  return out;
}

/** A failed look-up as a sparkless error: an unknown topic says so; anything else says what was asked of whom. */
export function kafkaLookupError(err: unknown, topic: string): SourceError {
  const e = err as { type?: string; message?: string };
  if (e.type === "UNKNOWN_TOPIC_OR_PARTITION" || /does not host this topic|unknown topic/i.test(e.message ?? "")) {
    return new SourceError("KafkaTopicNotFound", `Kafka topic ${topic} does not exist (${e.message ?? String(err)}); create it, or check the name and the bootstrap servers`, { topic }, { cause: err });
  }
  return new SourceError("KafkaUnavailable", `cannot read the partitions of Kafka topic ${topic}: ${e.message ?? String(err)}`, { topic }, { cause: err });
}

function isAdmin(client: KafkaClientConfig | Admin): client is Admin {
  return typeof (client as Admin).fetchTopicOffsets === "function";
}

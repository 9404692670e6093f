/**
 * A simulated Kafka topic as Lambda's Kafka event source mappings show it to the runtime: records per partition
 * with offsets (gaps included, as compaction and transaction markers leave them), events shaped as Lambda builds
 * them for MSK and self-managed Kafka (`records` keyed by `<topic>-<partition>`, base64 keys and values, headers
 * as byte arrays, epoch-ms timestamps), and the topic's offsets as Kafka's metadata reports them.
 */
import type { LambdaKafkaEvent, LambdaKafkaRecord } from "../../lib/io/kafka/lambda-event.js";
import type { PartitionOffsets } from "../../lib/serverless/kafka-partitions.js";

export interface SimKafkaRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Epoch ms. */
  readonly timestamp: number;
  /** The value's bytes, base64 (or whatever Lambda would carry, for corrupt input). */
  readonly value: string;
  readonly key?: string;
  readonly headers?: Record<string, string>;
}

/** The event Lambda delivers for `records` (any partitions of one topic), MSK-shaped unless `selfManaged`. */
export function kafkaEvent(records: readonly SimKafkaRecord[], selfManaged = false): LambdaKafkaEvent {
  const byPartition: Record<string, LambdaKafkaRecord[]> = {};
  for (const r of records) {
    (byPartition[`${r.topic}-${r.partition}`] ??= []).push({
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      timestamp: r.timestamp,
      timestampType: "LOG_APPEND_TIME",
      ...(r.key !== undefined ? { key: Buffer.from(r.key).toString("base64") } : {}),
      value: r.value,
      headers: Object.entries(r.headers ?? {}).map(([k, v]) => ({ [k]: [...Buffer.from(v)] })),
    });
  }
  return selfManaged
    ? { eventSource: "SelfManagedKafka", bootstrapServers: "b-1.example:9092,b-2.example:9092", records: byPartition }
    : { eventSource: "aws:kafka", eventSourceArn: "arn:aws:kafka:eu-west-1:123456789012:cluster/sim/abcd-1", bootstrapServers: "b-1.sim:9098", records: byPartition };
}

/** The topic's offsets as Kafka's metadata would report them: from the first record to one past the last. */
export function simOffsets(records: ReadonlyMap<number, readonly SimKafkaRecord[]>): () => Promise<PartitionOffsets[]> {
  return async () =>
    [...records].map(([partition, recs]) => ({
      partition,
      earliest: String(recs[0]?.offset ?? 0),
      highWatermark: String(recs.length ? recs.at(-1)!.offset + 1 : 0),
    }));
}

/** Base64 of a string (UTF-8), as Lambda carries a Kafka value. */
export const b64 = (text: string): string => Buffer.from(text).toString("base64");

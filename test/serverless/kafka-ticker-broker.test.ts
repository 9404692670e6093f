/**
 * The ticker's Kafka view against a real Kafka protocol endpoint (librdkafka's mock cluster): the functions'
 * offsets reader (functions/kafka-offsets.ts, over lib/io/kafka) lists the topic's partitions, and a partition
 * is idle exactly when the committed offset reached its high watermark.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaOffsetsReader } from "../../functions/kafka-offsets.js";
import { produce } from "../../lib/io/kafka/produce.js";
import { KafkaPartitionDirectory } from "../../lib/serverless/kafka-partitions.js";
import { type MockKafka, startMockKafka } from "../../tooling/kafka/mock-broker.js";

let kafka: MockKafka;
beforeAll(async () => {
  kafka = await startMockKafka({ brokers: 1, topics: [{ name: "clicks", partitions: 2 }] });
}, 120_000);
afterAll(() => kafka?.stop());

describe("KafkaPartitionDirectory on a broker", () => {
  it("lists the topic's partitions and finds one idle once its committed offset reaches the high watermark", async () => {
    await produce({ bootstrapServers: kafka.bootstrapServers }, "clicks", [
      { key: "a", value: "1", partition: 1 },
      { key: "b", value: "2", partition: 1 },
    ]);
    const dir = new KafkaPartitionDirectory("clicks", kafkaOffsetsReader({ topic: "clicks", bootstrapServers: kafka.bootstrapServers.split(",") }));
    expect(await dir.list()).toEqual([{ shardId: "clicks-0", closed: false }, { shardId: "clicks-1", closed: false }]);
    expect(await dir.probe("clicks-0", undefined)).toEqual({ hasRecords: false, ended: false });
    expect(await dir.probe("clicks-1", undefined)).toEqual({ hasRecords: true, ended: false });
    expect(await dir.probe("clicks-1", "0")).toEqual({ hasRecords: true, ended: false });
    expect(await dir.probe("clicks-1", "1")).toEqual({ hasRecords: false, ended: false });
  }, 120_000);
});

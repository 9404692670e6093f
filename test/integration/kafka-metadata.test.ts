/**
 * lib/io/kafka's look-ups and producer against a real Kafka protocol endpoint (librdkafka's mock cluster).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listTopicPartitions } from "../../lib/io/kafka/metadata.js";
import { produce } from "../../lib/io/kafka/produce.js";
import { kafkaClient } from "../../lib/io/kafka/client.js";
import { type MockKafka, startMockKafka } from "../../tooling/kafka/mock-broker.js";

let kafka: MockKafka;
beforeAll(async () => {
  kafka = await startMockKafka({ brokers: 3, topics: [{ name: "orders", partitions: 3 }, { name: "audit", partitions: 1 }] });
});
afterAll(() => kafka?.stop());

describe("listTopicPartitions", () => {
  it("lists every partition of every topic, by topic then partition, with its earliest offset and high watermark", async () => {
    const config = { bootstrapServers: kafka.bootstrapServers };
    await produce(config, "orders", [
      { key: "a", value: "1", partition: 2 },
      { key: "b", value: "2", partition: 2 },
      { key: "c", value: "3", partition: 0 },
    ]);
    expect(await listTopicPartitions(config, ["orders", "audit"])).toEqual([
      { topic: "audit", partition: 0, earliestOffset: "0", highWatermark: "0" },
      { topic: "orders", partition: 0, earliestOffset: "0", highWatermark: "1" },
      { topic: "orders", partition: 1, earliestOffset: "0", highWatermark: "0" },
      { topic: "orders", partition: 2, earliestOffset: "0", highWatermark: "2" },
    ]);
  });

  it("reuses a connected admin client when given one", async () => {
    const admin = kafkaClient({ bootstrapServers: kafka.brokers }).admin();
    await admin.connect();
    try {
      expect((await listTopicPartitions(admin, ["audit"])).map((p) => p.partition)).toEqual([0]);
    } finally {
      await admin.disconnect();
    }
  });
});

describe("produce", () => {
  it("writes records with keys, timestamps and headers, and says where each partition's share landed", async () => {
    const config = { bootstrapServers: kafka.bootstrapServers };
    const before = await listTopicPartitions(config, ["audit"]);
    const batches = await produce(config, "audit", [
      { key: "k", value: "x", timestamp: 1_000, headers: { source: "test" } },
      { value: new TextEncoder().encode("y") },
    ]);
    expect(batches).toEqual([{ topic: "audit", partition: 0, baseOffset: before[0]!.highWatermark }]);
    const after = await listTopicPartitions(config, ["audit"]);
    expect(BigInt(after[0]!.highWatermark) - BigInt(before[0]!.highWatermark)).toBe(2n);
  });
});

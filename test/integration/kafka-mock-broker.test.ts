/**
 * The test broker itself (tooling/kafka/mock-broker.ts): librdkafka's mock cluster speaks the Kafka protocol that
 * the project's client (kafkajs) uses, with topics of the partition counts asked for.
 */
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MockKafka, startMockKafka } from "../../tooling/kafka/mock-broker.js";

let kafka: MockKafka;
beforeAll(async () => {
  kafka = await startMockKafka({ brokers: 3, topics: [{ name: "three", partitions: 3 }] });
});
afterAll(() => kafka?.stop());

const client = () => new Kafka({ clientId: "mock-broker-test", brokers: [...kafka.brokers], logLevel: logLevel.NOTHING });

describe("the mock Kafka cluster", () => {
  it("listens on loopback ports, one per broker", () => {
    expect(kafka.brokers).toHaveLength(3);
    for (const b of kafka.brokers) expect(b).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(kafka.bootstrapServers).toBe(kafka.brokers.join(","));
  });

  it("creates topics with the partition count asked for, and keeps what is produced to each", async () => {
    await kafka.createTopic("seven", 7);
    const admin = client().admin();
    await admin.connect();
    const producer = client().producer();
    await producer.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: ["three", "seven"] });
      expect(Object.fromEntries(topics.map((t) => [t.name, t.partitions.length]))).toEqual({ three: 3, seven: 7 });
      await producer.send({ topic: "seven", messages: [{ value: "a", partition: 6 }, { value: "b", partition: 6 }] });
      const offsets = await admin.fetchTopicOffsets("seven");
      expect(offsets.find((o) => o.partition === 6)).toMatchObject({ low: "0", high: "2" });
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  });

  it("fails the next requests of an API with the error asked for, then serves again", async () => {
    await kafka.createTopic("faulty", 1);
    const producer = new Kafka({ clientId: "faults", brokers: [...kafka.brokers], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).producer();
    await producer.connect();
    try {
      // 0 = Produce, 2 = CORRUPT_MESSAGE (not retriable, so the one failure is the client's answer).
      await kafka.failRequests(0, 2, 1);
      await expect(producer.send({ topic: "faulty", messages: [{ value: "x" }] })).rejects.toThrow(/corrupt|CRC/i);
      await expect(producer.send({ topic: "faulty", messages: [{ value: "x" }] })).resolves.toHaveLength(1);
    } finally {
      await producer.disconnect();
    }
  });

  it("fails if a topic's partition count is not a positive whole number", async () => {
    await expect(kafka.createTopic("none", 0)).rejects.toThrow(/partitions must be a whole number of at least 1, got 0/);
  });

  it("stops when asked, and its ports close", async () => {
    const other = await startMockKafka();
    await other.stop();
    const admin = new Kafka({ clientId: "x", brokers: [...other.brokers], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 2000 }).admin();
    await expect(admin.connect()).rejects.toThrow();
  });
});

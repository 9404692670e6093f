/**
 * The Kafka event source mapping poller (tooling/esm-poller/kafka-poller.ts) against a real Kafka protocol
 * endpoint (librdkafka's mock cluster): the event Lambda sends, batches, per-partition order, retries of a failed
 * batch, offsets committed to the consumer group only after the function succeeded, restarts, discards.
 */
import { Kafka, logLevel, type Admin, type Producer } from "kafkajs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { KafkaEsmPoller, type KafkaEsmPollerOptions, type KafkaEventLike, type KafkaFailureRecord, type KafkaRecordLike } from "../../tooling/esm-poller/index.js";
import { startMockKafka, type MockKafka } from "../../tooling/kafka/mock-broker.js";

let broker: MockKafka;
let admin: Admin;
let producer: Producer;
const pollers: KafkaEsmPoller[] = [];
let topics = 0;

beforeAll(async () => {
  broker = await startMockKafka();
  const client = new Kafka({ clientId: "kafka-esm-test", brokers: [...broker.brokers], logLevel: logLevel.NOTHING });
  admin = client.admin();
  await admin.connect();
  producer = client.producer();
  await producer.connect();
});
afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
});
afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await broker?.stop();
});

async function newTopic(partitions = 1): Promise<string> {
  const name = `esm-kafka-${++topics}`;
  await broker.createTopic(name, partitions);
  return name;
}

/** Produces `values` to one partition, in order. */
async function produce(topic: string, partition: number, values: string[], extra: { key?: string; headers?: Record<string, string> } = {}): Promise<void> {
  await producer.send({ topic, messages: values.map((value) => ({ value, partition, ...(extra.key ? { key: extra.key } : {}), ...(extra.headers ? { headers: extra.headers } : {}) })) });
}

/** What a handler was called with, decoded. */
interface Call {
  readonly event: KafkaEventLike;
  readonly records: KafkaRecordLike[];
}
const decode = (r: KafkaRecordLike) => Buffer.from(r.value, "base64").toString();

function recorder(fail: (call: Call, n: number) => boolean = () => false) {
  const calls: Call[] = [];
  const handler = async (event: KafkaEventLike) => {
    const call = { event, records: Object.values(event.records).flat() };
    calls.push(call);
    if (fail(call, calls.length)) throw new Error(`failing call ${calls.length}`);
    return null;
  };
  return { calls, handler };
}

async function poll(topic: string, handler: KafkaEsmPollerOptions["handler"], o: Partial<KafkaEsmPollerOptions> = {}): Promise<KafkaEsmPoller> {
  const poller = new KafkaEsmPoller({
    brokers: broker.brokers,
    topic,
    consumerGroupId: `group-${topic}`,
    handler,
    maximumBatchingWindowMs: 0,
    retryDelayMs: 50,
    ...o,
  });
  pollers.push(poller);
  await poller.start();
  return poller;
}

async function until(_what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (;;) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The consumer group's committed offsets, by partition (-1: none). */
async function committed(topic: string, group = `group-${topic}`): Promise<Record<number, number>> {
  const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return Object.fromEntries((t?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
}

describe("KafkaEsmPoller", () => {
  it("sends Lambda's self-managed Kafka event: records under <topic>-<partition>, key and value base64, headers as bytes", async () => {
    const topic = await newTopic(2);
    const { calls, handler } = recorder();
    await poll(topic, handler, { bootstrapServers: "broker-a:9092,broker-b:9092" });
    await produce(topic, 1, ["hello"], { key: "k1", headers: { trace: "abc" } });
    await until("delivered", () => calls.length > 0);
    const event = calls[0]!.event;
    expect(event.eventSource).toBe("SelfManagedKafka");
    expect(event.bootstrapServers).toBe("broker-a:9092,broker-b:9092");
    expect(Object.keys(event.records)).toEqual([`${topic}-1`]);
    const r = event.records[`${topic}-1`]![0]!;
    expect(r).toMatchObject({ topic, partition: 1, offset: 0, timestampType: "CREATE_TIME", key: Buffer.from("k1").toString("base64"), value: Buffer.from("hello").toString("base64") });
    expect(r.headers).toEqual([{ trace: [...Buffer.from("abc")] }]);
    expect(Math.abs(r.timestamp - Date.now())).toBeLessThan(60_000);
  });

  it("sends aws:kafka with the cluster's ARN for an MSK mapping", async () => {
    const topic = await newTopic();
    const { calls, handler } = recorder();
    const arn = "arn:aws:kafka:us-east-1:000000000000:cluster/local/abc";
    await poll(topic, handler, { eventSourceArn: arn });
    await produce(topic, 0, ["x"]);
    await until("delivered", () => calls.length > 0);
    expect(calls[0]!.event).toMatchObject({ eventSource: "aws:kafka", eventSourceArn: arn, bootstrapServers: broker.bootstrapServers });
  });

  it("invokes with at most BatchSize records, every record once, in offset order per partition", async () => {
    const topic = await newTopic(3);
    const { calls, handler } = recorder();
    const values = (p: number) => Array.from({ length: 20 }, (_, i) => `p${p}-${i}`);
    for (const p of [0, 1, 2]) await produce(topic, p, values(p));
    await poll(topic, handler, { batchSize: 7 });
    await until("all delivered", () => calls.reduce((n, c) => n + c.records.length, 0) >= 60);
    for (const c of calls) expect(c.records.length).toBeLessThanOrEqual(7);
    for (const p of [0, 1, 2]) {
      const seen = calls.flatMap((c) => c.records.filter((r) => r.partition === p));
      expect(seen.map(decode)).toEqual(values(p));
      expect(seen.map((r) => r.offset)).toEqual(values(p).map((_, i) => i));
    }
  });

  it("gathers records for the batching window before invoking", async () => {
    const topic = await newTopic();
    const { calls, handler } = recorder();
    await poll(topic, handler, { maximumBatchingWindowMs: 3_000, batchSize: 100 });
    await produce(topic, 0, ["a"]);
    await produce(topic, 0, ["b"]);
    await produce(topic, 0, ["c"]);
    await until("delivered", () => calls.length > 0);
    // Three sends well within the window come in one invocation.
    expect(calls[0]!.records.map(decode)).toEqual(["a", "b", "c"]);
  });

  it("retries a failed batch with the same records, and commits its offsets only after the function succeeded", async () => {
    const topic = await newTopic();
    let failing = true;
    const { calls, handler } = recorder(() => failing);
    await produce(topic, 0, ["a", "b", "c"]);
    const poller = await poll(topic, handler);
    await until("retried", () => calls.length >= 3);
    // Still failing: nothing committed, and the same batch every time.
    expect((await committed(topic))[0]).toBe(-1);
    expect(new Set(calls.map((c) => c.records.map(decode).join()))).toEqual(new Set(["a,b,c"]));
    failing = false;
    await until("committed", async () => (await committed(topic))[0] === 3);
    const delivered = calls.length;
    await produce(topic, 0, ["d"]);
    await until("next batch", () => calls.length > delivered);
    expect(calls.at(-1)!.records.map(decode)).toEqual(["d"]);
    expect(poller.stats()).toMatchObject({ recordsDelivered: 4, recordsDiscarded: 0 });
    expect(poller.stats().functionErrors).toBeGreaterThanOrEqual(2);
  });

  it("honours a partial batch response: the reported partition resumes at the reported offset, the rest is committed", async () => {
    const topic = await newTopic(2);
    await produce(topic, 0, ["a0", "a1", "a2", "a3"]);
    await produce(topic, 1, ["b0", "b1"]);
    const calls: Call[] = [];
    const handler = async (event: KafkaEventLike) => {
      const records = Object.values(event.records).flat();
      calls.push({ event, records });
      // The first call fails partition 0 from offset 2 on; later calls succeed.
      return calls.length === 1 ? { batchItemFailures: [{ itemIdentifier: { partition: `${topic}-0`, offset: 2 } }] } : {};
    };
    const poller = await poll(topic, handler, { reportBatchItemFailures: true, maximumBatchingWindowMs: 2_000 });
    await until("retried", () => calls.length >= 2);
    expect(calls[0]!.records.map(decode).sort()).toEqual(["a0", "a1", "a2", "a3", "b0", "b1"]);
    expect(calls[1]!.records.map(decode)).toEqual(["a2", "a3"]);
    await until("committed", async () => JSON.stringify(await committed(topic)) === JSON.stringify({ 0: 4, 1: 2 }));
    expect(poller.stats()).toMatchObject({ partialFailures: 1, recordsDelivered: 6 });
  });

  it("fails the whole batch on a partial response naming no record of it", async () => {
    const topic = await newTopic();
    await produce(topic, 0, ["a", "b"]);
    const { calls, handler } = recorder();
    let n = 0;
    const poller = await poll(topic, async (event) => {
      await handler(event);
      return ++n === 1 ? { batchItemFailures: [{ itemIdentifier: { partition: `${topic}-0`, offset: 99 } }] } : undefined;
    }, { reportBatchItemFailures: true, maximumBatchingWindowMs: 2_000 });
    await until("retried", () => calls.length >= 2);
    expect(calls[1]!.records.map(decode)).toEqual(["a", "b"]);
    expect(poller.stats().functionErrors).toBe(1);
  });

  it("resumes a restarted mapping after the committed offsets: what was processed is not delivered again", async () => {
    const topic = await newTopic();
    const first = recorder();
    await produce(topic, 0, ["a", "b"]);
    const p1 = await poll(topic, first.handler);
    await until("committed", async () => (await committed(topic))[0] === 2);
    await p1.stop();
    await produce(topic, 0, ["c"]);
    const second = recorder();
    // LATEST would skip "c" for a new group; this group has offsets, so StartingPosition is ignored.
    await poll(topic, second.handler, { startingPosition: "LATEST" });
    await until("delivered", () => second.calls.length > 0);
    expect(second.calls.flatMap((c) => c.records.map(decode))).toEqual(["c"]);
  }, 60_000);

  it("starts a new consumer group at the end of the topic with LATEST", async () => {
    const topic = await newTopic();
    await produce(topic, 0, ["old"]);
    const { calls, handler } = recorder();
    await poll(topic, handler, { startingPosition: "LATEST" });
    await produce(topic, 0, ["new"]);
    await until("delivered", () => calls.length > 0);
    expect(calls.flatMap((c) => c.records.map(decode))).toEqual(["new"]);
  });

  it("discards a batch after MaximumRetryAttempts: the on-failure destination gets Lambda's record, then the offsets move on", async () => {
    const topic = await newTopic();
    const failures: KafkaFailureRecord[] = [];
    const { calls, handler } = recorder((c) => c.records.some((r) => decode(r) === "poison"));
    await produce(topic, 0, ["poison"]);
    await poll(topic, handler, { maximumRetryAttempts: 1, onFailure: async (f) => void failures.push(f) });
    await until("discarded", () => failures.length > 0);
    const f = failures[0]!;
    expect(f.requestContext).toMatchObject({ condition: "RetryAttemptsExhausted", approximateInvokeCount: 2 });
    expect(f.responseContext.functionError).toBe("Unhandled");
    expect(f.KafkaBatchInfo).toMatchObject({ batchSize: 1, consumerGroupId: `group-${topic}`, recordsInfo: { [`${topic}-0`]: { firstRecordOffset: "0", lastRecordOffset: "0" } } });
    expect(Object.values((JSON.parse(f.payload!) as KafkaEventLike).records).flat().map(decode)).toEqual(["poison"]);
    expect(calls).toHaveLength(2);
    await until("committed past it", async () => (await committed(topic))[0] === 1);
    await produce(topic, 0, ["fine"]);
    await until("next delivered", () => calls.some((c) => c.records.some((r) => decode(r) === "fine")));
  });

  it("bisects a failing batch until only the poison record is discarded, splitting without spending retries", async () => {
    const topic = await newTopic();
    const failures: KafkaFailureRecord[] = [];
    const { calls, handler } = recorder((c) => c.records.some((r) => decode(r) === "poison"));
    await produce(topic, 0, ["r0", "r1", "r2", "r3", "r4", "poison", "r6", "r7"]);
    const poller = await poll(topic, handler, { batchSize: 8, maximumBatchingWindowMs: 5_000, bisectBatchOnFunctionError: true, maximumRetryAttempts: 0, onFailure: async (f) => void failures.push(f) });
    await until("committed past every record", async () => (await committed(topic))[0] === 8);
    // Halves are retried at once, each as its own batch; with no retries allowed, only a single record is discarded.
    expect(calls.map((c) => c.records.map(decode).join())).toEqual([
      "r0,r1,r2,r3,r4,poison,r6,r7",
      "r0,r1,r2,r3",
      "r4,poison,r6,r7",
      "r4,poison",
      "r4",
      "poison",
      "r6,r7",
    ]);
    expect(failures).toHaveLength(1);
    expect(failures[0]!.KafkaBatchInfo).toMatchObject({ batchSize: 1, recordsInfo: { [`${topic}-0`]: { firstRecordOffset: "5", lastRecordOffset: "5" } } });
    expect(poller.stats()).toMatchObject({ recordsDelivered: 7, recordsDiscarded: 1 });
  });

  it("with bisection on, retries exactly the rest of a batch after a partial batch response", async () => {
    const topic = await newTopic();
    await produce(topic, 0, ["a0", "a1", "a2", "a3", "a4", "a5"]);
    const calls: string[][] = [];
    const handler = async (event: KafkaEventLike) => {
      calls.push(Object.values(event.records).flat().map(decode));
      return calls.length === 1 ? { batchItemFailures: [{ itemIdentifier: { partition: `${topic}-0`, offset: 2 } }] } : {};
    };
    await poll(topic, handler, { batchSize: 4, maximumBatchingWindowMs: 5_000, reportBatchItemFailures: true, bisectBatchOnFunctionError: true });
    await until("committed past every record", async () => (await committed(topic))[0] === 6);
    expect(calls).toEqual([["a0", "a1", "a2", "a3"], ["a2", "a3"], ["a4", "a5"]]);
  });

  it("applies 10 retries when retries are unlimited but an on-failure destination is set, as Lambda does", async () => {
    const topic = await newTopic();
    const failures: KafkaFailureRecord[] = [];
    const { calls, handler } = recorder(() => true);
    await produce(topic, 0, ["x"]);
    await poll(topic, handler, { retryDelayMs: 1, onFailure: async (f) => void failures.push(f) });
    await until("discarded", () => failures.length > 0);
    expect(calls).toHaveLength(11);
  });

  it("reports per-partition progress: committed offset, next offset and the log end", async () => {
    const topic = await newTopic(2);
    const { calls, handler } = recorder();
    const poller = await poll(topic, handler);
    await produce(topic, 0, ["a", "b"]);
    await produce(topic, 1, ["c"]);
    await until("delivered", () => calls.reduce((n, c) => n + c.records.length, 0) === 3);
    await until("committed", () => poller.stats().partitions.every((p) => p.committedOffset === p.highWatermark));
    expect(poller.stats().partitions).toEqual([
      { partition: 0, committedOffset: "2", nextOffset: "2", highWatermark: "2", bufferedRecords: 0 },
      { partition: 1, committedOffset: "1", nextOffset: "1", highWatermark: "1", bufferedRecords: 0 },
    ]);
  });

  it("fails if a setting is out of the range AWS accepts", () => {
    const base = { brokers: ["127.0.0.1:1"], topic: "t", consumerGroupId: "g", handler: async () => null };
    expect(() => new KafkaEsmPoller({ ...base, batchSize: 10_001 })).toThrow(/batchSize must be an integer in 1..10000, got 10001/);
    expect(() => new KafkaEsmPoller({ ...base, consumerGroupId: "" })).toThrow(/consumerGroupId is required/);
    expect(() => new KafkaEsmPoller({ ...base, startingPosition: "AT_TIMESTAMP" })).toThrow(/needs startingPositionTimestamp/);
  });
});

/**
 * ssc.kafkaStream against a real Kafka protocol endpoint (librdkafka's mock cluster, tooling/kafka): what a batch
 * holds, where a stream starts, what it commits to its consumer group, and what it does with bad input.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KafkaDirectSource, type KafkaRecord, ManualClock, Seconds, StreamingContext } from "../../lib/index.js";
import { type KafkaRecordToSend, produce } from "../../lib/io/kafka/produce.js";
import { type MockKafka, startMockKafka } from "../../tooling/kafka/mock-broker.js";

let kafka: MockKafka;
const root = mkdtempSync(join(tmpdir(), "sparkless-kafka-stream-"));
let topics = 0;
beforeAll(async () => {
  kafka = await startMockKafka({ brokers: 3 });
});
afterAll(async () => {
  await kafka?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** A fresh topic (and group) per test, so tests share the cluster but not data. */
async function topic(partitions: number): Promise<string> {
  const name = `t${++topics}`;
  await kafka.createTopic(name, partitions);
  return name;
}

const send = (t: string, records: KafkaRecordToSend[]) => produce({ bootstrapServers: kafka.bootstrapServers }, t, records);

function sourceOf(ssc: StreamingContext): KafkaDirectSource<string, string> {
  return ssc.graph.inputs.map((n) => (n as unknown as { source: unknown }).source).find((s) => s instanceof KafkaDirectSource) as KafkaDirectSource<string, string>;
}

async function committed(groupId: string, t: string): Promise<Record<string, string>> {
  const admin = new Kafka({ brokers: [...kafka.brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [t] });
    return Object.fromEntries(offsets!.partitions.filter((p) => p.offset !== "-1").map((p) => [String(p.partition), p.offset]));
  } finally {
    await admin.disconnect();
  }
}

// Joining a consumer group waits out the broker's rebalance delay (3 s), a restart the dead member's session:
// broker time, not CPU time, so the tests get room.
describe("kafkaStream", { timeout: 120_000 }, () => {
  it("puts each record in the batch its timestamp falls in, one RDD partition per Kafka partition, with its metadata", async () => {
    const t = await topic(3);
    const clock = new ManualClock();
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock });
    const batches: Array<[number, KafkaRecord[][]]> = [];
    ssc.kafkaStream(t, { bootstrapServers: kafka.bootstrapServers, groupId: `${t}-g`, startingOffsets: "earliest" }).foreachRDD((rdd, time) => {
      batches.push([time.milliseconds, rdd.glom().collect() as KafkaRecord[][]]);
    });
    await send(t, [
      { key: "a", value: "one", partition: 0, timestamp: 200, headers: { origin: "test" } },
      { value: "two", partition: 2, timestamp: 900 },
      { value: "three", partition: 2, timestamp: 1500 },
    ]);
    await ssc.start();
    await clock.setTime(1000);
    // Produced while running, one of them late: its batch (1000) has run, so it joins the next.
    await send(t, [{ value: "four", partition: 1, timestamp: 1700 }, { value: "late", partition: 0, timestamp: 300 }]);
    await sourceOf(ssc).caughtUp();
    await clock.setTime(3000);
    await ssc.stop();

    const values = batches.map(([time, parts]) => [time, parts.map((p) => p.map((r) => r.value))]);
    expect(values).toEqual([
      [1000, [["one"], [], ["two"]]],
      [2000, [["late"], ["four"], ["three"]]],
      [3000, [[], [], []]],
    ]);
    expect(batches[0]![1][0]![0]).toEqual({ topic: t, partition: 0, offset: "0", timestamp: 200, key: "a", value: "one", headers: { origin: "test" } });
    expect(batches[0]![1][2]![0]).toMatchObject({ partition: 2, offset: "0", key: null });
  });

  it("commits to the consumer group, after each batch, the offsets the checkpoint holds", async () => {
    const t = await topic(2);
    const clock = new ManualClock();
    const dir = join(root, t);
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock });
    ssc.checkpoint(dir);
    ssc.kafkaStream(t, { bootstrapServers: kafka.bootstrapServers, groupId: `${t}-g`, startingOffsets: "earliest" }).count().foreachRDD(() => {});
    await ssc.start();
    const { readLatestCheckpoint } = await import("../../lib/exec/checkpoint.js");
    const { decodeValue } = await import("../../lib/exec/checkpoint-codec.js");
    const seen: Array<[Record<string, string>, Record<string, string>]> = [];
    for (let k = 1; k <= 4; k++) {
      await send(t, [{ value: `a${k}`, partition: 0, timestamp: k * 1000 - 100 }, ...(k % 2 ? [{ value: `b${k}`, partition: 1, timestamp: k * 1000 - 50 }] : [])]);
      await sourceOf(ssc).caughtUp();
      await clock.setTime(k * 1000);
      const body = readLatestCheckpoint(dir)!.body;
      const position = decodeValue(Object.values(body.sources)[0]!) as { offsets: Record<string, Record<string, string>> };
      seen.push([position.offsets[t]!, await committed(`${t}-g`, t)]);
    }
    await ssc.stop();
    for (const [checkpoint, group] of seen) expect(group).toEqual(checkpoint);
    expect(seen.map(([c]) => c)).toEqual([
      { 0: "1", 1: "1" },
      { 0: "2", 1: "1" },
      { 0: "3", 1: "2" },
      { 0: "4", 1: "2" },
    ]);
  });

  it("starts at the latest offset by default, and after a crash resumes where it started, skipping nothing that arrived meanwhile", async () => {
    const t = await topic(2);
    await send(t, [{ value: "before the start", partition: 0, timestamp: 100 }]);
    const clock = new ManualClock();
    const dir = join(root, t);
    const seen: string[] = [];
    const factory = () => {
      const ssc = new StreamingContext({ batchInterval: Seconds(1), clock });
      ssc.checkpoint(dir);
      ssc.kafkaStream(t, { bootstrapServers: kafka.bootstrapServers, groupId: `${t}-g`, sessionTimeoutMs: 6000 }).foreachRDD((rdd) => {
        seen.push(...rdd.collect().map((r) => r.value!));
      });
      return ssc;
    };
    const first = StreamingContext.getOrCreate(dir, factory);
    await first.start();
    await clock.setTime(1000);
    await first.stop({ simulateCrash: true });
    await send(t, [{ value: "while down", partition: 1, timestamp: 1500 }]);
    await clock.setTime(2000);
    const second = StreamingContext.getOrCreate(dir, factory);
    await second.start();
    await clock.setTime(3000);
    await second.stop();
    expect(seen).toEqual(["while down"]);
  });

  it("starts a stream without a checkpoint at the group's committed offsets", async () => {
    const t = await topic(1);
    await send(t, ["a", "b", "c"].map((value) => ({ value, timestamp: 100 })));
    // Another member of the group read "a" and "b" and committed (the mock has no admin API for group offsets).
    const other = new Kafka({ brokers: [...kafka.brokers], logLevel: logLevel.NOTHING }).consumer({ groupId: `${t}-g`, sessionTimeout: 6000 });
    const joined = new Promise((resolve) => other.on(other.events.GROUP_JOIN, resolve));
    await other.connect();
    await other.subscribe({ topics: [t] });
    await other.run({ autoCommit: false, eachBatch: async () => {} });
    await joined;
    await other.commitOffsets([{ topic: t, partition: 0, offset: "2" }]);
    await other.disconnect();
    const clock = new ManualClock();
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock });
    const seen: string[] = [];
    ssc.kafkaStream(t, { bootstrapServers: kafka.bootstrapServers, groupId: `${t}-g`, startingOffsets: "earliest", sessionTimeoutMs: 6000 }).foreachRDD((rdd) => {
      seen.push(...rdd.collect().map((r) => r.value!));
    });
    await ssc.start();
    await clock.setTime(1000);
    await ssc.stop();
    expect(seen).toEqual(["c"]);
  });

  it("starts at the offsets given per partition", async () => {
    const t = await topic(2);
    await send(t, [0, 1, 2].flatMap((i) => [{ value: `p0-${i}`, partition: 0, timestamp: 100 }, { value: `p1-${i}`, partition: 1, timestamp: 100 }]));
    const clock = new ManualClock();
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock });
    const seen: string[] = [];
    ssc.kafkaStream(t, { bootstrapServers: kafka.bootstrapServers, groupId: `${t}-g`, startingOffsets: { [t]: { 0: 1, 1: 2 } } }).foreachRDD((rdd) => {
      seen.push(...rdd.collect().map((r) => r.value!));
    });
    await ssc.start();
    await clock.setTime(1000);
    await ssc.stop();
    expect(seen).toEqual(["p0-1", "p0-2", "p1-2"]);
  });

  it("dead-letters a record its decoder cannot read, with where it was, and goes on; a tombstone is a null value", async () => {
    const t = await topic(1);
    await send(t, [
      { key: "k1", value: '{"n":1}', timestamp: 100 },
      { key: "k2", value: "not json", timestamp: 200 },
      { key: "k3", value: null, timestamp: 300 },
      { key: "k4", value: '{"n":4}', timestamp: 400 },
    ]);
    const clock = new ManualClock();
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, onDeadLetter: () => {} });
    const seen: Array<[string | null, unknown]> = [];
    ssc
      .kafkaStream(t, {
        bootstrapServers: kafka.bootstrapServers,
        groupId: `${t}-g`,
        startingOffsets: "earliest",
        valueDecoder: (bytes) => JSON.parse(new TextDecoder().decode(bytes)) as { n: number },
      })
      .foreachRDD((rdd) => {
        seen.push(...rdd.collect().map((r) => [r.key, r.value] as [string | null, unknown]));
      });
    await ssc.start();
    await clock.setTime(1000);
    await ssc.stop();
    expect(seen).toEqual([["k1", { n: 1 }], ["k3", null], ["k4", { n: 4 }]]);
    const [dead] = ssc.deadLetterEntries();
    expect(dead).toMatchObject({ source: `kafka ${t}`, position: { topic: t, partition: 0, offset: "1", timestamp: 200, key: Buffer.from("k2").toString("base64") }, raw: Buffer.from("not json").toString("base64") });
    expect(dead!.reason).toMatch(/^the valueDecoder threw: .*JSON/);
  });

  it("fails if it has no group id, or offsets for a topic it does not read", () => {
    const ssc = new StreamingContext({ batchInterval: Seconds(1) });
    expect(() => ssc.kafkaStream("a", { bootstrapServers: "127.0.0.1:9092" } as never)).toThrow(/kafkaStream needs a groupId \(Spark's group.id\)/);
    expect(() => ssc.kafkaStream("a", { bootstrapServers: "127.0.0.1:9092", groupId: "g", startingOffsets: { b: { 0: 1 } } })).toThrow(
      "startingOffsets names topic b, which the stream does not subscribe to (a)",
    );
  });
});

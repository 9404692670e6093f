/**
 * Bad Kafka records never stop a partition and are never lost: an undecodable value, a value that is not
 * base64, a user function that throws. Each lands in `dead-letter/<pipeline>/<topic>-<partition>/<offset>.json`
 * with its topic, partition, offset, key, headers and bytes; the good records reach the output and the
 * partition's progress moves past the bad ones in the same commit. Decoders and timestamp extractors see the
 * record's Kafka metadata.
 */
import { describe, expect, it } from "vitest";
import { Seconds } from "../../lib/core/duration.js";
import type { KafkaRecordMeta } from "../../lib/io/kafka/record-meta.js";
import { definePipeline, type RecordMeta } from "../../lib/api/define-pipeline.js";
import { KafkaPartitionDirectory } from "../../lib/serverless/kafka-partitions.js";
import { PipelineRuntime } from "../../lib/serverless/runtime.js";
import { MemoryObjectStore } from "../../lib/testing/memory-object-store.js";
import { MemoryPipelineStore } from "../../lib/testing/memory-pipeline-store.js";
import { jsonObjects, lambdaContext, serverlessFiles } from "./support.js";
import { b64, kafkaEvent, type SimKafkaRecord, simOffsets } from "./kafka-support.js";

type Ev = { w: string; n: number };
const T0 = 1_700_000_000_000;
const TOPIC = "orders";

function setup<T>(pipeline: ReturnType<typeof definePipeline<T>>, records: Map<number, SimKafkaRecord[]>) {
  const store = new MemoryPipelineStore();
  const objects = new MemoryObjectStore();
  const logs: string[] = [];
  let now = T0;
  const runtime = new PipelineRuntime(pipeline, { store, objects, shards: new KafkaPartitionDirectory(TOPIC, simOffsets(records)), now: () => now, log: (t) => logs.push(t) });
  return { store, objects, logs, runtime, setNow: (t: number) => (now = t) };
}

describe("a bad Kafka record", () => {
  const pipeline = definePipeline<Ev>(
    "kafka-bad",
    { batchInterval: Seconds(1), decoder: (bytes) => JSON.parse(Buffer.from(bytes).toString("utf8")) as Ev },
    (input) => {
      input
        .map((e) => {
          if (e.w === "boom") throw new Error("boom is not a word");
          return [e.w, e.n] as [string, number];
        })
        .reduceByKey((a, b) => a + b)
        .saveAsTextFiles("out/sum");
    },
  );
  const rec = (partition: number, offset: number, value: string, extra: Partial<SimKafkaRecord> = {}): SimKafkaRecord => ({ topic: TOPIC, partition, offset, timestamp: T0 + offset, value, ...extra });
  const records = new Map([
    [0, [
      rec(0, 10, b64(JSON.stringify({ w: "a", n: 1 }))),
      rec(0, 11, b64("{not json"), { key: "user-7", headers: { trace: "t-1" } }),
      rec(0, 12, "%%%not base64%%%"),
      rec(0, 13, b64(JSON.stringify({ w: "a", n: 2 }))),
    ]],
    [1, [
      rec(1, 40, b64(JSON.stringify({ w: "boom", n: 5 })), { key: "k" }),
      rec(1, 41, b64(JSON.stringify({ w: "b", n: 3 }))),
    ]],
  ]);

  it("is dead-lettered with topic, partition, offset, key, headers and bytes, and its partition moves past it", async () => {
    const { store, objects, runtime, setNow } = setup(pipeline, records);
    const result = await runtime.handleKafkaEvent(kafkaEvent([...records.values()].flat()), lambdaContext());
    expect(result.batchItemFailures).toEqual([]);
    expect(result.stages.map((s) => [s.processed, s.deadLetters, s.committed])).toEqual([[4, 2, true], [2, 1, true]]);

    const dead = await jsonObjects<Record<string, unknown>>(objects, "dead-letter/kafka-bad/");
    expect([...dead.keys()].sort()).toEqual([
      "dead-letter/kafka-bad/orders-0/11.json",
      "dead-letter/kafka-bad/orders-0/12.json",
      "dead-letter/kafka-bad/orders-1/40.json",
    ]);
    expect(dead.get("dead-letter/kafka-bad/orders-0/11.json")).toMatchObject({
      shardId: "orders-0",
      sequenceNumber: "11",
      operator: "decoder",
      data: b64("{not json"),
      kafka: { topic: TOPIC, partition: 0, offset: "11", timestamp: T0 + 11, key: b64("user-7"), headers: [{ key: "trace", value: b64("t-1") }] },
    });
    expect(dead.get("dead-letter/kafka-bad/orders-0/12.json")).toMatchObject({ error: "record data is not valid base64", data: "%%%not base64%%%", kafka: { offset: "12" } });
    expect(dead.get("dead-letter/kafka-bad/orders-1/40.json")).toMatchObject({
      error: expect.stringContaining("boom is not a word"),
      data: b64(JSON.stringify({ w: "boom", n: 5 })),
      kafka: { topic: TOPIC, partition: 1, offset: "40", key: b64("k") },
    });

    // Each partition's progress is past its last record, bad ones included: nothing is delivered again.
    expect((await store.getProgress("orders-0"))?.seq).toBe("13");
    expect((await store.getProgress("orders-1"))?.seq).toBe("41");
    setNow(T0 + 10_000);
    await runtime.tick();
    const files = await serverlessFiles(objects, pipeline.name);
    expect([...files.values()].join("").split("\n").filter(Boolean).sort()).toEqual(["(a,3)", "(b,3)"]);
  });

  it("is not dead-lettered twice when Lambda delivers the batch again", async () => {
    const { objects, runtime } = setup(pipeline, records);
    const event = kafkaEvent([...records.values()].flat());
    await runtime.handleKafkaEvent(event, lambdaContext());
    const again = await runtime.handleKafkaEvent(event, lambdaContext());
    expect(again.stages.map((s) => s.processed)).toEqual([0, 0]);
    expect((await objects.list("dead-letter/")).length).toBe(3);
  });
});

describe("Kafka metadata", () => {
  it("reaches the decoder and the timestamp extractor: topic, partition, offset, timestamp, key bytes and headers", async () => {
    const seen: Array<Omit<RecordMeta, "kafka"> & { kafka?: Omit<KafkaRecordMeta, "key" | "headers"> & { key?: string; headers: string[] } }> = [];
    const pipeline = definePipeline<{ at: number }>(
      "kafka-meta",
      {
        batchInterval: Seconds(1),
        decoder: (bytes, meta) => {
          const k = meta.kafka!;
          seen.push({ ...meta, kafka: { ...k, key: k.key && Buffer.from(k.key).toString(), headers: k.headers.map((h) => `${h.key}=${Buffer.from(h.value).toString()}`) } });
          return JSON.parse(Buffer.from(bytes).toString()) as { at: number };
        },
        timestampExtractor: (v, meta) => (meta.kafka!.headers.some((h) => h.key === "use-record-time") ? meta.kafka!.timestamp : v.at),
      },
      (input) => void input.count().saveAsTextFiles("out/count"),
    );
    const records = new Map([[3, [{ topic: TOPIC, partition: 3, offset: 7, timestamp: T0 + 500, key: "user-1", headers: { a: "1", "use-record-time": "" }, value: b64(JSON.stringify({ at: T0 })) }]]]);
    const { runtime } = setup(pipeline, records);
    await runtime.handleKafkaEvent(kafkaEvent(records.get(3)!, true), lambdaContext());
    expect(seen.at(-1)).toEqual({
      shardId: "orders-3",
      sequenceNumber: "7",
      partitionKey: b64("user-1"),
      arrivalTime: T0 + 500,
      kafka: { topic: TOPIC, partition: 3, offset: "7", timestamp: T0 + 500, timestampType: "LOG_APPEND_TIME", key: "user-1", headers: ["a=1", "use-record-time="] },
    });
  });
});

/**
 * The shard stage on Kafka: one Lambda Kafka event of 10,000 JSON records (~100 bytes, six words each) on four
 * topic-partitions, through the shard handler (per partition: ingest, fold, commit; word count and a windowed
 * count) against a hand-written handler doing the same decode and count with the same store calls per
 * partition (read the progress, write the counts, one conditional commit). Memory stores: what is timed is CPU.
 * Target: within 1.5x, as for Kinesis (`npm run bench -- serverless`). Only printed.
 */
import { mulberry32 } from "../../examples/support.js";
import { Milliseconds, Seconds } from "../../lib/core/duration.js";
import { decodeValue } from "../../lib/core/codec.js";
import type { LambdaKafkaEvent, LambdaKafkaRecord } from "../../lib/io/kafka/lambda-event.js";
import { definePipeline } from "../../lib/api/define-pipeline.js";
import { KafkaPartitionDirectory } from "../../lib/serverless/kafka-partitions.js";
import type { RuntimeDeps } from "../../lib/serverless/runtime-deps.js";
import { PipelineRuntime } from "../../lib/serverless/runtime.js";
import type { PipelineStore } from "../../lib/pipeline-store/pipeline-store.js";
import { MemoryObjectStore } from "../../lib/testing/memory-object-store.js";
import { MemoryPipelineStore } from "../../lib/testing/memory-pipeline-store.js";
import type { BenchmarkFactory } from "./harness.js";

const TOPIC = "bench";
const PARTITIONS = 4;
const T0 = 1_700_000_000_000;
const BATCH_MS = 10_000;
const add = (a: number, b: number) => a + b;
const sub = (a: number, b: number) => a - b;

type Rec = { id: number; text: string; ts: number };

const pipeline = definePipeline<Rec>(
  "bench-kafka",
  { batchInterval: Milliseconds(BATCH_MS), decoder: (bytes) => JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")) as Rec, idleAfter: Seconds(1) },
  (input) => {
    const words = input.flatMap((r) => r.text.split(" ")).map((w) => [w, 1] as [string, number]);
    words.reduceByKey(add).saveAsTextFiles("out/counts");
    words.reduceByKeyAndWindow(add, sub, Milliseconds(6 * BATCH_MS), Milliseconds(BATCH_MS), { name: "window" }).saveAsTextFiles("out/window");
  },
);

/** `n` records spread round-robin over the partitions, as Lambda's Kafka event carries them. */
function kafkaEvent(n: number): LambdaKafkaEvent {
  const random = mulberry32(11);
  const vocabulary = Array.from({ length: 1000 }, (_, i) => `w${i.toString(36)}x`);
  const records: Record<string, LambdaKafkaRecord[]> = {};
  for (let i = 0; i < n; i++) {
    const partition = i % PARTITIONS;
    const text = Array.from({ length: 6 }, () => vocabulary[Math.floor(random() * vocabulary.length)]!).join(" ");
    const json = JSON.stringify({ id: i, text, ts: T0 + 1 });
    const value = json.length < 100 ? json.slice(0, -1) + `,"p":"${"x".repeat(Math.max(0, 100 - json.length - 7))}"}` : json;
    (records[`${TOPIC}-${partition}`] ??= []).push({
      topic: TOPIC,
      partition,
      offset: Math.floor(i / PARTITIONS),
      timestamp: T0 + 1,
      timestampType: "CREATE_TIME",
      key: Buffer.from(`u${i % 10_000}`).toString("base64"),
      value: Buffer.from(value).toString("base64"),
      headers: [],
    });
  }
  return { eventSource: "aws:kafka", eventSourceArn: "arn:aws:kafka:us-east-1:123456789012:cluster/bench/x", records };
}

/** By hand: per partition, skip committed offsets, decode, split, count, write the counts as one part, commit. */
async function handHandler(event: LambdaKafkaEvent, store: PipelineStore): Promise<Map<string, number>> {
  const total = new Map<string, number>();
  for (const [shardId, list] of Object.entries(event.records)) {
    const progress = await store.getProgress(shardId);
    const committed = progress?.seq === undefined ? -1n : BigInt(progress.seq);
    const counts = new Map<string, number>();
    let last: string | undefined;
    let watermark = progress?.watermark ?? 0;
    let firstSeq: string | undefined;
    for (const r of list) {
      if (BigInt(r.offset) <= committed) continue;
      let rec: Rec;
      try {
        rec = JSON.parse(Buffer.from(r.value!, "base64").toString("utf8")) as Rec;
      } catch {
        continue;
      }
      const words = rec.text.split(" ");
      for (let i = 0; i < words.length; i++) counts.set(words[i]!, (counts.get(words[i]!) ?? 0) + 1);
      firstSeq ??= String(r.offset);
      last = String(r.offset);
      watermark = Math.max(watermark, r.timestamp);
    }
    if (last === undefined) continue;
    const time = Math.floor(watermark / BATCH_MS) * BATCH_MS + BATCH_MS;
    await store.putParts([{ time, nodeId: "counts", shardId, attemptId: "hand", firstSeq: firstSeq!, payload: JSON.stringify([...counts]) }]);
    await store.commit({ shardId, expected: { seq: progress?.seq, watermark: progress?.watermark ?? 0 }, seq: last, watermark, times: [time], attemptId: "hand" });
    for (const [w, c] of counts) total.set(w, (total.get(w) ?? 0) + c);
  }
  return total;
}

export const kafkaShard: BenchmarkFactory = ({ scale }) => {
  const n = Math.max(100, Math.round(10_000 * scale));
  const event = kafkaEvent(n);
  const zeroTime = Math.floor(T0 / BATCH_MS) * BATCH_MS;
  const status = { zeroTime, lastFinalized: zeroTime, graphHash: pipeline.instantiate(zeroTime).ssc.graph.hash() };
  // A warm container of a running pipeline: the plan built once, the status there; fresh stores every run.
  let store = new MemoryPipelineStore();
  let objects = new MemoryObjectStore();
  const deps: RuntimeDeps = {
    get store() {
      return store;
    },
    get objects() {
      return objects;
    },
    shards: new KafkaPartitionDirectory(TOPIC, async () => []),
    now: () => T0 + 500,
    log: () => undefined,
  };
  const runtime = new PipelineRuntime(pipeline, deps);
  const context = { getRemainingTimeInMillis: () => 900_000 };
  const countsNode = pipeline.instantiate(zeroTime).plan.boundaries[0]!.node.id;
  return {
    name: "kafka-shard",
    title: `shard handler on one Kafka event of ${n.toLocaleString("en")} JSON records on ${PARTITIONS} partitions, word count + windowed count, memory stores`,
    units: { records: n },
    variants: [
      {
        name: "hand-written handler",
        run: async () => {
          const handStore = new MemoryPipelineStore();
          const t0 = performance.now();
          const result = await handHandler(event, handStore);
          return { ms: performance.now() - t0, result };
        },
      },
      {
        name: "sparkless shard handler",
        run: async () => {
          store = new MemoryPipelineStore();
          objects = new MemoryObjectStore();
          await store.createStatus(status);
          const t0 = performance.now();
          await runtime.handleKafkaEvent(event, context);
          const ms = performance.now() - t0;
          const total = new Map<string, number>();
          for (const part of await store.getParts(zeroTime + BATCH_MS)) {
            if (part.nodeId !== countsNode) continue;
            for (const [w, c] of decodeValue<Array<[string, number]>>(part.payload)) total.set(w, (total.get(w) ?? 0) + c);
          }
          return { ms, result: total };
        },
      },
    ],
    check: (results) => {
      const [hand, engine] = results as Array<Map<string, number>>;
      if (hand!.size === 0 || hand!.size !== engine!.size || [...hand!].some(([w, c]) => engine!.get(w) !== c)) throw new Error("kafka-shard: the shard handler's counts differ from the hand-written handler's");
    },
  };
};

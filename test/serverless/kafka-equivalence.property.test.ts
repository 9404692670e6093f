/**
 * The serverless path on Kafka events equals the local engine. Records on random topic-partitions (offsets with
 * gaps) reach the shard handler as Lambda's Kafka event source mapping delivers them: several partitions per
 * invocation, random batch sizes, partial-batch responses resumed where they say, bisection on a failed
 * invocation, duplicate deliveries and redeliveries after a consumer-group rebalance, and crashes injected at
 * every kind of write — before it takes effect and after. The ticker learns the partitions and their high
 * watermarks from the topic's metadata. Every batch's S3 outputs and printed blocks equal the local engine's.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Milliseconds, Seconds } from "../../lib/core/duration.js";
import type { DStream } from "../../lib/api/dstream.js";
import { definePipeline } from "../../lib/api/define-pipeline.js";
import { KafkaPartitionDirectory } from "../../lib/serverless/kafka-partitions.js";
import { PipelineRuntime } from "../../lib/serverless/runtime.js";
import { MemoryObjectStore } from "../../lib/testing/memory-object-store.js";
import { MemoryPipelineStore, SimulatedCrash } from "../../lib/testing/memory-pipeline-store.js";
import type { PipelineStore } from "../../lib/pipeline-store/pipeline-store.js";
import { lambdaContext, printedBlocks, timedContext, prng, runLocal, serverlessFiles } from "./support.js";
import { b64, kafkaEvent, type SimKafkaRecord, simOffsets } from "./kafka-support.js";

const B = 1000;
const TOPIC = "web.clicks-v2";
const add = (a: number, b: number) => a + b;
const sub = (a: number, b: number) => a - b;

type Rec = { w: string; n: number };

const pipeline = definePipeline<Rec>(
  "kequiv",
  { batchInterval: Milliseconds(B), decoder: (bytes) => JSON.parse(Buffer.from(bytes).toString("utf8")) as Rec, idleAfter: Seconds(1) },
  (input: DStream<Rec>) => {
    const pairs = input.map((r) => [r.w, r.n] as [string, number]);
    pairs.reduceByKey(add).saveAsTextFiles("out/sum");
    pairs.reduceByKeyAndWindow(add, sub, Seconds(3), Seconds(1), { name: "inverse" }).saveAsTextFiles("out/inverse");
    pairs.updateStateByKey((vs: number[], s: number | undefined) => (s ?? 0) + vs.reduce(add, 0), { name: "totals" }).saveAsTextFiles("out/totals");
    input.window(Seconds(2), Seconds(2)).count().print();
    input.map((r) => r.w).print(3);
  },
);

/** Every write a crash can cut, before it takes effect and after (the caller never hears back). */
const FAULTS: Array<[keyof PipelineStore | "objects.put", "before" | "after"]> = [
  ["putParts", "before"], ["putParts", "after"], ["commit", "before"], ["commit", "after"],
  ["getParts", "before"], ["putMemory", "before"], ["putMemory", "after"], ["advanceStatus", "before"], ["advanceStatus", "after"],
  ["getStatus", "before"], ["advanceWatermark", "before"], ["advanceWatermark", "after"], ["acquireLease", "after"],
  ["objects.put", "before"], ["objects.put", "after"],
];

const recordArb = fc.record({ w: fc.constantFrom("a", "b", "c", "d"), n: fc.integer({ min: 1, max: 5 }), gap: fc.integer({ min: 0, max: 1700 }), skip: fc.integer({ min: 1, max: 3 }) });
const scenarioArb = fc.record({
  partitions: fc.array(fc.array(recordArb, { maxLength: 10 }), { minLength: 1, maxLength: 3 }),
  seed: fc.integer(),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer U> ? U : never;

/** Runs a scenario to the comparison; says how many partial-batch responses Lambda resumed. */
async function runScenario(s: Scenario, forced?: (typeof FAULTS)[number]): Promise<number> {
  const rnd = prng(s.seed);
  const base = 1_700_000_000_321;
  const records = new Map<number, SimKafkaRecord[]>();
  let maxTime = base;
  s.partitions.forEach((recs, partition) => {
    let t = base;
    let offset = 100 * partition;
    records.set(partition, recs.map((r) => {
      t += r.gap;
      offset += r.skip; // compaction and transaction markers leave gaps
      maxTime = Math.max(maxTime, t);
      return { topic: TOPIC, partition, offset, timestamp: t, key: r.w, value: b64(JSON.stringify({ w: r.w, n: r.n })) };
    }));
  });

  const store = new MemoryPipelineStore();
  const objects = new MemoryObjectStore();
  let now = base;
  const shards = new KafkaPartitionDirectory(TOPIC, simOffsets(records), 0);
  const logs: string[] = [];
  let n = 0;
  const runtime = new PipelineRuntime(pipeline, { store, objects, shards, now: () => now, log: (t) => logs.push(t), newAttemptId: () => `attempt-${n++}` });
  const swallow = async <R>(p: Promise<R>): Promise<R | undefined> => {
    try {
      return await p;
    } catch (e) {
      if (e instanceof SimulatedCrash || (e as { code?: string }).code === "CommitConflict") return undefined;
      throw e;
    }
  };
  const arm = ([method, when]: (typeof FAULTS)[number]) => (method === "objects.put" ? objects.failNext("put", when) : store.failNext(method, when));

  await runtime.tick();
  now = maxTime + 1;

  // Lambda's poller: per partition a position; an invocation takes the next slice of some partitions.
  const position = new Map([...records.keys()].map((p) => [p, 0]));
  const halve = new Set<number>();
  const consumed = (p: number) => position.get(p)! >= records.get(p)!.length;
  let forcedArmed = false;
  let resumed = 0;
  for (let step = 0; step < 400; step++) {
    const ready = [...records.keys()].filter((p) => !consumed(p));
    if (ready.length === 0) break;
    const chosen = ready.filter(() => rnd(2) === 0);
    if (chosen.length === 0) chosen.push(ready[rnd(ready.length)]!);
    const slices = new Map(chosen.map((p) => {
      const size = halve.has(p) ? Math.max(1, Math.ceil((1 + rnd(5)) / 2)) : 1 + rnd(5);
      return [p, records.get(p)!.slice(position.get(p)!, position.get(p)! + size)];
    }));
    halve.clear();
    const event = kafkaEvent([...slices.values()].flat(), rnd(2) === 0);
    if (forced && !forcedArmed) {
      arm(forced);
      forcedArmed = true;
    } else if (!forced && rnd(5) === 0) {
      arm(FAULTS[rnd(FAULTS.length)]!);
    }
    // Sometimes the invocation runs short of time part-way: the partitions it could not finish are resumed.
    const calls = rnd(3) === 0 ? 1 + rnd(6) : Infinity;
    let called = 0;
    const context = timedContext(() => (++called > calls ? 1_000 : 60_000));
    const response = await swallow(runtime.handleKafkaEvent(event, context));
    if (!response) {
      // The invocation failed: Lambda retries it, split in two when bisection is on.
      if (rnd(2) === 0) for (const p of chosen) halve.add(p);
      continue;
    }
    if (rnd(8) === 0) await swallow(runtime.handleKafkaEvent(event, lambdaContext())); // a duplicate delivery
    for (const [p, slice] of slices) {
      const failure = response.batchItemFailures.find((f) => f.itemIdentifier.partition === `${TOPIC}-${p}`);
      const resume = failure ? records.get(p)!.findIndex((r) => r.offset === failure.itemIdentifier.offset) : position.get(p)! + slice.length;
      expect(resume, "a partial-batch response names a record of the batch").toBeGreaterThanOrEqual(position.get(p)!);
      if (failure) resumed++;
      // A consumer-group rebalance: Lambda redelivers from Kafka's committed offset, a little behind.
      position.set(p, rnd(10) === 0 ? Math.max(0, resume - 1 - rnd(3)) : resume);
    }
    if (rnd(4) === 0) await swallow(runtime.tick());
  }
  expect([...records.keys()].every(consumed)).toBe(true);

  // A quiet topic: the ticker finds every partition at its high watermark, watermarks follow the clock.
  const status0 = (await store.getStatus())!;
  const end = Math.floor(maxTime / B) * B + B + 6 * B;
  for (let i = 0; i < 60 && ((await store.getStatus())?.lastFinalized ?? 0) < end; i++) {
    now = Math.max(now, end + 2 * B) + 61_000 * (i > 20 ? 1 : 0); // past a dead finalizer's lease, if one crashed holding it
    await swallow(runtime.tick());
  }
  expect((await store.getStatus())!.lastFinalized).toBeGreaterThanOrEqual(end);

  // The local engine on the same records (within a batch: partition, then offset order).
  const zero = status0.zeroTime;
  const all = [...records.values()].flat();
  const batches: Rec[][] = [];
  for (let t = zero + B; t <= end; t += B) {
    batches.push(all.filter((r) => Math.max(Math.floor(r.timestamp / B) * B + B, zero + B) === t).map((r) => JSON.parse(Buffer.from(r.value, "base64").toString()) as Rec));
  }
  const local = await runLocal(pipeline, batches, zero, end);
  expect(await serverlessFiles(objects, pipeline.name, end)).toEqual(local.files);
  const remote = printedBlocks(logs, end);
  for (const [time, texts] of printedBlocks(local.printed, end)) {
    const got = remote.get(time) ?? [];
    expect(got.length % texts.length, `blocks at ${time}`).toBe(0);
    expect(got.slice(-texts.length), `blocks at ${time}`).toEqual(texts);
  }
  return resumed;
}

describe("serverless on Kafka equals local", () => {
  it("for random partitions, offsets with gaps, batches, partial responses, bisection, duplicates, rebalances and crashes", async () => {
    let resumed = 0;
    await fc.assert(fc.asyncProperty(scenarioArb, async (s) => void (resumed += await runScenario(s))), { numRuns: Number(process.env.EQUIV_RUNS ?? 40) });
    expect(resumed, "partial-batch responses were exercised").toBeGreaterThan(0);
  }, 180_000);

  const fixed: Scenario = {
    partitions: [0, 1, 2].map((p) => Array.from({ length: 8 }, (_, i) => ({ w: "abcd"[(i + p) % 4] as "a" | "b" | "c" | "d", n: 1 + (i % 5), gap: 150 + 90 * p, skip: 1 + (i % 2) }))),
    seed: 7,
  };
  it.each(FAULTS.map((f) => [`${f[0]} ${f[1]}`, f] as const))("through a crash at %s", async (_name, fault) => {
    await runScenario(fixed, fault);
  }, 60_000);
});

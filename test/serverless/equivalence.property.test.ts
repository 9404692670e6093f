/**
 * The serverless path equals the local engine: for random records on random shards (with a split), random
 * Lambda batch boundaries, bisection, duplicate deliveries and crashes injected at every kind of write, the
 * S3 outputs and printed blocks of every batch time equal what the local engine produces for the same input.
 */
import fc from "fast-check";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Milliseconds, Seconds } from "../../lib/core/duration.js";
import type { DStream } from "../../lib/api/dstream.js";
import { ManualClock } from "../../lib/exec/clock.js";
import { QueueSource } from "../../lib/io/queue-source.js";
import { MemoryObjectStore } from "../../lib/testing/memory-object-store.js";
import { definePipeline } from "../../lib/api/define-pipeline.js";
import { PipelineRuntime } from "../../lib/serverless/runtime.js";
import { MemoryPipelineStore } from "../../lib/testing/memory-pipeline-store.js";
import { StateSpec } from "../../lib/core/state-spec.js";
import type { PipelineStore } from "../../lib/pipeline-store/pipeline-store.js";
import { kinesisEvent, lambdaContext, sequenceNumber, SimShards, type SimRecord, prng, survives } from "./support.js";

const B = 1000;
const add = (a: number, b: number) => a + b;
const sub = (a: number, b: number) => a - b;

type Rec = { w: string; n: number };

const pipeline = definePipeline<Rec>(
  "equiv",
  { batchInterval: Milliseconds(B), decoder: (bytes) => JSON.parse(Buffer.from(bytes).toString("utf8")) as Rec, idleAfter: Seconds(1) },
  (input: DStream<Rec>) => {
    const pairs = input.map((r) => [r.w, r.n] as [string, number]);
    pairs.reduceByKey(add).saveAsTextFiles("out/sum");
    pairs.reduceByKeyAndWindow(add, sub, Seconds(3), Seconds(1), { name: "inverse" }).saveAsTextFiles("out/inverse");
    pairs.reduceByKeyAndWindow(add, Seconds(4), Seconds(2), { name: "naive" }).saveAsTextFiles("out/naive");
    pairs.updateStateByKey((vs: number[], s: number | undefined) => (s ?? 0) + vs.reduce(add, 0), { name: "totals" }).saveAsTextFiles("out/totals");
    pairs
      .mapWithState(
        StateSpec.function((k: string, v: number | undefined, st) => {
          const c = ((st.getOption() as number | undefined) ?? 0) + (v ?? 0);
          if (!st.isTimingOut()) st.update(c);
          return [k, c, st.isTimingOut()];
        }).timeout(Seconds(3)),
      )
      .checkpoint(Seconds(2))
      .saveAsTextFiles("out/sessions");
    input.window(Seconds(2), Seconds(2)).count().print();
    input.map((r) => r.w).print(3);
  },
);

const recordArb = fc.record({ w: fc.constantFrom("a", "b", "c", "d", "e"), n: fc.integer({ min: 1, max: 5 }), gap: fc.integer({ min: 0, max: 1700 }) });
const scenarioArb = fc.record({
  shards: fc.array(fc.array(recordArb, { maxLength: 10 }), { minLength: 1, maxLength: 3 }),
  children: fc.option(fc.tuple(fc.array(recordArb, { maxLength: 6 }), fc.array(recordArb, { maxLength: 6 })), { nil: undefined }),
  seed: fc.integer(),
});

const FAULTS: Array<[keyof PipelineStore, "before" | "after"]> = [
  ["putParts", "before"], ["putParts", "after"], ["commit", "before"], ["commit", "after"],
  ["getParts", "before"], ["putMemory", "before"], ["putMemory", "after"], ["advanceStatus", "before"], ["advanceStatus", "after"],
  ["getStatus", "before"], ["advanceWatermark", "after"], ["acquireLease", "after"],
];

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer U> ? U : never;

async function runScenario(s: Scenario) {
  const rnd = prng(s.seed);
  const base = 1_700_000_000_321;
  const records = new Map<string, SimRecord[]>();
  const shardIds: string[] = [];
  let maxArrival = base;
  s.shards.forEach((recs, i) => {
    const id = `shardId-${String(i).padStart(12, "0")}`;
    shardIds.push(id);
    let t = base;
    records.set(id, recs.map((r, j) => {
      t += r.gap;
      maxArrival = Math.max(maxArrival, t);
      return { shardId: id, seq: sequenceNumber(i, j), arrival: t, partitionKey: r.w, data: Buffer.from(JSON.stringify({ w: r.w, n: r.n })).toString("base64") };
    }));
  });
  const visible = shardIds.map((shardId) => ({ shardId, closed: false }));
  const parentOf = new Map<string, string>();
  if (s.children) {
    // Shard 0 splits after its last record: it closes, two children take over from there.
    visible[0] = { shardId: shardIds[0], closed: true };
    const parentLast = records.get(shardIds[0])!.at(-1)?.arrival ?? base;
    s.children.forEach((recs, c) => {
      const id = `shardId-${String(10 + c).padStart(12, "0")}`;
      let t = parentLast;
      records.set(id, recs.map((r, j) => {
        t += r.gap;
        maxArrival = Math.max(maxArrival, t);
        return { shardId: id, seq: sequenceNumber(10 + c, j), arrival: t, partitionKey: r.w, data: Buffer.from(JSON.stringify({ w: r.w, n: r.n })).toString("base64") };
      }));
      visible.push({ shardId: id, closed: false, parentShardId: shardIds[0] } as never);
      parentOf.set(id, shardIds[0]);
    });
  }

  const store = new MemoryPipelineStore();
  const objects = new MemoryObjectStore();
  const shards = new SimShards(records, visible);
  let now = Math.min(...[...records.values()].flat().map((r) => r.arrival), base);
  const logs: string[] = [];
  const runtime = new PipelineRuntime(pipeline, { store, objects, shards, now: () => now, log: (t) => logs.push(t), newAttemptId: (() => { let n = 0; return () => `attempt-${n++}`; })() });

  // The pipeline starts (its zero time is set) before any record is processed.
  await runtime.tick();
  now = maxArrival + 1;

  // Lambda: per shard a position; children only once their parent is consumed; random batch sizes,
  // bisection on error, duplicate deliveries and injected crashes.
  const position = new Map([...records.keys()].map((id) => [id, 0]));
  let nextSize = new Map<string, number>();
  const consumed = (id: string) => position.get(id)! >= records.get(id)!.length;
  for (let step = 0; step < 400; step++) {
    const ready = [...records.keys()].filter((id) => !consumed(id) && (!parentOf.has(id) || consumed(parentOf.get(id)!)));
    if (ready.length === 0) break;
    const id = ready[rnd(ready.length)];
    const recs = records.get(id)!;
    const from = position.get(id)!;
    const size = nextSize.get(id) ?? 1 + rnd(5);
    nextSize.delete(id);
    const batch = recs.slice(from, from + size);
    if (rnd(5) === 0) {
      const [method, when] = FAULTS[rnd(FAULTS.length)];
      (rnd(4) === 0 ? objects.failNext("put", when) : store.failNext(method, when));
    }
    let response: { batchItemFailures: Array<{ itemIdentifier: string }> } | undefined;
    const ok = await survives(runtime.handleShardEvent(kinesisEvent(batch), lambdaContext()).then((r) => (response = r)));
    if (!ok) {
      if (batch.length > 1 && rnd(2) === 0) nextSize.set(id, Math.ceil(batch.length / 2)); // BisectBatchOnFunctionError
      continue;
    }
    if (rnd(8) === 0) await survives(runtime.handleShardEvent(kinesisEvent(batch), lambdaContext())); // a duplicate delivery
    const failed = response!.batchItemFailures[0]?.itemIdentifier;
    position.set(id, failed ? recs.findIndex((r) => r.seq === failed) : from + batch.length);
    if (rnd(4) === 0) await survives(runtime.tick());
  }
  expect([...records.keys()].every(consumed)).toBe(true);

  // Quiet stream: ticks probe idle shards, watermarks follow the clock, every batch gets finalized.
  const status0 = (await store.getStatus())!;
  const lastData = Math.floor(maxArrival / B) * B + B;
  const end = lastData + 6 * B;
  for (let i = 0; i < 60 && ((await store.getStatus())?.lastFinalized ?? 0) < end; i++) {
    now = Math.max(now, end + 2 * B) + 61_000 * (i > 20 ? 1 : 0); // past a dead finalizer's lease, if one crashed holding it
    await survives(runtime.tick());
  }
  expect((await store.getStatus())!.lastFinalized).toBeGreaterThanOrEqual(end);

  // The local engine on the same records, batch by batch (within a batch: shard, then sequence order).
  const zero = status0.zeroTime;
  const batches: Rec[][] = [];
  const all = [...records.values()].flat().sort((a, b) => (a.shardId < b.shardId ? -1 : a.shardId > b.shardId ? 1 : BigInt(a.seq) < BigInt(b.seq) ? -1 : 1));
  for (let t = zero + B; t <= end; t += B) {
    batches.push(all.filter((r) => Math.max(Math.floor(r.arrival / B) * B + B, zero + B) === t).map((r) => JSON.parse(Buffer.from(r.data, "base64").toString()) as Rec));
  }
  const clock = new ManualClock(zero);
  const printed: string[] = [];
  const files = new Map<string, string>();
  const ssc = pipeline.on(new QueueSource(batches), {
    clock,
    out: (t) => printed.push(t),
    writeBatch: async (path, partitions) => void files.set(path, partitions.map((p) => p.map((l) => l + "\n").join("")).join("")),
    checkpointDir: join(tmpdir(), "sparkless-equivalence"),
  });
  await ssc.start();
  await clock.advance(end - zero);
  await ssc.stop();

  // Same directories, same contents, each with _SUCCESS.
  for (const [path, content] of files) {
    const dir = `output/equiv/${path}`;
    const keys = await objects.list(dir + "/");
    if (process.env.EQUIV_DEBUG && !keys.includes(`${dir}/_SUCCESS`)) console.log(dir, await objects.list(""), logs, await store.getStatus(), await store.listProgress());
    expect(keys, dir).toContain(`${dir}/_SUCCESS`);
    const parts = keys.filter((k) => /part-\d{5}$/.test(k));
    const text = (await Promise.all(parts.map((k) => objects.get(k)))).join("");
    expect(text, dir).toBe(content);
  }
  const serverlessDirs = new Set((await objects.list("output/equiv/")).map((k) => k.slice("output/equiv/".length, k.lastIndexOf("/"))).filter((p) => Number(p.split("-").at(-1)) <= end));
  expect([...serverlessDirs].sort()).toEqual([...files.keys()].sort());

  // Same printed blocks per batch time (a re-run batch prints again: at-least-once, the same text).
  const blocks = (texts: string[]) => {
    const byTime = new Map<string, string[]>();
    for (const t of texts.filter((t) => t.startsWith("---"))) {
      const time = /Time: (\d+) ms/.exec(t)![1];
      if (Number(time) <= end) byTime.set(time, [...(byTime.get(time) ?? []), t]);
    }
    return byTime;
  };
  const local = blocks(printed);
  const remote = blocks(logs);
  for (const [time, texts] of local) {
    const got = remote.get(time) ?? [];
    // Each local block appears remotely, as many times as it printed in one clean run or a whole multiple.
    expect(got.length % texts.length, `blocks at ${time}`).toBe(0);
    expect(got.slice(-texts.length), `blocks at ${time}`).toEqual(texts);
  }
}

describe("serverless equals local", () => {
  it("for random shards, splits, batch boundaries, bisection, duplicates and crashes", async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, runScenario), { numRuns: Number(process.env.EQUIV_RUNS ?? 60), ...(process.env.EQUIV_SEED ? { seed: Number(process.env.EQUIV_SEED), path: process.env.EQUIV_PATH, endOnFailure: true } : {}) });
  }, 120_000);
});

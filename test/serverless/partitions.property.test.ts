/**
 * P finalizer partitions equal the local engine (docs/serverless.md "Finalizer partitions"): for P in {1, 2, 4, 7},
 * random records on random shards (with a split), random Lambda batch boundaries, bisection, duplicate deliveries
 * and crashes at every kind of write — of the shard stage, of each partition's finalizer and of the completion
 * step — every operator's outputs equal what the local engine produces for the same input. Partitions are run
 * inline (no invoker) or fanned out through `invokeFinalizer`, whose requests run later, in any order, some twice.
 *
 * With P > 1 an RDD's elements come in partition order, not the local engine's, as Spark's do: files are
 * compared as sorted lines, and a print block as its elements when it shows them all.
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
import { definePipeline, type Pipeline } from "../../lib/api/define-pipeline.js";
import { PipelineRuntime } from "../../lib/serverless/runtime.js";
import { MemoryPipelineStore, SimulatedCrash } from "../../lib/testing/memory-pipeline-store.js";
import { StateSpec } from "../../lib/core/state-spec.js";
import type { PipelineStore } from "../../lib/pipeline-store/pipeline-store.js";
import { kinesisEvent, lambdaContext, sequenceNumber, SimShards, type SimRecord, prng } from "./support.js";

const B = 1000;
const add = (a: number, b: number) => a + b;
const sub = (a: number, b: number) => a - b;

type Rec = { w: string; n: number };

/** Every kind of operator: per-key (local), co-partitioned joins, a second shuffle, non-keyed aggregations, outputs. */
function pipelineOf(partitions: number): Pipeline<Rec> {
  return definePipeline<Rec>(
    "parts",
    {
      batchInterval: Milliseconds(B),
      decoder: (bytes) => JSON.parse(Buffer.from(bytes).toString("utf8")) as Rec,
      idleAfter: Seconds(1),
      finalizerPartitions: partitions,
    },
    (input: DStream<Rec>) => {
      const pairs = input.map((r) => [r.w, r.n] as [string, number]);
      const tens = input.filter((r) => r.n % 2 === 1).map((r) => [r.w, r.n * 10] as [string, number]);
      pairs.reduceByKey(add).saveAsTextFiles("out/sum");
      pairs.groupByKey().mapValues((vs) => vs.slice().sort().join("+")).saveAsTextFiles("out/group");
      pairs.reduceByKeyAndWindow(add, sub, Seconds(3), Seconds(1), { name: "inverse" }).saveAsTextFiles("out/inverse");
      pairs.reduceByKeyAndWindow(add, Seconds(4), Seconds(2), { name: "naive" }).saveAsTextFiles("out/naive");
      pairs.updateStateByKey((vs: number[], s: number | undefined) => (s ?? 0) + vs.reduce(add, 0), { name: "totals" }).saveAsTextFiles("out/totals");
      const sessions = pairs.mapWithState(
        StateSpec.function((k: string, v: number | undefined, st) => {
          const c = ((st.getOption() as number | undefined) ?? 0) + (v ?? 0);
          if (!st.isTimingOut()) st.update(c);
          return [k, c, st.isTimingOut()];
        }).timeout(Seconds(3)),
      );
      sessions.saveAsTextFiles("out/sessions");
      sessions.stateSnapshots().saveAsTextFiles("out/snapshots");
      pairs.join(tens).saveAsTextFiles("out/join");
      pairs.reduceByKey(add).cogroup(tens.window(Seconds(2), Seconds(1))).mapValues(([a, b]) => [a.slice().sort(), b.slice().sort()]).saveAsTextFiles("out/cogroup");
      pairs.union(tens).reduceByKey(add).saveAsTextFiles("out/union");
      // A second shuffle on another key: the tail, in the completion step.
      pairs.reduceByKey(add).map(([, n]) => [n % 3, 1] as [number, number]).reduceByKey(add).saveAsTextFiles("out/rekeyed");
      // Windows over the tail: memory the completion step keeps.
      pairs.reduceByKey(add).countByWindow(Seconds(3), Seconds(1)).saveAsTextFiles("out/count-window");
      input.map((r) => r.n).reduce(add).saveAsTextFiles("out/reduce");
      input.map((r) => r.w).countByValue().saveAsTextFiles("out/count-by-value");
      pairs.transform((rdd) => rdd.filter(([, n]) => n > 2)).saveAsTextFiles("out/transform");
      input.window(Seconds(2), Seconds(2)).count().print();
      input.map((r) => r.w).print(3);
    },
  );
}

const recordArb = fc.record({ w: fc.constantFrom("a", "b", "c", "d", "e", "f", "g"), n: fc.integer({ min: 1, max: 5 }), gap: fc.integer({ min: 0, max: 1700 }) });
const scenarioArb = fc.record({
  partitions: fc.constantFrom(1, 2, 4, 7),
  fanOut: fc.boolean(),
  shards: fc.array(fc.array(recordArb, { maxLength: 10 }), { minLength: 1, maxLength: 3 }),
  children: fc.option(fc.tuple(fc.array(recordArb, { maxLength: 6 }), fc.array(recordArb, { maxLength: 6 })), { nil: undefined }),
  seed: fc.integer(),
});

const FAULTS: Array<[keyof PipelineStore, "before" | "after"]> = [
  ["putParts", "before"], ["putParts", "after"], ["commit", "before"], ["commit", "after"],
  ["getParts", "before"], ["putMemory", "before"], ["putMemory", "after"], ["getMemory", "before"],
  ["advanceStatus", "before"], ["advanceStatus", "after"], ["getStatus", "before"], ["advanceWatermark", "after"],
  ["acquireLease", "after"], ["acquirePartitionLease", "after"], ["acquirePartitionLease", "before"],
  ["getPartitionFinalized", "before"], ["listPartitionStatus", "before"], ["renewLease", "after"],
];

/** Outputs of partition-local streams (the rest read the tail's shuffles or transforms). */
const LOCAL_OUTPUTS = /^out\/(sum|group|inverse|naive|totals|sessions|snapshots|join|cogroup|union)-/;

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer U> ? U : never;

const pipelines = new Map([1, 2, 4, 7].map((p) => [p, pipelineOf(p)]));

async function runScenario(s: Scenario) {
  const pipeline = pipelines.get(s.partitions)!;
  const rnd = prng(s.seed);
  const base = 1_700_000_000_321;
  const records = new Map<string, SimRecord[]>();
  const shardIds: string[] = [];
  let maxArrival = base;
  const recordsOf = (index: number, recs: Scenario["shards"][number], from: number) => {
    const id = `shardId-${String(index).padStart(12, "0")}`;
    let t = from;
    records.set(id, recs.map((r, j) => {
      t += r.gap;
      maxArrival = Math.max(maxArrival, t);
      return { shardId: id, seq: sequenceNumber(index, j), arrival: t, partitionKey: r.w, data: Buffer.from(JSON.stringify({ w: r.w, n: r.n })).toString("base64") };
    }));
    return id;
  };
  s.shards.forEach((recs, i) => shardIds.push(recordsOf(i, recs, base)));
  const visible = shardIds.map((shardId) => ({ shardId, closed: false }));
  const parentOf = new Map<string, string>();
  if (s.children) {
    visible[0] = { shardId: shardIds[0]!, closed: true };
    const parentLast = records.get(shardIds[0]!)!.at(-1)?.arrival ?? base;
    s.children.forEach((recs, c) => {
      const id = recordsOf(10 + c, recs, parentLast);
      visible.push({ shardId: id, closed: false, parentShardId: shardIds[0] } as never);
      parentOf.set(id, shardIds[0]!);
    });
  }

  const store = new MemoryPipelineStore();
  const objects = new MemoryObjectStore();
  const shards = new SimShards(records, visible);
  let now = Math.min(...[...records.values()].flat().map((r) => r.arrival), base);
  const logs: string[] = [];
  // Fanned out: each request is queued and runs later, in any order, sometimes twice (Lambda's async retries).
  const requested: number[] = [];
  let n = 0;
  const runtime = new PipelineRuntime(pipeline, {
    store,
    objects,
    shards,
    now: () => now,
    log: (t) => logs.push(t),
    newAttemptId: () => `attempt-${n++}`,
    ...(s.fanOut ? { invokeFinalizer: async (p: number) => void requested.push(p) } : {}),
  });
  const swallow = async (p: Promise<unknown>) => {
    try {
      await p;
      return true;
    } catch (e) {
      if (e instanceof SimulatedCrash || (e as { code?: string }).code === "CommitConflict") return false;
      throw e;
    }
  };
  const maybeFault = () => {
    if (rnd(5) !== 0) return;
    const [method, when] = FAULTS[rnd(FAULTS.length)]!;
    if (rnd(4) === 0) objects.failNext("put", when);
    else store.failNext(method, when);
  };
  const runRequested = async () => {
    while (requested.length > 0) {
      const [p] = requested.splice(rnd(requested.length), 1);
      maybeFault();
      await swallow(runtime.finalize(lambdaContext(), { partition: p! }));
      if (rnd(6) === 0) await swallow(runtime.finalize(lambdaContext(), { partition: p! })); // delivered twice
    }
  };

  await runtime.tick();
  await runRequested();
  now = maxArrival + 1;

  const position = new Map([...records.keys()].map((id) => [id, 0]));
  const nextSize = new Map<string, number>();
  const consumed = (id: string) => position.get(id)! >= records.get(id)!.length;
  for (let step = 0; step < 400; step++) {
    const ready = [...records.keys()].filter((id) => !consumed(id) && (!parentOf.has(id) || consumed(parentOf.get(id)!)));
    if (ready.length === 0) break;
    const id = ready[rnd(ready.length)]!;
    const recs = records.get(id)!;
    const from = position.get(id)!;
    const size = nextSize.get(id) ?? 1 + rnd(5);
    nextSize.delete(id);
    const batch = recs.slice(from, from + size);
    maybeFault();
    let response: { batchItemFailures: Array<{ itemIdentifier: string }> } | undefined;
    const ok = await swallow(runtime.handleShardEvent(kinesisEvent(batch), lambdaContext()).then((r) => (response = r)));
    if (!ok) {
      if (batch.length > 1 && rnd(2) === 0) nextSize.set(id, Math.ceil(batch.length / 2));
      continue;
    }
    if (rnd(8) === 0) await swallow(runtime.handleShardEvent(kinesisEvent(batch), lambdaContext()));
    const failed = response!.batchItemFailures[0]?.itemIdentifier;
    position.set(id, failed ? recs.findIndex((r) => r.seq === failed) : from + batch.length);
    if (rnd(4) === 0) await swallow(runtime.tick());
    if (rnd(3) === 0) await runRequested();
  }
  expect([...records.keys()].every(consumed)).toBe(true);

  // The test's own reads: a crash armed for a call the runs never made must not meet them.
  const status = () => (store.clearFaults(), store.getStatus());
  const status0 = (await status())!;
  expect(status0.partitions ?? 1).toBe(s.partitions);
  const lastData = Math.floor(maxArrival / B) * B + B;
  const end = lastData + 6 * B;
  for (let i = 0; i < 80 && ((await status())?.lastFinalized ?? 0) < end; i++) {
    now = Math.max(now, end + 2 * B) + 61_000 * (i > 2 ? 1 : 0); // past a dead finalizer's lease
    await swallow(runtime.tick());
    await runRequested();
  }
  expect((await status())!.lastFinalized).toBeGreaterThanOrEqual(end);
  store.clearFaults();
  const list = await store.listPartitionStatus();
  expect(list.map((p) => p.partition)).toEqual(Array.from({ length: s.partitions }, (_, p) => p));
  for (const p of list) expect(p.lastFinalized).toBeGreaterThanOrEqual(end);

  // The local engine on the same records, batch by batch.
  const zero = status0.zeroTime;
  const batches: Rec[][] = [];
  const all = [...records.values()].flat().sort((a, b) => (a.shardId < b.shardId ? -1 : a.shardId > b.shardId ? 1 : BigInt(a.seq) < BigInt(b.seq) ? -1 : 1));
  for (let t = zero + B; t <= end; t += B) {
    batches.push(all.filter((r) => Math.max(Math.floor(r.arrival / B) * B + B, zero + B) === t).map((r) => JSON.parse(Buffer.from(r.data, "base64").toString()) as Rec));
  }
  const clock = new ManualClock(zero);
  const printed: string[] = [];
  const files = new Map<string, string[]>();
  const ssc = pipelineOf(1).on(new QueueSource(batches), {
    clock,
    out: (t) => printed.push(t),
    writeBatch: async (path, partitions) => void files.set(path, partitions.flat()),
    checkpointDir: join(tmpdir(), "sparkless-partitions"),
  });
  await ssc.start();
  await clock.advance(end - zero);
  await ssc.stop();

  for (const [path, lines] of files) {
    const dir = `output/parts/${path}`;
    const keys = await objects.list(dir + "/");
    expect(keys, dir).toContain(`${dir}/_SUCCESS`);
    const parts = keys.filter((k) => /part-\d{5}$/.test(k));
    // A stream the partitions computed: one part per finalizer partition. The tail's own shuffles have theirs.
    if (s.partitions > 1 && LOCAL_OUTPUTS.test(path)) expect(parts.length, dir).toBe(s.partitions);
    const text = (await Promise.all(parts.map((k) => objects.get(k)))).join("");
    expect(text.split("\n").filter((l) => l !== "").sort(), dir).toEqual(lines.slice().sort());
  }
  const serverlessDirs = new Set((await objects.list("output/parts/")).map((k) => k.slice("output/parts/".length, k.lastIndexOf("/"))).filter((p) => Number(p.split("-").at(-1)) <= end));
  expect([...serverlessDirs].sort()).toEqual([...files.keys()].sort());

  // Printed blocks: each local one appears (at least once); with P > 1, as a set of elements in partition order.
  const normal = (block: string) => {
    const [header, ...rest] = block.split("\n");
    if (s.partitions === 1 || rest.includes("...")) return s.partitions === 1 ? block : `${header}|${rest.length}`;
    return `${header}|${rest.slice().sort().join("|")}`;
  };
  const blocks = (texts: string[]) => {
    const byTime = new Map<string, string[]>();
    for (const t of texts.filter((t) => t.startsWith("---"))) {
      const time = /Time: (\d+) ms/.exec(t)![1]!;
      if (Number(time) <= end) byTime.set(time, [...(byTime.get(time) ?? []), normal(t)]);
    }
    return byTime;
  };
  const local = blocks(printed);
  const remote = blocks(logs);
  for (const [time, texts] of local) {
    const got = remote.get(time) ?? [];
    for (const text of texts) expect(got, `blocks at ${time}`).toContain(text);
    for (const text of got) expect(texts, `blocks at ${time}`).toContain(text);
  }
}

describe("P finalizer partitions equal the local engine", () => {
  it("for P in {1, 2, 4, 7}, random shards, splits, batch boundaries, duplicates, fan-out orders and crashes at every write", async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, runScenario), {
      numRuns: Number(process.env.PARTITIONS_RUNS ?? 40),
      ...(process.env.PARTITIONS_SEED ? { seed: Number(process.env.PARTITIONS_SEED), path: process.env.PARTITIONS_PATH, endOnFailure: true } : {}),
    });
  }, 300_000);
});

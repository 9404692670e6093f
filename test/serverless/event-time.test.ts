/**
 * Event time on the serverless path (docs/architecture.md "Time"): with a `timestampExtractor`, a record belongs to the
 * batch of its event time; the shard's watermark is the largest event time it has seen less `allowedLateness`;
 * a record whose batch the watermark (or the finalizer) has already passed is late and goes, with its reason,
 * to `late/<pipeline>/<shard>/<seq>.json`. Lateness is decided record by record in shard order, from the
 * committed watermark, so Lambda's batch boundaries, retries and duplicates do not change the outcome.
 *
 * Granularity, as the runtime implements it: a record is late when the batch it belongs to ends at or before
 * the watermark (that batch may already be complete), not as soon as its own time is below the watermark —
 * Spark's rule for watermarks too ("data older than the watermark may or may not be dropped"; what is
 * guaranteed is that data newer than it is kept).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Seconds } from "../../lib/core/duration.js";
import { MemoryObjectStore } from "../../lib/testing/memory-object-store.js";
import { definePipeline } from "../../lib/api/define-pipeline.js";
import type { ShardInfo } from "../../lib/serverless/runtime-deps.js";
import { PipelineRuntime } from "../../lib/serverless/runtime.js";
import { MemoryPipelineStore, SimulatedCrash } from "../../lib/testing/memory-pipeline-store.js";
import {
  jsonObjects,
  kinesisEvent,
  lambdaContext,
  metricLines,
  printedBlocks,
  runLocal,
  serverlessFiles,
  shardName,
  shardRecords,
  SimShards,
  type SimRecord,
  prng,
} from "./support.js";

const B = 1000;
const L = 2000;
const T0 = 1_700_000_000_000;
const add = (a: number, b: number) => a + b;
const sub = (a: number, b: number) => a - b;

type E = { id: string; k: string; t: number };

const pipeline = definePipeline<E>(
  "evt",
  {
    batchInterval: Seconds(1),
    decoder: (bytes) => JSON.parse(Buffer.from(bytes).toString("utf8")) as E,
    timestampExtractor: (e) => e.t,
    allowedLateness: Seconds(2),
    idleAfter: Seconds(1),
  },
  (input) => {
    input.map((e) => e.id).saveAsTextFiles("out/ids");
    const pairs = input.map((e) => [e.k, 1] as [string, number]);
    pairs.reduceByKey(add).saveAsTextFiles("out/counts");
    pairs.reduceByKeyAndWindow(add, sub, Seconds(3), Seconds(1), { name: "w3" }).saveAsTextFiles("out/window");
    input.map((e) => e.id).print(100);
  },
);

/**
 * Records of one shard: `[id, event time offset from T0, key]`, arriving in one burst long after (arrival time
 * plays no part in event-time mode).
 */
function shard(index: number, events: ReadonlyArray<readonly [string, number, string?]>): SimRecord[] {
  return shardRecords(index, shardName(index), events.map(([id, dt, k], j) => ({ data: JSON.stringify({ id, k: k ?? "k", t: T0 + dt }), arrival: T0 + 60_000 + j, partitionKey: id })));
}

function harness(records: Map<string, SimRecord[]>, visible?: ShardInfo[]) {
  const store = new MemoryPipelineStore();
  const objects = new MemoryObjectStore();
  const shards = new SimShards(records, visible ?? [...records.keys()].map((shardId) => ({ shardId, closed: false })));
  const clock = { now: T0 };
  const logs: string[] = [];
  let n = 0;
  const runtime = new PipelineRuntime(pipeline, { store, objects, shards, now: () => clock.now, log: (t) => logs.push(t), newAttemptId: () => `a${n++}` });
  return {
    store,
    objects,
    shards,
    clock,
    logs,
    runtime,
    deliver: (recs: readonly SimRecord[]) => runtime.handleShardEvent(kinesisEvent(recs), lambdaContext()),
    /** The stream goes quiet: the clock passes every event time and ticks finalize what is complete. */
    settle: async (end: number) => {
      for (let i = 0; i < 10 && (await store.getStatus())!.lastFinalized < end; i++) {
        clock.now = end + 2 * B + (i > 2 ? 61_000 : 0); // past a crashed finalizer's lease, if one held it
        try {
          await runtime.tick();
        } catch (e) {
          if (!(e instanceof SimulatedCrash)) throw e;
        }
      }
      expect((await store.getStatus())!.lastFinalized).toBeGreaterThanOrEqual(end);
    },
  };
}

/** The ids each batch time's `out/ids` directory holds (a finalized batch with nothing in it is left out). */
async function idsByBatch(objects: MemoryObjectStore, end: number): Promise<Record<number, string[]>> {
  const out: Record<number, string[]> = {};
  for (const [dir, text] of await serverlessFiles(objects, "evt", end)) {
    if (dir.startsWith("out/ids-") && text) out[Number(dir.slice("out/ids-".length)) - T0] = text.trim().split("\n");
  }
  return out;
}

type Late = { shardId: string; sequenceNumber: string; eventTime: number; batchTime: number; reason: string; data: string };

async function lateIds(objects: MemoryObjectStore): Promise<string[]> {
  const late = await jsonObjects<Late>(objects, "late/evt/");
  return [...late.values()].map((l) => (JSON.parse(Buffer.from(l.data, "base64").toString()) as E).id).sort();
}

describe("event time", () => {
  // Offsets from T0 (= zero time + L, see the first tick): B = 1 s, allowedLateness L = 2 s.
  //   e1 3500 -> batch 4000, watermark 1500
  //   e2 1600 -> batch 2000 > 1500: on time, out of order
  //   e3 4200 -> batch 5000, watermark 2200
  //   e4 2100 -> batch 3000 > 2200: on time
  //   e5 1900 -> batch 2000 <= 2200: late (the watermark has passed its batch)
  //   e6 2300 -> batch 3000: on time though older than the watermark (its batch is still open)
  const events = [["e1", 3500], ["e2", 1600], ["e3", 4200], ["e4", 2100], ["e5", 1900], ["e6", 2300]] as const;
  const expectedIds = { 2000: ["e2"], 3000: ["e4", "e6"], 4000: ["e1"], 5000: ["e3"] };

  it.each([
    ["one invocation", [6]],
    ["one record per invocation", [1, 1, 1, 1, 1, 1]],
    ["a split between e4 and e5", [4, 2]],
  ])("puts out-of-order records within lateness in their event-time batch and older ones in late/ (%s)", async (_name, sizes) => {
    const records = new Map([[shardName(0), shard(0, events)]]);
    const h = harness(records);
    await h.runtime.tick(); // deployed before the data: zero time T0 - L
    const recs = records.get(shardName(0))!;
    let late = 0;
    let from = 0;
    for (const size of sizes) {
      const r = await h.deliver(recs.slice(from, (from += size)));
      late += r.stage.late;
    }
    expect(late).toBe(1);
    expect(metricLines(h.logs).reduce((n, m) => n + m.LateRecords, 0)).toBe(1);

    const lateObjects = await jsonObjects<Late>(h.objects, "late/");
    expect([...lateObjects.keys()]).toEqual([`late/evt/${shardName(0)}/${recs[4]!.seq}.json`]);
    const entry = [...lateObjects.values()][0]!;
    expect(entry).toMatchObject({ shardId: shardName(0), sequenceNumber: recs[4]!.seq, eventTime: T0 + 1900, batchTime: T0 + 2000, data: recs[4]!.data });
    expect(entry.reason).toMatch(/belongs to batch \d+, which this shard's watermark \(1700000002200\) or the finalizer has passed/);

    await h.settle(T0 + 8 * B);
    expect(await idsByBatch(h.objects, T0 + 8 * B)).toEqual(expectedIds);
  });

  it("sends a record older than a finalized batch to late/, even on a new shard that has seen nothing", async () => {
    // Shard 0 runs alone and its batches up to T0+6000 are finalized; then it splits and child 1 gets old records.
    const parent = shard(0, [["p1", 1500], ["p2", 8000]]);
    const child = shard(1, [["c-old", 3000], ["c-mid", 5500], ["c-open", 6900]]);
    const records = new Map([[shardName(0), parent], [shardName(1), child]]);
    const h = harness(records, [{ shardId: shardName(0), closed: false }]);
    await h.runtime.tick();
    await h.deliver(parent); // watermark 6000: inline finalization completes up to T0+6000
    expect((await h.store.getStatus())!.lastFinalized).toBe(T0 + 6000);

    h.shards.visible = [{ shardId: shardName(0), closed: true }, { shardId: shardName(1), closed: false, parentShardId: shardName(0) }];
    const r = await h.deliver(child);
    expect(r.stage.late).toBe(2);
    const late = await jsonObjects<Late>(h.objects, "late/");
    expect([...late.keys()].sort()).toEqual([child[0]!, child[1]!].map((c) => `late/evt/${shardName(1)}/${c.seq}.json`).sort());
    for (const l of late.values()) expect(l.reason).toMatch(/or the finalizer has passed/);

    await h.settle(T0 + 10 * B);
    expect(await idsByBatch(h.objects, T0 + 10 * B)).toEqual({ 2000: ["p1"], 7000: ["c-open"], 9000: ["p2"] });
  });

  it("chooses the zero time so that a record within lateness of the first one is on time, whatever the batch boundaries", async () => {
    // No tick before the data: the first invocation picks the zero time. e2 is 1 s older than e1, within L.
    const events = [["e1", 5000], ["e2", 4000]] as const;
    const outcomes: unknown[] = [];
    for (const sizes of [[2], [1, 1]]) {
      const records = new Map([[shardName(0), shard(0, events)]]);
      const h = harness(records);
      const recs = records.get(shardName(0))!;
      let from = 0;
      for (const size of sizes) await h.deliver(recs.slice(from, (from += size)));
      await h.settle(T0 + 8 * B);
      outcomes.push({ late: await lateIds(h.objects), ids: await idsByBatch(h.objects, T0 + 8 * B) });
    }
    expect(outcomes[0]).toEqual({ late: [], ids: { 5000: ["e2"], 6000: ["e1"] } });
    expect(outcomes[1]).toEqual(outcomes[0]);
  });
});

// ---- property: any batch split, duplicate or crash gives the same outputs and the same late set ----

const eventArb = fc.record({ k: fc.constantFrom("a", "b", "c"), step: fc.integer({ min: 0, max: 900 }), jitter: fc.integer({ min: -3500, max: 500 }) });
const scenarioArb = fc.record({
  shards: fc.array(fc.array(eventArb, { maxLength: 14 }), { minLength: 1, maxLength: 3 }),
  seed: fc.integer(),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer U> ? U : never;

/**
 * What the records should become, worked out from the rule, not from the runtime: per shard, in sequence
 * order, a record is late iff its batch ends at or before the watermark before it (or at or before the zero
 * time); an on-time record raises the watermark to its event time less L.
 */
function model(records: Map<string, SimRecord[]>, zero: number) {
  const late = new Set<string>();
  const onTime: Array<{ r: SimRecord; e: E; batch: number }> = [];
  for (const recs of records.values()) {
    let watermark = 0;
    for (const r of recs) {
      const e = JSON.parse(Buffer.from(r.data, "base64").toString()) as E;
      const batch = Math.floor(e.t / B) * B + B;
      if (batch <= Math.max(Math.floor(watermark / B) * B, zero)) {
        late.add(e.id);
        continue;
      }
      onTime.push({ r, e, batch });
      watermark = Math.max(watermark, e.t - L);
    }
  }
  return { late: [...late].sort(), onTime };
}

async function runScenario(s: Scenario) {
  const rnd = prng(s.seed);
  const records = new Map<string, SimRecord[]>();
  s.shards.forEach((events, i) => {
    let t = 4 * B;
    records.set(shardName(i), shard(i, events.map((ev, j) => {
      t += ev.step;
      return [`s${i}-${j}`, Math.max(0, t + ev.jitter), ev.k] as const;
    })));
  });
  const h = harness(records);
  await h.runtime.tick(); // deployed before the data: the zero time does not depend on the first batch
  const zero = (await h.store.getStatus())!.zeroTime;

  // Lambda: random batch sizes per shard, shards interleaved, duplicates, crashes before and after the commit.
  const position = new Map([...records.keys()].map((id) => [id, 0]));
  const swallow = async <R>(p: Promise<R>): Promise<R | undefined> => {
    try {
      return await p;
    } catch (e) {
      if (e instanceof SimulatedCrash || (e as { code?: string }).code === "CommitConflict") return undefined;
      throw e;
    }
  };
  for (let step = 0; step < 500; step++) {
    const ready = [...records.keys()].filter((id) => position.get(id)! < records.get(id)!.length);
    if (ready.length === 0) break;
    const id = ready[rnd(ready.length)]!;
    const from = position.get(id)!;
    const batch = records.get(id)!.slice(from, from + 1 + rnd(6));
    const fault = rnd(6);
    if (fault === 0) h.store.failNext("commit", rnd(2) === 0 ? "before" : "after");
    if (fault === 1) h.store.failNext("putParts", "before");
    if (fault === 2) h.objects.failNext("put", "after");
    const r = await swallow(h.deliver(batch));
    if (!r) continue;
    if (rnd(6) === 0) await swallow(h.deliver(batch));
    position.set(id, from + batch.length);
  }

  const { late, onTime } = model(records, zero);
  const end = Math.max(zero + B, ...onTime.map((o) => o.batch)) + 3 * B;
  await h.settle(end);

  expect(await lateIds(h.objects)).toEqual(late);
  const batches: E[][] = [];
  for (let t = zero + B; t <= end; t += B) batches.push(onTime.filter((o) => o.batch === t).map((o) => o.e));
  const local = await runLocal(pipeline, batches, zero, end);
  const remote = await serverlessFiles(h.objects, "evt", end);
  expect([...remote.keys()].sort()).toEqual([...local.files.keys()].sort());
  for (const [dir, text] of local.files) expect(remote.get(dir), dir).toBe(text);
  const localBlocks = printedBlocks(local.printed, end);
  const remoteBlocks = printedBlocks(h.logs, end);
  for (const [time, texts] of localBlocks) expect(remoteBlocks.get(time)?.slice(-texts.length), `print at ${time}`).toEqual(texts);
}

describe("event time, for any Lambda batch boundaries", () => {
  it("gives the same outputs and the same late set as the record-by-record rule", async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, runScenario), { numRuns: Number(process.env.EVENT_TIME_RUNS ?? 40) });
  }, 120_000);
});

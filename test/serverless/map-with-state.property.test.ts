/**
 * mapWithState with its state kept per key (lib/serverless/keyed-state.ts) equals the local engine: for random
 * records (updates, removals, keys that time out, an initial state), with and without stateSnapshots, through
 * duplicate deliveries and a crash at each write of the state (before it, after it took effect, between the
 * undo record and the items, or between two of one batch's items, and a re-run's read of the undo record) — and
 * a finalizer whose lease another took cannot overwrite the newer state.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Milliseconds, Seconds, type Time } from "../../lib/core/duration.js";
import type { DStream } from "../../lib/api/dstream.js";
import { definePipeline, type Pipeline } from "../../lib/api/define-pipeline.js";
import { StateSpec } from "../../lib/core/state-spec.js";
import type { State } from "../../lib/core/state.js";
import type { KeyedStateStore } from "../../lib/pipeline-store/keyed-state-store.js";
import { PipelineRuntime } from "../../lib/serverless/runtime.js";
import { finalizeReady } from "../../lib/serverless/finalizer.js";
import { readKeyedState, STARTED_ID, stateKeyId } from "../../lib/serverless/keyed-state.js";
import { encodeValue } from "../../lib/core/codec.js";
import { MemoryKeyedStateStore } from "../../lib/testing/memory-keyed-state-store.js";
import type { RuntimeDeps } from "../../lib/serverless/runtime-deps.js";
import { MemoryObjectStore } from "../../lib/testing/memory-object-store.js";
import { MemoryPipelineStore, SimulatedCrash } from "../../lib/testing/memory-pipeline-store.js";
import { PipelineTestDriver, readOperatorState } from "../../lib/testing/index.js";
import { kinesisEvent, lambdaContext, prng, runLocal, sequenceNumber, serverlessFiles, SimShards, survives, type SimRecord } from "./support.js";

const B = 1000;
type Rec = { k: string; n: number };
const decoder = (bytes: Uint8Array) => JSON.parse(Buffer.from(bytes).toString("utf8")) as Rec;

/** n = 0 removes the key's state; odd n adds to it; even n only reads it (a touch, which with a timeout renews it). */
function session(key: string, n: number | undefined, state: State<number>): [string, number, string] {
  if (state.isTimingOut()) return [key, state.get(), "timeout"];
  const had = state.getOption() ?? -1;
  if (n === 0) state.remove();
  else if (n !== undefined && n % 2 === 1) state.update((state.getOption() ?? 0) + n);
  return [key, had, state.exists() ? "live" : "gone"];
}

const pipelines: Array<[string, Pipeline<Rec>]> = [
  [
    "timeouts, removals, an initial state and stateSnapshots (the whole state read)",
    definePipeline<Rec>("kst-snap", { batchInterval: Milliseconds(B), decoder, idleAfter: Seconds(1) }, (input: DStream<Rec>) => {
      const sessions = input
        .map((r) => [r.k, r.n] as [string, number])
        .mapWithState(StateSpec.function(session).timeout(Seconds(3)).initialState([["c", 100], ["a", 7]]).name("sessions"))
        .checkpoint(Seconds(2));
      sessions.saveAsTextFiles("out/mapped");
      sessions.stateSnapshots().saveAsTextFiles("out/snapshots");
    }),
  ],
  [
    "timeouts and removals, the mapped stream only (the keys with data and the timed-out ones read)",
    definePipeline<Rec>("kst-part", { batchInterval: Milliseconds(B), decoder, idleAfter: Seconds(1) }, (input: DStream<Rec>) => {
      input
        .map((r) => [r.k, r.n] as [string, number])
        .mapWithState(StateSpec.function(session).timeout(Seconds(2)).name("sessions"))
        .saveAsTextFiles("out/mapped");
    }),
  ],
  [
    "no timeout, time-aware function, the mapped stream only",
    definePipeline<Rec>("kst-plain", { batchInterval: Milliseconds(B), decoder, idleAfter: Seconds(1) }, (input: DStream<Rec>) => {
      input
        .map((r) => [r.k, r.n] as [string, number])
        .mapWithState(StateSpec.function((t: Time, k: string, n: number | undefined, s: State<number>) => [t.milliseconds, ...session(k, n, s)]))
        .saveAsTextFiles("out/mapped");
    }),
  ],
];

/** The writes and reads of the state store, each of which may crash before or after it took effect. */
const STATE_FAULTS: Array<[keyof KeyedStateStore, "before" | "after"]> = [
  ["putItems", "before"], ["putItems", "after"], ["putUpdateIndex", "before"], ["putUpdateIndex", "after"],
  ["putUndo", "before"], ["putUndo", "after"],
  ["getItems", "before"], ["scanItems", "before"], ["getUpdateIndex", "before"], ["getUndo", "before"],
];

const recordArb = fc.record({ k: fc.constantFrom("a", "b", "c", "d", "e", "f"), n: fc.integer({ min: 0, max: 4 }), gap: fc.integer({ min: 0, max: 2600 }) });
const scenarioArb = fc.record({ records: fc.array(recordArb, { maxLength: 30 }), seed: fc.integer() });

async function runScenario(pipeline: Pipeline<Rec>, s: { records: Array<{ k: string; n: number; gap: number }>; seed: number }): Promise<void> {
  const rnd = prng(s.seed);
  const base = 1_700_000_000_321;
  const shardId = "shardId-000000000000";
  let t = base;
  const records: SimRecord[] = s.records.map((r, i) => {
    t += r.gap;
    return { shardId, seq: sequenceNumber(0, i), arrival: t, partitionKey: r.k, data: Buffer.from(JSON.stringify({ k: r.k, n: r.n })).toString("base64") };
  });
  const store = new MemoryPipelineStore();
  const state = store.keyedState();
  const objects = new MemoryObjectStore();
  let now = base;
  let attempt = 0;
  const deps: RuntimeDeps = { store, objects, shards: new SimShards(new Map([[shardId, records]]), [{ shardId, closed: false }]), now: () => now, log: () => undefined, newAttemptId: () => `a${attempt++}` };
  const runtime = new PipelineRuntime(pipeline, deps);
  const armFault = () => {
    const r = rnd(10);
    if (r < 4) {
      const [method, when] = STATE_FAULTS[rnd(STATE_FAULTS.length)]!;
      state.failNext(method, when);
    } else if (r < 6) state.failAfterItems(rnd(3));
    else if (r === 6) store.failNext("advanceStatus", rnd(2) ? "after" : "before");
  };

  await runtime.tick();
  const last = records.at(-1)?.arrival ?? base;
  // Lambda delivers in random slices, each perhaps twice, while batches finalize inline and on ticks; faults
  // are armed on the state store along the way, so crashes land on every kind of state read and write.
  for (let from = 0; from < records.length; ) {
    const slice = records.slice(from, from + 1 + rnd(4));
    now = slice.at(-1)!.arrival + 1;
    if (rnd(3) === 0) armFault();
    if (!(await survives(runtime.handleShardEvent(kinesisEvent(slice), lambdaContext())))) continue;
    if (rnd(5) === 0) await survives(runtime.handleShardEvent(kinesisEvent(slice), lambdaContext()));
    from += slice.length;
    if (rnd(3) === 0) {
      armFault();
      await survives(runtime.tick());
    }
  }
  const status0 = (await store.getStatus())!;
  const end = Math.floor(last / B) * B + 8 * B;
  for (let i = 0; i < 80 && ((await store.getStatus())?.lastFinalized ?? 0) < end; i++) {
    // Past a crashed finalizer's lease after a while; faults keep landing until then.
    now = Math.max(now, end + 2 * B) + (i > 10 ? 61_000 * i : 0);
    if (i < 10 && rnd(2) === 0) armFault();
    await survives(runtime.tick());
  }
  expect((await store.getStatus())!.lastFinalized).toBeGreaterThanOrEqual(end);

  const zero = status0.zeroTime;
  const batches: Rec[][] = [];
  for (let time = zero + B; time <= end; time += B) {
    batches.push(records.filter((r) => Math.max(Math.floor(r.arrival / B) * B + B, zero + B) === time).map((r) => decoder(Buffer.from(r.data, "base64"))));
  }
  const local = await runLocal(pipeline, batches, zero, end);
  const remote = await serverlessFiles(objects, pipeline.name);
  for (const [path, content] of local.files) expect(remote.get(path), path).toBe(content);
}

describe("mapWithState with per-key state equals the local engine", () => {
  it.each(pipelines)("%s, through duplicates and a crash at each state write", async (_name, pipeline) => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, (s) => runScenario(pipeline, s)),
      { numRuns: Number(process.env.KST_RUNS ?? 40) },
    );
  }, 120_000);
});

describe("two finalizers of one pipeline", () => {
  it.each(["putUndo", "putItems"] as const)("the older lease's finalizer, stalled inside a state write (%s), cannot overwrite what the newer one wrote", async (stallIn) => {
    const pipeline = pipelines[1]![1];
    const shardId = "shardId-000000000000";
    const base = 1_700_000_000_000;
    const keys = ["a", "b", "a", "c", "b", "a", "d", "c"];
    const records: SimRecord[] = keys.map((k, i) => ({
      shardId, seq: sequenceNumber(0, i), arrival: base + 300 + i * 700, partitionKey: k,
      data: Buffer.from(JSON.stringify({ k, n: 1 + (i % 3) })).toString("base64"),
    }));
    const store = new MemoryPipelineStore();
    const objects = new MemoryObjectStore();
    let now = base;
    const shards = new SimShards(new Map([[shardId, records]]), [{ shardId, closed: false }]);
    const plain: RuntimeDeps = { store, objects, shards, now: () => now, log: () => undefined };
    await new PipelineRuntime(pipeline, plain).tick();
    now = records.at(-1)!.arrival + 1;
    // Committed without finalizing inline: too little of the invocation left for a batch.
    await new PipelineRuntime(pipeline, plain).handleShardEvent(kinesisEvent(records), lambdaContext(8_000));
    now = Math.floor(now / B) * B + 5 * B;
    for (let i = 0; i < 3; i++) await new PipelineRuntime(pipeline, plain).tick(lambdaContext(8_000)); // probes: the shard is idle

    // Finalizer A stalls inside its first state write, after its lease check passed.
    const state = store.keyedState();
    let stalled!: () => void;
    const reached = new Promise<void>((resolve) => (stalled = resolve));
    let resume!: () => void;
    const gate = new Promise<void>((resolve) => (resume = resolve));
    const refused: boolean[] = [];
    const stall = async <T extends unknown[]>(method: "putUndo" | "putItems", write: (...a: T) => Promise<boolean>, ...a: T) => {
      if (method !== stallIn) return write(...a);
      if (refused.length === 0) {
        stalled();
        await gate;
      }
      const ok = await write(...a);
      refused.push(!ok);
      return ok;
    };
    const scope = { nodeId: "sessions", partition: 0 };
    let aTime: number | undefined; // the batch A writes
    const stalling: KeyedStateStore = {
      getItems: (...a) => state.getItems(...a),
      scanItems: (...a) => state.scanItems(...a),
      getUpdateIndex: (...a) => state.getUpdateIndex(...a),
      putUpdateIndex: (...a) => state.putUpdateIndex(...a),
      getUndo: (...a) => state.getUndo(...a),
      putUndo: (...a) => {
        aTime ??= a[1];
        return stall("putUndo", (...b: typeof a) => state.putUndo(...b), ...a);
      },
      putItems: (...a) => stall("putItems", (...b: typeof a) => state.putItems(...b), ...a),
    };
    const a = new PipelineRuntime(pipeline, { ...plain, keyedState: stalling }).finalize();
    await reached;
    // A's lease runs out; B takes over and finalizes every batch, A's included.
    now += 61_000;
    const b = await new PipelineRuntime(pipeline, plain).finalize();
    expect(b.finalized.length).toBeGreaterThan(3);
    const afterB = state.dump(scope);
    const undoAfterB = await state.getUndo(scope, aTime!);
    resume();
    expect((await a).stopped).toBe("leased");
    expect(refused[0]).toBe(true);
    expect(state.dump(scope)).toEqual(afterB);
    expect(await state.getUndo(scope, aTime!)).toEqual(undoAfterB);

    const status = (await store.getStatus())!;
    const batches: Rec[][] = [];
    for (let time = status.zeroTime + B; time <= status.lastFinalized; time += B) {
      batches.push(records.filter((r) => Math.floor(r.arrival / B) * B + B === time).map((r) => decoder(Buffer.from(r.data, "base64"))));
    }
    const local = await runLocal(pipeline, batches, status.zeroTime, status.lastFinalized);
    const remote = await serverlessFiles(objects, pipeline.name);
    for (const [path, content] of local.files) expect(remote.get(path), path).toBe(content);
  });
});

describe("the id a key's state is stored under", () => {
  it("is one per key as KeyMap tells keys apart: a short string or number the key itself, any other a hash", () => {
    expect(stateKeyId("k0000001234")).toBe('"k0000001234"');
    expect(stateKeyId(42)).toBe("=42");
    expect(stateKeyId(-0)).toBe(stateKeyId(0));
    expect(stateKeyId(NaN)).toBe(stateKeyId(Number.NaN));
    expect(stateKeyId({ a: 1, b: [2] })).toBe(stateKeyId({ b: [2], a: 1 }));
    const keys: unknown[] = [42, "42", null, undefined, NaN, Infinity, -Infinity, "null", true, "true", [42], { a: 1 }, "x".repeat(62), "x".repeat(63), "x".repeat(64)];
    const ids = keys.map(stateKeyId);
    expect(new Set(ids).size).toBe(keys.length);
    // Past 64 bytes of encoding, and for what is not a string or finite number: a 22-character hash.
    expect(ids.slice(2).filter((id) => /^[A-Za-z0-9_-]{22}$/.test(id))).toHaveLength(keys.length - 5);
  });
});

describe("reading per-key state", () => {
  it("gives the last finalized batch's keys and states in the state's order, to the test driver and the state reader", async () => {
    const sums = definePipeline("kst-read", { batchInterval: Seconds(1) }, (lines) => {
      lines
        .map((l) => l.split(" ") as [string, string])
        .map(([k, n]) => [k, Number(n)] as [string, number])
        .mapWithState(StateSpec.function((_k: string, n: number | undefined, s: State<number>) => (n === 0 ? s.remove() : s.update((s.getOption() ?? 0) + (n ?? 0)))).name("sums"))
        .print();
    });
    const driver = new PipelineTestDriver(sums as never, { startTime: 0 }) as PipelineTestDriver<unknown>;
    driver.send("b 2", { at: 100 });
    driver.send("a 1", { at: 200 });
    driver.send("c 5", { at: 300 });
    driver.send("a 3", { at: 1_500 });
    driver.send("b 0", { at: 1_600 }); // removed
    driver.send("b 4", { at: 2_100 }); // back, now after c and a
    await driver.deliver();
    await driver.advanceTime(Seconds(10));
    expect(await driver.state("sums")).toEqual([["a", 4], ["c", 5], ["b", 4]]);
    const state = await readOperatorState({ store: driver.store, objects: driver.objects, pipeline: "kst-read" }, "sums");
    expect(state).toMatchObject({ kind: "mapWithState", keys: 3, batchTime: await driver.lastFinalized() });
    expect(state.entries).toEqual([
      { key: "a", value: 4, updatedAt: 2_000 },
      { key: "c", value: 5, updatedAt: 1_000 },
      { key: "b", value: 4, updatedAt: 3_000 },
    ]);
    // Ages count batches: "a", inserted at 1000 and updated at 2000, is one 1000 ms batch old.
    const [started, a] = await driver.store.keyedState().getItems({ nodeId: "sums", partition: 0 }, [STARTED_ID, stateKeyId("a")]).then((items) => [STARTED_ID, stateKeyId("a")].map((id) => items.find((i) => i.id === id)));
    expect(started?.current.value).toBe("1000");
    expect(a?.current).toEqual({ time: 2_000, value: encodeValue([4, 1, 1]) });
  });
});

describe("reading per-key state while a later batch is half written", () => {
  const scope = { nodeId: "sums", partition: 0 };
  const item = (k: string, time: number, state?: number, index = 0) => ({
    id: k,
    key: encodeValue(k),
    current: { time, ...(state !== undefined ? { value: encodeValue([state, index]) } : {}) },
  });
  /** The started item as state written before ages had a unit left it: "1", ages in ms. */
  const started = (time: number) => ({ id: STARTED_ID, key: "null", current: { time, value: "1" } });

  it("gives the last finalized batch's state from the undo record of the batch that crashed after some items", async () => {
    const state = new MemoryKeyedStateStore();
    // Batch 1000 wrote a and b; batch 2000 is finalized and changed nothing; batch 3000 crashed after writing
    // its undo record and three items: a changed, b removed, c new.
    expect(await state.putItems(scope, [started(1000), item("a", 1000, 1, 0), item("b", 1000, 2, 1)], 1, 0)).toBe(true);
    expect(await state.putUndo(scope, 3000, new Map([["a", item("a", 1000, 1, 0).current], ["b", item("b", 1000, 2, 1).current]]), 2, 0)).toBe(true);
    expect(await state.putItems(scope, [item("a", 3000, 5, 0), item("b", 3000), item("c", 3000, 9, 0)], 2, 0)).toBe(true);
    expect(await readKeyedState(state, scope, 2000)).toEqual([
      { key: "a", state: 1, updatedAt: 1000 },
      { key: "b", state: 2, updatedAt: 1000 },
    ]);
    expect(await readKeyedState(state, scope, 3000)).toEqual([
      { key: "a", state: 5, updatedAt: 3000 },
      { key: "c", state: 9, updatedAt: 3000 },
    ]);
    // Without the undo record, the state before 3000 cannot be told: an error, not a guess.
    await expect(readKeyedState(state, { ...scope, partition: 1 }, 2000)).resolves.toBeUndefined();
    const lost = new MemoryKeyedStateStore();
    await lost.putItems(scope, [started(1000), item("a", 3000, 5)], 2, 0);
    await expect(readKeyedState(lost, scope, 2000)).rejects.toThrow(/undo record is gone/);
  });
});

describe("the state's order across batches", () => {
  it("reads a key's insertion from its age in the started item's unit: batches now, milliseconds before", async () => {
    const state = new MemoryKeyedStateStore();
    const scope = (partition: number) => ({ nodeId: "sums", partition });
    // The same state twice: "b" inserted at 1000, "a" at 2000, "c" at 3000 (first), all last updated at 4000.
    // Ages in ms under a started item that says "1"; in 1000 ms batches under one that says "1000".
    const version = (state: number, index: number, age: number) => ({ time: 4000, value: encodeValue([state, index, age]) });
    await state.putItems(scope(0), [
      { id: STARTED_ID, key: "null", current: { time: 1000, value: "1" } },
      { id: stateKeyId("a"), key: encodeValue("a"), current: version(1, 0, 2000) },
      { id: stateKeyId("b"), key: encodeValue("b"), current: version(2, 0, 3000) },
      { id: stateKeyId("c"), key: encodeValue("c"), current: version(3, 0, 1000) },
    ], 1, 0);
    await state.putItems(scope(1), [
      { id: STARTED_ID, key: "null", current: { time: 1000, value: "1000" } },
      { id: stateKeyId("a"), key: encodeValue("a"), current: version(1, 0, 2) },
      { id: stateKeyId("b"), key: encodeValue("b"), current: version(2, 0, 3) },
      { id: stateKeyId("c"), key: encodeValue("c"), current: version(3, 0, 1) },
    ], 1, 0);
    const expected = [
      { key: "b", state: 2, updatedAt: 4000 },
      { key: "a", state: 1, updatedAt: 4000 },
      { key: "c", state: 3, updatedAt: 4000 },
    ];
    expect(await readKeyedState(state, scope(0), 4000)).toEqual(expected);
    expect(await readKeyedState(state, scope(1), 4000)).toEqual(expected);
  });
});

describe("a crash at each write of the state", () => {
  const crashes: Array<[string, (state: ReturnType<MemoryPipelineStore["keyedState"]>) => void]> = [
    ["before the items are written", (st) => st.failNext("putItems", "before")],
    ["after the items were written", (st) => st.failNext("putItems", "after")],
    ["between the first and second item", (st) => st.failAfterItems(1)],
    ["between the second and third item", (st) => st.failAfterItems(2)],
    ["before the undo record is written", (st) => st.failNext("putUndo", "before")],
    ["between the undo record and the items", (st) => st.failNext("putUndo", "after")],
    [
      "after the first item, and then as the re-run reads the undo record",
      (st) => {
        st.failAfterItems(1);
        st.failNext("getUndo", "before");
      },
    ],
    ["after the update index was written", (st) => st.failNext("putUpdateIndex", "after")],
    ["before the keys are read", (st) => st.failNext("getItems", "before")],
  ];

  it.each(crashes)("re-runs every batch to the local engine's outputs: %s", async (_name, arm) => {
    const pipeline = pipelines[1]![1];
    const shardId = "shardId-000000000000";
    const base = 1_700_000_000_000;
    const keys = [..."abcadbeacfbdefabcfedcbaafbecdf"];
    const records: SimRecord[] = keys.map((k, i) => ({
      shardId, seq: sequenceNumber(0, i), arrival: base + 100 + i * 150, partitionKey: k,
      data: Buffer.from(JSON.stringify({ k, n: i % 5 === 4 ? 0 : 1 + (i % 3) })).toString("base64"),
    }));
    const store = new MemoryPipelineStore();
    const objects = new MemoryObjectStore();
    let now = base;
    const deps: RuntimeDeps = { store, objects, shards: new SimShards(new Map([[shardId, records]]), [{ shardId, closed: false }]), now: () => now, log: () => undefined };
    await new PipelineRuntime(pipeline, deps).tick();
    now = records.at(-1)!.arrival + 1;
    await new PipelineRuntime(pipeline, deps).handleShardEvent(kinesisEvent(records), lambdaContext(8_000));
    now = Math.floor(now / B) * B + 8 * B;
    for (let i = 0; i < 3; i++) await new PipelineRuntime(pipeline, deps).tick(lambdaContext(8_000));
    // Each batch that writes state crashes once at the chosen point, then runs again (an armed crash waits for
    // the next call of its kind, so a batch that changes nothing passes it on).
    let crashed = 0;
    let armed = false;
    let retry = false;
    for (let i = 0; i < 60; i++) {
      if (!armed && !retry) {
        arm(store.keyedState());
        armed = true;
      }
      retry = false;
      try {
        const done = await finalizeReady(pipeline, deps, { maxBatches: 1 });
        if (done.stopped === "incomplete") break;
      } catch (e) {
        if (!(e instanceof SimulatedCrash)) throw e;
        crashed++;
        armed = false;
        retry = true;
      }
    }
    expect(crashed).toBeGreaterThanOrEqual(3);
    const status = (await store.getStatus())!;
    const batches: Rec[][] = [];
    for (let time = status.zeroTime + B; time <= status.lastFinalized; time += B) {
      batches.push(records.filter((r) => Math.floor(r.arrival / B) * B + B === time).map((r) => decoder(Buffer.from(r.data, "base64"))));
    }
    const local = await runLocal(pipeline, batches, status.zeroTime, status.lastFinalized);
    const remote = await serverlessFiles(objects, pipeline.name, status.lastFinalized);
    expect([...remote.keys()].sort()).toEqual([...local.files.keys()].sort());
    for (const [path, content] of local.files) expect(remote.get(path), path).toBe(content);
  });
});

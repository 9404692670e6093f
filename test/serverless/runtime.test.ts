/**
 * The commit protocol of the serverless runtime, case by case on the memory stores (docs/architecture.md "How a pipeline
 * runs on AWS"): what a retried, duplicated, conflicting or cut-short invocation does to the committed state,
 * when the finalizer may complete a batch time, and the platform facts (long sequence numbers, quiet streams,
 * redeploys with another graph) the runtime must respect.
 */
import { describe, expect, it, vi } from "vitest";
import { Seconds } from "../../lib/core/duration.js";
import { CheckpointError } from "../../lib/core/errors.js";
import { MemoryObjectStore } from "../../lib/testing/memory-object-store.js";
import { definePipeline, type Pipeline } from "../../lib/api/define-pipeline.js";
import { isComplete } from "../../lib/serverless/finalizer.js";
import type { ShardInfo } from "../../lib/serverless/runtime-deps.js";
import { PipelineRuntime } from "../../lib/serverless/runtime.js";
import { CommitConflictError } from "../../lib/serverless/shard-stage.js";
import { MemoryPipelineStore } from "../../lib/testing/memory-pipeline-store.js";
import type { PipelineStore, ShardProgress } from "../../lib/pipeline-store/pipeline-store.js";
import {
  kinesisEvent,
  lambdaContext,
  printedBlocks,
  serverlessFiles,
  shardName,
  shardRecords,
  SimShards,
  timedContext,
  type SimRecord,
} from "./support.js";

const B = 1000;
const T0 = 1_700_000_000_000; // a multiple of B: the first record's batch ends at T0 + B
const add = (a: number, b: number) => a + b;

function wordPipeline(name = "rt") {
  return definePipeline(name, { batchInterval: Seconds(1), idleAfter: Seconds(1) }, (lines) => {
    lines.map((w) => [w, 1] as [string, number]).reduceByKey(add).saveAsTextFiles("out/counts");
    lines.saveAsTextFiles("out/raw");
    lines.print();
  });
}
const words = wordPipeline();

/** Records `words[i]` on shard `i` of `perShard`, arriving 10 ms apart from T0 + 100. */
function stream(perShard: string[][]): Map<string, SimRecord[]> {
  return new Map(perShard.map((ws, i) => [shardName(i), shardRecords(i, shardName(i), ws.map((w, j) => ({ data: w, arrival: T0 + 100 + 10 * j })))]));
}

/** A runtime on memory stores over a simulated stream; `now` starts just after the records arrived. */
function harness<T>(pipeline: Pipeline<T>, records: Map<string, SimRecord[]>, visible?: ShardInfo[], wrap?: (store: PipelineStore) => PipelineStore) {
  const memory = new MemoryPipelineStore();
  const store = wrap ? wrap(memory) : memory;
  const objects = new MemoryObjectStore();
  const shards = new SimShards(records, visible ?? [...records.keys()].map((shardId) => ({ shardId, closed: false })));
  const logs: string[] = [];
  const clock = { now: T0 + 500 };
  let attempt = 0;
  const runtime = new PipelineRuntime(pipeline, { store, objects, shards, now: () => clock.now, log: (t) => logs.push(t), newAttemptId: () => `attempt-${attempt++}` });
  return {
    memory,
    store,
    objects,
    shards,
    logs,
    clock,
    runtime,
    deliver: (recs: readonly SimRecord[], context = lambdaContext()) => runtime.handleShardEvent(kinesisEvent(recs), context),
    /** Quiet stream from here: the clock moves past every record and a tick finalizes what is complete. */
    settle: async (until = T0 + 5 * B) => {
      clock.now = until + 2 * B;
      return runtime.tick();
    },
  };
}

/** Word counts summed over every finalized batch: a record counted twice or lost shows here. */
async function totals(objects: MemoryObjectStore, pipeline = "rt"): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [dir, text] of await serverlessFiles(objects, pipeline, Number.MAX_SAFE_INTEGER)) {
    if (!dir.startsWith("out/counts-")) continue;
    for (const line of text.split("\n").filter(Boolean)) {
      const [, w, n] = /^\((.*),(\d+)\)$/.exec(line)!;
      out[w!] = (out[w!] ?? 0) + Number(n);
    }
  }
  return out;
}

const count = (ws: string[]) => ws.reduce<Record<string, number>>((o, w) => ((o[w] = (o[w] ?? 0) + 1), o), {});

describe("records at or below the committed sequence number", () => {
  const ws = ["a", "b", "c", "d", "e", "f", "g", "h"];
  it.each([
    // first delivery (indices), second delivery, records the second one processes
    ["the same batch again (a duplicate delivery)", [0, 5], [0, 5], 0],
    ["an overlapping batch (a retry after a partial-batch response)", [0, 5], [3, 8], 3],
    ["the next batch", [0, 5], [5, 8], 3],
    ["a batch entirely below the commit (a late duplicate of an earlier batch)", [0, 8], [2, 4], 0],
  ] as const)("are skipped: %s", async (_name, [a0, a1], [b0, b1], processed) => {
    const h = harness(words, stream([ws]));
    const recs = h.shards.records.get(shardName(0))!;
    await h.deliver(recs.slice(a0, a1));
    const second = await h.deliver(recs.slice(b0, b1));
    expect(second.stage.processed).toBe(processed);
    expect(second.batchItemFailures).toEqual([]);
    await h.deliver(recs.slice(Math.max(a1, b1))); // the rest, if any
    expect((await h.memory.getProgress(shardName(0)))!.seq).toBe(recs.at(-1)!.seq);
    await h.settle();
    expect(await totals(h.objects)).toEqual(count(ws));
  });
});

describe("a commit conflict", () => {
  const ws = ["a", "b", "a", "c"];
  it.each([
    ["a duplicate delivery committed first", "duplicate"],
    ["an idle probe raised the watermark first", "probe"],
  ] as const)("throws CommitConflictError and changes nothing when %s", async (_name, rival) => {
    let interfere: (() => Promise<unknown>) | undefined;
    // The rival's write lands between this invocation's read of the progress and its commit.
    const wrap = (store: PipelineStore): PipelineStore =>
      new Proxy(store, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver) as unknown;
          if (prop !== "putParts" || typeof value !== "function") return typeof value === "function" ? value.bind(target) : value;
          return async (...args: unknown[]) => {
            const run = interfere;
            interfere = undefined;
            if (run) await run();
            return (value as (...a: unknown[]) => Promise<void>).apply(target, args);
          };
        },
      });
    const h = harness(words, stream([ws]), undefined, wrap);
    const recs = h.shards.records.get(shardName(0))!;
    await h.deliver(recs.slice(0, 1));
    const before = (await h.memory.getProgress(shardName(0)))!;
    let rivalProgress: ShardProgress | undefined;
    interfere = async () => {
      if (rival === "duplicate") await h.deliver(recs.slice(1, 3));
      else await h.memory.advanceWatermark(shardName(0), { seq: before.seq, watermark: before.watermark }, before.watermark + 1, false);
      rivalProgress = await h.memory.getProgress(shardName(0));
    };

    const attempt = h.deliver(recs.slice(1));
    await expect(attempt).rejects.toBeInstanceOf(CommitConflictError);
    await expect(attempt).rejects.toMatchObject({ code: "CommitConflict", message: expect.stringMatching(/progress changed while this batch ran/) });
    // Exactly what the rival left: no seq, watermark or committed attempt of the loser.
    expect(await h.memory.getProgress(shardName(0))).toEqual(rivalProgress);

    // Lambda retries; the committed records are skipped, the rest counted once.
    await h.deliver(recs.slice(1));
    await h.settle();
    expect(await totals(h.objects)).toEqual(count(ws));
  });
});

describe("the invocation's deadline", () => {
  const ws = ["a", "b", "c", "d", "e", "f"];
  it.each([
    // remaining-time answers per call (the last repeats), records the first invocation commits
    ["time runs out after three records", [60_000, 60_000, 4_000], 3],
    ["time runs out at once: one record still goes through", [1_000], 1],
    ["time runs out before the last record", [60_000, 60_000, 60_000, 60_000, 4_999], 5],
    ["time suffices", [60_000], 6],
  ] as const)("%s: commits the prefix and names the first unprocessed record", async (_name, answers, committed) => {
    const h = harness(words, stream([ws]));
    const recs = h.shards.records.get(shardName(0))!;
    let call = 0;
    const context = timedContext(() => answers[Math.min(call++, answers.length - 1)]!);
    const r = await h.deliver(recs, context);
    expect(r.stage.processed).toBe(committed);
    expect(r.batchItemFailures).toEqual(committed < recs.length ? [{ itemIdentifier: recs[committed]!.seq }] : []);
    expect((await h.memory.getProgress(shardName(0)))!.seq).toBe(recs[committed - 1]!.seq);

    // Lambda resumes at the reported record (a partial-batch response rewinds to it).
    let rest = recs.slice(committed);
    while (rest.length > 0) {
      const again = await h.deliver(rest, timedContext(() => 1_000));
      const next = again.batchItemFailures[0]?.itemIdentifier;
      rest = next ? rest.slice(rest.findIndex((x) => x.seq === next)) : [];
    }
    await h.settle();
    expect(await totals(h.objects)).toEqual(count(ws));
  });
  it("leaves the finalization to a later invocation or the ticker when too little time is left", async () => {
    // The records complete batch T0+1000 (the last arrives after it): an invocation with time to spare finalizes it inline.
    const records = new Map([[shardName(0), shardRecords(0, shardName(0), [{ data: "a", arrival: T0 + 100 }, { data: "b", arrival: T0 + 1_100 }])]]);
    const short = harness(words, records);
    let calls = 0;
    // Enough for the records (one look before the second), then 3 s left: less than the finalizer's margin.
    const r = await short.deliver(records.get(shardName(0))!, timedContext(() => (calls++ < 1 ? 60_000 : 3_000)));
    expect(r.stage).toMatchObject({ committed: true, processed: 2 });
    expect(r.finalized?.finalized ?? []).toEqual([]);
    expect((await short.memory.getStatus())!.lastFinalized).toBe(T0);
    expect(await short.memory.acquireLease("someone else", short.clock.now, 1)).toBeDefined(); // no lease left behind

    const roomy = harness(words, records);
    expect((await roomy.deliver(records.get(shardName(0))!, timedContext(() => 60_000))).finalized?.finalized).toEqual([T0 + B]);
  });
});

describe("when a batch time is complete", () => {
  const progress = (shardId: string, watermark: number, drained = false): ShardProgress => ({ shardId, watermark, drained });
  const open = (shardId: string): ShardInfo => ({ shardId, closed: false });
  const closed = (shardId: string): ShardInfo => ({ shardId, closed: true });
  it.each([
    ["every shard's watermark has reached T", [open("a"), open("b")], [progress("a", 2000), progress("b", 2500)], true],
    ["one shard's watermark is short of T", [open("a"), open("b")], [progress("a", 2000), progress("b", 1999)], false],
    ["a listed shard has no progress yet", [open("a"), open("b")], [progress("a", 5000)], false],
    ["a closed shard is drained, whatever its watermark", [closed("a"), open("b")], [progress("a", 0, true), progress("b", 2000)], true],
    ["a closed shard is not drained yet", [closed("a"), open("b")], [progress("a", 1500), progress("b", 2000)], false],
    ["progress of a shard no longer listed does not matter", [open("b")], [progress("gone", 0), progress("b", 2000)], true],
  ] as const)("%s", (_name, shards, prog, complete) => {
    expect(isComplete(2000, shards, prog)).toBe(complete);
  });

  it("the finalizer waits for a listed shard without progress, and a drained shard does not block", async () => {
    // Shard 0 has data; shard 1 (closed, a split's parent) is drained; shard 2 has a record not delivered yet.
    const records = stream([["a", "b"], ["c"], ["d"]]);
    const visible = [open(shardName(0)), closed(shardName(1)), open(shardName(2))];
    const h = harness(words, records, visible);
    await h.deliver(records.get(shardName(0))!);
    await h.deliver(records.get(shardName(1))!);

    // Without the ticker's probe, shards 1 and 2 have watermarks only from their commits or none at all.
    expect((await h.runtime.finalize()).finalized).toEqual([]);
    const ticked = await h.settle();
    expect(ticked.probe.drained).toEqual([shardName(1)]);
    expect(ticked.finalized.finalized).toEqual([]); // shard 2 still has a record to give
    expect((await h.memory.getStatus())!.lastFinalized).toBe(T0);

    await h.deliver(records.get(shardName(2))!);
    const done = await h.settle();
    expect(done.finalized.finalized[0]).toBe(T0 + B);
    expect(await totals(h.objects)).toEqual({ a: 1, b: 1, c: 1, d: 1 });
  });
});

describe("a quiet stream", () => {
  it("gets its empty batches finalized by ticks, each printed with its Time: line, as Spark prints them", async () => {
    const h = harness(words, new Map([[shardName(0), []]]));
    h.clock.now = T0 + 200; // the pipeline starts on the first tick: zero time T0
    await h.runtime.tick();
    const finalized: number[] = [];
    for (let i = 1; i <= 3; i++) {
      h.clock.now = T0 + 200 + i * 2 * B;
      finalized.push(...(await h.runtime.tick()).finalized.finalized);
    }
    // Each tick completes the batches that end at or before now - idleAfter: T0+1000 ... T0+5000.
    expect(finalized).toEqual([1, 2, 3, 4, 5].map((i) => T0 + i * B));
    const blocks = printedBlocks(h.logs);
    for (const t of finalized) {
      expect(blocks.get(t)).toEqual([`-------------------------------------------\nTime: ${t} ms\n-------------------------------------------\n\n`]);
    }
    const files = await serverlessFiles(h.objects, "rt", Number.MAX_SAFE_INTEGER);
    expect([...files.keys()].filter((d) => d.startsWith("out/counts-"))).toEqual(finalized.map((t) => `out/counts-${t}`));
    expect([...files.values()].every((text) => text === "")).toBe(true);
  });
});

describe("a container's finalizations", () => {
  it("build the pipeline's plan once: the plan never changes, each batch brings its own evaluation", async () => {
    const h = harness(words, stream([["a", "b"], ["b"]]));
    for (const recs of h.shards.records.values()) await h.deliver(recs);
    // The finalizer function's own container: the pipeline module loaded afresh, on the same stores.
    const module = wordPipeline();
    const builds = vi.spyOn(module, "instantiate");
    const container = new PipelineRuntime(module, h.runtime.deps);
    h.clock.now = T0 + 3 * B;
    const finalized: number[] = [];
    for (const t of [T0 + B, T0 + 2 * B]) {
      for (const shardId of h.shards.records.keys()) await h.memory.advanceWatermark(shardId, (await h.memory.getProgress(shardId))!, t, false);
      finalized.push(...(await container.finalize()).finalized);
    }
    expect(finalized).toEqual([T0 + B, T0 + 2 * B]);
    expect(builds).toHaveBeenCalledTimes(1);
    expect(await totals(h.objects)).toEqual({ a: 1, b: 2 });
  });
});

describe("a redeploy with another graph under the same pipeline name", () => {
  const changed = definePipeline("rt", { batchInterval: Seconds(1), idleAfter: Seconds(1) }, (lines) => {
    lines.map((w) => [w, 1] as [string, number]).reduceByKeyAndWindow(add, Seconds(3), Seconds(1)).saveAsTextFiles("out/counts");
    lines.print();
  });

  it("fails the finalizer with a clear CheckpointError naming the pipeline and both graphs", async () => {
    const before = harness(words, stream([["a"]]));
    await before.deliver(before.shards.records.get(shardName(0))!);
    const stored = (await before.memory.getStatus())!;
    const after = new PipelineRuntime(changed, { ...before.runtime.deps });
    const error = await after.tick().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error).toMatchObject({ code: "GraphChanged", details: { stored: stored.graphHash } });
    expect((error as Error).message).toMatch(/pipeline "rt" runs graph [0-9a-f]{16} and this deployment's graph [0-9a-f]{16} changes what its stored windows and state mean/);
    // The output that used to read the per-batch counts now reads the window: the same id, another meaning.
    expect((error as Error).message).toMatch(/parents of saveAsTextFiles-1 changed from \[reduceByKey-1\] to \[reduceByKeyAndWindow-1\]/);
    expect((error as Error).message).toMatch(/deploy under a new pipeline name to start fresh/);
    expect((await before.memory.getStatus())!.lastFinalized).toBe(stored.lastFinalized);
  });

  it("fails the shard handler the same way, before it commits records computed with the new code", async () => {
    const before = harness(words, stream([["a", "b"]]));
    const recs = before.shards.records.get(shardName(0))!;
    await before.deliver(recs.slice(0, 1));
    const progress = await before.memory.getProgress(shardName(0));
    const after = new PipelineRuntime(changed, { ...before.runtime.deps });
    await expect(after.handleShardEvent(kinesisEvent(recs.slice(1)), lambdaContext())).rejects.toMatchObject({ name: "CheckpointError", code: "GraphChanged" });
    expect(await before.memory.getProgress(shardName(0))).toEqual(progress);
  });
});

describe("a redeploy that only adds operators", () => {
  const extended = definePipeline("rt", { batchInterval: Seconds(1), idleAfter: Seconds(1) }, (lines) => {
    const counts = lines.map((w) => [w, 1] as [string, number]).reduceByKey(add);
    counts.saveAsTextFiles("out/counts");
    lines.saveAsTextFiles("out/raw");
    lines.print();
    counts.filter(([w]) => w !== "b").saveAsTextFiles("out/not-b"); // new, on the finalizer's side of existing parts
  });

  it("is adopted: the status moves to the new graph and batches go on, the new output included", async () => {
    const before = harness(words, stream([["a", "b", "c"]]));
    const recs = before.shards.records.get(shardName(0))!;
    await before.deliver(recs.slice(0, 1));
    const started = (await before.memory.getStatus())!;
    const after = new PipelineRuntime(extended, { ...before.runtime.deps });
    await after.handleShardEvent(kinesisEvent(recs.slice(1)), lambdaContext());
    const status = (await before.memory.getStatus())!;
    expect(status.graphHash).not.toBe(started.graphHash);
    expect(status.graphHash).toBe(extended.instantiate(status.zeroTime).ssc.graph.hash());
    before.clock.now = T0 + 10 * B;
    await after.tick();
    const files = await serverlessFiles(before.objects, "rt", Number.MAX_SAFE_INTEGER);
    expect(files.get(`out/counts-${T0 + B}`)).toBe("(a,1)\n(b,1)\n(c,1)\n");
    expect(files.get(`out/not-b-${T0 + B}`)).toBe("(a,1)\n(c,1)\n"); // the record committed before the deploy included
    expect(before.logs.some((l) => /now runs graph [0-9a-f]{16} \(was [0-9a-f]{16}/.test(l))).toBe(true);
  });
});

describe("a redeploy that adds a crossing from the shard stage", () => {
  const branched = definePipeline("rt", { batchInterval: Seconds(1), idleAfter: Seconds(1) }, (lines) => {
    lines.map((w) => [w, 1] as [string, number]).reduceByKey(add).saveAsTextFiles("out/counts");
    lines.saveAsTextFiles("out/raw");
    lines.print();
    lines.count().saveAsTextFiles("out/sizes"); // new, and it needs parts the running shards never wrote
  });
  it("is refused: the records committed before it wrote no part for it, so its first batches would be short", async () => {
    const before = harness(words, stream([["a", "b"]]));
    const recs = before.shards.records.get(shardName(0))!;
    await before.deliver(recs.slice(0, 1));
    const after = new PipelineRuntime(branched, { ...before.runtime.deps });
    await expect(after.handleShardEvent(kinesisEvent(recs.slice(1)), lambdaContext())).rejects.toThrow(/map-2 would be a new crossing from the shard stage to the finalizer/);
  });
});

describe("a finalization that fails inside a shard invocation", () => {
  it("does not fail the invocation, whose records are committed; the ticker finalizes the batch later", async () => {
    const h = harness(words, new Map([[shardName(0), shardRecords(0, shardName(0), [{ data: "a", arrival: T0 + 100 }, { data: "b", arrival: T0 + B + 100 }])]]));
    h.memory.failNext("getParts", "before"); // S3 or DynamoDB trouble while finalizing inline
    const recs = h.shards.records.get(shardName(0))!;
    await expect(h.deliver(recs)).resolves.toMatchObject({ batchItemFailures: [] });
    expect((await h.memory.getProgress(shardName(0)))!.seq).toBe(recs[1]!.seq);
    expect((await h.memory.getStatus())!.lastFinalized).toBe(T0);
    expect(h.logs.some((l) => /finalizing after a commit failed, the ticker will retry/.test(l))).toBe(true);
    await h.settle();
    expect(await totals(h.objects)).toEqual({ a: 1, b: 1 });
  });
});

describe("sequence numbers", () => {
  const long56 = "49590338271490256608559692538361571095921575989136588898";
  it.each([
    // [first, second]: the second is later in the shard
    ["56 digits differing in the last digit (equal as Numbers)", long56, long56.slice(0, -1) + "9"],
    ["50 then 51 digits (misordered as strings)", "9".repeat(50), "1" + "0".repeat(50)],
    ["128 then 129 digits (the documented maximum)", "9".repeat(128), "1" + "0".repeat(128)],
  ])("compare as BigInt: %s", async (_name, first, second) => {
    const records = new Map([[shardName(0), [
      { shardId: shardName(0), seq: first, arrival: T0 + 100, data: Buffer.from("first").toString("base64"), partitionKey: "k" },
      { shardId: shardName(0), seq: second, arrival: T0 + 110, data: Buffer.from("second").toString("base64"), partitionKey: "k" },
    ]]]);
    const h = harness(words, records);
    const [r1, r2] = records.get(shardName(0))!;
    expect((await h.deliver([r1!])).stage.processed).toBe(1);
    // Redelivered with the next record: the first is skipped, the second is not.
    expect((await h.deliver([r1!, r2!])).stage.processed).toBe(1);
    expect((await h.deliver([r1!])).stage.processed).toBe(0);
    expect((await h.memory.getProgress(shardName(0)))!.seq).toBe(second);
    await h.settle();
    // Two invocations, two parts of the same batch: the finalizer orders them by first sequence number.
    const files = await serverlessFiles(h.objects, "rt", Number.MAX_SAFE_INTEGER);
    expect(files.get(`out/raw-${T0 + B}`)).toBe("first\nsecond\n");
  });
});

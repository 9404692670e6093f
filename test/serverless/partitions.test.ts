/**
 * Finalizer partitions (docs/serverless.md "Finalizer partitions"): where keys go, what a batch's outputs look
 * like with P > 1, who asks for the partitions' invocations, a crash at each write of one partition's finalizer,
 * a change of P refused before anything is written, initial state seeded per partition, file outputs written
 * part by part, and P = 1 storing what it always stored.
 */
import { describe, expect, it } from "vitest";
import { Seconds } from "../../lib/core/duration.js";
import { RDD } from "../../lib/core/rdd.js";
import { definePipeline } from "../../lib/api/define-pipeline.js";
import { partitionOf } from "../../lib/core/partitioner.js";
import { PipelineTestDriver } from "../../lib/testing/index.js";
import { PipelineRuntime } from "../../lib/serverless/runtime.js";
import { SimulatedCrash } from "../../lib/testing/memory-pipeline-store.js";
import type { PipelineStore } from "../../lib/pipeline-store/pipeline-store.js";
import { kinesisEvent, lambdaContext, sequenceNumber, SimShards, type SimRecord } from "./support.js";
import { StateSpec } from "../../lib/core/state-spec.js";
import type { State } from "../../lib/core/state.js";
import { runLocal } from "./support.js";
import type { DStream } from "../../lib/api/dstream.js";
import { builtPlan } from "../../lib/serverless/built-plans.js";
import { partitionPlan } from "../../lib/graph/partition-plan.js";

const T0 = 1_700_000_000_000;
const add = (a: number, b: number) => a + b;
const WORDS = ["ant", "bee", "cat", "dog", "eel", "fox", "gnu", "hen", "ibis", "jay"];

function wordCount(partitions: number) {
  return definePipeline("words", { batchInterval: Seconds(1), idleAfter: Seconds(1), finalizerPartitions: partitions }, (lines) => {
    const words = lines.flatMap((l) => l.split(" ")).map((w) => [w, 1] as [string, number]);
    words.reduceByKey(add).saveAsTextFiles("counts");
    words.updateStateByKey((ns: number[], total: number | undefined) => (total ?? 0) + ns.reduce(add, 0), { name: "totals" }).print(20);
    words.map(([w]) => w.length).reduce(add).saveAsTextFiles("letters");
  });
}

function driverOf(partitions: number) {
  const driver = new PipelineTestDriver(wordCount(partitions), { shards: 2, startTime: T0 });
  driver.send(WORDS.slice(0, 6).join(" "), { shard: 0, at: T0 + 100 });
  driver.send(WORDS.slice(3).join(" "), { shard: 1, at: T0 + 300 });
  driver.send("ant ant", { shard: 1, at: T0 + 1_200 });
  return driver;
}

const sorted = (m: Map<number, string[]>) => new Map([...m].map(([t, lines]) => [t, [...lines].sort()]));

describe("finalizer partitions", () => {
  it("finalize each key in its partition: outputs per partition, state per partition, print in partition order", async () => {
    const one = driverOf(1);
    const four = driverOf(4);
    for (const d of [one, four]) {
      await d.deliver();
      await d.advanceTime(Seconds(5));
    }
    expect(sorted(await four.output("counts"))).toEqual(sorted(await one.output("counts")));
    expect(await four.output("letters")).toEqual(await one.output("letters"));
    expect(sorted(await four.output("counts")).get(T0 + 1_000)).toEqual(
      ["(ant,1)", "(bee,1)", "(cat,1)", "(dog,2)", "(eel,2)", "(fox,2)", "(gnu,1)", "(hen,1)", "(ibis,1)", "(jay,1)"],
    );

    // One part file per partition, each holding exactly its partition's keys, then _SUCCESS.
    const dir = `output/words/counts-${T0 + 1_000}`;
    const keys = await four.objects.list(`${dir}/`);
    expect(keys).toEqual([...[0, 1, 2, 3].map((p) => `${dir}/part-0000${p}`), `${dir}/_SUCCESS`].sort());
    for (let p = 0; p < 4; p++) {
      const text = (await four.objects.get(`${dir}/part-0000${p}`)) ?? "";
      for (const line of text.split("\n").filter(Boolean)) expect(partitionOf(/^\((\w+),/.exec(line)![1], 4)).toBe(p);
    }

    // State is kept per partition; read together it is the one-partition state.
    const totals = (await four.state<[string, number]>("totals"))!.slice().sort();
    expect(totals).toEqual((await one.state<[string, number]>("totals"))!.slice().sort());
    expect(await four.store.getMemory("totals", T0 + 2_000)).toBeUndefined(); // not the pipeline's own memory
    for (let p = 0; p < 4; p++) {
      const share = await four.store.getMemory("totals", T0 + 2_000, p);
      for (const [k] of RDD.fromPartitions(JSON.parse(share!) as Array<Array<[string, number]>>).collect()) expect(partitionOf(k, 4)).toBe(p);
    }

    // print(): the elements in partition order, as Spark prints an RDD's partitions one after the other.
    const block = four.printed().get(T0 + 2_000)![0]!.split("\n").slice(3).filter(Boolean);
    const partitionsOfLines = block.map((l) => partitionOf(/^\((\w+),/.exec(l)![1], 4));
    expect(partitionsOfLines).toEqual(partitionsOfLines.slice().sort());
    expect(block.slice().sort()).toEqual(one.printed().get(T0 + 2_000)![0]!.split("\n").slice(3).filter(Boolean).sort());

    // Each partition's progress, for `sparkless status`.
    const list = await four.store.listPartitionStatus();
    expect(list.map((s) => s.partition)).toEqual([0, 1, 2, 3]);
    for (const s of list) expect(s.lastFinalized).toBe(await four.lastFinalized());
  });

  it("run foreachRDD once per batch in the completion step, with an RDD of P partitions holding every key", async () => {
    const seen: Array<{ time: number; partitions: number; keys: string[] }> = [];
    const counted = definePipeline("each", { batchInterval: Seconds(1), idleAfter: Seconds(1), finalizerPartitions: 3 }, (lines) => {
      lines.flatMap((l) => l.split(" ")).map((w) => [w, 1] as [string, number]).reduceByKey(add).foreachRDD((rdd, time) => {
        seen.push({ time: time.milliseconds, partitions: rdd.getNumPartitions(), keys: rdd.collect().map(([w]) => w).sort() });
      });
    });
    const d = new PipelineTestDriver(counted, { startTime: T0 });
    d.send(WORDS.join(" "), { at: T0 + 100 });
    await d.deliver();
    await d.advanceTime(Seconds(3));
    const first = seen.filter((s) => s.time === T0 + 1_000);
    expect(first).toEqual([{ time: T0 + 1_000, partitions: 3, keys: WORDS.slice().sort() }]);
  });

  it("keep P = 1's stored items as they were: no partition items, parts without a partition", async () => {
    const one = driverOf(1);
    await one.deliver();
    expect((await one.store.getParts(T0 + 1_000)).every((p) => !("partition" in p))).toBe(true);
    await one.advanceTime(Seconds(5));
    expect(await one.store.getPartitionFinalized(0)).toBeUndefined();
    expect(await one.store.listPartitionStatus()).toEqual([expect.objectContaining({ partition: 0, lastFinalized: await one.lastFinalized() })]);
    expect((await one.store.getStatus())!.partitions).toBeUndefined();
  });

  it("survive a crash at each write of one partition's finalizer: the batch is re-run to the same result", async () => {
    const clean = driverOf(3);
    await clean.deliver();
    await clean.advanceTime(Seconds(5));
    const want = sorted(await clean.output("counts"));
    const methods: Array<keyof PipelineStore> = [
      "acquirePartitionLease", "getStatus", "getPartitionFinalized", "listProgress", "getCommitMarkers", "getParts",
      "getMemory", "putMemory", "advanceStatus", "releaseLease", "listPartitionStatus", "acquireLease",
    ];
    for (const method of methods) {
      for (const when of ["before", "after"] as const) {
        // Partitions fanned out (to nobody): only the calls below finalize, so the fault meets partition 1's.
        const d = driverOf(3);
        let now = T0;
        const runtime = new PipelineRuntime(d.pipeline, { store: d.store, objects: d.objects, shards: d.stream, now: () => now, log: () => undefined, invokeFinalizer: async () => undefined });
        for (const recs of d.stream.records.values()) await runtime.handleShardEvent(kinesisEvent(recs), lambdaContext());
        now = T0 + 5_000;
        await runtime.tick(lambdaContext()); // quiet shards' watermarks follow the clock: batches complete
        d.store.failNext(method, when);
        await expect(runtime.finalize(lambdaContext(), { partition: 1 }), `${method} ${when}`).rejects.toBeInstanceOf(SimulatedCrash);
        now += 61_000; // past a lease the crash left held
        for (const p of [1, 0, 2, 1]) await runtime.finalize(lambdaContext(), { partition: p });
        const got = sorted(await d.output("counts"));
        for (const [t, lines] of want) if (t <= T0 + 3_000) expect(got.get(t), `${method} ${when} at ${t}`).toEqual(lines);
        expect((await d.state<[string, number]>("totals", T0 + 3_000))!.slice().sort(), `${method} ${when}`).toEqual((await clean.state<[string, number]>("totals", T0 + 3_000))!.slice().sort());
      }
    }
  });

  it("write each file output's part in its own partition, and _SUCCESS only once every partition's part is there", async () => {
    const clean = driverOf(3);
    await clean.deliver();
    await clean.advanceTime(Seconds(5));
    const dir = `output/words/counts-${T0 + 1_000}`;
    const part = (p: number) => `${dir}/part-0000${p}`;
    const want = await Promise.all([0, 1, 2].map((p) => clean.objects.get(part(p))));
    expect(want.join("").split("\n").filter(Boolean)).toHaveLength(10);

    const d = driverOf(3);
    let now = T0;
    // Partitions fanned out to nobody: only the calls below finalize, one partition at a time.
    const runtime = new PipelineRuntime(d.pipeline, { store: d.store, objects: d.objects, shards: d.stream, now: () => now, log: () => undefined, invokeFinalizer: async () => undefined });
    for (const recs of d.stream.records.values()) await runtime.handleShardEvent(kinesisEvent(recs), lambdaContext());
    now = T0 + 5_000;
    await runtime.tick(lambdaContext());
    expect(await d.objects.list(`${dir}/`)).toEqual([]);

    await runtime.finalize(lambdaContext(), { partition: 0 });
    expect(await d.objects.list(`${dir}/`)).toEqual([part(0)]);
    expect(await d.objects.get(part(0))).toBe(want[0]);

    // Partition 1 crashes right after writing its part: the part is there, partition 1 has not finalized the batch.
    d.objects.failNext("put", "after");
    await expect(runtime.finalize(lambdaContext(), { partition: 1 })).rejects.toBeInstanceOf(SimulatedCrash);
    expect(await d.objects.list(`${dir}/`)).toEqual([part(0), part(1)]);

    // Partition 2 finishes, but partition 1 lags: every part is there, and still no _SUCCESS.
    await runtime.finalize(lambdaContext(), { partition: 2 });
    expect(await d.objects.list(`${dir}/`)).toEqual([part(0), part(1), part(2)]);
    expect((await d.store.getStatus())!.lastFinalized).toBe(T0);

    // Partition 1's retry (its lease expired) re-writes the same bytes and completes the batch.
    now += 61_000;
    const last = await runtime.finalize(lambdaContext(), { partition: 1 });
    expect(last.completed).toContain(T0 + 1_000);
    expect(await d.objects.list(`${dir}/`)).toEqual([part(0), part(1), part(2), `${dir}/_SUCCESS`].sort());
    expect(await Promise.all([0, 1, 2].map((p) => d.objects.get(part(p))))).toEqual(want);
    expect(sorted(await d.output("counts"))).toEqual(sorted(await clean.output("counts")));
    // A non-keyed reduce is keyed by null on its way through the shuffle: one partition's part holds it.
    expect(await d.output("letters")).toEqual(await clean.output("letters"));
  });

  it("leave a file output's directory without _SUCCESS when one partition's part failed, and fail the batch's job", async () => {
    const picky = (partitions: number) =>
      definePipeline("picky", { batchInterval: Seconds(1), idleAfter: Seconds(1), finalizerPartitions: partitions }, (lines) => {
        const counts = lines.flatMap((l) => l.split(" ")).map((w) => [w, 1] as [string, number]).reduceByKey(add);
        counts.filter(([w]) => {
          if (w === "dog") throw new Error("no dogs");
          return true;
        }).saveAsTextFiles("counts");
      });
    const d = new PipelineTestDriver(picky(3), { startTime: T0 });
    d.send("ant bee dog", { at: T0 + 100 });
    d.send("ant cat", { at: T0 + 1_100 });
    await d.deliver();
    await d.advanceTime(Seconds(4));
    const dogs = partitionOf("dog", 3);
    const dir = (t: number) => `output/words/counts-${t}`.replace("words", "picky");
    // The partition holding "dog" wrote no part; the others did, and nobody wrote _SUCCESS: no reader sees it.
    const first = await d.objects.list(`${dir(T0 + 1_000)}/`);
    expect(first).not.toContain(`${dir(T0 + 1_000)}/_SUCCESS`);
    expect(first).not.toContain(`${dir(T0 + 1_000)}/part-0000${dogs}`);
    expect((await d.output("counts")).has(T0 + 1_000)).toBe(false);
    const letters = (await d.objects.list(`dead-letter/picky/batches/`)).sort();
    expect(letters).toEqual([`dead-letter/picky/batches/${T0 + 1_000}-p${dogs}.json`, `dead-letter/picky/batches/${T0 + 1_000}.json`].sort());
    expect((await d.objects.get(`dead-letter/picky/batches/${T0 + 1_000}.json`)) ?? "").toMatch(/finalizer partition \d did not write its part/);
    // The next batch, without a dog, is whole.
    expect((await d.output("counts")).get(T0 + 2_000)?.slice().sort()).toEqual(["(ant,1)", "(cat,1)"]);
  });

  it("store no frontier for a file output's input that only the output reads; keep it where the tail reads it too", () => {
    const plan = (build: (lines: DStream<string>) => void) => {
      const built = builtPlan(definePipeline("frontier", { batchInterval: Seconds(1), finalizerPartitions: 2 }, build), T0);
      return partitionPlan(built.plan, built.ssc.graph.reachable());
    };
    const saved = plan((lines) => lines.map((l) => [l, 1] as [string, number]).reduceByKey(add).saveAsTextFiles("counts"));
    expect(saved.frontier).toEqual([]);
    expect(saved.partitionOutputs.map((n) => n.kind)).toEqual(["saveAsTextFiles"]);
    const printedToo = plan((lines) => {
      const counts = lines.map((l) => [l, 1] as [string, number]).reduceByKey(add);
      counts.saveAsObjectFiles("counts");
      counts.print(3);
    });
    expect(printedToo.frontier.map((n) => n.kind)).toEqual(["reduceByKey"]);
    expect([...printedToo.printOnly.values()]).toEqual([4]);
    expect(printedToo.partitionOutputs.map((n) => n.kind)).toEqual(["saveAsObjectFiles"]);
    // transform needs every partition's data: its output is written whole by the completion step, as before.
    const tail = plan((lines) => lines.map((l) => [l, 1] as [string, number]).reduceByKey(add).transform((rdd) => rdd).saveAsTextFiles("counts"));
    expect(tail.partitionOutputs).toEqual([]);
    expect(tail.frontier.map((n) => n.kind)).toEqual(["reduceByKey"]);
  });

  it("let two finalizers of one partition race: one finalizes, the other stops at the lease, nothing runs twice", async () => {
    const d = driverOf(2);
    await d.deliver();
    await d.advanceTime(0);
    const [a, b] = await Promise.all([d.finalizePartition(1), d.finalizePartition(1)]);
    expect([a.stopped, b.stopped].sort()).toEqual(["incomplete", "leased"]);
    expect([...a.finalized, ...b.finalized]).toEqual((a.finalized.length ? a : b).finalized);
    await d.advanceTime(Seconds(5));
    expect(sorted(await d.output("counts")).get(T0 + 1_000)).toHaveLength(10);
  });

  it("ask for every partition's invocation from the ticker, and from a commit only once it completed a batch", async () => {
    const records = new Map<string, SimRecord[]>([
      ["shardId-000000000000", [0, 1].map((j) => ({ shardId: "shardId-000000000000", seq: sequenceNumber(0, j), arrival: T0 + 100 + j * 1_000, partitionKey: "k", data: Buffer.from("ant bee").toString("base64") }))],
      ["shardId-000000000001", [{ shardId: "shardId-000000000001", seq: sequenceNumber(1, 0), arrival: T0 + 200, partitionKey: "k", data: Buffer.from("cat").toString("base64") }]],
    ]);
    const shards = new SimShards(records, [...records.keys()].map((shardId) => ({ shardId, closed: false })));
    const d = new PipelineTestDriver(wordCount(3), { startTime: T0 });
    const asked: number[] = [];
    let now = T0;
    const runtime = new PipelineRuntime(wordCount(3), { store: d.store, objects: d.objects, shards, now: () => now, log: () => undefined, invokeFinalizer: async (p) => void asked.push(p) });
    await runtime.tick(lambdaContext());
    expect(asked).toEqual([0, 1, 2]);
    asked.length = 0;
    now = T0 + 2_500;
    // Shard 0 passes batch T0 + 1000 but shard 1 has not: nothing to finalize, nobody asked.
    await runtime.handleShardEvent(kinesisEvent(records.get("shardId-000000000000")!), lambdaContext());
    expect(asked).toEqual([]);
    // Shard 1's commit completes it: every partition is asked for.
    await runtime.handleShardEvent(kinesisEvent([...records.get("shardId-000000000001")!, { ...records.get("shardId-000000000001")![0]!, seq: sequenceNumber(1, 1), arrival: T0 + 1_600 }]), lambdaContext());
    expect(asked).toEqual([0, 1, 2]);
    // Each partition's invocation finalizes its share; the last one completes the batch.
    const results = [];
    for (const p of asked) results.push(await runtime.finalize(lambdaContext(), { partition: p }));
    expect(results.map((r) => r.finalized)).toEqual([[T0 + 1_000], [T0 + 1_000], [T0 + 1_000]]);
    expect(results.map((r) => r.completed)).toEqual([[], [], [T0 + 1_000]]);
    expect((await d.store.getStatus())!.lastFinalized).toBe(T0 + 1_000);
    await expect(runtime.finalize(lambdaContext(), { partition: 3 })).rejects.toMatchObject({ code: "NoSuchPartition" });
  });

  it("refuse a deploy that changes P on a running pipeline, before the shard stage or the finalizer writes anything", async () => {
    for (const [from, to] of [[2, 4], [1, 3], [3, 1]] as const) {
      const d = driverOf(from);
      await d.deliver();
      const changed = new PipelineRuntime(wordCount(to), { store: d.store, objects: d.objects, shards: d.stream, now: () => d.now, log: () => undefined });
      d.send("cow", { shard: 0, at: T0 + 1_500 });
      const progress = await d.store.listProgress();
      const parts = await d.store.getParts(T0 + 2_000);
      await expect(changed.handleShardEvent(kinesisEvent(d.stream.records.get("shardId-000000000000")!), lambdaContext())).rejects.toMatchObject({
        code: "FinalizerPartitionsChanged",
        message: expect.stringMatching(new RegExp(`was started with finalizerPartitions: ${from} and is now deployed with ${to}: .*repartitioning a running pipeline is not supported yet`)),
      });
      expect(await d.store.listProgress()).toEqual(progress);
      expect(await d.store.getParts(T0 + 2_000)).toEqual(parts);
      await expect(changed.tick(lambdaContext())).rejects.toMatchObject({ code: "FinalizerPartitionsChanged" });
      await expect(changed.finalize(lambdaContext())).rejects.toMatchObject({ code: "FinalizerPartitionsChanged" });
    }
  });

  it.each([2, 4])("seed each of P = %i partitions with the initial state of its own keys: outputs equal the local engine's", async (partitions) => {
    const initial = () => RDD.of([["ant", 10], ["cat", 20], ["zed", 5], ["yak", 7]] as Array<[string, number]>);
    const seeded = (name: string, p: number, snapshots: boolean) =>
      definePipeline(name, { batchInterval: Seconds(1), idleAfter: Seconds(1), finalizerPartitions: p }, (lines) => {
        const words = lines.flatMap((l) => l.split(" ")).map((w) => [w, 1] as [string, number]);
        words.updateStateByKey((ns: number[], total: number | undefined) => (total ?? 0) + ns.reduce(add, 0), { initialRDD: initial() }).saveAsTextFiles("totals");
        const sessions = words.mapWithState(
          StateSpec.function((w: string, n: number | undefined, s: State<number>) => (s.update((s.getOption() ?? 0) + (n ?? 0)), [w, s.get()] as [string, number])).initialState(initial()),
        );
        sessions.saveAsTextFiles("sessions");
        if (snapshots) sessions.stateSnapshots().saveAsTextFiles("snapshots");
      });
    const lines: Array<[string, number]> = [["ant bee cat", T0 + 100], ["dog ant", T0 + 300], ["cat eel", T0 + 1_200], ["ant", T0 + 3_400]];
    // With and without stateSnapshots (the whole per-key state read, or the changed keys'), and without a per-key
    // store (mapWithState's state a snapshot per batch, as node memory).
    for (const [snapshots, perKey] of [[true, true], [false, true], [true, false]] as const) {
      const d = new PipelineTestDriver(seeded(`seeded-${partitions}`, partitions, snapshots), { shards: 2, startTime: T0 });
      if (!perKey) Object.assign(d.store, { keyedState: undefined });
      lines.forEach(([l, at], i) => d.send(l, { shard: i % 2, at }));
      await d.deliver();
      await d.advanceTime(Seconds(5));
      const end = (await d.lastFinalized())!;
      const batches = Array.from({ length: (end - T0) / 1_000 }, (_, b) => lines.filter(([, at]) => Math.floor(at / 1_000) * 1_000 === T0 + b * 1_000).map(([l]) => l));
      const local = await runLocal(seeded(`seeded-${partitions}`, 1, snapshots), batches, T0, end);
      expect(local.files.size).toBeGreaterThan(0);
      for (const [path, text] of local.files) {
        const [prefix, time] = [path.slice(0, path.lastIndexOf("-")), Number(path.slice(path.lastIndexOf("-") + 1))];
        expect((await d.output(prefix)).get(time)?.slice().sort(), `${path} (stateSnapshots: ${snapshots}, per key: ${perKey})`).toEqual(text.split("\n").filter(Boolean).sort());
      }
    }
  });
});

/**
 * readOperatorState: what a stateful operator holds after a finalized batch, from the serverless store (here
 * the test driver's memory store, which shares the DynamoDB store's contract) and from a local checkpoint.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { definePipeline, ManualClock, Seconds, StateSpec, StreamingContext, type State } from "../../../lib/index.js";
import { listStatefulOperators, PipelineTestDriver, readOperatorState } from "../../../lib/testing/index.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const counts = definePipeline("counts", { batchInterval: Seconds(1) }, (lines) => {
  const words = lines.flatMap((l) => l.split(" ")).map((w) => [w, 1] as [string, number]);
  words.updateStateByKey((vs: number[], s: number | undefined) => vs.reduce((a, b) => a + b, s ?? 0), { name: "totals" }).saveAsTextFiles("totals", "txt");
  words.reduceByKey((a, b) => a + b).print();
});

async function driven(): Promise<PipelineTestDriver<unknown>> {
  const driver = new PipelineTestDriver(counts as never, { shards: 1, startTime: 0 }) as PipelineTestDriver<unknown>;
  driver.send("a b a", { at: 100 });
  driver.send("b c", { at: 1_200 });
  await driver.deliver();
  await driver.advanceTime(Seconds(60));
  return driver;
}

describe("the state reader on the serverless store", () => {
  it("lists the keys and values after the last finalized batch: the same totals the operator's last output file says", async () => {
    const driver = await driven();
    const location = { store: driver.store, objects: driver.objects, pipeline: "counts" };
    const last = (await driver.lastFinalized())!;
    const state = await readOperatorState(location, "totals");
    expect(state).toMatchObject({ operator: "totals", kind: "updateStateByKey", batchTime: last, keys: 3 });
    expect(state.entries).toEqual([
      { key: "a", value: 2 },
      { key: "b", value: 2 },
      { key: "c", value: 1 },
    ]);
    expect(state.bytes).toBeGreaterThan(0);
    const files = await driver.output("totals");
    expect(files.get(last)!.sort()).toEqual(state.entries.map((e) => `(${String(e.key)},${String(e.value)})`).sort());
  });

  it("reads an earlier batch, and one key by value", async () => {
    const driver = await driven();
    const location = { store: driver.store, objects: driver.objects, pipeline: "counts" };
    expect((await readOperatorState(location, "totals", { batch: 1_000 })).entries).toEqual([
      { key: "a", value: 2 },
      { key: "b", value: 1 },
    ]);
    expect(await readOperatorState(location, "totals", { key: "b" })).toMatchObject({ entries: [{ key: "b", value: 2 }], keys: 3 });
  });

  it("gathers every finalizer partition's share with finalizerPartitions > 1: updateStateByKey's memory and mapWithState's items", async () => {
    const spread = definePipeline("spread", { batchInterval: Seconds(1), finalizerPartitions: 3 }, (lines) => {
      const words = lines.flatMap((l) => l.split(" ")).map((w) => [w, 1] as [string, number]);
      words.updateStateByKey((vs: number[], s: number | undefined) => vs.reduce((a, b) => a + b, s ?? 0), { name: "totals" }).print();
      words.mapWithState(StateSpec.function((_w: string, one: number | undefined, s: State<number>) => s.update((s.getOption() ?? 0) + (one ?? 0))).name("sums")).print();
    });
    const driver = new PipelineTestDriver(spread as never, { shards: 1, startTime: 0 }) as PipelineTestDriver<unknown>;
    driver.send("a b a c d e f g", { at: 100 });
    driver.send("b c h", { at: 1_200 });
    await driver.deliver();
    await driver.advanceTime(Seconds(60));
    const location = { store: driver.store, objects: driver.objects, pipeline: "spread" };
    const expected = { a: 2, b: 2, c: 2, d: 1, e: 1, f: 1, g: 1, h: 1 };
    const totals = await readOperatorState(location, "totals");
    const sums = await readOperatorState(location, "sums");
    expect(Object.fromEntries(totals.entries.map((e) => [e.key, e.value]))).toEqual(expected);
    expect(Object.fromEntries(sums.entries.map((e) => [e.key, e.value]))).toEqual(expected);
    // In partition order, as the test driver gives them.
    expect(totals.entries.map((e) => [e.key, e.value])).toEqual(await driver.state("totals"));
    expect(sums.entries.map((e) => [e.key, e.value])).toEqual(await driver.state("sums"));
  });

  it("lists the stateful operators, and fails if asked for another operator, or a batch not finalized", async () => {
    const driver = await driven();
    const location = { store: driver.store, objects: driver.objects, pipeline: "counts" };
    expect(await listStatefulOperators(location)).toEqual([{ id: "totals", kind: "updateStateByKey" }]);
    await expect(readOperatorState(location, "nope")).rejects.toThrow(/has no operator "nope"; its stateful operators: totals \(updateStateByKey\)/);
    const last = (await driver.lastFinalized())!;
    await expect(readOperatorState(location, "totals", { batch: last + 1_000 })).rejects.toThrow(/is not finalized/);
  });
});

describe("the state reader on a local checkpoint", () => {
  it("reads mapWithState's keys with their states and update times, after the newest checkpoint's batch or an earlier one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sparkless-state-reader-"));
    dirs.push(dir);
    const clock = new ManualClock();
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock });
    ssc.checkpoint(dir);
    const spec = StateSpec.function((key: string, value: number | undefined, state: State<number>) => {
      state.update((state.getOption() ?? 0) + (value ?? 0));
      return key;
    }).name("sums");
    ssc
      .queueStream<[string, number]>([[["x", 1], ["y", 2]], [["x", 3]]])
      .mapWithState(spec)
      .checkpoint(Seconds(1))
      .foreachRDD(() => {});
    await ssc.start();
    await clock.advance(Seconds(3));
    await ssc.stop();

    expect(await listStatefulOperators({ checkpointDir: dir })).toEqual([{ id: "sums", kind: "mapWithState" }]);
    const after = await readOperatorState({ checkpointDir: dir }, "sums");
    expect(after.batchTime).toBe(3_000);
    expect(after.entries).toEqual([
      { key: "x", value: 4, updatedAt: 2_000 },
      { key: "y", value: 2, updatedAt: 1_000 },
    ]);
    expect((await readOperatorState({ checkpointDir: dir }, "sums", { batch: 1_000, key: "x" })).entries).toEqual([{ key: "x", value: 1, updatedAt: 1_000 }]);
  });
});

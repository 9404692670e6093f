/**
 * The test driver users import (`sparkless/testing`): records sent over chosen shards at chosen times, delivered
 * as Lambda delivers them (again, or failing), batches completed by moving the clock, and what a user reads
 * back — output files, printed blocks, state, dead letters, late records — as Spark Streaming would produce them.
 */
import { describe, expect, it } from "vitest";
import { Seconds } from "../../lib/core/duration.js";
import { definePipeline } from "../../lib/api/define-pipeline.js";
import { PipelineTestDriver } from "../../lib/testing/index.js";
import { Time } from "../../lib/core/duration.js";
import { PREFIXES } from "../../lib/serverless/runtime-deps.js";

const T0 = 1_700_000_000_000; // a multiple of every batch interval here
const add = (a: number, b: number) => a + b;

const wordCount = definePipeline("words", { batchInterval: Seconds(1), idleAfter: Seconds(1) }, (lines) => {
  const words = lines.flatMap((l) => l.split(" ")).map((w) => [w, 1] as [string, number]);
  words.reduceByKey(add).saveAsTextFiles("counts", "txt");
  words.updateStateByKey((ns: number[], total: number | undefined) => (total ?? 0) + ns.reduce(add, 0), { name: "totals" }).print();
});

/** Two shards, three batches: `a b a` and `b` in the first second, `c` in the second, nothing in the third. */
function wordsOverTwoShards() {
  const driver = new PipelineTestDriver(wordCount, { shards: 2, startTime: T0 });
  driver.send("a b a", { shard: 0, at: T0 + 100 });
  driver.send("b", { shard: 1, at: T0 + 300 });
  driver.send("c", { shard: 1, at: T0 + 1_200 });
  return driver;
}

const sorted = (m: Map<number, string[]>) => new Map([...m].map(([t, lines]) => [t, [...lines].sort()]));

describe("PipelineTestDriver", () => {
  it("runs a pipeline over several shards to the outputs Spark Streaming produces for the same batches", async () => {
    const driver = wordsOverTwoShards();
    const invocations = await driver.deliver();
    expect(invocations.map((i) => [i.shardId, i.records, i.processed])).toEqual([
      ["shardId-000000000000", 1, 1],
      ["shardId-000000000001", 2, 2],
    ]);
    // Nothing is complete until the quiet shards' watermarks follow the clock.
    expect(await driver.output("counts")).toEqual(new Map());
    await driver.advanceTime(Seconds(5));

    expect(await driver.lastFinalized()).toBeGreaterThanOrEqual(T0 + 3_000);
    const counts = sorted(await driver.output("counts"));
    expect(counts.get(T0 + 1_000)).toEqual(["(a,2)", "(b,2)"]);
    expect(counts.get(T0 + 2_000)).toEqual(["(c,1)"]);
    expect(counts.get(T0 + 3_000)).toEqual([]);

    const blocks = driver.printed();
    expect(blocks.get(T0 + 2_000)).toHaveLength(1);
    const lines = blocks.get(T0 + 2_000)![0]!.split("\n");
    expect(lines.slice(0, 3)).toEqual(["-------------------------------------------", `Time: ${T0 + 2_000} ms`, "-------------------------------------------"]);
    expect(lines.slice(3).filter(Boolean).sort()).toEqual(["(a,2)", "(b,2)", "(c,1)"]);

    expect(((await driver.state<[string, number]>("totals")) ?? []).sort()).toEqual([
      ["a", 2],
      ["b", 2],
      ["c", 1],
    ]);
  });

  it.each([
    ["a duplicate delivery", async (d: PipelineTestDriver<string>) => {
      await d.deliver({ shard: 1 });
      await d.deliverAgain(1);
    }],
    ["an invocation that fails before its commit, then the retry", async (d: PipelineTestDriver<string>) => {
      driverFailure(await d.deliver({ shard: 1, fail: "before-commit" }));
      await d.deliver();
    }],
    ["an invocation that fails after its commit took effect, then the retry", async (d: PipelineTestDriver<string>) => {
      driverFailure(await d.deliver({ shard: 1, fail: "after-commit" }));
      await d.deliver();
    }],
  ])("counts every record once through %s", async (_name, disturb) => {
    const driver = wordsOverTwoShards();
    await driver.deliver({ shard: 0 });
    await disturb(driver);
    await driver.advanceTime(Seconds(5));
    const counts = sorted(await driver.output("counts"));
    expect(counts.get(T0 + 1_000)).toEqual(["(a,2)", "(b,2)"]);
    expect(counts.get(T0 + 2_000)).toEqual(["(c,1)"]);
  });

  it("delivers in batches of batchSize, as the event source mapping's BatchSize does", async () => {
    const driver = wordsOverTwoShards();
    expect((await driver.deliver({ shard: 1, batchSize: 1 })).map((i) => i.records)).toEqual([1]);
    expect((await driver.deliver({ shard: 1, batchSize: 1 })).map((i) => i.records)).toEqual([1]);
    expect(await driver.deliver({ shard: 1 })).toEqual([]);
  });

  it("sends a record that cannot be decoded to the dead letters and carries on", async () => {
    const events = definePipeline<{ user: string }>(
      "clicks",
      { batchInterval: Seconds(1), idleAfter: Seconds(1), decoder: (bytes) => JSON.parse(Buffer.from(bytes).toString("utf8")) as { user: string } },
      (clicks) => clicks.map((c) => [c.user, 1] as [string, number]).reduceByKey(add).saveAsTextFiles("per-user"),
    );
    const driver = new PipelineTestDriver(events, { startTime: T0 });
    driver.send({ user: "ann" }, { at: T0 + 10 });
    const bad = driver.send("{not json", { at: T0 + 20 });
    driver.send({ user: "ann" }, { at: T0 + 30 });
    const [invocation] = await driver.deliver();
    expect(invocation).toMatchObject({ records: 3, processed: 3, deadLetters: 1 });
    await driver.advanceTime(Seconds(3));
    expect((await driver.output("per-user")).get(T0 + 1_000)).toEqual(["(ann,2)"]);
    const dead = await driver.deadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ shardId: bad.shardId, sequenceNumber: bad.seq });
    expect(dead[0]!.error).toMatch(/JSON/);
  });

  it("puts records older than the watermark in event time with the late records", async () => {
    const events = definePipeline<{ t: number }>(
      "late",
      {
        batchInterval: Seconds(1),
        idleAfter: Seconds(1),
        startTime: T0,
        decoder: (bytes) => JSON.parse(Buffer.from(bytes).toString("utf8")) as { t: number },
        timestampExtractor: (e) => e.t,
      },
      (input) => input.count().saveAsTextFiles("count"),
    );
    const driver = new PipelineTestDriver(events, { startTime: T0 + 5_000 });
    driver.send({ t: T0 + 4_500 });
    driver.send({ t: T0 + 4_600 });
    await driver.deliver();
    await driver.advanceTime(Seconds(3));
    driver.send({ t: T0 + 100 }); // its batch was finalized long ago
    await driver.deliver();
    await driver.advanceTime(Seconds(3));
    expect((await driver.output("count")).get(T0 + 5_000)).toEqual(["2"]);
    expect(await driver.lateRecords()).toHaveLength(1);
  });

  it("fails if asked for a shard it does not have", () => {
    const driver = new PipelineTestDriver(wordCount, { shards: 2 });
    expect(() => driver.send("a", { shard: 2 })).toThrow(/no shard 2: the driver has 2 \(0 … 1\)/);
  });
});

describe("slice() outside a StreamingContext", () => {
  it("fails the batch's job naming what to do instead, rather than finding no RDD where the batch had data", async () => {
    // No RDDs are kept between batches on AWS or in the test driver: the context the runtime builds the graph in
    // computes nothing itself, and its empty evaluation would answer [] for a batch that held "a".
    const sliced = definePipeline("sliced", { batchInterval: Seconds(1), idleAfter: Seconds(1) }, (lines) => {
      lines.foreachRDD((_rdd, time) => void lines.slice(new Time(time.milliseconds - 1_000), time));
    });
    const driver = new PipelineTestDriver(sliced, { startTime: T0 });
    driver.send("a", { at: T0 + 100 });
    await driver.deliver();
    await driver.advanceTime(Seconds(5));
    const dead = JSON.parse((await driver.objects.get(`${PREFIXES.deadLetter}sliced/batches/${T0 + 1_000}.json`)) ?? "{}");
    expect(dead.error).toMatch(/slice\(\) reads the RDDs a running StreamingContext remembers.*keep the batches you need with window\(\)/);
  });
});

/** A failed invocation is reported, not thrown: Lambda would retry it. */
function driverFailure(invocations: ReadonlyArray<{ error?: Error }>): void {
  expect(invocations).toHaveLength(1);
  expect(invocations[0]!.error).toBeInstanceOf(Error);
}

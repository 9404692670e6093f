/**
 * Failing cases, with Spark's rule for each:
 * - WindowedDStream / ReducedWindowedDStream `require`: window and slide must be multiples of the parent's
 *   slide ("The window duration of windowed DStream (1500 ms) must be a multiple of the slide duration of
 *   parent DStream (1000 ms)") — thrown when the graph is built.
 * - UnionDStream / TransformedDStream: "Some of the DStreams have different slide durations".
 * - TransformedDStream.compute: "Transform function must not return null" — at the batch.
 * - DStream.validateAtStart: a stream that must checkpoint (StateDStream, InternalMapWithStateDStream,
 *   ReducedWindowedDStream) needs StreamingContext.checkpoint(dir) — at start.
 * - DStreamGraph.validate: "No output operations registered, so nothing to execute" — at start.
 * - StreamingContext.start: ACTIVE -> a warning and nothing else (StreamingContextSuite "start multiple
 *   times"); STOPPED -> IllegalStateException ("start after stop").
 * - DStream.validateAtInit: "Adding new inputs, transformations, and output operations after starting a
 *   context is not supported" (IllegalStateException).
 * - A failing job is reported to the context (JobScheduler.reportError) and rethrown by awaitTermination.
 */
import { describe, expect, it } from "vitest";
import {
  IllegalStateError,
  ManualClock,
  Milliseconds,
  NotAPairError,
  RDD,
  Seconds,
  StateSpec,
  StreamingContext,
  UserFunctionError,
  type DStream,
} from "../../../lib/index.js";
import { withContext } from "../../support/batch-table.js";

/** Builds (and starts, unless building threw) a graph; the error it failed with, if any. */
async function failureOf(
  build: (s: DStream<any>, ssc: StreamingContext) => void,
  opts: { checkpoint?: boolean } = {},
): Promise<Error | undefined> {
  let error: Error | undefined;
  await withContext({ checkpoint: opts.checkpoint ?? true }, async ({ ssc }) => {
    try {
      build(ssc.queueStream([[1]]), ssc);
      await ssc.start();
    } catch (e) {
      error = e as Error;
    }
  });
  return error;
}

const pairs = (s: DStream<any>) => s.map((x) => [x, 1] as [unknown, number]);
const add = (a: number, b: number) => a + b;
const sub = (a: number, b: number) => a - b;

describe("fails if a duration is not a multiple of the parent's slide (message shows both)", () => {
  it.each<{ name: string; build: (s: DStream<any>) => void; values: RegExp[] }>([
    {
      name: "window duration 1.5 s over 1 s batches",
      build: (s) => s.window(Milliseconds(1500), Seconds(1)).print(),
      values: [/1500 ms/, /1000 ms/],
    },
    {
      name: "slide duration 1.5 s over 1 s batches",
      build: (s) => s.window(Seconds(3), Milliseconds(1500)).print(),
      values: [/1500 ms/, /1000 ms/],
    },
    {
      name: "reduceByKeyAndWindow window 2.5 s",
      build: (s) => pairs(s).reduceByKeyAndWindow(add, Milliseconds(2500), Seconds(1)).print(),
      values: [/2500 ms/, /1000 ms/],
    },
    {
      name: "reduceByKeyAndWindow with inverse, window 2.5 s",
      build: (s) => pairs(s).reduceByKeyAndWindow(add, sub, Milliseconds(2500), Seconds(1)).print(),
      values: [/2500 ms/, /1000 ms/],
    },
    {
      name: "a window over a 2 s-slide stream with a 3 s window",
      build: (s) => s.window(Seconds(2), Seconds(2)).window(Seconds(3), Seconds(2)).print(),
      values: [/3000 ms/, /2000 ms/],
    },
    {
      name: "countByWindow slide 0.5 s",
      build: (s) => s.countByWindow(Seconds(2), Milliseconds(500)).print(),
      values: [/500 ms/, /1000 ms/],
    },
  ])("fails if $name", async ({ build, values }) => {
    const error = await failureOf(build);
    expect(error).toBeInstanceOf(Error);
    for (const v of values) expect(error!.message).toMatch(v);
  });

  it("fails when the window is built, not later (Spark's require in the constructor)", async () => {
    await withContext({}, async ({ ssc }) => {
      const s = ssc.queueStream([[1]]);
      expect(() => s.window(Milliseconds(1500), Seconds(1))).toThrow(/1500 ms/);
    });
  });
});

describe("fails if streams of different slide durations are combined", () => {
  it.each<{ name: string; build: (s: DStream<any>, ssc: StreamingContext) => void }>([
    { name: "union", build: (s) => s.union(s.window(Seconds(2), Seconds(2))).print() },
    { name: "ssc.union", build: (s, ssc) => ssc.union([s, s.window(Seconds(2), Seconds(2))]).print() },
    { name: "join", build: (s) => pairs(s).join(pairs(s).window(Seconds(2), Seconds(2))).print() },
    {
      name: "transformWith",
      build: (s) => s.transformWith(s.window(Seconds(2), Seconds(2)), (a: any) => a).print(),
    },
  ])("fails if $name mixes a 1 s and a 2 s slide", async ({ build }) => {
    const error = await failureOf(build);
    expect(error?.message).toMatch(/slide/i);
  });
});

describe("fails if a stateful operator has no checkpoint directory", () => {
  it.each<{ name: string; build: (s: DStream<any>) => void }>([
    { name: "updateStateByKey", build: (s) => pairs(s).updateStateByKey((vs: number[], st?: number) => (st ?? 0) + vs.length).print() },
    {
      name: "mapWithState",
      build: (s) => pairs(s).mapWithState(StateSpec.function((_k: unknown, v: number | undefined) => v)).print(),
    },
    { name: "reduceByKeyAndWindow with inverse", build: (s) => pairs(s).reduceByKeyAndWindow(add, sub, Seconds(2), Seconds(1)).print() },
    { name: "countByWindow", build: (s) => s.countByWindow(Seconds(2), Seconds(1)).print() },
    { name: "countByValueAndWindow", build: (s) => s.countByValueAndWindow(Seconds(2), Seconds(1)).print() },
    { name: "reduceByWindow with inverse", build: (s) => s.reduceByWindow(add, sub, Seconds(2), Seconds(1)).print() },
  ])("fails if $name runs without ssc.checkpoint(dir)", async ({ build }) => {
    let error: Error | undefined;
    await withContext({ checkpoint: false }, async ({ ssc }) => {
      try {
        build(ssc.queueStream([[1]]));
        await ssc.start();
      } catch (e) {
        error = e as Error;
      }
    });
    expect(error?.message).toMatch(/checkpoint/i);
  });

  it("window, reduceByWindow and reduceByKeyAndWindow without inverse need no checkpoint directory", async () => {
    const error = await failureOf(
      (s) => {
        s.window(Seconds(2)).print();
        s.reduceByWindow(add, Seconds(2), Seconds(1)).print();
        pairs(s).reduceByKeyAndWindow(add, Seconds(2), Seconds(1)).print();
        pairs(s).groupByKeyAndWindow(Seconds(2), Seconds(1)).print();
      },
      { checkpoint: false },
    );
    expect(error).toBeUndefined();
  });
});

describe("context lifecycle", () => {
  it("fails if there is no output operation", async () => {
    const error = await failureOf((s) => void s.map((x) => x));
    expect(error?.message).toMatch(/No output operations registered/);
  });

  it("starting an active context again does nothing (Spark logs a warning); batches run once", async () => {
    const seen: number[] = [];
    await withContext({}, async ({ ssc, clock }) => {
      ssc.queueStream([[1], [2]]).foreachRDD((_r, t) => void seen.push(t.milliseconds));
      await ssc.start();
      await ssc.start();
      await clock.advance(Seconds(2));
    });
    expect(seen).toEqual([1000, 2000]);
  });

  it("fails if a stopped context is started again (IllegalStateError)", async () => {
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock: new ManualClock() });
    ssc.queueStream([[1]]).foreachRDD(() => {});
    await ssc.start();
    await ssc.stop();
    await expect(Promise.resolve().then(() => ssc.start())).rejects.toBeInstanceOf(IllegalStateError);
  });

  it.each<{ name: string; add: (s: DStream<number>, ssc: StreamingContext) => void }>([
    { name: "a transformation", add: (s) => void s.map((x) => x) },
    { name: "an output operation", add: (s) => s.foreachRDD(() => {}) },
    { name: "an input", add: (_s, ssc) => void ssc.queueStream([[1]]) },
  ])("fails if $name is added after start (IllegalStateError)", async ({ add: addOp }) => {
    await withContext({}, async ({ ssc }) => {
      const s = ssc.queueStream([[1]]);
      s.foreachRDD(() => {});
      await ssc.start();
      let error: unknown;
      try {
        addOp(s, ssc);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(IllegalStateError);
      expect((error as Error).message).toMatch(/after starting a context is not supported/);
    });
  });
});

describe("failures inside a batch are reported through awaitTermination", () => {
  async function termination(
    build: (s: DStream<number>) => void,
    input: number[][],
    batches: number,
  ): Promise<unknown> {
    let failure: unknown;
    await withContext({ allowBatchFailure: true }, async ({ ssc, clock }) => {
      build(ssc.queueStream(input));
      await ssc.start();
      const term = ssc.awaitTermination().then(
        () => undefined,
        (e: unknown) => e,
      );
      try {
        await clock.advance(Seconds(batches));
      } catch {
        // the engine may also reject advance(); awaitTermination is what Spark users wait on
      }
      failure = await Promise.race([term, new Promise((r) => setTimeout(() => r("awaitTermination did not settle"), 2000))]);
    });
    return failure;
  }

  it("fails with an error naming the operator and the batch time when a user function throws", async () => {
    const failure = await termination(
      (s) =>
        s
          .map((x) => {
            if (x === 2) throw new Error("boom");
            return x;
          })
          // RDDs are lazy in Spark: the output must use the RDD for map's function to run.
          .foreachRDD((rdd) => rdd.count()),
      [[1], [2], [3]],
      3,
    );
    expect(failure).toBeInstanceOf(UserFunctionError);
    const e = failure as UserFunctionError;
    expect(e.message).toMatch(/map/);
    expect(e.message).toMatch(/2000/);
    expect(e.message).toMatch(/boom/);
    expect(e.batchTime).toBe(2000);
  });

  it("fails if a transform function returns nothing (Spark: 'Transform function must not return null')", async () => {
    const failure = await termination(
      (s) => s.transform(() => undefined as any).foreachRDD(() => {}),
      [[1]],
      1,
    );
    expect(failure).toBeInstanceOf(Error);
    // Spark's exception carries no batch time (the time is only in the log line "Error generating jobs
    // for time 1000 ms"), so only the operator is required here.
    expect((failure as Error).message).toMatch(/transform/i);
  });
});

/**
 * Plain JavaScript has no compiler to stop a pair operation on a stream that is not of pairs, and `"a"[0]`
 * would quietly key a string by its first letter (reduceByKey over strings printed `(a, )`). Each pair
 * operation fails the batch instead, naming itself, where it was written and the element.
 */
describe("fails if a pair operation gets elements that are not [key, value] pairs", () => {
  const js = (s: DStream<unknown>) => s as any; // what plain JavaScript would let through
  it.each<[string, string, (s: DStream<string>) => DStream<unknown>]>([
    ["reduceByKey", "reduceByKey", (s) => js(s).reduceByKey((a: number, b: number) => a + b)],
    ["groupByKey", "groupByKey", (s) => js(s).groupByKey()],
    ["combineByKey", "combineByKey", (s) => js(s).combineByKey((v: unknown) => [v], (c: unknown[], v: unknown) => [...c, v], (a: unknown[], b: unknown[]) => [...a, ...b])],
    ["mapValues", "mapValues", (s) => js(s).mapValues((v: unknown) => v)],
    ["flatMapValues", "flatMapValues", (s) => js(s).flatMapValues((v: unknown) => [v])],
    ["join", "join", (s) => js(s).join(s.map((w) => [w, 1]))],
    ["leftOuterJoin", "leftOuterJoin", (s) => js(s.map((w) => [w, 1])).leftOuterJoin(js(s))],
    ["updateStateByKey", "updateStateByKey", (s) => js(s).updateStateByKey((vs: number[], st: number | undefined) => (st ?? 0) + vs.length)],
    ["mapWithState", "mapWithState", (s) => js(s).mapWithState(StateSpec.function(() => 1))],
    ["reduceByKeyAndWindow (its per-batch reduceByKey)", "reduceByKey", (s) => js(s).reduceByKeyAndWindow((a: number, b: number) => a + b, Seconds(2))],
  ])("%s", async (_name, operator, build) => {
    const printed: string[] = [];
    let failure: unknown;
    await withContext({ allowBatchFailure: true, out: (t) => void printed.push(t) }, async ({ ssc, clock }) => {
      build(ssc.queueStream([["a", "b"]])).print();
      await ssc.start();
      await clock.advance(Seconds(1));
      // The batch has run: awaitTermination rejects at once with its failure; without one, this gives false.
      failure = await ssc.awaitTerminationOrTimeout(0).catch((e: unknown) => e);
    });
    expect(failure).toBeInstanceOf(NotAPairError);
    expect(failure).toBeInstanceOf(UserFunctionError); // handled as a throwing user function everywhere
    const e = failure as NotAPairError;
    expect(e.code).toBe("NotAKeyValuePair");
    expect(e.operator).toMatch(new RegExp(`^${operator} at errors\\.test\\.ts:\\d+$`));
    expect(e.element).toBe("a");
    expect(e.batchTime).toBe(1000);
    expect(e.message).toBe(
      `${e.operator} needs [key, value] pairs and got "a" (a string): map each element to a [key, value] array before ${operator} (batch of time 1000 ms)`,
    );
    expect(printed.join("")).not.toContain("(a"); // nothing keyed by a first letter reached an output
  });

  it("an array of another length is not a pair either", async () => {
    const rdd = RDD.of([["a", 1, 2]]) as any;
    expect(() => rdd.reduceByKey((a: number, b: number) => a + b).collect()).toThrow(
      'RDD.reduceByKey needs [key, value] pairs and got ["a",1,2] (an array of 3): map each element to a [key, value] array before RDD.reduceByKey',
    );
  });
});

/**
 * updateStateByKey, after Spark's BasicOperationsSuite and StateDStream.
 *
 * StateDStream.compute at T: cogroup(this batch grouped by key, state at T - slide) and call the update
 * function for every key in either — so every key that has state is called every batch, with [] when it
 * had no new values — and output the whole new state. Returning None (undefined here) removes the key. An
 * initial RDD is the "state before the first batch"; with none, the first batch's state is built from
 * that batch alone (an empty first batch gives an empty state and no call).
 * The output is keyed (shuffled): compare sorted.
 */
import { describe, expect, it } from "vitest";
import { RDD, Seconds, type DStream, type Time } from "../../../lib/index.js";
import { atTimes, runBatches, sortBatches, sorted, withContext, type Batches } from "../../support/batch-table.js";
import { Gappy } from "../../support/gappy-source.js";

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const toPairs = (s: DStream<string>) => s.map((w) => [w, 1] as [string, number]);

const sparkWords = [["a"], ["a", "b"], ["a", "b", "c"], ["a", "b"], ["a"], []];

interface Row {
  name: string;
  input: any[][];
  build: (s: DStream<any>) => DStream<any>;
  batches?: number;
  expected: Batches<unknown>;
}

describe("updateStateByKey (Spark StateDStream)", () => {
  it.each<Row>([
    {
      name: "running count (Spark's updateStateByKey test): the whole state every batch",
      input: sparkWords,
      build: (s) => toPairs(s).updateStateByKey((vs: number[], st: number | undefined) => sum(vs) + (st ?? 0)),
      expected: atTimes([
        [["a", 1]],
        [["a", 2], ["b", 1]],
        [["a", 3], ["b", 2], ["c", 1]],
        [["a", 4], ["b", 3], ["c", 1]],
        [["a", 5], ["b", 3], ["c", 1]],
        [["a", 5], ["b", 3], ["c", 1]],
      ]),
    },
    {
      // `calls` counts invocations: every key with state is called in every batch, with or without values.
      name: "the function runs for every key in every batch",
      input: [["a"], ["b"], [], []],
      build: (s) =>
        toPairs(s).updateStateByKey((vs: number[], st: { n: number; calls: number } | undefined) => ({
          n: (st?.n ?? 0) + sum(vs),
          calls: (st?.calls ?? 0) + 1,
        })),
      expected: atTimes([
        [["a", { n: 1, calls: 1 }]],
        [["a", { n: 1, calls: 2 }], ["b", { n: 1, calls: 1 }]],
        [["a", { n: 1, calls: 3 }], ["b", { n: 1, calls: 2 }]],
        [["a", { n: 1, calls: 4 }], ["b", { n: 1, calls: 3 }]],
      ]),
    },
    {
      // Spark's "updateStateByKey - object lifecycle": a key seen twice in a row with no new values is
      // removed (the function returns None). null batches in Spark's test are empty batches.
      name: "removal by returning undefined (Spark's object lifecycle test)",
      input: [["a", "b"], [], ["a", "c", "a"], ["c"], [], []],
      build: (s) =>
        toPairs(s)
          .updateStateByKey((vs: number[], st: { counter: number; idle: number } | undefined) => {
            const cur = st ?? { counter: 0, idle: 0 };
            const n = sum(vs);
            const next = n === 0 ? { counter: cur.counter, idle: cur.idle + 1 } : { counter: cur.counter + n, idle: 0 };
            return next.idle === 2 ? undefined : next;
          })
          .mapValues((st) => st.counter),
      expected: atTimes([
        [["a", 1], ["b", 1]],
        [["a", 1], ["b", 1]],
        [["a", 3], ["c", 1]],
        [["a", 3], ["c", 2]],
        [["c", 2]],
        [],
      ]),
    },
    {
      name: "an empty first batch gives an empty state",
      input: [[], ["a"], []],
      build: (s) => toPairs(s).updateStateByKey((vs: number[], st: number | undefined) => sum(vs) + (st ?? 0)),
      expected: atTimes([[], [["a", 1]], [["a", 1]]]),
    },
    {
      name: "all the batch's values of a key come in one call",
      input: [[["k", 3], ["j", 1], ["k", 1], ["k", 2]], [["k", 4]]],
      build: (s) =>
        s.updateStateByKey((vs: number[], st: number[] | undefined) => [...(st ?? []), ...[...vs].sort((a, b) => a - b)]),
      expected: atTimes([
        [["j", [1]], ["k", [1, 2, 3]]],
        [["j", [1]], ["k", [1, 2, 3, 4]]],
      ]),
    },
    {
      name: "tuple keys by value",
      input: [[[["a", 1], 1], [["a", "1"], 1]], [[["a", 1], 1]]],
      build: (s) => s.updateStateByKey((vs: number[], st: number | undefined) => sum(vs) + (st ?? 0)),
      expected: atTimes([
        [[["a", 1], 1], [["a", "1"], 1]],
        [[["a", 1], 2], [["a", "1"], 1]],
      ]),
    },
  ])("$name", async ({ input, build, batches, expected }) => {
    const out = await runBatches(input, build, batches ?? input.length, { sort: true });
    expect(out).toEqual(sortBatches(expected));
  });

  it("with an initial RDD (Spark's 'simple with initial value RDD' test)", async () => {
    const out = await runBatches(
      sparkWords,
      (s: DStream<string>) =>
        toPairs(s).updateStateByKey((vs: number[], st: number | undefined) => sum(vs) + (st ?? 0), {
          initialRDD: RDD.of<[string, number]>([["a", 1], ["c", 2]]),
        }),
      6,
      { sort: true },
    );
    expect(out).toEqual(
      sortBatches(
        atTimes([
          [["a", 2], ["c", 2]],
          [["a", 3], ["b", 1], ["c", 2]],
          [["a", 4], ["b", 2], ["c", 3]],
          [["a", 5], ["b", 3], ["c", 3]],
          [["a", 6], ["b", 3], ["c", 3]],
          [["a", 6], ["b", 3], ["c", 3]],
        ]),
      ),
    );
  });

  it("initial-state keys are called in the first batch even without values (and can be removed there)", async () => {
    // computeUsingPreviousRDD(parentRDD, initialRDD) cogroups: "x" is called with [] and its state 5.
    const calls: Array<[unknown[], unknown]> = [];
    const out = await runBatches(
      [["a"], []],
      (s: DStream<string>) =>
        toPairs(s).updateStateByKey(
          (vs: number[], st: number | undefined) => {
            calls.push([vs, st]);
            return vs.length === 0 ? undefined : sum(vs) + (st ?? 0);
          },
          { initialRDD: RDD.of<[string, number]>([["x", 5]]) },
        ),
      2,
      { sort: true },
    );
    expect(out).toEqual([
      [1000, [["a", 1]]],
      [2000, []],
    ]);
    expect(sorted(calls)).toEqual(sorted([[[1], undefined], [[], 5], [[], 1]]));
  });

  it("the batch-time form gets (time, key, values, state) for every key every batch", async () => {
    const calls: Array<[number, unknown, number[], unknown]> = [];
    const out = await runBatches(
      [["a"], ["b"], [], ["a"]],
      (s: DStream<string>) =>
        toPairs(s).updateStateByKey((time: Time, key: string, vs: number[], st: number | undefined) => {
          calls.push([time.milliseconds, key, vs, st]);
          return vs.length > 0 ? time.milliseconds : st;
        }),
      4,
      { sort: true },
    );
    // The state is the last batch time in which the key had values.
    expect(out).toEqual(
      sortBatches(
        atTimes([
          [["a", 1000]],
          [["a", 1000], ["b", 2000]],
          [["a", 1000], ["b", 2000]],
          [["a", 4000], ["b", 2000]],
        ]),
      ),
    );
    expect(sorted(calls)).toEqual(
      sorted([
        [1000, "a", [1], undefined],
        [2000, "a", [], 1000],
        [2000, "b", [1], undefined],
        [3000, "a", [], 1000],
        [3000, "b", [], 2000],
        [4000, "a", [1], 1000],
        [4000, "b", [], 2000],
      ]),
    );
  });
});

describe("updateStateByKey with an initial RDD when a batch has no input RDD (Spark StateDStream.compute)", () => {
  it("the first batch without an input RDD produces nothing and calls nothing; the initial state waits for the first input", async () => {
    const calls: Array<[number, string, number[], number | undefined]> = [];
    const out: Batches<unknown> = [];
    await withContext({}, async ({ ssc, clock }) => {
      ssc.receiverStream(new Gappy<string>([undefined, ["a"], undefined]))
        .map((w) => [w, 1] as [string, number])
        .updateStateByKey(
          (time: Time, key: string, vs: number[], st: number | undefined) => {
            calls.push([time.milliseconds, key, vs, st]);
            return sum(vs) + (st ?? 0);
          },
          { initialRDD: RDD.of<[string, number]>([["x", 5]]) },
        )
        .foreachRDD((rdd, t) => void out.push([t.milliseconds, rdd.collect()]));
      await ssc.start();
      await clock.advance(Seconds(3));
    });
    // 1000: no previous state and no parent RDD -> None. 2000: no previous state, a parent RDD -> cogroup with
    // the initial RDD. 3000: previous state, no parent RDD -> the function again over the old state, with [].
    expect(sortBatches(out)).toEqual(sortBatches([[2000, [["x", 5], ["a", 1]]], [3000, [["x", 5], ["a", 1]]]]));
    expect(sorted(calls)).toEqual(
      sorted([[2000, "x", [], 5], [2000, "a", [1], undefined], [3000, "x", [], 5], [3000, "a", [], 1]]),
    );
  });
});

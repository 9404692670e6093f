/**
 * Keyed windowed operators, after Spark's WindowOperationsSuite (window 2 s, slide 1 s unless a row says
 * otherwise; batch 1 s).
 *
 * - reduceByKeyAndWindow(f, w, s) = reduceByKey(f).window(w, s).reduceByKey(f): a key is present only while
 *   it has data in the window.
 * - reduceByKeyAndWindow(f, invF, w, s) is ReducedWindowedDStream: value(T) = f(invF(value(T - s),
 *   old batches that left), new batches that entered). Its state is the previous window's output, so
 *   without a filter a key never leaves: its value goes to 0 and stays (Spark's comment above
 *   bigReduceInvOutput). With filterFunc the filtered output is the state, so a dropped key restarts from
 *   its new values when it comes back.
 *
 *       batch:   1    2    3    4    5    6
 *                |----window(T=4)----|            window (2s, 4s] at T = 4 = batches 3, 4
 *                     |-prev(T=3)-|               old = batches leaving (2), new = batches entering (4)
 */
import { describe, expect, it } from "vitest";
import { Seconds, type DStream, type Duration } from "../../../lib/index.js";
import { atTimes, runBatches, sortBatches, sortGroupValues, type Batches } from "../../support/batch-table.js";

type P = [string, number];
const add = (a: number, b: number) => a + b;
const sub = (a: number, b: number) => a - b;
const nonZero = ([, v]: P) => v !== 0;

// Spark's WindowOperationsSuite.bigInput and its expected outputs.
const bigInput: P[][] = [
  [["a", 1]],
  [["a", 1], ["b", 1]],
  [["a", 1], ["b", 1], ["c", 1]],
  [["a", 1], ["b", 1]],
  [["a", 1]],
  [],
  [["a", 1]],
  [["a", 1], ["b", 1]],
  [["a", 1], ["b", 1], ["c", 1]],
  [["a", 1], ["b", 1]],
  [["a", 1]],
  [],
];
const bigReduceOutput: P[][] = [
  [["a", 1]],
  [["a", 2], ["b", 1]],
  [["a", 2], ["b", 2], ["c", 1]],
  [["a", 2], ["b", 2], ["c", 1]],
  [["a", 2], ["b", 1]],
  [["a", 1]],
  [["a", 1]],
  [["a", 2], ["b", 1]],
  [["a", 2], ["b", 2], ["c", 1]],
  [["a", 2], ["b", 2], ["c", 1]],
  [["a", 2], ["b", 1]],
  [["a", 1]],
];
// "no keys get eliminated from the ReducedWindowedDStream even if the value of a key becomes 0"
const bigReduceInvOutput: P[][] = [
  [["a", 1]],
  [["a", 2], ["b", 1]],
  [["a", 2], ["b", 2], ["c", 1]],
  [["a", 2], ["b", 2], ["c", 1]],
  [["a", 2], ["b", 1], ["c", 0]],
  [["a", 1], ["b", 0], ["c", 0]],
  [["a", 1], ["b", 0], ["c", 0]],
  [["a", 2], ["b", 1], ["c", 0]],
  [["a", 2], ["b", 2], ["c", 1]],
  [["a", 2], ["b", 2], ["c", 1]],
  [["a", 2], ["b", 1], ["c", 0]],
  [["a", 1], ["b", 0], ["c", 0]],
];
const bigGroupByOutput = bigReduceOutput.map((batch) =>
  batch.map(([k, n]) => [k, Array.from({ length: n }, () => 1)] as [string, number[]]),
);

// Spark's largerSlideInput / largerSlideReduceOutput, window 4 s, slide 2 s.
const largerSlideInput: P[][] = [[["a", 1]], [["a", 2]], [["a", 3]], [["a", 4]], [["a", 5]], [["a", 6]], [], []];
const largerSlideOutput: Batches<P> = [
  [2000, [["a", 3]]],
  [4000, [["a", 10]]],
  [6000, [["a", 18]]],
  [8000, [["a", 11]]],
];

interface Row {
  name: string;
  input: any[][];
  build: (s: DStream<any>) => DStream<any>;
  batches?: number;
  expected: Batches<unknown>;
  normalize?: (v: any) => unknown;
}

const w2 = Seconds(2);
const s1 = Seconds(1);
const d = (n: number): Duration => Seconds(n);

describe("reduceByKeyAndWindow without inverse (naive)", () => {
  it.each<Row>([
    { name: "basic reduction", input: [[["a", 1], ["a", 3]]], build: (s) => s.reduceByKeyAndWindow(add, w2, s1), expected: atTimes([[["a", 4]]]) },
    {
      name: "key already in window and new value added",
      input: [[["a", 1]], [["a", 1]]],
      build: (s) => s.reduceByKeyAndWindow(add, w2, s1),
      expected: atTimes([[["a", 1]], [["a", 2]]]),
    },
    {
      name: "new key added into window",
      input: [[["a", 1]], [["a", 1], ["b", 1]]],
      build: (s) => s.reduceByKeyAndWindow(add, w2, s1),
      expected: atTimes([[["a", 1]], [["a", 2], ["b", 1]]]),
    },
    {
      name: "key removed from window: it disappears",
      input: [[["a", 1]], [["a", 1]], [], []],
      build: (s) => s.reduceByKeyAndWindow(add, w2, s1),
      expected: atTimes([[["a", 1]], [["a", 2]], [["a", 1]], []]),
    },
    {
      name: "larger slide time (4s, 2s)",
      input: largerSlideInput,
      build: (s) => s.reduceByKeyAndWindow(add, d(4), d(2)),
      expected: largerSlideOutput,
    },
    { name: "big test", input: bigInput, build: (s) => s.reduceByKeyAndWindow(add, w2, s1), expected: atTimes(bigReduceOutput) },
    {
      name: "slide defaults to the parent's (reduceByKeyAndWindow(f, w))",
      input: bigInput,
      build: (s) => s.reduceByKeyAndWindow(add, w2),
      expected: atTimes(bigReduceOutput),
    },
    {
      // (T - 1s, T] at T = 3, 6: only batches 3 and 6.
      name: "slide larger than the window (1s, 3s)",
      input: [[["a", 1]], [["a", 2]], [["a", 4], ["b", 1]], [["a", 8]], [], [["b", 2]]],
      build: (s) => s.reduceByKeyAndWindow(add, d(1), d(3)),
      expected: [[3000, [["a", 4], ["b", 1]]], [6000, [["b", 2]]]],
    },
  ])("$name", async ({ input, build, batches, expected }) => {
    const out = await runBatches(input, build, batches ?? input.length, { sort: true });
    expect(out).toEqual(sortBatches(expected));
  });
});

describe("reduceByKeyAndWindow with inverse (Spark ReducedWindowedDStream)", () => {
  it.each<Row>([
    {
      name: "basic reduction",
      input: [[["a", 1], ["a", 3]]],
      build: (s) => s.reduceByKeyAndWindow(add, sub, w2, s1),
      expected: atTimes([[["a", 4]]]),
    },
    {
      name: "key removed from window: without a filter its 0 stays",
      input: [[["a", 1]], [["a", 1]], [], []],
      build: (s) => s.reduceByKeyAndWindow(add, sub, w2, s1),
      expected: atTimes([[["a", 1]], [["a", 2]], [["a", 1]], [["a", 0]]]),
    },
    {
      name: "big test without filter: keys that went to 0 keep being emitted",
      input: bigInput,
      build: (s) => s.reduceByKeyAndWindow(add, sub, w2, s1),
      expected: atTimes(bigReduceInvOutput),
    },
    {
      name: "big test with a filter dropping zeros equals the naive output",
      input: bigInput,
      build: (s) => s.reduceByKeyAndWindow(add, sub, w2, s1, { filterFunc: nonZero }),
      expected: atTimes(bigReduceOutput),
    },
    {
      name: "larger slide time (4s, 2s) equals the naive output (no key reaches 0)",
      input: largerSlideInput,
      build: (s) => s.reduceByKeyAndWindow(add, sub, d(4), d(2)),
      expected: largerSlideOutput,
    },
    {
      // T6: a = 3 - (1 + 2) = 0; T8: nothing left or entering, the 0 stays. The naive form emits [] at 6, 8.
      name: "(4s, 2s) trailing windows without filter: 0, then 0 again",
      input: [[["a", 1]], [["a", 2]], [], [], [], []],
      build: (s) => s.reduceByKeyAndWindow(add, sub, d(4), d(2)),
      batches: 8,
      expected: [[2000, [["a", 3]]], [4000, [["a", 3]]], [6000, [["a", 0]]], [8000, [["a", 0]]]],
    },
    {
      name: "(4s, 2s) trailing windows with filter: the key disappears",
      input: [[["a", 1]], [["a", 2]], [], [], [], []],
      build: (s) => s.reduceByKeyAndWindow(add, sub, d(4), d(2), { filterFunc: nonZero }),
      batches: 8,
      expected: [[2000, [["a", 3]]], [4000, [["a", 3]]], [6000, []], [8000, []]],
    },
    {
      // (3s, 2s): the window is not a multiple of the slide; old = batches T-4, T-3, new = T-1, T.
      name: "(3s, 2s) with filter equals the naive output",
      input: [[["a", 1]], [["a", 2], ["b", 1]], [["a", 4]], [["b", 8]], [["a", 16]], [], [], []],
      build: (s) => s.reduceByKeyAndWindow(add, sub, d(3), d(2), { filterFunc: nonZero }),
      expected: [
        [2000, [["a", 3], ["b", 1]]],
        [4000, [["a", 6], ["b", 9]]],
        [6000, [["a", 16], ["b", 8]]],
        [8000, []],
      ],
    },
    {
      // Dropped at T3 by the filter (value 0), so at T4 the previous window has no value for "a" and
      // Spark reduces the new values alone: 5.
      name: "a key dropped by the filter comes back with only its new values",
      input: [[["a", 1]], [], [], [["a", 5]]],
      build: (s) => s.reduceByKeyAndWindow(add, sub, w2, s1, { filterFunc: nonZero }),
      expected: atTimes([[["a", 1]], [["a", 1]], [], [["a", 5]]]),
    },
    {
      name: "the same without filter: 0 in between",
      input: [[["a", 1]], [], [], [["a", 5]]],
      build: (s) => s.reduceByKeyAndWindow(add, sub, w2, s1),
      expected: atTimes([[["a", 1]], [["a", 1]], [["a", 0]], [["a", 5]]]),
    },
    {
      // Tumbling windows (slide = window) are still ReducedWindowedDStream in Spark: old = the whole
      // previous window, so a key with no new values is inverse-reduced to 0 and kept (no filter).
      name: "tumbling (2s, 2s) without filter: a key that had data stays at 0",
      input: [[["a", 1]], [["a", 2], ["b", 1]], [["b", 5]], [], [], []],
      build: (s) => s.reduceByKeyAndWindow(add, sub, w2, w2),
      expected: [[2000, [["a", 3], ["b", 1]]], [4000, [["a", 0], ["b", 5]]], [6000, [["a", 0], ["b", 0]]]],
    },
    {
      name: "tumbling (2s, 2s) with filter equals the naive output",
      input: [[["a", 1]], [["a", 2], ["b", 1]], [["b", 5]], [], [], []],
      build: (s) => s.reduceByKeyAndWindow(add, sub, w2, w2, { filterFunc: nonZero }),
      expected: [[2000, [["a", 3], ["b", 1]]], [4000, [["b", 5]]], [6000, []]],
    },
    {
      // Before any data there are no keys at all: empty windows give empty output, not zeros.
      name: "empty windows before any data give nothing",
      input: [[], [], [["a", 2]]],
      build: (s) => s.reduceByKeyAndWindow(add, sub, w2, s1),
      expected: atTimes([[], [], [["a", 2]]]),
    },
  ])("$name", async ({ input, build, batches, expected }) => {
    const out = await runBatches(input, build, batches ?? input.length, { sort: true });
    expect(out).toEqual(sortBatches(expected));
  });
});

describe("groupByKeyAndWindow and countByKeyAndWindow", () => {
  it.each<Row>([
    {
      name: "groupByKeyAndWindow big test (Spark's bigGroupByOutput)",
      input: bigInput,
      build: (s) => s.groupByKeyAndWindow(w2, s1),
      expected: atTimes(bigGroupByOutput),
      normalize: sortGroupValues,
    },
    {
      name: "groupByKeyAndWindow (4s, 2s) with trailing windows",
      input: [[["a", 1]], [["a", 2], ["b", 3]], [["b", 4]], [], [], []],
      build: (s) => s.groupByKeyAndWindow(d(4), d(2)),
      batches: 8,
      expected: [
        [2000, [["a", [1, 2]], ["b", [3]]]],
        [4000, [["a", [1, 2]], ["b", [3, 4]]]],
        [6000, [["b", [4]]]],
        [8000, []],
      ],
      normalize: sortGroupValues,
    },
    {
      // Not a Spark method: reduceByKeyAndWindow counting 1s per record, with no zero entries.
      name: "countByKeyAndWindow counts records per key, not values",
      input: [[["a", 5], ["a", 7], ["b", 0]], [["b", 9]], [], []],
      build: (s) => s.countByKeyAndWindow(w2, s1),
      expected: atTimes([[["a", 2], ["b", 1]], [["a", 2], ["b", 2]], [["b", 1]], []]),
    },
    {
      name: "countByKeyAndWindow big test equals the naive reduce of 1s",
      input: bigInput,
      build: (s) => s.countByKeyAndWindow(w2, s1),
      expected: atTimes(bigReduceOutput),
    },
  ])("$name", async ({ input, build, batches, expected, normalize }) => {
    const out = await runBatches(input, build, batches ?? input.length, { sort: true, normalize });
    expect(out).toEqual(sortBatches(expected, normalize));
  });
});

/**
 * Per-batch aggregations (count, reduce, countByValue, reduceByKey, groupByKey, combineByKey), as Spark's
 * BasicOperationsSuite tests them. They shuffle, so element order inside a batch is not defined: both sides
 * are sorted canonically.
 */
import { describe, expect, it } from "vitest";
import type { DStream } from "../../../lib/index.js";
import { atTimes, runBatches, sortBatches, sortGroupValues, type Batches } from "../../support/batch-table.js";

interface Row {
  name: string;
  input: any[][];
  build: (s: DStream<any>) => DStream<any>;
  batches?: number;
  expected: unknown[][];
  normalize?: (v: any) => unknown;
}

const words = [["a", "a", "b"], ["", ""], []];
const pairsOf = (s: DStream<string>) => s.map((x) => [x, 1] as [string, number]);

describe("per-batch aggregations (Spark BasicOperationsSuite)", () => {
  it.each<Row>([
    {
      // DStream.count = map(_ => (null, 1L)).transform(_.union(makeRDD(Seq((null, 0L))))).reduceByKey(_ + _):
      // the union with a (null, 0) makes an empty batch count 0.
      name: "count (an empty batch counts 0)",
      input: [[], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4]],
      build: (s) => s.count(),
      expected: [[0], [1], [2], [3], [4]],
    },
    {
      name: "count keeps emitting 0 once the queue is drained",
      input: [[7, 8]],
      build: (s) => s.count(),
      batches: 3,
      expected: [[2], [0], [0]],
    },
    {
      // DStream.reduce = map((null, _)).reduceByKey(f, 1).map(_._2): an empty batch gives an empty RDD —
      // there is an RDD at that time (foreachRDD runs), it just has no element.
      name: "reduce (an empty batch gives nothing)",
      input: [[1, 2, 3, 4], [], [5, 6, 7, 8], [9, 10, 11, 12]],
      build: (s) => s.reduce((a: number, b: number) => a + b),
      expected: [[10], [], [26], [42]],
    },
    {
      name: "countByValue (Spark's test, mixed value types)",
      input: [[1], [1, 1, 1], [1, 2], ["a", "a", "b"], []],
      build: (s) => s.countByValue(),
      expected: [[[1, 1]], [[1, 3]], [[1, 1], [2, 1]], [["a", 2], ["b", 1]], []],
    },
    {
      name: "reduceByKey (Spark's test)",
      input: words,
      build: (s) => pairsOf(s).reduceByKey((a, b) => a + b),
      expected: [[["a", 2], ["b", 1]], [["", 2]], []],
    },
    {
      name: "groupByKey (Spark's test; values as arrays)",
      input: words,
      build: (s) => pairsOf(s).groupByKey(),
      expected: [[["a", [1, 1]], ["b", [1]]], [["", [1, 1]]], []],
      normalize: sortGroupValues,
    },
    {
      name: "reduceByKey then mapValues (Spark's mapValues test)",
      input: words,
      build: (s) => pairsOf(s).reduceByKey((a, b) => a + b).mapValues((v) => v + 10),
      expected: [[["a", 12], ["b", 11]], [["", 12]], []],
    },
    {
      name: "reduceByKey then flatMapValues (Spark's flatMapValues test)",
      input: words,
      build: (s) => pairsOf(s).reduceByKey((a, b) => a + b).flatMapValues((v) => [v, v + 10]),
      expected: [[["a", 2], ["a", 12], ["b", 1], ["b", 11]], [["", 2], ["", 12]], []],
    },
    {
      // combineByKey(createCombiner, mergeValue, mergeCombiners): a (sum, count) per key.
      name: "combineByKey",
      input: [[["a", 1], ["b", 2], ["a", 3], ["a", 5]], [], [["b", 4]]],
      build: (s: DStream<[string, number]>) =>
        s.combineByKey(
          (v: number) => [v, 1] as [number, number],
          (c: [number, number], v: number) => [c[0] + v, c[1] + 1] as [number, number],
          (c1: [number, number], c2: [number, number]) => [c1[0] + c2[0], c1[1] + c2[1]] as [number, number],
        ),
      expected: [[["a", [9, 3]], ["b", [2, 1]]], [], [["b", [4, 1]]]],
    },
  ])("$name", async ({ input, build, batches, expected, normalize }) => {
    const out = await runBatches(input, build, batches ?? input.length, { sort: true, normalize });
    expect(out).toEqual(sortBatches(atTimes(expected) as Batches<unknown>, normalize));
  });
});

describe("keys compare by value", () => {
  it.each<Row>([
    {
      // Spark: 1 (Int) and "1" (String) are different keys.
      name: "1 and \"1\" are different keys",
      input: [[1, "1", 1, "1", "1"]],
      build: (s) => s.countByValue(),
      expected: [[[1, 2], ["1", 3]]],
    },
    {
      // Tuples are case classes in Scala: ("a", 1) == ("a", 1) by value.
      name: "tuple keys [\"a\", 1] group by value",
      input: [[[["a", 1], 1], [["a", 1], 2], [["a", 2], 5], [["a", 1], 4]]],
      build: (s) => s.reduceByKey((a: number, b: number) => a + b),
      expected: [[[["a", 1], 7], [["a", 2], 5]]],
    },
    {
      name: "object keys group by value regardless of property order",
      input: [[[{ x: 1, y: 2 }, 1], [{ y: 2, x: 1 }, 1], [{ x: 2, y: 1 }, 1]]],
      build: (s) => s.reduceByKey((a: number, b: number) => a + b).map(([k, v]: [any, number]) => [k.x, k.y, v]),
      expected: [[[1, 2, 2], [2, 1, 1]]],
    },
    {
      name: "true, \"true\", null and \"null\" are four keys",
      input: [[true, "true", null, "null", true, null]],
      build: (s) => s.countByValue(),
      expected: [[[true, 2], ["true", 1], [null, 2], ["null", 1]]],
    },
    {
      name: "groupByKey on tuple keys",
      input: [[[["k", 1], "x"], [["k", 1], "y"], [["k", "1"], "z"]]],
      build: (s) => s.groupByKey(),
      expected: [[[["k", 1], ["x", "y"]], [["k", "1"], ["z"]]]],
      normalize: sortGroupValues,
    },
  ])("$name", async ({ input, build, expected, normalize }) => {
    const out = await runBatches(input, build, input.length, { sort: true, normalize });
    expect(out).toEqual(sortBatches(atTimes(expected) as Batches<unknown>, normalize));
  });
});

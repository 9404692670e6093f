/**
 * Joins and cogroup of two pair streams, batch by batch (Spark: transformWith(other, _.join(_)) etc.),
 * after Spark's BasicOperationsSuite. A missing side of an outer join is null (Spark's None). Output is
 * shuffled: compare sorted; cogroup's value lists are sorted too.
 */
import { describe, expect, it } from "vitest";
import { Seconds, type DStream } from "../../../lib/index.js";
import { atTimes, runBatches2, sortBatches, sorted, type Batches } from "../../support/batch-table.js";

// Spark's join tests: s1.map((_, 1)) joined with s2.map((_, "x")).
const in1 = [["a", "b"], ["a", ""], [""], []];
const in2 = [["a", "b"], ["b", ""], [], [""]];
const left = (s: DStream<string>) => s.map((x) => [x, 1] as [string, number]);
const right = (s: DStream<string>) => s.map((x) => [x, "x"] as [string, string]);

interface Row {
  name: string;
  input1: any[][];
  input2: any[][];
  build: (s1: DStream<any>, s2: DStream<any>) => DStream<any>;
  expected: Batches<unknown>;
  normalize?: (v: any) => unknown;
}

const cogroupNormalize = ([k, [vs, ws]]: [unknown, [unknown[], unknown[]]]) => [k, [sorted(vs), sorted(ws)]];

describe("joins (Spark BasicOperationsSuite)", () => {
  it.each<Row>([
    {
      name: "join",
      input1: in1,
      input2: in2,
      build: (s1, s2) => left(s1).join(right(s2)),
      expected: atTimes([[["a", [1, "x"]], ["b", [1, "x"]]], [["", [1, "x"]]], [], []]),
    },
    {
      name: "leftOuterJoin",
      input1: in1,
      input2: in2,
      build: (s1, s2) => left(s1).leftOuterJoin(right(s2)),
      expected: atTimes([[["a", [1, "x"]], ["b", [1, "x"]]], [["", [1, "x"]], ["a", [1, null]]], [["", [1, null]]], []]),
    },
    {
      name: "rightOuterJoin",
      input1: in1,
      input2: in2,
      build: (s1, s2) => left(s1).rightOuterJoin(right(s2)),
      expected: atTimes([[["a", [1, "x"]], ["b", [1, "x"]]], [["", [1, "x"]], ["b", [null, "x"]]], [], [["", [null, "x"]]]]),
    },
    {
      name: "fullOuterJoin",
      input1: in1,
      input2: in2,
      build: (s1, s2) => left(s1).fullOuterJoin(right(s2)),
      expected: atTimes([
        [["a", [1, "x"]], ["b", [1, "x"]]],
        [["", [1, "x"]], ["a", [1, null]], ["b", [null, "x"]]],
        [["", [1, null]]],
        [["", [null, "x"]]],
      ]),
    },
    {
      name: "cogroup (Spark's test)",
      input1: [["a", "a", "b"], ["a", ""], [""], []],
      input2: [["a", "a", "b"], ["b", ""], [], []],
      build: (s1, s2) => left(s1).cogroup(right(s2)),
      expected: atTimes([
        [["a", [[1, 1], ["x", "x"]]], ["b", [[1], ["x"]]]],
        [["a", [[1], []]], ["b", [[], ["x"]]], ["", [[1], ["x"]]]],
        [["", [[1], []]]],
        [],
      ]),
      normalize: cogroupNormalize,
    },
    {
      // Each pair of matching values gives one output (a per-key cartesian product).
      name: "join with repeated keys gives every pair",
      input1: [[["a", 1], ["a", 2], ["b", 3]]],
      input2: [[["a", "x"], ["a", "y"], ["c", "z"]]],
      build: (s1, s2) => s1.join(s2),
      expected: atTimes([[["a", [1, "x"]], ["a", [1, "y"]], ["a", [2, "x"]], ["a", [2, "y"]]]]),
    },
    {
      name: "keys join by value: 1 and \"1\" do not match, [\"a\", 1] matches [\"a\", 1]",
      input1: [[[1, "n"], [["a", 1], "t"]]],
      input2: [[["1", "s"], [["a", 1], "u"], [["a", "1"], "v"]]],
      build: (s1, s2) => s1.fullOuterJoin(s2),
      expected: atTimes([
        [
          [1, ["n", null]],
          ["1", [null, "s"]],
          [["a", 1], ["t", "u"]],
          [["a", "1"], [null, "v"]],
        ],
      ]),
    },
    {
      // Both sides are windowed with the same slide; the join runs only at slide times.
      name: "join of two windowed streams",
      input1: [[["a", 1]], [["a", 2]], [], []],
      input2: [[], [["a", "x"]], [], [["a", "y"]]],
      build: (s1, s2) => s1.window(Seconds(2), Seconds(2)).join(s2.window(Seconds(2), Seconds(2))),
      expected: [[2000, [["a", [1, "x"]], ["a", [2, "x"]]]], [4000, []]],
    },
  ])("$name", async ({ input1, input2, build, expected, normalize }) => {
    const out = await runBatches2(input1, input2, build, input1.length, { sort: true, normalize });
    expect(out).toEqual(sortBatches(expected, normalize));
  });
});


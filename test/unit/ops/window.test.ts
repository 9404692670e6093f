/**
 * Windowed operators on plain streams, after Spark's WindowOperationsSuite.
 *
 * Spark's rule (WindowedDStream.compute): at a valid time T — (T - zeroTime) a multiple of the slide — the
 * window is the union of the parent's RDDs in the interval [T - window + parentSlide, T], i.e. the batches in
 * (T - window, T]; batches at or before zeroTime (= 0 here) do not exist, so the first windows are partial.
 * Between slides the windowed stream has no RDD (no row in these tables). The union keeps batch order, so
 * window(...) outputs compare in order.
 *
 * countByWindow, reduceByWindow(f, invF, ...) and countByValueAndWindow are Spark's inverse forms:
 *   countByWindow(w, s)         = map(_ => 1L).reduceByWindow(_ + _, _ - _, w, s)
 *   reduceByWindow(f, invF, ..) = map((1, _)).reduceByKeyAndWindow(f, invF, w, s, 1).map(_._2)
 *   countByValueAndWindow(w, s) = map((_, 1L)).reduceByKeyAndWindow(_ + _, _ - _, w, s, n, _._2 != 0L)
 * so a count whose data left the window is 0 (the key stays in ReducedWindowedDStream's state), while
 * before any data arrived there is no key yet and the output is empty.
 */
import { describe, expect, it } from "vitest";
import { Milliseconds, Seconds, type DStream, type Duration } from "../../../lib/index.js";
import { atTimes, runBatches, sortBatches, type Batches } from "../../support/batch-table.js";

interface Row {
  name: string;
  input: any[][];
  build: (s: DStream<any>) => DStream<any>;
  batches: number;
  expected: Batches<unknown>;
  batchInterval?: Duration;
}

const singles = [[1], [2], [3], [4], [5], [6]];

describe("window (Spark WindowOperationsSuite testWindow)", () => {
  it.each<Row>([
    {
      name: "basic window (2s, 1s): the first window is partial",
      input: singles,
      build: (s) => s.window(Seconds(2), Seconds(1)),
      batches: 6,
      expected: atTimes([[1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6]]),
    },
    {
      name: "window(w) slides with the parent (1s)",
      input: singles,
      build: (s) => s.window(Seconds(2)),
      batches: 6,
      expected: atTimes([[1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6]]),
    },
    {
      name: "tumbling window (2s, 2s): rows only at even seconds",
      input: singles,
      build: (s) => s.window(Seconds(2), Seconds(2)),
      batches: 6,
      expected: [[2000, [1, 2]], [4000, [3, 4]], [6000, [5, 6]]],
    },
    {
      // Spark's "larger window": 8 batches, the last window (4s, 8s] holds only 5 and 6.
      name: "larger window (4s, 2s) keeps sliding over empty batches",
      input: singles,
      build: (s) => s.window(Seconds(4), Seconds(2)),
      batches: 8,
      expected: [[2000, [1, 2]], [4000, [1, 2, 3, 4]], [6000, [3, 4, 5, 6]], [8000, [5, 6]]],
    },
    {
      // (T - 3s, T] at T = 2, 4, 6, 8: {1,2}, {2,3,4}, {4,5,6}, {6,7,8}.
      name: "window (3s, 2s): window not a multiple of the slide",
      input: singles,
      build: (s) => s.window(Seconds(3), Seconds(2)),
      batches: 8,
      expected: [[2000, [1, 2]], [4000, [2, 3, 4]], [6000, [4, 5, 6]], [8000, [6]]],
    },
    {
      // Spark's "non-overlapping window": slide larger than the window skips batches 1, 3, 5.
      name: "slide larger than the window (1s, 2s)",
      input: singles,
      build: (s) => s.window(Seconds(1), Seconds(2)),
      batches: 6,
      expected: [[2000, [2]], [4000, [4]], [6000, [6]]],
    },
    {
      name: "slide larger than the window (1s, 3s)",
      input: singles,
      build: (s) => s.window(Seconds(1), Seconds(3)),
      batches: 6,
      expected: [[3000, [3]], [6000, [6]]],
    },
    {
      name: "trailing windows after the input stops, down to an empty window",
      input: [[1], [2]],
      build: (s) => s.window(Seconds(3), Seconds(1)),
      batches: 5,
      expected: atTimes([[1], [1, 2], [1, 2], [2], []]),
    },
    {
      name: "a window over a stream with no data at all gives empty windows",
      input: [],
      build: (s) => s.window(Seconds(2), Seconds(1)),
      batches: 3,
      expected: atTimes([[], [], []]),
    },
    {
      name: "a window of a window",
      input: [[1], [2], [3], [4], [5], [6], [7], [8]],
      build: (s) => s.window(Seconds(2), Seconds(2)).window(Seconds(4), Seconds(4)),
      batches: 8,
      expected: [[4000, [1, 2, 3, 4]], [8000, [5, 6, 7, 8]]],
    },
    {
      // Batch 500 ms: window (1.5s, 1s) at T = 1000: batches 500, 1000; at T = 2000: 1000, 1500, 2000.
      name: "a 500 ms batch interval with a (1.5s, 1s) window",
      input: [["a"], ["b"], ["c"], ["d"]],
      build: (s) => s.window(Milliseconds(1500), Seconds(1)),
      batches: 4,
      batchInterval: Milliseconds(500),
      expected: [[1000, ["a", "b"]], [2000, ["b", "c", "d"]]],
    },
    {
      name: "map after window runs only at slide times",
      input: singles,
      build: (s) => s.window(Seconds(2), Seconds(2)).map((x: number) => x * 10),
      batches: 4,
      expected: [[2000, [10, 20]], [4000, [30, 40]]],
    },
  ])("$name", async ({ input, build, batches, expected, batchInterval }) => {
    expect(await runBatches(input, build, batches, { batchInterval })).toEqual(expected);
  });
});

describe("countByWindow, reduceByWindow, countByValueAndWindow", () => {
  it.each<Row & { sort?: boolean }>([
    {
      name: "countByWindow basic (Spark's test): 0 once the data has left the window",
      input: [[1], [1], [1, 2], [0], [], []],
      build: (s) => s.countByWindow(Seconds(2), Seconds(1)),
      batches: 6,
      expected: atTimes([[1], [2], [3], [3], [1], [0]]),
    },
    {
      // No element has entered any window yet: the (1, count) key does not exist, so nothing — not 0.
      name: "countByWindow before any data is empty, not 0",
      input: [[], [], [1], [], [], []],
      build: (s) => s.countByWindow(Seconds(2), Seconds(1)),
      batches: 6,
      expected: atTimes([[], [], [1], [1], [0], [0]]),
    },
    {
      name: "countByWindow (4s, 2s) with trailing windows",
      input: [["a"], ["b", "c"], ["d"]],
      build: (s) => s.countByWindow(Seconds(4), Seconds(2)),
      batches: 8,
      expected: [[2000, [3]], [4000, [4]], [6000, [1]], [8000, [0]]],
    },
    {
      // Tumbling, still Spark's inverse form: at T4 old = slice(1 s, 2 s) = the whole previous window,
      // new = batches 3, 4 (empty): 2 - 2 = 0, and the key stays.
      name: "countByWindow tumbling (2s, 2s): 0 once the data has left",
      input: [[1], [1], [], [], [], []],
      build: (s) => s.countByWindow(Seconds(2), Seconds(2)),
      batches: 6,
      expected: [[2000, [2]], [4000, [0]], [6000, [0]]],
    },
    {
      // reduceByWindow(f, w, s) = reduce(f).window(w, s).reduce(f): an empty window gives nothing.
      name: "reduceByWindow without inverse: an empty window gives nothing",
      input: [[], [1], [2], [], [], []],
      build: (s) => s.reduceByWindow((a: number, b: number) => a + b, Seconds(2), Seconds(1)),
      batches: 6,
      expected: atTimes([[], [1], [3], [2], [], []]),
    },
    {
      // The inverse form keeps its single key once it exists: 0 after the data leaves.
      name: "reduceByWindow with inverse: nothing before data, 0 after it leaves",
      input: [[], [1], [2], [], [], []],
      build: (s) =>
        s.reduceByWindow((a: number, b: number) => a + b, (a: number, b: number) => a - b, Seconds(2), Seconds(1)),
      batches: 6,
      expected: atTimes([[], [1], [3], [2], [0], [0]]),
    },
    {
      name: "reduceByWindow (3s, 2s) without inverse",
      input: [[1, 2], [3], [4], [5]],
      build: (s) => s.reduceByWindow((a: number, b: number) => a + b, Seconds(3), Seconds(2)),
      batches: 6,
      expected: [[2000, [6]], [4000, [12]], [6000, [5]]],
    },
    {
      name: "countByValueAndWindow basic (Spark's test): the filter drops zero counts",
      input: [[1], [1], [1, 2], [0], [], []],
      build: (s) => s.countByValueAndWindow(Seconds(2), Seconds(1)),
      batches: 6,
      sort: true,
      expected: atTimes([[[1, 1]], [[1, 2]], [[1, 2], [2, 1]], [[0, 1], [1, 1], [2, 1]], [[0, 1]], []]),
    },
    {
      name: "countByValueAndWindow (4s, 2s)",
      input: [[1], [1, 2], [2], [], [], []],
      build: (s) => s.countByValueAndWindow(Seconds(4), Seconds(2)),
      batches: 8,
      sort: true,
      expected: [[2000, [[1, 2], [2, 1]]], [4000, [[1, 2], [2, 2]]], [6000, [[2, 1]]], [8000, []]],
    },
  ])("$name", async ({ input, build, batches, expected, sort }) => {
    const out = await runBatches(input, build, batches, { sort });
    expect(out).toEqual(sort ? sortBatches(expected) : expected);
  });
});

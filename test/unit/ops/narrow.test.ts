/**
 * Narrow operators and the queue source, as Spark's BasicOperationsSuite tests them. Narrow operators keep
 * the order of the elements of a batch (one partition in, the same partitions out; union appends the
 * partitions of its second parent), so these tables compare in order.
 */
import { describe, expect, it } from "vitest";
import { RDD, Seconds, Time, type DStream, type StreamingContext } from "../../../lib/index.js";
import { atTimes, runBatches, runBatches2, runBatchesN, sorted, withContext, type Batches } from "../../support/batch-table.js";
import { Gappy } from "../../support/gappy-source.js";

interface Row {
  name: string;
  input: any[][];
  build: (s: DStream<any>, ssc: StreamingContext) => DStream<any>;
  batches: number;
  expected: Batches<unknown>;
}

const oneToTwelve = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]];

describe("narrow operators (Spark BasicOperationsSuite)", () => {
  it.each<Row>([
    {
      name: "map",
      input: oneToTwelve,
      build: (s) => s.map((x: number) => String(x)),
      batches: 3,
      expected: atTimes([["1", "2", "3", "4"], ["5", "6", "7", "8"], ["9", "10", "11", "12"]]),
    },
    {
      name: "flatMap",
      input: oneToTwelve,
      build: (s) => s.flatMap((x: number) => [x, x * 2]),
      batches: 3,
      expected: atTimes([
        [1, 2, 2, 4, 3, 6, 4, 8],
        [5, 10, 6, 12, 7, 14, 8, 16],
        [9, 18, 10, 20, 11, 22, 12, 24],
      ]),
    },
    {
      name: "filter",
      input: oneToTwelve,
      build: (s) => s.filter((x: number) => x % 2 === 0),
      batches: 3,
      expected: atTimes([[2, 4], [6, 8], [10, 12]]),
    },
    {
      // mapPartitions applies the function to each partition in turn; an element-wise function is
      // independent of how the batch is partitioned.
      name: "mapPartitions (element-wise)",
      input: oneToTwelve,
      build: (s) => s.mapPartitions((it: Iterable<number>) => Array.from(it, (x) => x * 10)),
      batches: 3,
      expected: atTimes([[10, 20, 30, 40], [50, 60, 70, 80], [90, 100, 110, 120]]),
    },
    {
      // glom turns each partition into one array; however the batch is split, the arrays concatenate to it.
      name: "glom (flattened back)",
      input: oneToTwelve,
      build: (s) => s.glom().flatMap((part: number[]) => part),
      batches: 3,
      expected: atTimes(oneToTwelve),
    },
    {
      name: "union with a mapped copy of itself (first parent's elements, then the second's)",
      input: [[1, 2, 3, 4], [101, 102, 103, 104], [201, 202, 203, 204]],
      build: (s) => s.union(s.map((x: number) => x + 4)),
      batches: 3,
      expected: atTimes([
        [1, 2, 3, 4, 5, 6, 7, 8],
        [101, 102, 103, 104, 105, 106, 107, 108],
        [201, 202, 203, 204, 205, 206, 207, 208],
      ]),
    },
    {
      name: "transform (RDD => RDD)",
      input: oneToTwelve,
      build: (s) => s.transform((rdd: any) => rdd.map((x: number) => String(x))),
      batches: 3,
      expected: atTimes([["1", "2", "3", "4"], ["5", "6", "7", "8"], ["9", "10", "11", "12"]]),
    },
    {
      name: "transform with the batch time",
      input: [[1], [2], []],
      build: (s) => s.transform((rdd: any, time: Time) => rdd.map((x: number) => [time.milliseconds, x])),
      batches: 3,
      expected: atTimes([[[1000, 1]], [[2000, 2]], []]),
    },
    {
      // An empty batch is an empty RDD, not a missing one: every operator still runs and outputs [].
      name: "empty batches in the middle pass through as empty RDDs",
      input: [[1], [], [2]],
      build: (s) => s.map((x: number) => x + 1),
      batches: 3,
      expected: atTimes([[2], [], [3]]),
    },
    {
      // QueueInputDStream: once the queue is drained, each batch is sc.emptyRDD (never "no RDD").
      name: "a drained queue yields empty batches",
      input: [[1, 2], [3]],
      build: (s) => s.filter(() => true),
      batches: 4,
      expected: atTimes([[1, 2], [3], [], []]),
    },
    {
      name: "mapValues keeps keys and order",
      input: [[["a", 1], ["b", 2], ["a", 3]], []],
      build: (s) => s.mapValues((v: number) => v * 10),
      batches: 2,
      expected: atTimes([[["a", 10], ["b", 20], ["a", 30]], []]),
    },
    {
      name: "flatMapValues",
      input: [[["a", 1], ["b", 2]]],
      build: (s) => s.flatMapValues((v: number) => [v, v + 10]),
      batches: 1,
      expected: atTimes([[["a", 1], ["a", 11], ["b", 2], ["b", 12]]]),
    },
    {
      name: "persist / cache change nothing",
      input: [[1, 2], [3]],
      build: (s) => s.map((x: number) => x * 2).cache().persist(),
      batches: 2,
      expected: atTimes([[2, 4], [6]]),
    },
  ])("$name", async ({ input, build, batches, expected }) => {
    expect(await runBatches(input, build, batches)).toEqual(expected);
  });

  it("repartition(n) gives every batch exactly n partitions holding all the elements", async () => {
    // DStream.repartition = transform(_.repartition(n)); "Each RDD in the returned DStream has exactly
    // numPartitions partitions" (Spark scaladoc). Which element lands where is not defined.
    const input = [Array.from({ length: 20 }, (_, i) => i), Array.from({ length: 7 }, (_, i) => 100 + i)];
    const out = await runBatches(input, (s: DStream<number>) => s.repartition(3).glom(), 2);
    expect(out.map(([t, parts]) => [t, parts.length])).toEqual([[1000, 3], [2000, 3]]);
    expect(out.map(([t, parts]) => [t, sorted(parts.flat())])).toEqual([
      [1000, sorted(input[0]!)],
      [2000, sorted(input[1]!)],
    ]);
  });

  it("ssc.union of three streams", async () => {
    const out = await runBatchesN<number>(
      [[[1], [2]], [[10], []], [[100], [200]]],
      (streams, ssc) => ssc.union(streams as DStream<number>[]),
      3,
    );
    expect(out).toEqual(atTimes([[1, 10, 100], [2, 200], []]));
  });

  it("transformWith joins two streams' RDDs of the same batch (Spark's transformWith test)", async () => {
    const out = await runBatches2(
      [["a", "b"], ["a", ""], [""], []],
      [["a", "b"], ["b", ""], [], [""]],
      (s1: DStream<string>, s2: DStream<string>) =>
        s1
          .map((x) => [x, 1] as [string, number])
          .transformWith(s2.map((x) => [x, "x"] as [string, string]), (r1: any, r2: any) => r1.join(r2)),
      4,
      { sort: true },
    );
    expect(out).toEqual([
      [1000, sorted([["a", [1, "x"]], ["b", [1, "x"]]])],
      [2000, [["", [1, "x"]]]],
      [3000, []],
      [4000, []],
    ]);
  });

  it("ssc.transform over several streams gets their RDDs of the same batch and the time", async () => {
    const out = await runBatchesN<unknown>(
      [[[1], [2]], [["a"], ["b"]]],
      (streams, ssc) =>
        ssc.transform(streams, (rdds: any[], time: Time) =>
          rdds[0].map((x: unknown) => [time.milliseconds, x]).union(rdds[1].map((x: unknown) => [time.milliseconds, x])),
        ),
      2,
    );
    expect(out).toEqual(atTimes([[[1000, 1], [1000, "a"]], [[2000, 2], [2000, "b"]]]));
  });
});

describe("queueStream (Spark QueueInputDStream)", () => {
  it("oneAtATime = false takes everything queued in the first batch, then empty batches", async () => {
    const out = await runBatchesN<number>(
      [],
      (_streams, ssc) => ssc.queueStream([[1], [2, 3], [4]], false),
      3,
    );
    expect(out).toEqual(atTimes([[1, 2, 3, 4], [], []]));
  });

  it("a defaultRDD is returned once the queue is drained", async () => {
    // QueueInputDStream.compute: `else if (defaultRDD != null) Some(defaultRDD)`.
    const out = await runBatchesN<number>(
      [],
      (_streams, ssc) => ssc.queueStream([[1]], true, [9, 9] as any),
      3,
    );
    expect(out).toEqual(atTimes([[1], [9, 9], [9, 9]]));
  });
});

describe("slice (Spark DStream.slice: both ends included, aligned down to the slide)", () => {
  it("returns the RDDs of the batches in [from, to]", async () => {
    // Spark's BasicOperationsSuite "slice": slice(0, 1000) = {1} (time 0 = zeroTime is not a batch),
    // slice(1000, 2000) = {1, 2}. We slice inside foreachRDD, while those batches are remembered.
    const seen: Array<[number, number[][]]> = [];
    await runBatches(
      [[1], [2], [3], [4]],
      (s: DStream<number>) => {
        s.foreachRDD((_rdd, time) => {
          const t = time.milliseconds;
          seen.push([t, s.slice(new Time(t - 1000), new Time(t)).map((r) => r.collect())]);
        });
        return s;
      },
      4,
    );
    expect(seen).toEqual([
      [1000, [[1]]],
      [2000, [[1], [2]]],
      [3000, [[2], [3]]],
      [4000, [[3], [4]]],
    ]);
  });

  it("fails if the stream has not been initialized (context not started)", async () => {
    const { ManualClock, StreamingContext, Seconds } = await import("../../../lib/index.js");
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock: new ManualClock() });
    const s = ssc.queueStream([[1]]);
    s.foreachRDD(() => {});
    // Spark: SparkException("... has not been initialized")
    expect(() => s.slice(new Time(0), new Time(1000))).toThrow(/not been initialized|not started|initiali[sz]/i);
    await ssc.stop();
  });
});

/** Spark's QueueInputDStream hands over the queued RDD itself, so its partitions reach the operators. */
describe("queueStream keeps the partitions of the RDDs it is given", () => {
  async function collect<U>(build: (ssc: StreamingContext) => DStream<U>, batches: number): Promise<Batches<U>> {
    const out: Batches<U> = [];
    await withContext({}, async ({ ssc, clock }) => {
      build(ssc).foreachRDD((rdd, t) => void out.push([t.milliseconds, rdd.collect()]));
      await ssc.start();
      await clock.advance(Seconds(batches));
    });
    return out;
  }

  it("glom() of an RDD of two partitions gives [[1, 2], [3, 4]]; the empty batch after it has no partitions (sc.emptyRDD)", async () => {
    const out = await collect((ssc) => ssc.queueStream([RDD.of([1, 2, 3, 4], 2)]).glom(), 2);
    expect(out).toEqual(atTimes([[[1, 2], [3, 4]], []]));
  });

  it("mapPartitions sees two partitions", async () => {
    const out = await collect((ssc) => ssc.queueStream([RDD.of([1, 2, 3, 4], 2)]).mapPartitions((p) => [p.length]), 1);
    expect(out).toEqual(atTimes([[2, 2]]));
  });

  it("with oneAtATime = false the batch is the union of the queued RDDs, partitions side by side (an array is one)", async () => {
    const out = await collect((ssc) => ssc.queueStream<number>([RDD.of([1, 2], 2), [3]], false).glom(), 1);
    expect(out).toEqual(atTimes([[[1], [2], [3]]]));
  });

  it("defaultRDD keeps its partitions too", async () => {
    const out = await collect((ssc) => ssc.queueStream<number>([], true, RDD.of([5, 6], 2)).glom(), 1);
    expect(out).toEqual(atTimes([[[5], [6]]]));
  });
});

/**
 * Spark's UnionDStream and TransformedDStream both fail the batch when a parent has no RDD. Here a parent with
 * no RDD is left out of a union and is an empty RDD to a transform, and when no parent has an RDD neither has
 * one: the transform function is not called and outputs do nothing for that batch (README, differences).
 */
describe("union and transform when parents have no RDD", () => {
  async function run(build: (gappy: DStream<number>, queue: () => DStream<number>, ssc: StreamingContext) => DStream<unknown>) {
    const out: Batches<unknown> = [];
    const printed: string[] = [];
    await withContext({ out: (t) => void printed.push(t) }, async ({ ssc, clock }) => {
      const gappy = ssc.receiverStream(new Gappy<number>([undefined, [2], undefined]));
      const queue = () => ssc.queueStream([[10], [20], [30]]);
      const stream = build(gappy, queue, ssc);
      stream.foreachRDD((rdd, t) => void out.push([t.milliseconds, rdd.collect()]));
      stream.print();
      await ssc.start();
      await clock.advance(Seconds(3));
    });
    return { out, printed: printed.join("") };
  }

  it("with no parent RDD, union has no RDD: no foreachRDD call, no print block", async () => {
    const { out, printed } = await run((g, _q, ssc) => ssc.union([g, g.map((x) => x * 100)]));
    expect(out).toEqual([[2000, [2, 200]]]);
    expect(printed).not.toContain("Time: 1000 ms");
    expect(printed).not.toContain("Time: 3000 ms");
  });

  it("with no parent RDD, transform has no RDD and its function is not called", async () => {
    const calls: number[] = [];
    const { out, printed } = await run((g) => g.transform((rdd, t) => (calls.push(t.milliseconds), rdd.map((x) => x + 1))));
    expect(calls).toEqual([2000]);
    expect(out).toEqual([[2000, [3]]]);
    expect(printed).not.toContain("Time: 1000 ms");
  });

  it("with some parent RDDs, union adds nothing for the missing one and transformWith sees an empty RDD", async () => {
    const union = await run((g, q) => g.union(q()));
    expect(union.out).toEqual([[1000, [10]], [2000, [2, 20]], [3000, [30]]]);
    const seen: Array<[number, number[], number[]]> = [];
    const transformed = await run((g, q) =>
      g.transformWith(q(), (a: RDD<number>, b: RDD<number>, t: Time) => (seen.push([t.milliseconds, a.collect(), b.collect()]), a.union(b))),
    );
    expect(seen).toEqual([[1000, [], [10]], [2000, [2], [20]], [3000, [], [30]]]);
    expect(transformed.out).toEqual(union.out);
  });
});

describe("an input stream no output reads", () => {
  it("does not fail the batches of the streams that are read", async () => {
    const out: Batches<number> = [];
    await withContext({}, async ({ ssc, clock }) => {
      ssc.queueStream([[1], [2]]); // created, never used
      ssc.queueStream([[10], [20]]).foreachRDD((rdd, t) => void out.push([t.milliseconds, rdd.collect()]));
      await ssc.start();
      await clock.advance(Seconds(2));
    });
    expect(out).toEqual(atTimes([[10], [20]]));
  });
});

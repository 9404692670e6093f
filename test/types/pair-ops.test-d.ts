/**
 * Pair operators are typed through `this: DStream<[K, V]>`: they compile on a stream of [key, value]
 * pairs and not on any other stream (Spark gets the same from the implicit PairDStreamFunctions).
 */
import { describe, expectTypeOf, it } from "vitest";
import { ManualClock, Seconds, StateSpec, StreamingContext, type DStream } from "../../lib/index.js";

const ssc = new StreamingContext({ batchInterval: Seconds(1), clock: new ManualClock() });
const numbers: DStream<number> = ssc.queueStream([[1, 2, 3]]);
const pairs: DStream<[string, number]> = numbers.map((n) => [String(n), n] as [string, number]);
const add = (a: number, b: number) => a + b;

describe("pair operators", () => {
  it("type their results from the key and value types", () => {
    expectTypeOf(pairs.reduceByKey(add)).toEqualTypeOf<DStream<[string, number]>>();
    expectTypeOf(pairs.groupByKey()).toEqualTypeOf<DStream<[string, number[]]>>();
    expectTypeOf(pairs.mapValues((v) => String(v))).toEqualTypeOf<DStream<[string, string]>>();
    expectTypeOf(pairs.flatMapValues((v) => [v, v])).toEqualTypeOf<DStream<[string, number]>>();
    expectTypeOf(pairs.reduceByKeyAndWindow(add, Seconds(2), Seconds(1))).toEqualTypeOf<DStream<[string, number]>>();
    expectTypeOf(pairs.join(pairs.mapValues(String))).toEqualTypeOf<DStream<[string, [number, string]]>>();
    expectTypeOf(pairs.leftOuterJoin(pairs.mapValues(String))).toEqualTypeOf<DStream<[string, [number, string | null]]>>();
    expectTypeOf(pairs.rightOuterJoin(pairs.mapValues(String))).toEqualTypeOf<DStream<[string, [number | null, string]]>>();
    expectTypeOf(pairs.fullOuterJoin(pairs.mapValues(String))).toEqualTypeOf<
      DStream<[string, [number | null, string | null]]>
    >();
    expectTypeOf(pairs.cogroup(pairs.mapValues(String))).toEqualTypeOf<DStream<[string, [number[], string[]]]>>();
    expectTypeOf(
      pairs.updateStateByKey((values: number[], state: number | undefined) => (state ?? 0) + values.length),
    ).toEqualTypeOf<DStream<[string, number]>>();
  });

  it("do not compile on a stream that is not of pairs", () => {
    // @ts-expect-error reduceByKey needs a stream of [key, value] pairs
    numbers.reduceByKey(add);
    // @ts-expect-error groupByKey needs a stream of [key, value] pairs
    numbers.groupByKey();
    // @ts-expect-error mapValues needs a stream of [key, value] pairs
    numbers.mapValues((v: number) => v);
    // @ts-expect-error reduceByKeyAndWindow needs a stream of [key, value] pairs
    numbers.reduceByKeyAndWindow(add, Seconds(2), Seconds(1));
    // @ts-expect-error join needs a stream of [key, value] pairs
    numbers.join(pairs);
    // @ts-expect-error updateStateByKey needs a stream of [key, value] pairs
    numbers.updateStateByKey((values: number[], state: number | undefined) => state);
    // @ts-expect-error mapWithState needs a stream of [key, value] pairs
    numbers.mapWithState(StateSpec.function((_k: string, v: number | undefined) => v));
  });

  it("plain operators work on any stream", () => {
    expectTypeOf(numbers.map((n) => n * 2)).toEqualTypeOf<DStream<number>>();
    expectTypeOf(numbers.count()).toEqualTypeOf<DStream<number>>();
    expectTypeOf(numbers.countByValue()).toEqualTypeOf<DStream<[number, number]>>();
    expectTypeOf(numbers.window(Seconds(2))).toEqualTypeOf<DStream<number>>();
  });
});

/**
 * Window properties (fast-check), checked against a model of Spark's window rule — at T, a multiple of
 * the slide, the window holds the batches in (T - window, T] with batch times > 0 — and against each other:
 *
 * 1. reduceByKeyAndWindow(f, invF, w, s, { filterFunc: v != 0 }) (ReducedWindowedDStream) equals the naive
 *    reduceByKeyAndWindow(f, w, s) and the model, for positive values and any w >= s (Spark's inverse form
 *    is only meaningful when the window is at least the slide: with s > w its "new" batches would include
 *    batches outside the window).
 * 2. With w a multiple of s, every element lands in exactly w / s windows, once each.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Milliseconds, Seconds, type DStream } from "../../../lib/index.js";
import { canonical, sortBatches, withContext, type Batches } from "../../support/batch-table.js";

const B = 1000;
type Key = string | number;
type P = [Key, number];

const keyArb: fc.Arbitrary<Key> = fc.constantFrom<Key>("a", "b", "c", 1, "1");
const batchesArb = fc.array(fc.array(fc.tuple(keyArb, fc.integer({ min: 1, max: 9 })), { maxLength: 5 }), {
  minLength: 1,
  maxLength: 8,
});

/** Spark's window rule applied to the input batches (batch i has time (i + 1) * B). */
function modelWindows<T>(input: T[][], windowMs: number, slideMs: number, untilMs: number): Batches<T> {
  const out: Batches<T> = [];
  for (let t = slideMs; t <= untilMs; t += slideMs) {
    const inWindow: T[] = [];
    input.forEach((batch, i) => {
      const bt = (i + 1) * B;
      if (bt > t - windowMs && bt <= t) inWindow.push(...batch);
    });
    out.push([t, inWindow]);
  }
  return out;
}

function sumByKey(pairs: P[]): P[] {
  const sums = new Map<string, P>();
  for (const [k, v] of pairs) {
    const c = canonical(k);
    const prev = sums.get(c);
    sums.set(c, [k, (prev?.[1] ?? 0) + v]);
  }
  return [...sums.values()];
}

describe("window properties", () => {
  it("incremental reduceByKeyAndWindow (inverse + zero filter) equals the naive one and Spark's rule", async () => {
    await fc.assert(
      fc.asyncProperty(
        batchesArb,
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        async (input, slideBatches, extraWindowBatches) => {
          const slideMs = slideBatches * B;
          const windowMs = (slideBatches + extraWindowBatches) * B; // any multiple of B with w >= s
          const numBatches = input.length + windowMs / B + slideBatches; // let every element slide out
          const incremental: Batches<P> = [];
          const naive: Batches<P> = [];
          await withContext({}, async ({ ssc, clock }) => {
            const s = ssc.queueStream(input.map((b) => [...b])) as DStream<P>;
            s.reduceByKeyAndWindow(
              (a, b) => a + b,
              (a, b) => a - b,
              Milliseconds(windowMs),
              Milliseconds(slideMs),
              { filterFunc: ([, v]: P) => v !== 0 },
            ).foreachRDD((rdd, t) => void incremental.push([t.milliseconds, rdd.collect()]));
            s.reduceByKeyAndWindow((a, b) => a + b, Milliseconds(windowMs), Milliseconds(slideMs)).foreachRDD(
              (rdd, t) => void naive.push([t.milliseconds, rdd.collect()]),
            );
            await ssc.start();
            await clock.advance(Seconds(numBatches));
          });
          const model = modelWindows(input, windowMs, slideMs, numBatches * B).map(
            ([t, ps]) => [t, sumByKey(ps)] as [number, P[]],
          );
          expect(sortBatches(naive)).toEqual(sortBatches(model));
          expect(sortBatches(incremental)).toEqual(sortBatches(model));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("with the window a multiple of the slide, every element lands in exactly window/slide windows", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: 4 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        async (sizes, slideBatches, k) => {
          // Unique elements: "batch.position".
          const input = sizes.map((n, i) => Array.from({ length: n }, (_, j) => `${i + 1}.${j}`));
          const slideMs = slideBatches * B;
          const windowMs = k * slideMs;
          const numBatches = input.length + windowMs / B;
          const windows: Batches<string> = [];
          await withContext({ checkpoint: false }, async ({ ssc, clock }) => {
            ssc
              .queueStream(input.map((b) => [...b]))
              .window(Milliseconds(windowMs), Milliseconds(slideMs))
              .foreachRDD((rdd, t) => void windows.push([t.milliseconds, rdd.collect()]));
            await ssc.start();
            await clock.advance(Seconds(numBatches));
          });
          // Rows exactly at the slide times, each holding (T - w, T] in batch order.
          expect(windows).toEqual(modelWindows(input, windowMs, slideMs, numBatches * B));
          const counts = new Map<string, number>();
          for (const [, vs] of windows) for (const v of vs) counts.set(v, (counts.get(v) ?? 0) + 1);
          for (const v of input.flat()) expect(counts.get(v)).toBe(k);
        },
      ),
      { numRuns: 60 },
    );
  });
});

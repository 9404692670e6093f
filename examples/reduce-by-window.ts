/**
 * Spark's `reduceByWindow` example: the numbers 1..100, one per 1 s batch; every 2 s, the largest of the last
 * 3 s.
 *
 *     npx tsx examples/reduce-by-window.ts
 *
 * Without an inverse function Spark reduces each batch, windows the results and reduces again
 * (`reduce(f).window(w, s).reduce(f)`): a window with no data has no element, so its block is a bare header.
 *
 *     @2000: max(1, 2)    -> 2
 *     @4000: max(2, 3, 4) -> 4
 *     @6000: max(4, 5, 6) -> 6
 */
import { ManualClock, Seconds, StreamingContext } from "sparkless";
import { type ExampleOptions, isMain, oneToHundred, stdout } from "./support.js";

export async function run({ clock = new ManualClock(), out = stdout, seconds = 12 }: ExampleOptions = {}): Promise<void> {
  const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, out });
  const numbers = ssc.queueStream(oneToHundred());

  numbers.reduceByWindow((a, b) => Math.max(a, b), Seconds(3), Seconds(2)).print();

  await ssc.start();
  await clock.advance(Seconds(seconds));
  await ssc.stop();
}

if (isMain(import.meta.url)) await run();

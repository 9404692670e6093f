/**
 * Spark's `window` example: the numbers 1..100, one per 1 s batch; every 2 s, the batches of the last 3 s.
 *
 *     npx tsx examples/window-print.ts
 *
 * Window (T - 3 s, T] at every T that is a multiple of the 2 s slide (nothing is printed at odd seconds):
 *
 *     batch:    1     2     3     4     5     6
 *     time:  0  1000  2000  3000  4000  5000  6000 ms
 *     @2000: (-1000, 2000] = 1 2          <- the first window is partial
 *     @4000: ( 1000, 4000] = 2 3 4
 *     @6000: ( 3000, 6000] = 4 5 6
 *
 * prints, exactly as Spark Streaming does:
 *
 *     -------------------------------------------
 *     Time: 2000 ms
 *     -------------------------------------------
 *     1
 *     2
 *
 *     -------------------------------------------
 *     Time: 4000 ms
 *     ...
 */
import { ManualClock, Seconds, StreamingContext } from "sparkless";
import { type ExampleOptions, isMain, oneToHundred, stdout } from "./support.js";

export async function run({ clock = new ManualClock(), out = stdout, seconds = 12 }: ExampleOptions = {}): Promise<void> {
  const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, out });
  const numbers = ssc.queueStream(oneToHundred());

  numbers.window(Seconds(3), Seconds(2)).print();

  await ssc.start();
  await clock.advance(Seconds(seconds));
  await ssc.stop();
}

if (isMain(import.meta.url)) await run();

/**
 * Spark's `reduceByKeyAndWindow` example: the numbers 1..100, one per 1 s batch, keyed by parity
 * (`(v % 2, 1)`); every 2 s, how many odd (key 1) and even (key 0) numbers arrived in the last 4 s.
 *
 *     npx tsx examples/reduce-by-key-and-window.ts
 *
 *     @2000: (-2000, 2000] = 1 2     -> (1,1) (0,1)   (partial first window)
 *     @4000: (    0, 4000] = 1 2 3 4 -> (1,2) (0,2)
 *     @6000: ( 2000, 6000] = 3 4 5 6 -> (1,2) (0,2)
 *
 * The order of the pairs inside a block is the shuffle's: Spark does not define it.
 */
import { ManualClock, Seconds, StreamingContext } from "sparkless";
import { type ExampleOptions, isMain, oneToHundred, stdout } from "./support.js";

export async function run({ clock = new ManualClock(), out = stdout, seconds = 12 }: ExampleOptions = {}): Promise<void> {
  const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, out });
  const numbers = ssc.queueStream(oneToHundred());

  numbers
    .map((v) => [v % 2, 1] as [number, number])
    .reduceByKeyAndWindow((a, b) => a + b, Seconds(4), Seconds(2))
    .print();

  await ssc.start();
  await clock.advance(Seconds(seconds));
  await ssc.stop();
}

if (isMain(import.meta.url)) await run();

/**
 * Spark's `countByValueAndWindow` example: the numbers 1..100, one per 1 s batch; every 2 s, each distinct
 * value of the last 3 s with its count.
 *
 *     npx tsx examples/count-by-value-and-window.ts
 *
 * Spark counts incrementally, with a filter that drops values whose count went back to 0
 * (`map((_, 1L)).reduceByKeyAndWindow(_ + _, _ - _, w, s, n, _._2 != 0)`), so it needs a checkpoint directory.
 *
 *     @2000: (1,1) (2,1)                                  (partial first window)
 *     @4000: (1,1) (2,1) - [1000: (1,1)] + [(3,1) (4,1)] -> (2,1) (3,1) (4,1)   (1 is now 0: dropped)
 *     @6000:                                              -> (4,1) (5,1) (6,1)
 *
 * The order of the pairs inside a block is the shuffle's: Spark does not define it.
 */
import { ManualClock, Seconds, StreamingContext } from "sparkless";
import { type ExampleOptions, isMain, oneToHundred, stdout, tempCheckpointDir } from "./support.js";

export async function run({ clock = new ManualClock(), out = stdout, seconds = 12 }: ExampleOptions = {}): Promise<void> {
  const checkpoint = tempCheckpointDir();
  try {
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, out });
    ssc.checkpoint(checkpoint.dir);
    const numbers = ssc.queueStream(oneToHundred());

    numbers.countByValueAndWindow(Seconds(3), Seconds(2)).print();

    await ssc.start();
    await clock.advance(Seconds(seconds));
    await ssc.stop();
  } finally {
    checkpoint.remove();
  }
}

if (isMain(import.meta.url)) await run();

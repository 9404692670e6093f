/**
 * Spark's `countByWindow` example: the numbers 1..100, one per 1 s batch; every 2 s, how many arrived in the
 * last 3 s.
 *
 *     npx tsx examples/count-by-window.ts
 *
 * Spark computes it incrementally (`map(_ => 1L).reduceByWindow(_ + _, _ - _, window, slide)`): each window
 * is the previous one minus the batches that left plus the batches that came, which is why it needs a
 * checkpoint directory, and why it keeps printing `0` once the data is gone instead of printing nothing.
 *
 *     @2000: batches 1000 2000            -> 2   (partial first window)
 *     @4000: 2 - [1000] + [3000 4000]     -> 3
 *     @6000: 3 - [2000 3000] + [5000 6000] -> 3
 */
import { ManualClock, Seconds, StreamingContext } from "sparkless";
import { type ExampleOptions, isMain, oneToHundred, stdout, tempCheckpointDir } from "./support.js";

export async function run({ clock = new ManualClock(), out = stdout, seconds = 12 }: ExampleOptions = {}): Promise<void> {
  const checkpoint = tempCheckpointDir();
  try {
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, out });
    ssc.checkpoint(checkpoint.dir);
    const numbers = ssc.queueStream(oneToHundred());

    numbers.countByWindow(Seconds(3), Seconds(2)).print();

    await ssc.start();
    await clock.advance(Seconds(seconds));
    await ssc.stop();
  } finally {
    checkpoint.remove();
  }
}

if (isMain(import.meta.url)) await run();

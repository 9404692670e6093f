/**
 * Spark's `foreachRDD` example: the numbers 1..100, one per 1 s batch; every 2 s, the driver gets the RDD of
 * the last 3 s and its batch time, and does what it likes with them — here, logs them as
 * `console.log(time.milliseconds, rdd.collect())` would.
 *
 *     npx tsx examples/foreach-rdd.ts
 *
 *     2000 [ 1, 2 ]
 *     4000 [ 2, 3, 4 ]
 *     6000 [ 4, 5, 6 ]
 *
 * foreachRDD is called for every window, an empty one included (`[]`), as in Spark.
 */
import { format } from "node:util";
import { ManualClock, Seconds, StreamingContext } from "sparkless";
import { type ExampleOptions, isMain, oneToHundred, stdout } from "./support.js";

export async function run({ clock = new ManualClock(), out = stdout, seconds = 12 }: ExampleOptions = {}): Promise<void> {
  const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, out });
  const numbers = ssc.queueStream(oneToHundred());

  numbers
    .window(Seconds(3), Seconds(2))
    // console.log(time.milliseconds, rdd.collect()), written to `out` so that a test can read it.
    .foreachRDD((rdd, time) => out(format(time.milliseconds, rdd.collect()) + "\n"));

  await ssc.start();
  await clock.advance(Seconds(seconds));
  await ssc.stop();
}

if (isMain(import.meta.url)) await run();

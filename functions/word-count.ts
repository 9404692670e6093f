/**
 * The example pipeline: words of text lines pushed to Kinesis, counted per batch, over a sliding window and
 * as running totals. `cdk deploy` ships it (infra/app.ts); `npm start` runs it on the embedded stack.
 *
 * A pipeline module in the shape SparklessPipeline's `entry` takes: it exports one `Pipeline` (here also the
 * default export), and the construct generates the Lambda handlers around it.
 */
import { Seconds } from "../lib/core/duration.js";
import { definePipeline } from "../lib/api/define-pipeline.js";

/**
 * `SPARKLESS_EXAMPLE_PARTITIONS=4 npm start` (or `cdk deploy`) spreads the keyed stage over 4 finalizer
 * partitions. Read when the app is synthesized: infra/app.ts writes the same value into the bundle, so the
 * deployed functions run with the P the construct was told.
 */
const partitions = Number(process.env.SPARKLESS_EXAMPLE_PARTITIONS || 1);

export const wordCount = definePipeline("word-count", { batchInterval: Seconds(5), finalizerPartitions: partitions }, (lines) => {
  const words = lines
    .flatMap((line) => line.toLowerCase().split(/[^\p{L}\p{N}']+/u).filter((w) => w.length > 0))
    .map((word) => [word, 1] as [string, number]);

  const perBatch = words.reduceByKey((a, b) => a + b);
  perBatch.print();
  perBatch.saveAsTextFiles("word-count/batch", "txt");

  words.reduceByKeyAndWindow((a, b) => a + b, Seconds(15), Seconds(5), { name: "words-15s" }).saveAsTextFiles("word-count/window", "txt");

  words
    .updateStateByKey((counts: number[], total: number | undefined) => (total ?? 0) + counts.reduce((a, b) => a + b, 0), { name: "totals" })
    .saveAsTextFiles("word-count/totals", "txt");
});

export default wordCount;

/**
 * Word count, Spark Streaming's first example, over a generated stream of short lines: for every batch, the
 * counts of that batch, of the last 3 s (window 3 s, slide 1 s, kept incrementally) and since the start
 * (updateStateByKey).
 *
 *     npx tsx examples/word-count.ts                 # 6 batches on a ManualClock: instant, always the same text
 *     npm start                                      # the same pipeline on the system clock (examples/start.ts)
 *
 * Every batch prints three blocks, in the order the outputs were declared — this batch, the window, the
 * totals — each in Spark's format:
 *
 *     -------------------------------------------
 *     Time: 1000 ms
 *     -------------------------------------------
 *     (kinesis,2)
 *     (window,1)
 *     ...
 *
 * The order of the pairs inside a block is the shuffle's: Spark does not define it.
 */
import type { Clock, Source } from "sparkless";
import { ManualClock, Seconds, StreamingContext } from "sparkless";
import { isMain, stdout, tempCheckpointDir, mulberry32 } from "./support.js";

/** Ten words, so that print()'s ten lines show every count. */
export const VOCABULARY = ["spark", "stream", "batch", "window", "state", "lambda", "kinesis", "shard", "key", "value"] as const;


/**
 * The lines of the `batchIndex`-th batch (0-based): `linesPerBatch` lines of 2–5 words of the vocabulary,
 * a pure function of its arguments so a test can recount them without the engine.
 */
export function generateLines(seed: number, batchIndex: number, linesPerBatch: number): string[] {
  const random = mulberry32(Math.imul(seed, 0x9e3779b1) ^ batchIndex);
  const lines: string[] = [];
  for (let i = 0; i < linesPerBatch; i++) {
    const words: string[] = [];
    const n = 2 + Math.floor(random() * 4);
    for (let j = 0; j < n; j++) words.push(VOCABULARY[Math.floor(random() * VOCABULARY.length)]!);
    lines.push(words.join(" "));
  }
  return lines;
}

/**
 * A source of generated lines (what `socketTextStream` would receive from `nc -lk 9999`): every batch takes
 * the next `linesPerBatch` lines, whatever the clock says, so a run is the same on any clock.
 */
export class GeneratedLinesSource implements Source<string> {
  readonly kind = "generatedLines";
  private batches = 0;

  constructor(
    private readonly seed: number,
    private readonly linesPerBatch: number,
  ) {}

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  take(): string[] {
    return generateLines(this.seed, this.batches++, this.linesPerBatch);
  }
}

export interface WordCountOptions {
  /** The clock the batches run on; a ManualClock is advanced by the program, any other clock is waited for. @default - a new ManualClock at 0 */
  readonly clock?: Clock;
  /** Where print() writes. @default - process.stdout */
  readonly out?: (text: string) => void;
  /** How many batches to run before stopping. @default 6 */
  readonly batches?: number;
  /** Lines per batch. @default 4 */
  readonly linesPerBatch?: number;
  /** The generator's seed. @default 42 */
  readonly seed?: number;
  /** Stops early (after the batch in progress), e.g. on Ctrl-C. */
  readonly signal?: AbortSignal;
}

export interface WordCountResult {
  /** Batches that ran. */
  readonly batches: number;
  /** The running totals after the last batch, as updateStateByKey holds them. */
  readonly totals: Array<[string, number]>;
}

const add = (a: number, b: number): number => a + b;
const subtract = (a: number, b: number): number => a - b;

export async function run(options: WordCountOptions = {}): Promise<WordCountResult> {
  const { clock = new ManualClock(), out = stdout, batches = 6, linesPerBatch = 4, seed = 42, signal } = options;
  const checkpoint = tempCheckpointDir();
  try {
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, out });
    ssc.checkpoint(checkpoint.dir); // updateStateByKey and the incremental window keep state: Spark needs a directory

    const lines = ssc.receiverStream(new GeneratedLinesSource(seed, linesPerBatch));
    const pairs = lines.flatMap((line) => line.split(" ")).map((word) => [word, 1] as [string, number]);

    pairs.reduceByKey(add).print();
    pairs.reduceByKeyAndWindow(add, subtract, Seconds(3), Seconds(1), { filterFunc: ([, n]) => n > 0 }).print();
    const totals = pairs.updateStateByKey<string, number, number>((counts, total) => counts.reduce(add, total ?? 0));
    totals.print();

    let last: Array<[string, number]> = [];
    let completed = 0;
    totals.foreachRDD((rdd) => void (last = rdd.collect()));
    const finished = new Promise<void>((resolve) => {
      if (batches <= 0 || signal?.aborted) return resolve();
      signal?.addEventListener("abort", () => resolve(), { once: true });
      ssc.addStreamingListener({ onBatchCompleted: () => void (++completed >= batches && resolve()) });
    });

    await ssc.start();
    if (clock instanceof ManualClock) {
      // One batch at a time, so an abort between batches stops where it is.
      for (let i = 0; i < batches && !signal?.aborted; i++) await clock.advance(Seconds(1));
    }
    await finished;
    await ssc.stop();
    return { batches: completed, totals: last };
  } finally {
    checkpoint.remove();
  }
}

if (isMain(import.meta.url)) await run();

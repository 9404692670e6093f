/**
 * The word count of `word-count.ts` on the local engine and the system clock, one batch a second, for a few
 * batches over generated lines; then it stops cleanly and exits 0. Ctrl-C stops it after the batch in progress.
 *
 *     npx tsx examples/start.ts
 *     npx tsx examples/start.ts --batches 10 --lines 8 --seed 7
 *
 * (`npm start` is something else: the example pipeline of functions/word-count.ts on the embedded AWS stack, or
 * with `-- --generated` on the local engine; see the README.)
 */
import { parseArgs } from "node:util";
import { SystemClock } from "sparkless";
import { isMain } from "./support.js";
import { run as wordCount, type WordCountOptions, type WordCountResult } from "./word-count.js";

/** The word count for `batches` batches (5 unless told); with a ManualClock for tests, the system clock otherwise. */
export function run(options: WordCountOptions = {}): Promise<WordCountResult> {
  return wordCount({ clock: new SystemClock(), batches: 5, ...options });
}

const USAGE = `usage: npx tsx examples/start.ts [--batches N] [--lines N] [--seed N]
  --batches N   batches to run, one a second (default 5)
  --lines N     generated lines per batch (default 4)
  --seed N      seed of the line generator (default 42)`;

function positiveInteger(name: string, text: string, allowZero = false): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) {
    throw new Error(`--${name} must be a ${allowZero ? "non-negative" : "positive"} integer, got "${text}"\n${USAGE}`);
  }
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      batches: { type: "string", default: "5" },
      lines: { type: "string", default: "4" },
      seed: { type: "string", default: "42" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const batches = positiveInteger("batches", values.batches);
  const linesPerBatch = positiveInteger("lines", values.lines);
  const seed = positiveInteger("seed", values.seed, true);

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  console.error(`sparkless: word count on the local engine, ${batches} batch(es) of 1 s, ${linesPerBatch} line(s) each`);
  try {
    const result = await run({ batches, linesPerBatch, seed, signal: stop.signal });
    console.error(`sparkless: stopped after ${result.batches} batch(es)`);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

if (isMain(import.meta.url)) {
  try {
    await main();
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 2;
  }
}

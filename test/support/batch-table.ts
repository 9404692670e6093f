/**
 * Batch tables in the shape of Spark's `TestSuiteBase`: input batches in, output per batch time out.
 *
 * Each input is fed through `ssc.queueStream(batches)` (one array = one batch, oneAtATime; once the queue is
 * drained a batch is an empty RDD, as Spark's QueueInputDStream returns `sc.emptyRDD`). The stream that
 * `build` returns is collected with `foreachRDD`, so the result holds one `[timeMs, elements]` row for every
 * batch time at which the stream produced an RDD — an empty RDD gives `[t, []]`, and a time at which the
 * stream produced no RDD at all (a windowed stream between slides) has no row, as Spark's ForEachDStream
 * creates no job when `getOrCompute(time)` is `None`.
 *
 * The clock is a ManualClock at 0 and the batch interval is 1 s unless given: the first batch time is the
 * interval (Spark: zeroTime = 0, first batch = zeroTime + batchDuration).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ManualClock,
  Seconds,
  StreamingContext,
  type DStream,
  type Duration,
} from "../../lib/index.js";

/** Output of a run: `[batch time in ms, the RDD's elements]`, in batch-time order. */
export type Batches<U> = Array<[number, U[]]>;

export interface RunOptions {
  /** @default Seconds(1) */
  batchInterval?: Duration;
  /**
   * Set a checkpoint directory (a fresh temp dir) before building. Spark needs one for updateStateByKey,
   * mapWithState and the inverse windowed reductions.
   * @default true
   */
  checkpoint?: boolean;
  /**
   * Sort the elements of each output batch canonically — for shuffled outputs, whose order Spark does not
   * define. Apply the same to the expected table with {@link sortBatches}.
   * @default false
   */
  sort?: boolean;
  /** Applied to each element before sorting (e.g. sort the value arrays of groupByKey). */
  normalize?: (value: any) => unknown;
  /** Where print() writes. @default - process.stdout */
  out?: (text: string) => void;
  /**
   * Leave a batch failure to the test (it reads awaitTermination itself). Otherwise a failure that a batch
   * reported fails the run.
   * @default false
   */
  allowBatchFailure?: boolean;
}

export interface RunHandle {
  ssc: StreamingContext;
  clock: ManualClock;
  checkpointDir: string | undefined;
}

/**
 * Run `numBatches` batches of one input stream through `build` and return what the built stream produced
 * at each batch time.
 */
export async function runBatches<T, U>(
  input: T[][],
  build: (stream: DStream<T>, ssc: StreamingContext) => DStream<U>,
  numBatches: number,
  opts: RunOptions = {},
): Promise<Batches<U>> {
  return runBatchesN<U>([input], (streams, ssc) => build(streams[0] as DStream<T>, ssc), numBatches, opts);
}

/** Two inputs (for join, cogroup, union, transformWith). */
export async function runBatches2<T1, T2, U>(
  input1: T1[][],
  input2: T2[][],
  build: (s1: DStream<T1>, s2: DStream<T2>, ssc: StreamingContext) => DStream<U>,
  numBatches: number,
  opts: RunOptions = {},
): Promise<Batches<U>> {
  return runBatchesN<U>(
    [input1, input2],
    (streams, ssc) => build(streams[0] as DStream<T1>, streams[1] as DStream<T2>, ssc),
    numBatches,
    opts,
  );
}

/** Any number of inputs. */
export async function runBatchesN<U>(
  inputs: unknown[][][],
  build: (streams: DStream<unknown>[], ssc: StreamingContext) => DStream<U>,
  numBatches: number,
  opts: RunOptions = {},
): Promise<Batches<U>> {
  const out: Batches<U> = [];
  await withContext(opts, async ({ ssc, clock }) => {
    const streams = inputs.map((batches) => ssc.queueStream(batches.map((b) => [...b])));
    const result = build(streams, ssc);
    result.foreachRDD((rdd, time) => {
      out.push([time.milliseconds, rdd.collect()]);
    });
    await ssc.start();
    await clock.advance((opts.batchInterval ?? Seconds(1)).times(numBatches));
  });
  if (opts.sort) return sortBatches(out, opts.normalize);
  if (opts.normalize) return out.map(([t, vs]) => [t, vs.map(opts.normalize!) as U[]]);
  return out;
}

/**
 * A context on a ManualClock at 0 (with a temp checkpoint dir unless `checkpoint: false`); `body` builds
 * the graph, starts and advances. The context is stopped and the dir removed afterwards, and an error
 * that a batch raised (reported through awaitTermination) fails the run.
 */
export async function withContext(
  opts: RunOptions,
  body: (h: RunHandle) => Promise<void>,
): Promise<void> {
  const clock = new ManualClock();
  const ssc = new StreamingContext({
    batchInterval: opts.batchInterval ?? Seconds(1),
    clock,
    ...(opts.out ? { out: opts.out } : {}),
  });
  const checkpointDir = opts.checkpoint === false ? undefined : mkdtempSync(join(tmpdir(), "sparkless-ops-"));
  if (checkpointDir) ssc.checkpoint(checkpointDir);
  try {
    await body({ ssc, clock, checkpointDir });
    // awaitTermination rejects at once with the first batch failure (Spark's reportError).
    if (!opts.allowBatchFailure && ssc.getState() === "ACTIVE") await ssc.awaitTerminationOrTimeout(0);
  } finally {
    await ssc.stop();
    if (checkpointDir) rmSync(checkpointDir, { recursive: true, force: true });
  }
}

/**
 * Canonical text of a value: 1 and "1" differ, arrays keep order, object keys are sorted (so
 * `{a:1,b:2}` equals `{b:2,a:1}`), `undefined` and `null` are distinct.
 */
export function canonical(value: unknown): string {
  if (value === undefined) return "undefined";
  if (value === null || typeof value !== "object") {
    return typeof value === "number" ? `n:${value}` : typeof value === "string" ? `s:${JSON.stringify(value)}` : `${typeof value}:${String(value)}`;
  }
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
}

export function compareCanonical(a: unknown, b: unknown): number {
  const x = canonical(a);
  const y = canonical(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Sorts a list by its canonical text (a copy). */
export function sorted<T>(values: readonly T[]): T[] {
  return [...values].sort(compareCanonical);
}

/** Sorts each batch's elements canonically (after `normalize`, if given). */
export function sortBatches<U>(batches: Batches<U>, normalize?: (value: any) => unknown): Batches<U> {
  return batches.map(([t, vs]) => [t, sorted(normalize ? (vs.map(normalize) as U[]) : vs)]);
}

/** For groupByKey-like outputs `[k, values[]]`: the values of a group in canonical order. */
export function sortGroupValues(pair: [unknown, unknown[]]): [unknown, unknown[]] {
  return [pair[0], sorted(pair[1])];
}

/** Expected rows at times B, 2B, ... from a plain list of per-batch outputs. */
export function atTimes<U>(outputs: U[][], intervalMs = 1000, firstMs = intervalMs, stepMs = intervalMs): Batches<U> {
  return outputs.map((vs, i) => [firstMs + i * stepMs, vs]);
}

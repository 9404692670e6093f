/**
 * The benchmark harness: a benchmark is a file under test/bench/ exporting a {@link Benchmark}, registered in
 * run.ts. The harness warms every variant up (once, or `warmUp` times), then times `runs` rounds (variants
 * interleaved, a GC before each timed run), and prints the median per variant with its rates and its ratio to the baseline.
 * Numbers are only printed: nothing here asserts on time.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** One way of doing the benchmark's work. */
export interface Variant {
  readonly name: string;
  /** Does the work once and returns the milliseconds that count (setup and teardown excluded) and its result. */
  run(): Promise<{ ms: number; result: unknown }>;
}

export interface Benchmark {
  /** Short id, used to pick benchmarks on the command line. */
  readonly name: string;
  /** One line: what is measured, on what input. */
  readonly title: string;
  /** What one run processes, per unit, for rates: `{ lines: 1_000_000, words: 6_500_000 }`. */
  readonly units: Readonly<Record<string, number>>;
  /** The first is the baseline the others are compared with. */
  readonly variants: ReadonlyArray<Variant>;
  /**
   * Throws if two variants' results disagree (a fast wrong answer measures nothing). Called with the results of
   * the warm-up runs. @default - results are not compared
   */
  check?(results: ReadonlyArray<unknown>): void;
  /**
   * Untimed runs of each variant before the timed ones. More than one when what is measured is a steady cost —
   * the same work every batch of a running job — that the first runs overstate while V8 still compiles the code
   * they take. @default 1
   */
  readonly warmUp?: number;
}

/** Builds a benchmark (generates its input) for a size factor: 1 is the full size, 0.1 a quick look. */
export type BenchmarkFactory = (options: { readonly scale: number }) => Benchmark | Promise<Benchmark>;

export interface Measurement {
  readonly variant: string;
  readonly samples: number[];
  readonly median: number;
}

/** A regular full collection (below): what one run left behind is not collected in the next run's time. */
export const collectGarbage = exposeGc();

/**
 * `global.gc` without asking the user for --expose-gc (so that `npm run bench` needs no flags), as a regular
 * full collection: `gc()` without options is V8's testing GC, which also throws away compiled code, so the run
 * after it pays V8 compiling again (a 10,000-row spark.sql batch took 15–30 ms after it against 8 ms after a
 * regular one) — a cost no running function pays between batches.
 */
function exposeGc(): () => void {
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as (options?: { type: "major" | "minor"; execution?: "sync" | "async" }) => void;
    return () => gc({ type: "major", execution: "sync" });
  } catch {
    return () => undefined;
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function measure(benchmark: Benchmark, runs: number): Promise<Measurement[]> {
  const warm: unknown[] = [];
  for (const v of benchmark.variants) {
    for (let w = 1; w < (benchmark.warmUp ?? 1); w++) await v.run();
    collectGarbage();
    warm.push((await v.run()).result);
  }
  benchmark.check?.(warm);
  const samples = benchmark.variants.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) {
    for (const [i, v] of benchmark.variants.entries()) {
      collectGarbage();
      samples[i]!.push((await v.run()).ms);
    }
  }
  return benchmark.variants.map((v, i) => ({ variant: v.name, samples: samples[i]!, median: median(samples[i]!) }));
}

/** A plain-text table: the variant, its median time, a rate per unit, and its time relative to the baseline. */
export function report(benchmark: Benchmark, measurements: readonly Measurement[]): string {
  const base = measurements[0]!.median;
  const unitNames = Object.keys(benchmark.units);
  const header = ["variant", "median ms", ...unitNames.map((u) => `${u}/s`), `time vs ${measurements[0]!.variant}`, "runs (ms)"];
  const rows = measurements.map((m) => [
    m.variant,
    m.median.toFixed(1),
    ...unitNames.map((u) => formatRate(benchmark.units[u]! / (m.median / 1000))),
    `${(m.median / base).toFixed(2)}x`,
    m.samples.map((s) => s.toFixed(0)).join(" "),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 || c === cells.length - 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ").trimEnd();
  return [`${benchmark.name}: ${benchmark.title}`, line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n") + "\n";
}

function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)} M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k`;
  return perSecond.toFixed(0);
}

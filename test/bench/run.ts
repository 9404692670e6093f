/**
 * `npm run bench`: runs every registered benchmark and prints one table each, with ratios measured in this
 * run. Never an assertion on time.
 *
 *     npm run bench                          # all, full size, median of 5 after a warm-up
 *     npm run bench -- word-count --runs 3   # some, by name
 *     npm run bench -- --scale 0.1           # a tenth of the input, for a quick look
 *
 * A new benchmark is a file under test/bench/ exporting a BenchmarkFactory (see harness.ts), added below.
 */
import { parseArgs } from "node:util";
import { type BenchmarkFactory, measure, report } from "./harness.js";
import { localStackStartup } from "./local-stack-startup.js";
import { localStackPush } from "./local-stack-push.js";
import { kafkaShard } from "./kafka-shard.js";
import { serverless, type BenchmarkWithNotes } from "./serverless.js";
import { scale } from "./scale.js";
import { sql } from "./sql.js";
import { wordCount } from "./word-count.js";
import { dataframe } from "./dataframe.js";

const BENCHMARKS: Record<string, BenchmarkFactory> = {
  "word-count": wordCount,
  dataframe,
  serverless,
  // The keyed stage over P finalizer partitions (modelled DynamoDB/S3) and mapWithState's state I/O.
  scale,
  "kafka-shard": kafkaShard,
  // The embedded stack: push throughput and start-up (cold, warm), each beside the previous design's figure.
  "local-stack-push": localStackPush,
  "local-stack-startup": localStackStartup,
  // spark.sql on DuckDB: per-batch overhead once loaded; load time and Lambda asset size in its notes.
  sql,
};

const USAGE = `usage: npm run bench -- [name ...] [--runs N] [--scale X]; benchmarks: ${Object.keys(BENCHMARKS).join(", ")}`;

function options(): { names: string[]; runs: number; scale: number } {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      runs: { type: "string", default: "5" },
      scale: { type: "string", default: "1" },
    },
  });
  const runs = Number(values.runs);
  const scale = Number(values.scale);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got "${values.runs}"`);
  if (!(scale > 0)) throw new Error(`--scale must be a positive number, got "${values.scale}"`);
  // A name also picks its family: `local-stack` runs local-stack-push, local-stack-start, ...
  const matching = (p: string) => Object.keys(BENCHMARKS).filter((n) => n === p || n.startsWith(`${p}-`));
  const unknown = positionals.filter((p) => matching(p).length === 0);
  if (unknown.length > 0) throw new Error(`unknown benchmark(s): ${unknown.join(", ")}`);
  return { names: positionals.length > 0 ? [...new Set(positionals.flatMap(matching))] : Object.keys(BENCHMARKS), runs, scale };
}

let chosen: ReturnType<typeof options>;
try {
  chosen = options();
} catch (e) {
  console.error(`${(e as Error).message}\n${USAGE}`);
  process.exit(2);
}
console.log(`node ${process.version}, ${chosen.runs} timed run(s) per variant after one warm-up, median shown\n`);
for (const name of chosen.names) {
  const benchmark = await BENCHMARKS[name]!({ scale: chosen.scale });
  const measurements = await measure(benchmark, chosen.runs);
  console.log(report(benchmark, measurements));
  // A benchmark may print more than timings (request counts, costs) from what it measured.
  if ("notes" in benchmark) console.log(await (benchmark as BenchmarkWithNotes).notes(measurements));
}

/**
 * spark.sql's cost per batch, once DuckDB is loaded: a groupBy over a batch of 10,000 rows (a new view each run,
 * as each batch brings one) against the same count and sum in a hand-written loop over a Map. The notes add what
 * the first `sql()` costs (DuckDB's load, in a fresh Node process running the Lambda bundle) and what shipping
 * DuckDB adds to a Lambda asset, against the same pipeline bundled without SQL.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { mulberry32 } from "../../examples/support.js";
import { bundlePipeline } from "../../infra/bundling.js";
import type { Row, Table } from "../../lib/sql/data-types.js";
import { loadSqlEngine } from "../../lib/sql/sql-engine-loader.js";
import { median, type BenchmarkFactory, type Measurement } from "./harness.js";
import type { BenchmarkWithNotes } from "./serverless.js";

const FULL_ROWS = 10_000;
const KEYS = 100;
const QUERY = "SELECT k, count(*) AS n, sum(v) AS s FROM batch GROUP BY k";

function batch(n: number, seed: number): Table {
  const random = mulberry32(seed);
  const rows: Row[] = Array.from({ length: n }, () => [`key-${Math.floor(random() * KEYS)}`, Math.floor(random() * 1000), random()]);
  return {
    schema: {
      kind: "struct",
      fields: [
        { name: "k", dataType: { kind: "string" }, nullable: true },
        { name: "v", dataType: { kind: "integer" }, nullable: true },
        { name: "x", dataType: { kind: "double" }, nullable: true },
      ],
    },
    rows,
  };
}

/** The same answer as QUERY, by hand: key → [count, sum], sorted for comparison. */
function loop(table: Table): Row[] {
  const groups = new Map<unknown, [number, number]>();
  for (const row of table.rows) {
    const g = groups.get(row[0]);
    if (g) {
      g[0]++;
      g[1] += row[1] as number;
    } else groups.set(row[0], [1, row[1] as number]);
  }
  return [...groups].map(([k, [n, s]]) => [k, n, s]);
}

const sortRows = (rows: readonly Row[]) => [...rows].sort((a, b) => String(a[0]).localeCompare(String(b[0])));

/**
 * Batches each variant runs before the timed ones. The target is the overhead per batch of a running job, which
 * asks the same query of every batch: the first few batches after a cold start also pay V8 compiling the load
 * and read paths, and are reported apart (the notes' "first batches"), not mixed into the steady figure.
 */
const WARM_UP_BATCHES = 30;
const FIRST_BATCHES = 10;

export const sql: BenchmarkFactory = async ({ scale }): Promise<BenchmarkWithNotes> => {
  const n = Math.max(100, Math.round(FULL_ROWS * scale));
  const engine = await loadSqlEngine();
  // Before anything else queries: what the first batches of a freshly started function take.
  const first: number[] = [];
  for (let i = 0; i < FIRST_BATCHES; i++) {
    const table = batch(n, 500 + i);
    const start = performance.now();
    await engine.query(QUERY, new Map([["batch", table]]));
    first.push(performance.now() - start);
  }
  // Each variant sees the same sequence of batches, so the warm-up results must agree.
  const seeds = { hand: 0, sql: 0 };
  return {
    name: "sql",
    title: `spark.sql groupBy (count, sum) over a new ${n}-row view per batch, DuckDB loaded, vs a hand-written Map loop`,
    units: { rows: n },
    warmUp: WARM_UP_BATCHES,
    variants: [
      {
        name: "hand-written loop",
        async run() {
          const table = batch(n, ++seeds.hand);
          const start = performance.now();
          const result = loop(table);
          return { ms: performance.now() - start, result: sortRows(result) };
        },
      },
      {
        name: "spark.sql (DuckDB)",
        async run() {
          const table = batch(n, ++seeds.sql);
          const start = performance.now();
          const result = await engine.query(QUERY, new Map([["batch", table]]));
          return { ms: performance.now() - start, result: sortRows(result.rows) };
        },
      },
    ],
    check([hand, duck]) {
      if (JSON.stringify(hand) !== JSON.stringify(duck)) throw new Error("spark.sql and the hand-written loop disagree");
    },
    async notes(measurements: readonly Measurement[]) {
      const [hand, duck] = measurements;
      const lines = [
        `sql: overhead per batch of ${n} rows once loaded: ${(duck!.median - hand!.median).toFixed(1)} ms (median ${duck!.median.toFixed(1)} ms vs ${hand!.median.toFixed(1)} ms by hand, after ${WARM_UP_BATCHES} untimed batches; target < 20 ms)`,
        `sql: the first ${FIRST_BATCHES} batches after DuckDB's load (V8 still compiling): ${first.map((ms) => ms.toFixed(0)).join(", ")} ms`,
      ];
      // CPU time is what a batch costs a (one-vCPU) Lambda function, and less sensitive than wall time to a busy machine.
      const cpu: number[] = [];
      for (let i = 0; i < 10; i++) {
        const table = batch(n, 1000 + i);
        const before = process.cpuUsage();
        await engine.query(QUERY, new Map([["batch", table]]));
        const used = process.cpuUsage(before);
        cpu.push((used.user + used.system) / 1000);
      }
      lines.push(`sql: CPU time per batch (all threads, median of 10): ${median(cpu).toFixed(1)} ms; load average now ${loadavg()[0]!.toFixed(1)}`);
      lines.push(...coldStart(), ...bundleSizes());
      await engine.close();
      return lines.join("\n") + "\n";
    },
  };
};

const fixture = (name: string) => fileURLToPath(new URL(`../infra/fixtures/sql/${name}`, import.meta.url));

/** The Lambda bundle of the SQL fixture, run by a fresh Node: module load, then the first and a later query. */
function coldStart(): string[] {
  const dir = mkdtempSync(path.join(tmpdir(), "sparkless-bench-sql-"));
  try {
    bundlePipeline(fixture("sql-handlers.ts"), "handlers", {}, "x86_64", dir);
    const script = `
      const t0 = performance.now();
      const m = await import(${JSON.stringify(pathToFileURL(path.join(dir, "index.mjs")).href)});
      const t1 = performance.now();
      await m.finalizerHandler({ words: ["a", "b", "a"] });
      const t2 = performance.now();
      const later = [];
      for (let i = 0; i < 5; i++) { const s = performance.now(); await m.finalizerHandler({ words: ["a", "b", "a"] }); later.push(performance.now() - s); }
      console.log(JSON.stringify({ load: t1 - t0, first: t2 - t1, later }));`;
    const samples = Array.from({ length: 3 }, () => {
      const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: dir, encoding: "utf8" });
      if (child.status !== 0) throw new Error(`the bundle failed: ${child.stderr}`);
      return JSON.parse(child.stdout) as { load: number; first: number; later: number[] };
    });
    const m = (pick: (s: (typeof samples)[number]) => number) => median(samples.map(pick)).toFixed(0);
    return [
      `sql: cold start (fresh node, x86_64 bundle, median of 3): bundle import ${m((s) => s.load)} ms (DuckDB not loaded);`,
      `     first sql() ${m((s) => s.first)} ms (DuckDB's load, a new database, the first query); a later sql() ${m((s) => median(s.later))} ms`,
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What DuckDB adds to a Lambda asset: the same pipeline, with and without a spark.sql query. */
function bundleSizes(): string[] {
  const dirs = { without: mkdtempSync(path.join(tmpdir(), "sparkless-bench-nosql-")), with: mkdtempSync(path.join(tmpdir(), "sparkless-bench-sql-")) };
  try {
    bundlePipeline(fixture("dataframe-pipeline.ts"), "pipeline", { sourceMap: false }, "x86_64", dirs.without);
    bundlePipeline(fixture("sql-pipeline.ts"), "pipeline", { sourceMap: false }, "x86_64", dirs.with);
    const [without, withSql] = [sizes(dirs.without), sizes(dirs.with)];
    const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
    return [
      `sql: Lambda asset without SQL ${mb(without.raw)} (${mb(without.compressed)} compressed), with SQL ${mb(withSql.raw)} (${mb(withSql.compressed)} compressed):`,
      `     DuckDB adds ${mb(withSql.raw - without.raw)} unzipped (Lambda's limit: 250 MB), ${mb(withSql.compressed - without.compressed)} compressed (gzip, as the asset zip deflates)`,
    ];
  } finally {
    for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true });
  }
}

function sizes(dir: string): { raw: number; compressed: number } {
  let raw = 0;
  let compressed = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    raw += statSync(file).size;
    compressed += gzipSync(readFileSync(file)).length;
  }
  return { raw, compressed };
}

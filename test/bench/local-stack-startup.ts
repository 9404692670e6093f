/**
 * Start-up of the embedded stack as a user meets it: `node bin/sparkless.mjs local up` in a child process (the
 * CLI's own loading included), timed from the spawn to its "up in" line and to its first printed batch (Spark's
 * `Time: <ms> ms` block), then stopped with Ctrl-C (SIGINT).
 *
 * - warm, re-synthesized: a second start with nothing changed, run with `--resynth` — what every start did in
 *   the previous design (synthesize the CDK app each time); the baseline;
 * - warm, assembly reused: the same second start as it is now (the synthesized assembly is reused);
 * - cold: a fresh state directory and no assembly (synthesis, new streams, tables and buckets, the sample).
 *
 * Each start synthesizes or not, so a run takes minutes: `npm run bench -- local-stack --runs 1` is plenty. The
 * target is "up" under 10 s warm and the first batch within one batch interval (5 s for the example) plus 5 s of
 * "up". Only printed; nothing asserts on time.
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { type BenchmarkFactory, type Measurement, median } from "./harness.js";
import type { BenchmarkWithNotes } from "./serverless.js";

const BIN = resolve("bin/sparkless.mjs");
/** Give up waiting for a first batch this long after "up" (it is then reported as missing). */
const FIRST_BATCH_CAP_MS = 120_000;
/** The example pipeline's batch interval (functions/word-count.ts). */
const BATCH_INTERVAL_MS = 5_000;

interface Start {
  /** Spawn to the "up in" line. */
  readonly upMs: number;
  /** Spawn to the first printed batch; NaN when none came within the cap. */
  readonly firstBatchMs: number;
  /** Whether the start synthesized (its "synthesized in" line) or reused the assembly. */
  readonly synthesized: boolean;
}

/** One `local up` on `stateDir`, stopped once its first batch is printed. */
async function timedStart(stateDir: string, extraArgs: readonly string[] = []): Promise<Start> {
  const began = performance.now();
  const child = spawn(process.execPath, [BIN, "--state-dir", stateDir, "local", "up", ...extraArgs], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const tail: string[] = [];
  let upMs = NaN;
  let synthesized = false;
  const firstBatch = new Promise<number>((resolveBatch) => {
    let cap: NodeJS.Timeout | undefined;
    createInterface({ input: child.stdout! }).on("line", (line) => {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      if (/^sparkless: synthesized in /.test(line)) synthesized = true;
      if (/^up in /.test(line)) {
        upMs = performance.now() - began;
        cap = setTimeout(() => resolveBatch(NaN), FIRST_BATCH_CAP_MS);
      }
      if (/^Time: \d+ ms$/.test(line)) {
        clearTimeout(cap);
        resolveBatch(performance.now() - began);
      }
    });
    void exited.then(() => {
      clearTimeout(cap);
      resolveBatch(NaN);
    });
  });
  child.stderr!.resume();
  const firstBatchMs = await firstBatch;
  child.kill("SIGINT");
  const stopCap = setTimeout(() => child.kill("SIGKILL"), 60_000);
  await exited;
  clearTimeout(stopCap);
  if (Number.isNaN(upMs)) throw new Error(`local up never came up; its last lines:\n${tail.join("\n")}`);
  return { upMs, firstBatchMs, synthesized };
}

export const localStackStartup: BenchmarkFactory = async (): Promise<BenchmarkWithNotes> => {
  const root = await mkdtemp(join(tmpdir(), "sparkless-bench-startup-"));
  const warmDir = join(root, "warm");
  let primed = false;
  let colds = 0;
  const starts = new Map<string, Start[]>();
  const record = (variant: string, s: Start) => {
    starts.set(variant, [...(starts.get(variant) ?? []), s]);
    return { ms: s.upMs, result: undefined };
  };
  /** The warm variants need a state directory that has started once. */
  const prime = async () => {
    if (primed) return;
    await timedStart(warmDir);
    primed = true;
  };
  const WARM_OLD = "warm, re-synthesized (previous design)";
  const WARM_NEW = "warm, assembly reused";
  const COLD = "cold (fresh state, no cdk.out)";
  // A bench that fails half-way leaves no state directories behind either.
  process.once("exit", () => rmSync(root, { recursive: true, force: true }));

  return {
    name: "local-stack startup",
    title: "`sparkless local up` (the example pipeline), spawn to \"up\"; first printed batch below",
    units: {},
    variants: [
      { name: WARM_OLD, run: async () => (await prime(), record(WARM_OLD, await timedStart(warmDir, ["--resynth"]))) },
      { name: WARM_NEW, run: async () => (await prime(), record(WARM_NEW, await timedStart(warmDir))) },
      { name: COLD, run: async () => record(COLD, await timedStart(join(root, `cold-${colds++}`))) },
    ],
    notes: async (measurements: readonly Measurement[]) => {
      const rows = measurements.map((m) => {
        // The harness's first run of each variant is its warm-up: the timed ones follow it.
        const timed = (starts.get(m.variant) ?? []).slice(1);
        const up = median(timed.map((s) => s.upMs));
        const batches = timed.map((s) => s.firstBatchMs).filter((ms) => !Number.isNaN(ms));
        const batch = batches.length > 0 ? median(batches) : NaN;
        const synth = timed.filter((s) => s.synthesized).length;
        return [
          m.variant,
          (up / 1000).toFixed(1),
          Number.isNaN(batch) ? "none" : (batch / 1000).toFixed(1),
          Number.isNaN(batch) ? "-" : ((batch - up) / 1000).toFixed(1),
          `${synth} of ${timed.length}`,
        ];
      });
      const header = ["start", "up (s)", "first batch (s)", "batch after up (s)", "synthesized"];
      const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
      const line = (cells: readonly string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ");
      await rm(root, { recursive: true, force: true });
      return [
        `local-stack startup: medians from spawn; the target is up < 10 s warm, first batch < ${(BATCH_INTERVAL_MS + 5_000) / 1000} s after up`,
        line(header),
        line(widths.map((w) => "-".repeat(w))),
        ...rows.map(line),
        "",
      ].join("\n");
    },
  };
};

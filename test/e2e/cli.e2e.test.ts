/**
 * The CLI as a user drives it: `sparkless local up` in its own process (what `npm start` runs), and from
 * other "terminals" push, status, tail and finally `local down`, which stops it with nothing left running.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../tooling/cli/index.js";
import type { PipelineStatusReport } from "../../tooling/cli/pipeline-status.js";
import { testIo } from "../support/cli.js";
import { waitFor as waitUntil } from "../support/wait.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = join(REPO, "bin/sparkless.mjs");
let stateDir: string;
let up: ChildProcess | undefined;
let upOut = "";
let upErr = "";

beforeAll(() => {
  stateDir = mkdtempSync(join(tmpdir(), "sparkless-cli-e2e-"));
});

afterAll(async () => {
  if (up && up.exitCode === null) {
    const gone = new Promise((r) => up!.once("exit", r));
    up.kill("SIGKILL");
    await gone;
  }
  rmSync(stateDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  return waitUntil(what, cond, { timeoutMs, everyMs: 100, context: () => `--- local up stdout:\n${upOut}\n--- stderr:\n${upErr}` });
}

/** Processes whose environment names our state directory: kinesis-mock is started with its data under it. */
function processesUsing(dir: string): number[] {
  if (!existsSync("/proc")) return [];
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/environ`, "utf8").includes(dir) || readFileSync(`/proc/${p}/cmdline`, "utf8").includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe("sparkless local up, push, status, tail, local down", () => {
  it("runs the example on the embedded stack in its own process and stops it from another, leaving nothing behind", { timeout: 180_000 }, async () => {
    up = spawn(process.execPath, [BIN, "--state-dir", stateDir, "local", "up", "--fresh", "--ticker-ms", "1000"], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
    up.stdout!.on("data", (c: Buffer) => (upOut += c.toString()));
    up.stderr!.on("data", (c: Buffer) => (upErr += c.toString()));
    const exited = new Promise<number | null>((r) => up!.once("exit", (code) => r(code)));

    await waitFor("the stack to be up", () => upOut.includes("\nup in "), 120_000);
    await waitFor("the sample's first words to be counted", () => /\(river,\d+\)/.test(upOut), 60_000);

    // Another terminal: local status, then push lines of our own.
    const status = testIo({ cwd: REPO });
    expect(await main(["--state-dir", stateDir, "local", "status"], status.io)).toBe(0);
    expect(status.stdout()).toMatch(/^kinesis +http:\/\/127\.0\.0\.1:\d+$/m);
    const push = testIo({ cwd: REPO, stdin: "zebrafinch zebrafinch\nanother zebrafinch\n" });
    expect(await main(["--state-dir", stateDir, "push", "-"], push.io)).toBe(0);
    expect(push.stdout()).toMatch(/^pushed 2 records .* on the local stack in 1 PutRecords request/);

    // status: everything committed, a finalized batch, nothing dead-lettered.
    let report: PipelineStatusReport | undefined;
    await waitFor(
      "every shard to be caught up",
      async () => {
        const t = testIo({ cwd: REPO });
        if ((await main(["--state-dir", stateDir, "status", "--json"], t.io)) !== 0) return false;
        report = JSON.parse(t.stdout()) as PipelineStatusReport;
        return report.shards.every((s) => s.recordsBehind === 0);
      },
      30_000,
    );
    expect(report!.lastFinalized).toBeGreaterThan(report!.zeroTime!);
    expect(report!.deadLetters).toEqual({ records: 0, batches: 0, discarded: 0 });

    // tail --from-start: our words in the batch's output file (print() shows only the first 10 pairs of a
    // batch, and ours may share one with the sample), and the function's log with the printed blocks.
    const tail = testIo({ cwd: REPO });
    const tailing = main(["--state-dir", stateDir, "tail", "--from-start", "--full", "--interval-ms", "200"], tail.io);
    await waitFor("tail to show our counts in the batch's file", () => /\/batch-\d+\.txt\/ [^\n]*<==\n(?:[^=\n][^\n]*\n)*\(zebrafinch,3\)\n/.test(tail.stdout()), 30_000);
    tail.interrupt();
    expect(await tailing).toBe(0);
    expect(tail.stdout()).toMatch(/==> s3:\/\/[^/]+\/output\/word-count\/word-count\/batch-\d+\.txt\/ \(\d+ parts?, \d+ lines\) <==\n/);
    expect(tail.stdout()).toMatch(/-{43}\nTime: \d+ ms\n-{43}\n\(a,\d+\)\n/);
    expect(tail.stdout()).toMatch(/==> logs\/SparklessWordCount-WordCountShardFunction\w+\.log <==/);

    // local down from yet another terminal.
    const down = testIo({ cwd: REPO });
    expect(await main(["--state-dir", stateDir, "local", "down"], down.io)).toBe(0);
    expect(down.stdout()).toMatch(/stopped in [\d.]+ s\n$/);
    expect(await exited).toBe(0);
    expect(upOut).toContain("sparkless: stopped; nothing is left running.");
    expect(existsSync(join(stateDir, "stack.json"))).toBe(false);
    expect(processesUsing(stateDir)).toEqual([]);
    expect(upErr).toBe("");
  });
});

/**
 * The embedded stack survives `kill -9`: `sparkless local up` runs in its own process (as `npm start` runs it), a
 * known dataset is pushed by this test, and the stack is killed at seeded random moments — while records are
 * being put, while the pipeline works, while it starts up — and started again plainly each time. At the end the
 * stream holds every acknowledged record once under the sequence number it was given, and every output and the
 * keyed state (the word totals) equal the local engine's on the same records: nothing lost, nothing doubled.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kinesisClient } from "../../lib/io/aws-clients.js";
import { readStackFile, type StackFile } from "../../tooling/cli/stack-file.js";
import { printBlockParser } from "../../tooling/stack/index.js";
import { readAllRecords } from "../support/cli.js";
import { prng } from "../serverless/support.js";
import { checkAgainstLocalEngine } from "./word-count-check.js";
import { waitFor as waitUntil } from "../support/wait.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = join(REPO, "bin/sparkless.mjs");
const SEED = 20_261_202;
const KILLS = 4;
const RECORDS_PER_REQUEST = 25;

let stateDir: string;
let up: { child: ChildProcess; out: () => string; exited: Promise<void> } | undefined;
let log = "";

beforeAll(() => {
  stateDir = mkdtempSync(join(tmpdir(), "sparkless-crash-"));
});
afterAll(async () => {
  await kill9();
  rmSync(stateDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

/** `local up` in its own process; the first start synthesizes, the others deploy the same assembly again. */
function startUp(first: boolean): void {
  const args = first
    ? ["--state-dir", stateDir, "local", "up", "--fresh", "--no-sample", "--ticker-ms", "1000"]
    : ["--state-dir", stateDir, "local", "up", "--no-sample", "--no-synth", "--cdk-out", join(stateDir, "cdk.out"), "--ticker-ms", "1000"];
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  log = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (log += c.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  up = { child, out: () => out, exited };
}

async function kill9(): Promise<void> {
  if (!up || up.child.exitCode !== null || up.child.signalCode !== null) return;
  up.child.kill("SIGKILL");
  await up.exited;
}

/** Polls `cond`, and fails at once if `local up` exited meanwhile. */
function waitFor(what: string, cond: () => boolean | Promise<boolean>, capMs: number): Promise<void> {
  const exited = () => up?.child.exitCode !== null && up?.child.exitCode !== undefined;
  return waitUntil(
    what,
    () => {
      if (exited()) throw new Error(`local up exited (${up!.child.exitCode}) while waiting for ${what}\n${up!.out()}\n${log}`);
      return cond();
    },
    { timeoutMs: capMs, everyMs: 100, context: () => `--- local up:\n${up?.out()}\n--- stderr:\n${log}` },
  );
}

/** Waits for "up"; the first start synthesizes the CDK app, which takes minutes on a loaded machine. */
async function running(capMs = 120_000): Promise<StackFile> {
  await waitFor("the stack to be up", () => /\nup in /.test(up!.out()), capMs);
  return readStackFile(stateDir)!;
}

/** Lines with a unique first word, so each can be found in the stream; the other words repeat across lines. */
function dataset(random: (n: number) => number, count: number): string[] {
  const words = ["spark", "lambda", "kinesis", "stream", "window", "state", "batch", "shard", "river", "stone"];
  return Array.from({ length: count }, (_, i) => [`line${i}`, ...Array.from({ length: 1 + random(5) }, () => words[random(words.length)])].join(" "));
}

describe("the embedded stack under kill -9", () => {
  it("resumes after each kill: every record counted exactly once in outputs and state", { timeout: 900_000 }, async () => {
    const random = prng(SEED);
    const lines = dataset(random, 600);
    const chunks = Array.from({ length: KILLS + 2 }, (_, k) => lines.filter((_, i) => i % (KILLS + 2) === k));
    /** Sequence number → line, for every PutRecords entry the stack acknowledged. */
    const acked = new Map<string, string>();
    let unacked: string[] = [];

    /** Puts `batch` in small requests; returns what was not acknowledged when the stack went away. */
    const put = async (file: StackFile, batch: string[], onRequest?: (n: number) => void): Promise<string[]> => {
      const stream = file.stacks.flatMap((s) => s.pipelines)[0]!.stream;
      const kinesis = kinesisClient({ endpoint: file.endpoints.kinesis });
      try {
        for (let i = 0; i < batch.length; i += RECORDS_PER_REQUEST) {
          const part = batch.slice(i, i + RECORDS_PER_REQUEST);
          onRequest?.(i / RECORDS_PER_REQUEST);
          let res;
          try {
            res = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: part.map((l) => ({ Data: Buffer.from(l), PartitionKey: l.split(" ")[0]! })) }));
          } catch {
            return batch.slice(i);
          }
          expect(res.FailedRecordCount ?? 0).toBe(0);
          res.Records!.forEach((r, j) => acked.set(r.SequenceNumber!, part[j]!));
        }
        return [];
      } finally {
        kinesis.destroy();
      }
    };

    /** A careful producer after a crash: whatever of the unanswered requests already made it in is not sent again. */
    const missing = async (file: StackFile, maybe: string[]): Promise<string[]> => {
      if (maybe.length === 0) return [];
      const stream = file.stacks.flatMap((s) => s.pipelines)[0]!.stream;
      const kinesis = kinesisClient({ endpoint: file.endpoints.kinesis });
      try {
        const there = new Set((await readAllRecords(kinesis, stream)).map((r) => r.data));
        return maybe.filter((l) => !there.has(l));
      } finally {
        kinesis.destroy();
      }
    };

    startUp(true);
    let file = await running(480_000);
    for (let k = 0; k < KILLS; k++) {
      const chunk = [...(await missing(file, unacked)), ...chunks[k]!];
      const moment = random(3);
      if (moment === 0) {
        // While records are being put: after a random number of answered requests, the next one is cut off.
        const at = random(Math.ceil(chunk.length / RECORDS_PER_REQUEST));
        unacked = await put(file, chunk, (n) => {
          if (n === at) setImmediate(() => up!.child.kill("SIGKILL"));
        });
      } else if (moment === 1) {
        // While the pipeline works on what was put: a random moment within the next batch interval or so.
        unacked = await put(file, chunk);
        await new Promise((r) => setTimeout(r, random(6_000)));
      } else {
        // During the next start-up, once the emulators hold their data again.
        unacked = await put(file, chunk);
        await kill9();
        startUp(false);
        await waitFor("the emulators to be up", () => log.includes("emulators up") || /emulators up/.test(up!.out()), 60_000);
        await new Promise((r) => setTimeout(r, random(1_500)));
      }
      await kill9();
      startUp(false);
      file = await running();
    }
    // The rest goes in on a stack that is left to run.
    unacked = await put(file, [...(await missing(file, unacked)), ...chunks.slice(KILLS).flat()]);
    expect(unacked).toEqual([]);

    // The stream: every acknowledged record under the number it was given, no number twice, no line twice.
    const stream = file.stacks.flatMap((s) => s.pipelines)[0]!;
    const kinesis = kinesisClient({ endpoint: file.endpoints.kinesis });
    const stored = await readAllRecords(kinesis, stream.stream);
    kinesis.destroy();
    const bySeq = new Map(stored.map((r) => [r.sequenceNumber, r.data]));
    expect(bySeq.size).toBe(stored.length);
    for (const [seq, line] of acked) expect(bySeq.get(seq), `acknowledged record ${seq}`).toBe(line);
    expect(stored.map((r) => r.data).sort()).toEqual([...lines].sort());

    // Outputs and state against the local engine on the same records in the same batches.
    await checkAgainstLocalEngine(
      {
        endpoints: file.endpoints,
        pipeline: { ...stream, batchIntervalMs: stream.batchIntervalMs! },
        finalizeWithinMs: 180_000,
        whileWaiting: () => {
          if (up!.child.exitCode !== null) throw new Error(`local up exited\n${up!.out()}\n${log}`);
        },
      },
      lines,
      printBlockParser,
    );
  });
});

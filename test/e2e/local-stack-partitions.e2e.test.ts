/**
 * The word-count example with 4 finalizer partitions on the embedded local stack (`SPARKLESS_EXAMPLE_PARTITIONS=4`),
 * IAM enforced: the shard function and the ticker fan each complete batch out to the finalizer function, one
 * asynchronous Lambda Invoke per partition; every word is counted exactly once; each output directory has
 * `_SUCCESS` and a part file per partition; and `sparkless status` shows every partition's progress.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENV } from "../../lib/contract/index.js";
import { main } from "../../tooling/cli/index.js";
import type { PipelineStatusReport } from "../../tooling/cli/pipeline-status.js";
import { printBlockParser, startLocalStack, type LocalStack, type LocalStackEvent } from "../../tooling/stack/index.js";
import { testIo } from "../support/cli.js";
import { checkWordCount } from "./word-count-check.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const P = 4;
const events: LocalStackEvent[] = [];
let stack: LocalStack;
let stateDir: string;
const previous = process.env.SPARKLESS_EXAMPLE_PARTITIONS;

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "sparkless-e2e-partitions-"));
  // What `SPARKLESS_EXAMPLE_PARTITIONS=4 npm start` does: the synth (a child of this process) reads it.
  process.env.SPARKLESS_EXAMPLE_PARTITIONS = String(P);
  stack = await startLocalStack({ cwd: REPO, stateDir, fresh: true, tickerIntervalMs: 1_000, onEvent: (e) => events.push(e), log: () => {} });
}, 300_000);

afterAll(async () => {
  await stack?.stop();
  if (previous === undefined) delete process.env.SPARKLESS_EXAMPLE_PARTITIONS;
  else process.env.SPARKLESS_EXAMPLE_PARTITIONS = previous;
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

describe("the word-count example with 4 finalizer partitions on the embedded local stack", () => {
  it("deploys P = 4: every function is told so, and the shard function and the ticker the finalizer's name", () => {
    const functions = stack.stacks[0]!.functions;
    expect(functions.map((f) => f.environment[ENV.finalizerPartitions])).toEqual([String(P), String(P), String(P)]);
    const finalizer = functions.find((f) => f.handler === "index.finalizerHandler")!;
    for (const f of functions) expect(f.environment[ENV.finalizerFunction]).toBe(f === finalizer ? undefined : finalizer.name);
  });

  it("counts every word exactly once, writes a part file per partition and _SUCCESS, and fans out through Lambda Invoke", async () => {
    const pipeline = stack.stackFile.stacks[0]!.pipelines.find((p) => p.name === "word-count")!;
    const run = await checkWordCount(
      {
        endpoints: stack.endpoints,
        pipeline: { ...pipeline, batchIntervalMs: pipeline.batchIntervalMs! },
        finalizeWithinMs: 120_000,
        partitions: P,
        whileWaiting: () => {
          const broken = events.find((e) => e.type === "result" && /Runtime\.(ImportModuleError|HandlerNotFound)|PipelineMismatch/.test(e.error ?? ""));
          if (broken) throw new Error(`a function cannot run: ${(broken as { error?: string }).error}`);
        },
      },
      printBlockParser,
    );
    // print() shows the first elements in partition order: the same elements as the local engine's (fewer than 10 a batch).
    const printedRemotely = new Map<number, readonly string[]>();
    for (const e of events) if (e.type === "printed") printedRemotely.set(e.time, e.lines);
    for (const [time, ls] of run.printedLocally) expect([...(printedRemotely.get(time) ?? [])].sort(), `print at ${time}`).toEqual([...ls].sort());

    // The finalizer function ran asynchronously, for every partition, and nothing was denied.
    const finalizer = stack.stacks[0]!.functions.find((f) => f.handler === "index.finalizerHandler")!.name;
    const asyncRuns = events.filter((e) => e.type === "result" && e.source === "async" && e.functionName === finalizer);
    expect(asyncRuns.length).toBeGreaterThanOrEqual(P);
    expect(asyncRuns.filter((e) => (e as { outcome: string }).outcome !== "success")).toEqual([]);
    expect(events.filter((e) => e.type === "access-denied")).toEqual([]);
  }, 240_000);

  it("shows every partition's progress in sparkless status", async () => {
    const t = testIo({ cwd: REPO, env: {} });
    expect(await main(["--state-dir", stateDir, "status", "--json"], t.io)).toBe(0);
    const r = JSON.parse(t.stdout()) as PipelineStatusReport;
    expect(r.partitions?.map((p) => p.partition)).toEqual([0, 1, 2, 3]);
    for (const p of r.partitions!) expect(p.lastFinalized).toBeGreaterThanOrEqual(r.lastFinalized!);
  }, 60_000);
});

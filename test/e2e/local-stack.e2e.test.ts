/**
 * End to end on the embedded local stack: the word-count CDK app synthesized from scratch, deployed to the
 * emulators, fed text lines with PutRecords, run by the bundled Lambda code (shard handler through the event
 * source mapping, ticker on its schedule) until the windows of the last batch are finalized — and then the S3
 * outputs and printed blocks equal what the local engine produces for the same records in the same batches.
 * Afterwards nothing the stack started is left running.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { printBlockParser, readStackFile, startLocalStack, type LocalStack, type LocalStackEvent } from "../../tooling/stack/index.js";
import { checkWordCount } from "./word-count-check.js";
import { accepts } from "../support/net.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const events: LocalStackEvent[] = [];
let stack: LocalStack;
let stateDir: string;
let started: number;

beforeAll(async () => {
  started = Date.now();
  stateDir = await mkdtemp(join(tmpdir(), "sparkless-e2e-"));
  stack = await startLocalStack({
    cwd: REPO,
    stateDir,
    fresh: true,
    tickerIntervalMs: 1_000,
    onEvent: (e) => events.push(e),
    log: () => {},
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
  console.log(`local-stack e2e: ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
});

describe("the word-count app on the embedded local stack", () => {
  it("produces, from the bundled Lambda code, the local engine's outputs for the same records", async () => {
    const file = stack.stackFile.stacks[0]!;
    const pipeline = file.pipelines.find((p) => p.name === "word-count")!;
    expect(pipeline).toBeDefined();
    expect(pipeline.batchIntervalMs).toBe(5_000);
    const run = await checkWordCount(
      {
        endpoints: stack.endpoints,
        pipeline: { ...pipeline, batchIntervalMs: pipeline.batchIntervalMs! },
        finalizeWithinMs: 60_000,
        whileWaiting: () => {
          // A bundle that cannot load fails every invocation the same way: say so now rather than in 60 s.
          const broken = events.find((e) => e.type === "result" && /Runtime\.(ImportModuleError|HandlerNotFound)/.test(e.error ?? ""));
          if (broken) throw new Error(`the bundled function cannot load: ${(broken as { error?: string }).error}`);
        },
      },
      printBlockParser,
    );

    // print(): the blocks in the functions' output are the local engine's (the last print of a time wins: a
    // re-run batch prints again).
    const printedRemotely = new Map<number, readonly string[]>();
    for (const e of events) if (e.type === "printed") printedRemotely.set(e.time, e.lines);
    for (const [time, ls] of run.printedLocally) expect(printedRemotely.get(time), `print at ${time}`).toEqual(ls);

    // What the stack reported on the way.
    const prefix = "output/word-count/";
    const delivered = events.filter((e) => e.type === "result" && e.source === "mapping" && e.outcome === "success").reduce((n, e) => n + ((e as { records?: number }).records ?? 0), 0);
    expect(delivered).toBeGreaterThanOrEqual(run.lines.length);
    expect(events.some((e) => e.type === "invoke" && e.source === "schedule")).toBe(true);
    await expect.poll(() => events.some((e) => e.type === "batch-finalized" && e.time === run.lastBatch), { timeout: 5_000 }).toBe(true);
    await expect.poll(() => events.some((e) => e.type === "output" && e.directory === `${prefix}word-count/totals-${run.lastBatch}.txt/`), { timeout: 5_000 }).toBe(true);
    expect(events.some((e) => e.type === "lag")).toBe(true);
  }, 90_000);

  it("stops and leaves nothing running: no Kinesis emulator, no sandbox, no stack.json", async () => {
    const kinesisPort = Number(new URL(stack.endpoints.kinesis).port);
    expect(await accepts(kinesisPort)).toBe(true);
    expect(await readStackFile(stateDir)).toMatchObject({ pid: process.pid });
    await stack.stop();
    expect(await accepts(kinesisPort)).toBe(false);
    expect(stack.stats().functions.every((f) => f.sandboxes === 0)).toBe(true);
    expect(stack.stats().mappings.every((m) => m.poller.state === "stopped")).toBe(true);
    expect(await readStackFile(stateDir, { includeStale: true })).toBeUndefined();
    expect(process.getActiveResourcesInfo().filter((r) => r === "Worker" || r === "MessagePort")).toEqual([]);
  }, 30_000);
});


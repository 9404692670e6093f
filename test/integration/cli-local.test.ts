import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CreateStreamCommand, DescribeStreamSummaryCommand, ListShardsCommand, PutRecordsCommand, type KinesisClient } from "@aws-sdk/client-kinesis";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDbClient, kinesisClient, s3Client } from "../../lib/io/aws-clients.js";
import { S3ObjectStore } from "../../lib/io/s3-object-store.js";
import { main } from "../../tooling/cli/index.js";
import { SAMPLE_PARAGRAPHS, writeSampleRecord } from "../../tooling/cli/sample-data.js";
import { invocationsFilePath, type InvocationsFile } from "../../tooling/stack/invocation-metrics.js";
import { DynamoDbPipelineStore } from "../../lib/pipeline-store/dynamodb-pipeline-store.js";
import type { LocalStackEvent, LocalStackOptions, StartLocalStack } from "../../tooling/cli/stack-contract.js";
import type { StackFile } from "../../tooling/cli/stack-file.js";
import { readAllRecords, testIo, writeStackFile } from "../support/cli.js";
import { createPipelineTable, useEmulators } from "../support/emulators.js";
import { waitFor } from "../support/wait.js";

const emu = useEmulators();
const BIN = resolve("bin/sparkless.mjs");
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sparkless-cli-local-"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A stand-in for tooling/stack's startLocalStack over the test's emulators: it creates the word-count
 * pipeline's stream and bucket, writes stack.json, logs start-up lines as the real one does, and hands the
 * test its onEvent so the test plays the running stack's part.
 */
function fakeStack(names: { stream: string; bucket: string; table: string } = { stream: "wc-stream", bucket: "wc-bucket", table: "wc-table" }) {
  const state = { options: undefined as LocalStackOptions | undefined, stopped: 0, emit: (_e: LocalStackEvent) => {} };
  const start: StartLocalStack = async (options) => {
    state.options = options;
    state.emit = options.onEvent!;
    const { stream, bucket, table } = names;
    const kinesis = kinesisClient({ endpoint: emu.kinesis.endpoint });
    const s3 = s3Client({ endpoint: emu.s3.endpoint });
    const ddb = dynamoDbClient({ endpoint: emu.dynamodb.endpoint });
    // A second start on the same state finds its resources (kept, as the real stack keeps them).
    const kept = (e: Error) => {
      if (!/ResourceInUse|BucketAlreadyOwnedByYou|BucketAlreadyExists/.test(e.name)) throw e;
    };
    await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 2 })).catch(kept);
    await waitForStream(kinesis, stream);
    await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch(kept);
    await createPipelineTable(ddb, table).catch(kept);
    kinesis.destroy();
    s3.destroy();
    ddb.destroy();
    const stackFile: StackFile = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      region: "us-east-1",
      endpoints: { kinesis: emu.kinesis.endpoint, dynamodb: emu.dynamodb.endpoint, s3: emu.s3.endpoint },
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      stacks: [
        {
          name: "SparklessWordCount",
          streams: [{ logicalId: "WordCountStream", name: stream }],
          tables: [{ logicalId: "WordCountTable", name: table }],
          buckets: [{ logicalId: "WordCountBucket", name: bucket }],
          functions: [{ logicalId: "WordCountShard", name: "wc-shard" }],
          pipelines: [{ name: "word-count", stream, table, bucket, batchIntervalMs: 5000 }],
        },
      ],
    };
    writeStackFile(options.stateDir!, stackFile);
    options.log!("sparkless: emulators up");
    options.log!("sparkless: where the local stack differs from AWS:");
    options.log!("sparkless:   - no bisection here, say");
    options.log!("sparkless:   - nor there");
    options.log!("sparkless: local stack ready (.sparkless/stack.json); Ctrl-C stops it");
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((r) => (resolveStopped = r));
    return {
      stackFile,
      limitations: ["no bisection here, say", "nor there"],
      stopped,
      stop: async () => {
        state.stopped++;
        rmSync(join(options.stateDir!, "stack.json"), { force: true });
        resolveStopped();
      },
    };
  };
  return { start, state };
}

async function waitForStream(kinesis: KinesisClient, stream: string): Promise<void> {
  for (;;) {
    const s = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    if (s.StreamDescriptionSummary?.StreamStatus === "ACTIVE") return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const CLEAR_LINE = "\r\x1b[2K";

/** The status line a terminal shows last (Screen redraws it after CLEAR_LINE). */
function lastStatusLine(out: string): string {
  return out.split(CLEAR_LINE).filter((part) => part.startsWith("records in ")).pop()?.split("\n")[0] ?? "";
}

/** Ages move on between two reads; the numbers must not. */
const withoutAges = (line: string) => line.replace(/oldest [\d.]+ (ms|s|min \d+ s)/g, "oldest <age>");

describe("sparkless local up", () => {
  it("starts the stack, pushes the sample in rounds, shows blocks, batches, outputs, lag and dead letters, writes the function logs, and stops it all on Ctrl-C", async () => {
    const stateDir = join(dir, "up");
    const fake = fakeStack();
    const t = testIo({ cwd: dir });
    const up = main(["--state-dir", stateDir, "local", "up", "--ticker-ms", "500"], t.io, { startLocalStack: fake.start, sampleIntervalMs: 10, pollIntervalMs: 50, statusIntervalMs: 20 });

    await waitFor("the sample rounds", () => t.stdout().includes(`(round ${SAMPLE_PARAGRAPHS.length} of ${SAMPLE_PARAGRAPHS.length})`));
    expect(fake.state.options).toMatchObject({ stateDir, tickerIntervalMs: 500, synth: true, cwd: dir });
    expect(fake.state.options!.cdkOut).toBeUndefined();

    // Meanwhile, from another terminal: local status finds it.
    const other = testIo({ cwd: dir });
    expect(await main(["--state-dir", stateDir, "local", "status"], other.io)).toBe(0);
    expect(other.stdout()).toMatch(/^running +pid \d+, started /);
    expect(other.stdout()).toMatch(/^SparklessWordCount +stream +WordCountStream +wc-stream$/m);
    expect(other.stdout()).toMatch(/^SparklessWordCount +word-count +wc-stream +wc-table +wc-bucket$/m);

    // The stack at work.
    const emit = fake.state.emit;
    emit({ type: "invoke", functionName: "wc-shard", source: "mapping", requestId: "r1", shardId: "shardId-000000000000", records: 6 });
    emit({ type: "result", functionName: "wc-shard", source: "mapping", requestId: "r1", outcome: "success", durationMs: 12, shardId: "shardId-000000000000", records: 6 });
    emit({ type: "log", functionName: "wc-shard", stream: "stdout", line: '{"_aws":{"CloudWatchMetrics":[]}}' });
    emit({ type: "log", functionName: "wc-shard", stream: "stdout", line: "-------------------------------------------" });
    emit({ type: "printed", functionName: "wc-shard", time: 1_700_000_005_000, lines: ["(a,2)", "(stream,1)"] });
    emit({
      type: "lag",
      mapping: "WordCountMapping",
      functionName: "wc-shard",
      shards: [
        { shardId: "shardId-000000000000", state: "reading", millisBehindLatest: 120, bufferedRecords: 0 },
        { shardId: "shardId-000000000001", state: "reading", millisBehindLatest: 0, bufferedRecords: 0 },
      ],
    });
    emit({ type: "batch-finalized", pipeline: "word-count", time: 1_700_000_005_000 });
    emit({
      type: "output",
      pipeline: "word-count",
      bucket: "wc-bucket",
      directory: "output/word-count/word-count/batch-1700000005000.txt/",
      keys: ["output/word-count/word-count/batch-1700000005000.txt/part-00000", "output/word-count/word-count/batch-1700000005000.txt/_SUCCESS"],
    });
    emit({
      type: "output",
      pipeline: "word-count",
      bucket: "wc-bucket",
      directory: "output/word-count/word-count/totals-1700000005000.txt/",
      keys: ["output/word-count/word-count/totals-1700000005000.txt/part-00000", "output/word-count/word-count/totals-1700000005000.txt/_SUCCESS"],
    });
    // A sandbox's Node.js warning: the AWS SDK's is left out; another shows its first line, once.
    for (const fn of ["wc-shard", "wc-ticker"]) {
      for (const line of [
        "(node:123) Warning: NodeVersionSupportWarning: The AWS SDK for JavaScript (v3)",
        "will require node >=22.",
        "(Use `node --trace-warnings ...` to show where the warning was created)",
        "(node:124) [DEP0005] DeprecationWarning: Buffer() is deprecated",
        "(Use `node --trace-deprecation ...` to show where the warning was created)",
        "(Use `node --trace-warnings ...` to show where the warning was created)",
      ]) {
        emit({ type: "log", functionName: fn, stream: "stderr", line });
      }
    }
    // A failing batch retried: the invocation's error and the poller's warning about it, three times over.
    for (const id of ["0b7c5a3e-1111-4d2b-9e0f-000000000001", "0b7c5a3e-1111-4d2b-9e0f-000000000002", "0b7c5a3e-1111-4d2b-9e0f-000000000003"]) {
      const error = `wc-shard (${id}): Runtime.ImportModuleError: Cannot find module 'x'\nRequire stack:\n- /asset/index.mjs`;
      emit({ type: "result", functionName: "wc-shard", source: "mapping", requestId: id, outcome: "error", durationMs: 3, shardId: "shardId-000000000001", records: 2, error });
      emit({ type: "warning", message: `WordCountMapping shardId-000000000001: function error (${error})` });
    }
    emit({ type: "log", functionName: "wc-shard", stream: "stderr", line: "sparkless: batch 1700000010000 ms: boom" });
    const s3 = s3Client({ endpoint: emu.s3.endpoint });
    await new S3ObjectStore({ client: s3, bucket: "wc-bucket" }).put("dead-letter/word-count/shardId-000000000000/1.json", "{}");
    s3.destroy();
    await waitFor("the dead letter", () => t.stdout().includes("dead letter"));

    t.interrupt();
    expect(await up).toBe(0);
    expect(fake.state.stopped).toBe(1);

    const out = t.stdout();
    expect(out).toContain(
      "sparkless: emulators up\nsparkless: local stack ready (.sparkless/stack.json); Ctrl-C stops it\n" +
        `sparkless: what was deployed, and the 2 ways the local stack differs from AWS: ${join("up", "logs", "local-stack.log")}\n`,
    );
    expect(out).not.toContain("no bisection here");
    expect(out).toContain("pipeline word-count: stream wc-stream, table wc-table, bucket wc-bucket\n");
    expect(out).toContain("  push lines:     npx sparkless push --state-dir up < some.txt\n");
    expect(out).toContain("-------------------------------------------\nTime: 1700000005000 ms\n-------------------------------------------\n(a,2)\n(stream,1)\n\n");
    // Lag as `sparkless status` counts it: the sample's records, none committed (no shard function ran).
    expect(out).toMatch(/batch 1700000005000 ms \(22:13:25Z\) finalized · lag shard 0: (\d+ records?, oldest [\d.]+ m?s|0); shard 1: (\d+ records?, oldest [\d.]+ m?s|0)\n/);
    expect(out).toContain("  → s3://wc-bucket/output/word-count/word-count/{batch,totals}-1700000005000.txt/\n");
    expect(out.match(/Cannot find module/g)).toHaveLength(1);
    expect(out).toContain("wc-shard: invocation failed on shardId-000000000001: wc-shard (0b7c5a3e-1111-4d2b-9e0f-000000000001): Runtime.ImportModuleError: Cannot find module 'x'\n");
    expect(out).toContain("wc-shard: sparkless: batch 1700000010000 ms: boom\n");
    expect(out).toContain("✗ dead letter s3://wc-bucket/dead-letter/word-count/shardId-000000000000/1.json\n");
    expect(out).not.toContain("CloudWatchMetrics");
    expect(out).not.toContain("NodeVersionSupportWarning");
    expect(out).not.toContain("will require node");
    expect(out.match(/DeprecationWarning/g)).toEqual(["DeprecationWarning"]);
    expect(out).toContain("wc-shard: [DEP0005] DeprecationWarning: Buffer() is deprecated\n");
    expect(out).toMatch(/sparkless: stopping the embedded stack \.\.\.\nsparkless: stopped; nothing is left running\. Data is kept in up /);

    // Every sample line is on the stream, once.
    const kinesis = kinesisClient({ endpoint: emu.kinesis.endpoint });
    const records = await readAllRecords(kinesis, "wc-stream");
    kinesis.destroy();
    expect(records.map((r) => r.data).sort()).toEqual(SAMPLE_PARAGRAPHS.flat().slice().sort());

    // What tail reads: the function's every line, and the start-up lines in full.
    const log = readFileSync(join(stateDir, "logs", "wc-shard.log"), "utf8");
    expect(log).toMatch(/^\{"_aws":\{"CloudWatchMetrics":\[\]\}\}\n-{43}\n\(node:123\) Warning: NodeVersionSupportWarning: The AWS SDK for JavaScript \(v3\)\nwill require node >=22\.\n/);
    expect(log).toContain("(node:124) [DEP0005] DeprecationWarning: Buffer() is deprecated\n");
    expect(log.endsWith("sparkless: batch 1700000010000 ms: boom\n")).toBe(true);
    expect(readFileSync(join(stateDir, "logs", "local-stack.log"), "utf8")).toContain("sparkless:   - nor there\n");
  });

  it("shows on its live line the lag, pending batches and failed invocations that `sparkless status` reports for the same state, a timed-out function included", async () => {
    const stateDir = join(dir, "agree");
    const names = { stream: "agree-stream", bucket: "agree-bucket", table: "agree-table" };
    const fake = fakeStack(names);
    const t = testIo({ cwd: dir, tty: true });
    // Wide enough for the whole line (a narrower terminal cuts it at its width).
    (t.io.stdout as { columns?: number }).columns = 400;
    const up = main(["--state-dir", stateDir, "local", "up", "--no-sample"], t.io, { startLocalStack: fake.start, pollIntervalMs: 50, statusIntervalMs: 20 });
    await waitFor("the stack", () => t.stdout().includes("pipeline word-count:"));

    // The state: records on both shards, none committed; two complete batches waiting for the finalizer; a
    // ticker invocation that ran out of its 60 s and two failed shard invocations.
    const ZERO = 1_700_000_000_000;
    const kinesis = kinesisClient({ endpoint: emu.kinesis.endpoint });
    const shards = (await kinesis.send(new ListShardsCommand({ StreamName: names.stream }))).Shards!;
    for (const [i, n] of [[0, 3], [1, 2]] as const) {
      const hashKey = shards[i]!.HashKeyRange!.StartingHashKey!;
      await kinesis.send(new PutRecordsCommand({ StreamName: names.stream, Records: Array.from({ length: n }, (_, j) => ({ Data: Buffer.from(`line ${j}`), PartitionKey: "k", ExplicitHashKey: hashKey })) }));
    }
    kinesis.destroy();
    const ddb = dynamoDbClient({ endpoint: emu.dynamodb.endpoint });
    const s3 = s3Client({ endpoint: emu.s3.endpoint });
    const store = new DynamoDbPipelineStore({ client: ddb, tableName: names.table, pipeline: "word-count", objects: new S3ObjectStore({ client: s3, bucket: names.bucket }) });
    expect(await store.createStatus({ zeroTime: ZERO, lastFinalized: ZERO, graphHash: "g" })).toBe(true);
    for (const s of shards) expect(await store.advanceWatermark(s.ShardId!, { watermark: 0 }, ZERO + 10_000, false)).toBe(true);
    ddb.destroy();
    s3.destroy();
    const invocations: InvocationsFile = {
      pid: process.pid,
      updatedAt: new Date().toISOString(),
      functions: [
        { name: "wc-shard", invocations: 7, errors: 2, timeouts: 0, timeoutMs: 60_000 },
        { name: "wc-ticker", invocations: 4, errors: 0, timeouts: 1, timeoutMs: 60_000 },
      ],
    };
    writeFileSync(invocationsFilePath(stateDir), JSON.stringify(invocations));
    fake.state.emit({ type: "result", functionName: "wc-ticker", source: "schedule", requestId: "r9", outcome: "timeout", durationMs: 60_000, error: "Task timed out after 60.00 seconds" });

    const s = testIo({ cwd: dir });
    expect(await main(["--state-dir", stateDir, "status"], s.io)).toBe(0);
    const summary = /^summary +(.*)$/m.exec(s.stdout())![1]!;
    expect(withoutAges(summary)).toBe(
      "invocations 11, 3 failed: wc-shard failed ×2, wc-ticker timed out ×1 (after 1 min 00 s) · pending 2 batches · " +
        "lag shard 0: 3 records, oldest <age>; shard 1: 2 records, oldest <age>",
    );
    await waitFor("the live line to show the same figures", () => withoutAges(lastStatusLine(t.stdout())).includes(withoutAges(summary)));
    expect(lastStatusLine(t.stdout())).toMatch(/^records in 0 · invocations 11, 3 failed: .* · Ctrl-C to stop$/);
    expect(t.stdout()).toContain("wc-ticker: invocation timed out: Task timed out after 60.00 seconds\n");

    t.interrupt();
    expect(await up).toBe(0);
  });

  it("pushes the sample once per fresh state: a restart pushes only the rounds an earlier start did not", async () => {
    const stateDir = join(dir, "again");
    const names = { stream: "again-stream", bucket: "again-bucket", table: "again-table" };
    // An earlier start was stopped after its second round.
    await writeSampleRecord(stateDir, { stream: names.stream, rounds: 2 });

    const first = testIo({ cwd: dir });
    const up1 = main(["--state-dir", stateDir, "local", "up"], first.io, { startLocalStack: fakeStack(names).start, sampleIntervalMs: 10, pollIntervalMs: 50 });
    await waitFor("the last round", () => first.stdout().includes(`(round ${SAMPLE_PARAGRAPHS.length} of ${SAMPLE_PARAGRAPHS.length})`));
    first.interrupt();
    expect(await up1).toBe(0);
    expect(first.stdout()).toContain(`sample: 2 rounds of ${SAMPLE_PARAGRAPHS.length} pushed by an earlier start; pushing the rest\n`);
    expect(first.stdout()).not.toContain("(round 1 of");

    const second = testIo({ cwd: dir });
    const up2 = main(["--state-dir", stateDir, "local", "up"], second.io, { startLocalStack: fakeStack(names).start, sampleIntervalMs: 10, pollIntervalMs: 50 });
    await waitFor("the sample's verdict", () => second.stdout().includes("sample: "));
    second.interrupt();
    expect(await up2).toBe(0);
    expect(second.stdout()).toContain("sample: pushed by an earlier start, not again (the totals would count it twice); `--fresh` starts over, `sparkless push` adds lines\n");

    const kinesis = kinesisClient({ endpoint: emu.kinesis.endpoint });
    const records = await readAllRecords(kinesis, names.stream);
    kinesis.destroy();
    expect(records.map((r) => r.data).sort()).toEqual(SAMPLE_PARAGRAPHS.slice(2).flat().slice().sort());
  });

  it("fails if a local stack is already running on the state directory", async () => {
    const stateDir = join(dir, "busy");
    writeStackFile(stateDir, { region: "us-east-1", endpoints: { kinesis: "k", dynamodb: "d", s3: "s" }, stacks: [] });
    const t = testIo({ cwd: dir });
    const fake = fakeStack();
    expect(await main(["--state-dir", stateDir, "local", "up"], t.io, { startLocalStack: fake.start })).toBe(1);
    expect(t.stderr()).toMatch(/^sparkless: a local stack is already running \(pid \d+, started .*\): use it, or stop it with `sparkless local down`\n$/);
    expect(fake.state.options).toBeUndefined();
  });
});

describe("sparkless local down and local status", () => {
  it("stops the process named in stack.json with SIGTERM, waits for it to exit, and status then says none runs", async () => {
    const stateDir = join(dir, "down");
    // A process that, like `local up`, takes a moment to stop cleanly on SIGTERM.
    const child = spawn(process.execPath, ["-e", "process.on('SIGTERM', () => setTimeout(() => process.exit(0), 300)); setInterval(() => {}, 1000); console.log('up')"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise((r) => child.stdout!.once("data", r));
    const exited = new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
    writeStackFile(stateDir, { pid: child.pid!, region: "us-east-1", endpoints: { kinesis: "k", dynamodb: "d", s3: "s" }, stacks: [] });

    const t = testIo({ cwd: dir });
    expect(await main(["--state-dir", stateDir, "local", "down"], t.io)).toBe(0);
    expect(t.stdout()).toMatch(new RegExp(`^stopping the local stack \\(pid ${child.pid}, started .*\\) \\.\\.\\.\\nstopped in [\\d.]+ s\\n$`));
    expect(await exited).toEqual({ code: 0, signal: null });

    const s = testIo({ cwd: dir });
    expect(await main(["--state-dir", stateDir, "local", "status"], s.io)).toBe(1);
    expect(s.stdout()).toBe(`no local stack is running: ${join(stateDir, "stack.json")} is from pid ${child.pid} (started ${JSON.parse(readFileSync(join(stateDir, "stack.json"), "utf8")).startedAt}), which has exited\n`);

    const again = testIo({ cwd: dir });
    expect(await main(["--state-dir", stateDir, "local", "down"], again.io)).toBe(0);
    expect(again.stdout()).toContain("no local stack is running");
  });

  it("says so when there is no stack file at all", async () => {
    const t = testIo({ cwd: dir });
    expect(await main(["--state-dir", join(dir, "none"), "local", "status", "--json"], t.io)).toBe(1);
    expect(JSON.parse(t.stdout())).toEqual({ running: false });
    expect(existsSync(join(dir, "none"))).toBe(false);
  });
});

describe("bin/sparkless.mjs", () => {
  it("runs the TypeScript CLI through tsx: --help lists the commands, --version the package's", () => {
    const help = spawnSync(process.execPath, [BIN, "--help"], { encoding: "utf8", timeout: 20_000 });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: sparkless \[options\] \[command\]/);
    for (const cmd of ["local", "push", "tail", "status", "run"]) expect(help.stdout).toMatch(new RegExp(`^  ${cmd} `, "m"));
    expect(help.stderr).toBe("");

    const version = spawnSync(process.execPath, [BIN, "--version"], { encoding: "utf8", timeout: 20_000 });
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync("package.json", "utf8")).version);
  });

  it("exits 2 on an unknown command, with a hint", () => {
    const r = spawnSync(process.execPath, [BIN, "deploy"], { encoding: "utf8", timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("error: unknown command 'deploy'\n(add --help for usage)\n");
  });
});

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
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, PutRecordsCommand, type _Record } from "@aws-sdk/client-kinesis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wordCount } from "../../functions/word-count.js";
import { ManualClock } from "../../lib/exec/clock.js";
import { dynamoDbClient, kinesisClient, s3Client } from "../../lib/io/aws-clients.js";
import { QueueSource } from "../../lib/io/queue-source.js";
import { S3ObjectStore } from "../../lib/io/s3-object-store.js";
import { isProcessAlive, printBlockParser, readStackFile, startLocalStack, type LocalStack, type LocalStackEvent } from "../../lib/local/stack/index.js";
import { DynamoDbPipelineStore } from "../../lib/state/dynamodb-pipeline-store.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The word-count window (reduceByKeyAndWindow over 15 s): the last batch is in windows up to 10 s after it. */
const WINDOW_MS = 15_000;

/** A small, fixed dataset: 3 waves of lines, a few seconds apart so they span more than one 5 s batch. */
function dataset(): string[][] {
  const words = ["spark", "lambda", "kinesis", "stream", "window", "state", "batch", "Spark", "shard", "it's"];
  let seed = 7;
  const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  return [0, 1, 2].map((wave) =>
    Array.from({ length: 12 }, (_, i) => Array.from({ length: 1 + next(6) }, () => words[next(words.length)]).join(i % 3 === 0 ? ", " : " ") + (wave === 2 && i === 0 ? "!" : "")),
  );
}

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

/** Every record of the stream, read back with its arrival time (what the shard handler batched it by). */
async function readBack(kinesisEndpoint: string, stream: string, expected: number): Promise<{ shardId: string; record: _Record }[]> {
  const kinesis = kinesisClient({ endpoint: kinesisEndpoint });
  try {
    const out: { shardId: string; record: _Record }[] = [];
    const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
    for (const s of shards) {
      let it = (await kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: s.ShardId!, ShardIteratorType: "TRIM_HORIZON" }))).ShardIterator;
      for (let page = 0; it && page < 50; page++) {
        const r = await kinesis.send(new GetRecordsCommand({ ShardIterator: it }));
        for (const record of r.Records ?? []) out.push({ shardId: s.ShardId!, record });
        if ((r.Records ?? []).length === 0 && !r.MillisBehindLatest) break;
        it = r.NextShardIterator;
      }
    }
    expect(out).toHaveLength(expected);
    return out;
  } finally {
    kinesis.destroy();
  }
}

const countWords = (lines: string[]) => {
  const counts = new Map<string, number>();
  for (const l of lines) for (const w of l.toLowerCase().split(/[^\p{L}\p{N}']+/u).filter((x) => x.length > 0)) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
};
const parsePairs = (text: string) => new Map(text.split("\n").filter(Boolean).map((l) => {
  const m = /^\((.*),(\d+)\)$/.exec(l)!;
  return [m[1]!, Number(m[2])] as [string, number];
}));

describe("the word-count app on the embedded local stack", () => {
  it("produces, from the bundled Lambda code, the local engine's outputs for the same records", async () => {
    const file = stack.stackFile.stacks[0]!;
    const pipeline = file.pipelines.find((p) => p.name === "word-count")!;
    expect(pipeline).toBeDefined();
    const B = pipeline.batchIntervalMs!;
    expect(B).toBe(5_000);

    // Push the dataset in waves, through the SDK as any producer would.
    const waves = dataset();
    const kinesis = kinesisClient({ endpoint: stack.endpoints.kinesis });
    try {
      for (const [i, wave] of waves.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, 3_000));
        const res = await kinesis.send(new PutRecordsCommand({ StreamName: pipeline.stream, Records: wave.map((line, j) => ({ Data: Buffer.from(line), PartitionKey: `k${i}-${j}` })) }));
        expect(res.FailedRecordCount ?? 0).toBe(0);
      }
    } finally {
      kinesis.destroy();
    }
    const lines = waves.flat();
    const records = await readBack(stack.endpoints.kinesis, pipeline.stream, lines.length);
    const arrival = (r: _Record) => r.ApproximateArrivalTimestamp!.getTime();
    const lastBatch = Math.max(...records.map(({ record }) => Math.floor(arrival(record) / B) * B + B));
    const end = lastBatch + WINDOW_MS - B;

    // Wait until the status item says the last window holding the last batch is finalized.
    const ddb = dynamoDbClient({ endpoint: stack.endpoints.dynamodb });
    const s3 = s3Client({ endpoint: stack.endpoints.s3 });
    try {
      const objects = new S3ObjectStore({ client: s3, bucket: pipeline.bucket });
      const store = new DynamoDbPipelineStore({ client: ddb, tableName: pipeline.table, pipeline: pipeline.name, objects });
      const deadline = Date.now() + 60_000;
      let status = await store.getStatus();
      while (!status || status.lastFinalized < end) {
        // A bundle that cannot load fails every invocation the same way: say so now rather than in 60 s.
        const broken = events.find((e) => e.type === "result" && /Runtime\.(ImportModuleError|HandlerNotFound)/.test(e.error ?? ""));
        if (broken) throw new Error(`the bundled function cannot load: ${(broken as { error?: string }).error}`);
        if (Date.now() > deadline) {
          const failures = events.filter((e) => e.type === "result" && e.outcome !== "success" && e.outcome !== "partial").slice(-3);
          throw new Error(`not finalized up to ${end} within 60 s (status ${JSON.stringify(status)}); last failures: ${JSON.stringify(failures)}`);
        }
        await new Promise((r) => setTimeout(r, 250));
        status = await store.getStatus();
      }
      const zero = status.zeroTime;

      // The local engine on the same records, cut into the batches the serverless run used (arrival time).
      const batches: string[][] = [];
      const ordered = records.sort((a, b) => (a.shardId < b.shardId ? -1 : a.shardId > b.shardId ? 1 : BigInt(a.record.SequenceNumber!) < BigInt(b.record.SequenceNumber!) ? -1 : 1));
      for (let t = zero + B; t <= end; t += B) {
        batches.push(
          ordered
            .filter(({ record }) => Math.max(Math.floor(arrival(record) / B) * B + B, zero + B) === t)
            .map(({ record }) => Buffer.from(record.Data!).toString("utf8")),
        );
      }
      expect(batches.flat()).toHaveLength(lines.length);
      const clock = new ManualClock(zero);
      const printedLocally = new Map<number, string[]>();
      const parse = printBlockParser((time, ls) => printedLocally.set(time, ls));
      const checkpointDir = join(stateDir, "local-engine");
      const ssc = wordCount.on(new QueueSource(batches), { clock, checkpointDir, out: (text) => text.split("\n").forEach(parse) });
      const files = new Map<string, string>();
      ssc.graph.writeBatch = async (path, partitions) => void files.set(path, partitions.map((p) => p.map((l) => `${l}\n`).join("")).join(""));
      await ssc.start();
      await clock.advance(end - zero);
      await ssc.stop();
      expect(files.size).toBe(3 * ((end - zero) / B)); // batch, window and totals for every batch time

      // Every output directory of the local run is in the bucket, complete (_SUCCESS), with the same lines.
      const prefix = `output/${pipeline.name}/`;
      for (const [path, content] of files) {
        const keys = await objects.list(`${prefix}${path}/`);
        expect(keys, path).toContain(`${prefix}${path}/_SUCCESS`);
        const parts = keys.filter((k) => /\/part-\d{5}$/.test(k)).sort();
        const text = (await Promise.all(parts.map((k) => objects.get(k)))).join("");
        expect(text, path).toBe(content);
      }

      // The same, stated without batch boundaries: the final totals and the sum of the per-batch counts are
      // the word counts of all lines.
      const expected = countWords(lines);
      const totals = parsePairs((await objects.get(`${prefix}word-count/totals-${end}.txt/part-00000`)) ?? "");
      expect(totals).toEqual(expected);
      const summed = new Map<string, number>();
      for (let t = zero + B; t <= end; t += B) {
        for (const [w, n] of parsePairs((await objects.get(`${prefix}word-count/batch-${t}.txt/part-00000`)) ?? "")) summed.set(w, (summed.get(w) ?? 0) + n);
      }
      expect(summed).toEqual(expected);

      // print(): the blocks in the functions' output are the local engine's (the last print of a time wins: a
      // re-run batch prints again).
      const printedRemotely = new Map<number, readonly string[]>();
      for (const e of events) if (e.type === "printed") printedRemotely.set(e.time, e.lines);
      for (const [time, ls] of printedLocally) expect(printedRemotely.get(time), `print at ${time}`).toEqual(ls);

      // What the stack reported on the way.
      const delivered = events.filter((e) => e.type === "result" && e.source === "mapping" && e.outcome === "success").reduce((n, e) => n + ((e as { records?: number }).records ?? 0), 0);
      expect(delivered).toBeGreaterThanOrEqual(lines.length);
      expect(events.some((e) => e.type === "invoke" && e.source === "schedule")).toBe(true);
      await expect.poll(() => events.some((e) => e.type === "batch-finalized" && e.time === lastBatch), { timeout: 5_000 }).toBe(true);
      await expect.poll(() => events.some((e) => e.type === "output" && e.directory === `${prefix}word-count/totals-${lastBatch}.txt/`), { timeout: 5_000 }).toBe(true);
      expect(events.some((e) => e.type === "lag")).toBe(true);
    } finally {
      ddb.destroy();
      s3.destroy();
    }
  }, 90_000);

  it("stops and leaves nothing running: no kinesis-mock, no sandbox, no stack.json", async () => {
    const pid = stack.kinesisMockPid;
    expect(isProcessAlive(pid)).toBe(true);
    expect(await readStackFile(stateDir)).toMatchObject({ pid: process.pid });
    await stack.stop();
    expect(isProcessAlive(pid)).toBe(false);
    expect(stack.stats().functions.every((f) => f.sandboxes === 0)).toBe(true);
    expect(stack.stats().mappings.every((m) => m.poller.state === "stopped")).toBe(true);
    expect(await readStackFile(stateDir, { includeStale: true })).toBeUndefined();
    expect(process.getActiveResourcesInfo().filter((r) => r === "Worker" || r === "MessagePort")).toEqual([]);
  }, 30_000);
});

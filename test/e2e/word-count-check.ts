/**
 * The word-count app checked end to end against a deployed stack, wherever it runs (the embedded local stack,
 * or LocalStack): a fixed dataset pushed with PutRecords, the run waited to completion through the status
 * item, and the S3 outputs compared with what the local engine produces for the same records in the same
 * batches — and, stated without batch boundaries, the final totals and the summed per-batch counts equal a
 * plain word count of the lines.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, PutRecordsCommand, type _Record } from "@aws-sdk/client-kinesis";
import { expect } from "vitest";
import { wordCount } from "../../functions/word-count.js";
import { ManualClock } from "../../lib/exec/clock.js";
import { dynamoDbClient, kinesisClient, s3Client } from "../../lib/io/aws-clients.js";
import { QueueSource } from "../../lib/io/queue-source.js";
import { S3ObjectStore } from "../../lib/io/s3-object-store.js";
import { DynamoDbPipelineStore } from "../../lib/pipeline-store/dynamodb-pipeline-store.js";

/** The word-count window (reduceByKeyAndWindow over 15 s): the last batch is in windows up to 10 s after it. */
export const WINDOW_MS = 15_000;

export interface DeployedWordCount {
  readonly endpoints: { readonly kinesis?: string; readonly dynamodb?: string; readonly s3?: string };
  readonly pipeline: { readonly name: string; readonly stream: string; readonly table: string; readonly bucket: string; readonly batchIntervalMs: number };
  /** How long to wait for the last window to be finalized (a quiet stream needs a tick). */
  readonly finalizeWithinMs: number;
  /** Called while waiting: throw to stop early with a reason (a bundle that cannot load, say). */
  readonly whileWaiting?: () => void;
  /**
   * The finalizer partitions it runs with: each output directory then has a part file per partition, each
   * holding that partition's keys, so the local engine's lines are compared as a multiset. @default 1
   */
  readonly partitions?: number;
}

export interface WordCountRun {
  readonly lines: string[];
  readonly lastBatch: number;
  readonly end: number;
  readonly zero: number;
  /** print() blocks of the local engine's run, by batch time. */
  readonly printedLocally: Map<number, string[]>;
}

/** A small, fixed dataset: 3 waves of lines, a few seconds apart so they span more than one 5 s batch. */
export function dataset(): string[][] {
  const words = ["spark", "lambda", "kinesis", "stream", "window", "state", "batch", "Spark", "shard", "it's"];
  let seed = 7;
  const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  return [0, 1, 2].map((wave) =>
    Array.from({ length: 12 }, (_, i) => Array.from({ length: 1 + next(6) }, () => words[next(words.length)]).join(i % 3 === 0 ? ", " : " ") + (wave === 2 && i === 0 ? "!" : "")),
  );
}

/** Every record of the stream, read back with its arrival time (what the shard handler batched it by). */
export async function readBack(kinesisEndpoint: string | undefined, stream: string, expected: number): Promise<{ shardId: string; record: _Record }[]> {
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

export async function checkWordCount(target: DeployedWordCount, parsePrinted: (onBlock: (time: number, lines: string[]) => void) => (line: string) => void): Promise<WordCountRun> {
  const { pipeline, endpoints } = target;

  // Push the dataset in waves, through the SDK as any producer would.
  const waves = dataset();
  const kinesis = kinesisClient({ endpoint: endpoints.kinesis });
  try {
    for (const [i, wave] of waves.entries()) {
      if (i > 0) await new Promise((r) => setTimeout(r, 3_000));
      const res = await kinesis.send(new PutRecordsCommand({ StreamName: pipeline.stream, Records: wave.map((line, j) => ({ Data: Buffer.from(line), PartitionKey: `k${i}-${j}` })) }));
      expect(res.FailedRecordCount ?? 0).toBe(0);
    }
  } finally {
    kinesis.destroy();
  }
  return checkAgainstLocalEngine(target, waves.flat(), parsePrinted);
}

/**
 * The stream must hold exactly `lines` (in any order); waits until the run has finalized the last window holding
 * them, then compares every output with the local engine's on the same records in the same batches.
 */
export async function checkAgainstLocalEngine(
  target: DeployedWordCount,
  lines: string[],
  parsePrinted: (onBlock: (time: number, lines: string[]) => void) => (line: string) => void,
): Promise<WordCountRun> {
  const { pipeline, endpoints } = target;
  const B = pipeline.batchIntervalMs;
  const records = await readBack(endpoints.kinesis, pipeline.stream, lines.length);
  expect(records.map(({ record }) => Buffer.from(record.Data!).toString("utf8")).sort()).toEqual([...lines].sort());
  const arrival = (r: _Record) => r.ApproximateArrivalTimestamp!.getTime();
  const lastBatch = Math.max(...records.map(({ record }) => Math.floor(arrival(record) / B) * B + B));
  const end = lastBatch + WINDOW_MS - B;

  // Wait until the status item says the last window holding the last batch is finalized.
  const ddb = dynamoDbClient({ endpoint: endpoints.dynamodb });
  const s3 = s3Client({ endpoint: endpoints.s3 });
  try {
    const objects = new S3ObjectStore({ client: s3, bucket: pipeline.bucket });
    const store = new DynamoDbPipelineStore({ client: ddb, tableName: pipeline.table, pipeline: pipeline.name, objects });
    const deadline = Date.now() + target.finalizeWithinMs;
    let status = await store.getStatus();
    while (!status || status.lastFinalized < end) {
      target.whileWaiting?.();
      if (Date.now() > deadline) throw new Error(`not finalized up to ${end} within ${target.finalizeWithinMs} ms (status ${JSON.stringify(status)})`);
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
    const parse = parsePrinted((time, ls) => printedLocally.set(time, ls));
    const files = new Map<string, string>();
    const ssc = wordCount.on(new QueueSource(batches), {
      clock,
      checkpointDir: await mkdtemp(join(tmpdir(), "sparkless-e2e-local-")),
      out: (text) => text.split("\n").forEach(parse),
      writeBatch: async (path, partitions) => void files.set(path, partitions.map((p) => p.map((l) => `${l}\n`).join("")).join("")),
    });
    await ssc.start();
    await clock.advance(end - zero);
    await ssc.stop();
    expect(files.size).toBe(3 * ((end - zero) / B)); // batch, window and totals for every batch time

    // Every output directory of the local run is in the bucket, complete (_SUCCESS), with the same lines.
    const prefix = `output/${pipeline.name}/`;
    const P = target.partitions ?? 1;
    const sortedLines = (text: string) => text.split("\n").filter(Boolean).sort();
    const read = async (dir: string) => {
      const keys = await objects.list(`${prefix}${dir}/`);
      expect(keys, dir).toContain(`${prefix}${dir}/_SUCCESS`);
      const parts = keys.filter((k) => /\/part-\d{5}$/.test(k)).sort();
      if (P > 1) expect(parts, dir).toEqual(Array.from({ length: P }, (_, p) => `${prefix}${dir}/part-${String(p).padStart(5, "0")}`));
      return (await Promise.all(parts.map((k) => objects.get(k)))).join("");
    };
    for (const [path, content] of files) {
      const text = await read(path);
      // One partition keeps the local engine's order; several hold each key in its own partition's file.
      if (P === 1) expect(text, path).toBe(content);
      else expect(sortedLines(text), path).toEqual(sortedLines(content));
    }

    // The same, stated without batch boundaries: the final totals and the sum of the per-batch counts are
    // the word counts of all lines.
    const expected = countWords(lines);
    const totalsText = await read(`word-count/totals-${end}.txt`);
    const totals = parsePairs(totalsText);
    expect(totals).toEqual(expected);
    // Each word once, in one partition's file only.
    expect(sortedLines(totalsText)).toHaveLength(expected.size);
    const summed = new Map<string, number>();
    for (let t = zero + B; t <= end; t += B) {
      for (const [w, n] of parsePairs(await read(`word-count/batch-${t}.txt`))) summed.set(w, (summed.get(w) ?? 0) + n);
    }
    expect(summed).toEqual(expected);
    return { lines, lastBatch, end, zero, printedLocally };
  } finally {
    ddb.destroy();
    s3.destroy();
  }
}

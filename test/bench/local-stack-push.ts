/**
 * `npm run bench -- local-stack`: `sparkless push` of ~100-byte lines into the embedded stack's Kinesis, with its
 * data on disk as the stack keeps it, on the previous design (kinesis-mock, npm `kinesis-local`, saving its data
 * file every second) and on ours (tooling/kinesis, a journal line per PutRecords) — the same lines, the same
 * push code, in the same run. Then, on ours only: 50,000 and 1,000,000 lines (the rate per tenth of the 1M
 * push shows whether it falls as the stream grows), and end to end — push to finalized output — on the embedded
 * stack running the word-count example.
 *
 *     npm run bench -- local-stack --runs 1              # a quick look
 *     npm run bench -- local-stack --scale 0.1           # everything a tenth the size
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { CreateStreamCommand } from "@aws-sdk/client-kinesis";
import { mulberry32 } from "../../examples/support.js";
import { kinesisClient } from "../../lib/io/aws-clients.js";
import { push } from "../../tooling/cli/commands/push.js";
import type { CliIo } from "../../tooling/cli/io.js";
import { startKinesis } from "../../tooling/emulators/index.js";
import type { RunningEmulator } from "../../tooling/emulators/types.js";
import { startLocalStack } from "../../tooling/stack/index.js";
import { DynamoDbPipelineStore } from "../../lib/pipeline-store/dynamodb-pipeline-store.js";
import { S3ObjectStore } from "../../lib/io/s3-object-store.js";
import { dynamoDbClient, s3Client } from "../../lib/io/aws-clients.js";
import type { BenchmarkFactory, Measurement } from "./harness.js";
import { startKinesisMock } from "./previous/kinesis-mock.js";
import type { BenchmarkWithNotes } from "./serverless.js";

const WORDS = ["spark", "lambda", "kinesis", "stream", "window", "state", "batch", "shard", "river", "stone", "finch", "otter"];

/** `count` lines of about 100 bytes of words, the same for a seed. */
function lines(count: number, seed = 7): string[] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, () => {
    let line = "";
    while (line.length < 95) line += `${WORDS[Math.floor(random() * WORDS.length)]} `;
    return line.trimEnd();
  });
}

function quietIo(stdin: string): CliIo {
  return {
    stdout: { write: () => true, isTTY: false },
    stderr: { write: () => true, isTTY: false },
    stdin: Readable.from([stdin]),
    env: {},
    cwd: process.cwd(),
    signal: new AbortController().signal,
  } as unknown as CliIo;
}

/** Pushes `text` with `sparkless push` to a new 1-shard stream on `emulator`; returns the milliseconds it took. */
async function timedPush(emulator: RunningEmulator, text: string, stream: string): Promise<number> {
  const kinesis = kinesisClient({ endpoint: emulator.endpoint });
  try {
    await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
  } finally {
    kinesis.destroy();
  }
  const started = performance.now();
  const code = await push(quietIo(text), stream, "-", { endpoint: emulator.endpoint, region: "us-east-1" });
  if (code !== 0) throw new Error(`push exited ${code}`);
  return performance.now() - started;
}

async function onEmulator(start: (dataDir: string) => Promise<RunningEmulator>, work: (e: RunningEmulator) => Promise<number>): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), "sparkless-bench-kinesis-"));
  const emulator = await start(dataDir);
  try {
    return await work(emulator);
  } finally {
    await emulator.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const previous = (dataDir: string) => startKinesisMock({ dataDir });
const ours = (dataDir: string) => startKinesis({ dataDir });

export const localStackPush: BenchmarkFactory = ({ scale }): BenchmarkWithNotes => {
  // The previous design takes minutes for 50,000 lines (and slows as its stream fills): it is compared on fewer.
  const compared = Math.max(500, Math.round(5_000 * scale));
  const text = `${lines(compared).join("\n")}\n`;
  let run = 0;
  return {
    name: "local-stack-push",
    title: `sparkless push of ${compared.toLocaleString("en-US")} lines of ~100 bytes into the local Kinesis, data on disk`,
    units: { lines: compared },
    variants: [
      { name: "kinesis-mock (previous)", run: async () => ({ ms: await onEmulator(previous, (e) => timedPush(e, text, `s${run++}`)), result: compared }) },
      { name: "own emulator (journal)", run: async () => ({ ms: await onEmulator(ours, (e) => timedPush(e, text, `s${run++}`)), result: compared }) },
    ],
    notes: async (measurements: readonly Measurement[]) => {
      const out: string[] = [];
      const rate = (n: number, ms: number) => `${Math.round(n / (ms / 1000)).toLocaleString("en-US")} lines/s`;
      const previousRate = compared / (measurements[0]!.median / 1000);

      const fifty = Math.round(50_000 * scale);
      const ms50 = await onEmulator(ours, (e) => timedPush(e, `${lines(fifty).join("\n")}\n`, "fifty"));
      out.push(`push ${fifty.toLocaleString("en-US")} lines: own emulator ${(ms50 / 1000).toFixed(1)} s (${rate(fifty, ms50)}); ` +
        `kinesis-mock ~${(fifty / previousRate).toFixed(0)} s extrapolated from its ${compared.toLocaleString("en-US")}-line rate (a lower bound: it slows as its stream fills)`);

      // 1M in ten successive pushes to one stream: each tenth's rate shows whether it falls as the stream grows.
      const million = Math.round(1_000_000 * scale);
      const tenth = `${lines(million / 10, 11).join("\n")}\n`;
      const tenths: number[] = [];
      await onEmulator(ours, async (e) => {
        const kinesis = kinesisClient({ endpoint: e.endpoint });
        await kinesis.send(new CreateStreamCommand({ StreamName: "million", ShardCount: 1 }));
        kinesis.destroy();
        for (let i = 0; i < 10; i++) {
          const started = performance.now();
          if ((await push(quietIo(tenth), "million", "-", { endpoint: e.endpoint, region: "us-east-1" })) !== 0) throw new Error("push failed");
          tenths.push(performance.now() - started);
        }
        return 0;
      });
      const total = tenths.reduce((a, b) => a + b, 0);
      out.push(`push ${million.toLocaleString("en-US")} lines: own emulator ${(total / 1000).toFixed(1)} s (${rate(million, total)}); ` +
        `kinesis-mock ~${(million / previousRate / 60).toFixed(0)} min extrapolated (lower bound)`);
      out.push(`  rate per tenth as the stream grows: ${tenths.map((ms) => Math.round(million / 10 / (ms / 1000)).toLocaleString("en-US")).join(", ")} lines/s`);

      out.push(await endToEnd(fifty));
      return `${out.join("\n")}\n`;
    },
  };
};

/**
 * The word-count example on the embedded stack (synthesized once): `n` lines pushed, timed until the pipeline
 * has finalized the batch of the last record.
 */
async function endToEnd(n: number): Promise<string> {
  const stateDir = mkdtempSync(join(tmpdir(), "sparkless-bench-stack-"));
  const stack = await startLocalStack({ stateDir, fresh: true, log: () => {}, onEvent: () => {}, tickerIntervalMs: 1000 });
  const ddb = dynamoDbClient({ endpoint: stack.endpoints.dynamodb });
  const s3 = s3Client({ endpoint: stack.endpoints.s3 });
  try {
    const pipeline = stack.stackFile.stacks.flatMap((s) => s.pipelines)[0]!;
    const store = new DynamoDbPipelineStore({ client: ddb, tableName: pipeline.table, pipeline: pipeline.name, objects: new S3ObjectStore({ client: s3, bucket: pipeline.bucket }) });
    const text = `${lines(n, 13).join("\n")}\n`;
    const started = Date.now();
    if ((await push(quietIo(text), pipeline.stream, "-", { endpoint: stack.endpoints.kinesis, region: stack.region })) !== 0) throw new Error("push failed");
    const pushed = Date.now();
    const B = pipeline.batchIntervalMs ?? 5_000;
    const lastBatch = Math.floor(pushed / B) * B + B;
    const cap = pushed + 15 * 60_000;
    for (;;) {
      const status = await store.getStatus();
      if (status && status.lastFinalized >= lastBatch) break;
      if (Date.now() > cap) throw new Error(`batch ${lastBatch} not finalized within 15 minutes`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const done = Date.now();
    return `end to end, ${n.toLocaleString("en-US")} lines pushed to word-count on the embedded stack: finalized ${((done - started) / 1000).toFixed(1)} s after the push began ` +
      `(${Math.round(n / ((done - started) / 1000)).toLocaleString("en-US")} records/s; the batch interval is ${B / 1000} s, so up to one interval of that is waiting for the batch to end)`;
  } finally {
    ddb.destroy();
    s3.destroy();
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateStreamCommand, ListShardsCommand, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDbClient, kinesisClient, s3Client } from "../../lib/io/aws-clients.js";
import { S3ObjectStore } from "../../lib/io/s3-object-store.js";
import { main } from "../../tooling/cli/index.js";
import type { PipelineStatusReport } from "../../tooling/cli/pipeline-status.js";
import { DynamoDbPipelineStore } from "../../lib/pipeline-store/dynamodb-pipeline-store.js";
import { testIo, writeStackFile } from "../support/cli.js";
import { useEmulators, createPipelineTable } from "../support/emulators.js";

const emu = useEmulators();
const STREAM = "status-stream";
const TABLE = "status-table";
const BUCKET = "status-bucket";
const PIPELINE = "word-count";
const ZERO = 1_700_000_000_000;
const B = 5_000;

let dir: string;
let stateDir: string;
/** Sequence numbers put to each shard, in order. */
const seqs: Record<string, string[]> = {};
let shard0: string;
let shard1: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sparkless-cli-status-"));
  stateDir = join(dir, ".sparkless");
  const kinesis = kinesisClient({ endpoint: emu.kinesis.endpoint });
  const ddb = dynamoDbClient({ endpoint: emu.dynamodb.endpoint });
  const s3 = s3Client({ endpoint: emu.s3.endpoint });
  await kinesis.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 2 }));
  await createPipelineTable(ddb, TABLE);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));

  // 5 records to the first shard, 3 to the second (explicit hash keys at the bottom and top of the range).
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: STREAM }))).Shards!;
  [shard0, shard1] = [shards[0]!.ShardId!, shards[1]!.ShardId!];
  const hashOf = (i: number) => shards[i]!.HashKeyRange!.StartingHashKey!;
  for (const [i, n] of [[0, 5], [1, 3]] as const) {
    const res = await kinesis.send(
      new PutRecordsCommand({ StreamName: STREAM, Records: Array.from({ length: n }, (_, j) => ({ Data: Buffer.from(`r${j}`), PartitionKey: "k", ExplicitHashKey: hashOf(i) })) }),
    );
    seqs[shards[i]!.ShardId!] = res.Records!.map((r) => r.SequenceNumber!);
  }

  // The pipeline's state, as the runtime would have left it: batch ZERO+B finalized; the first shard committed
  // up to its third record with its watermark at ZERO+3B; the second shard has only a probe's watermark (ZERO+2B).
  const objects = new S3ObjectStore({ client: s3, bucket: BUCKET });
  const store = new DynamoDbPipelineStore({ client: ddb, tableName: TABLE, pipeline: PIPELINE, objects });
  expect(await store.createStatus({ zeroTime: ZERO, lastFinalized: ZERO, graphHash: "g1" })).toBe(true);
  const lease = (await store.acquireLease("finalizer", ZERO, 60_000))!;
  expect(await store.advanceStatus(ZERO, ZERO + B, lease.token)).toBe(true);
  expect(await store.commit({ shardId: shard0, expected: { watermark: 0 }, seq: seqs[shard0]![2]!, watermark: ZERO + 3 * B, times: [ZERO + 2 * B], attemptId: "a1" })).toBe(true);
  expect(await store.advanceWatermark(shard1, { watermark: 0 }, ZERO + 2 * B, false)).toBe(true);
  // Dead letters: two records and a failed batch; and one discard of the event-source mapping.
  await objects.put(`dead-letter/${PIPELINE}/${shard0}/${seqs[shard0]![0]}.json`, JSON.stringify({ error: "bad" }));
  await objects.put(`dead-letter/${PIPELINE}/${shard0}/${seqs[shard0]![1]}.json`, JSON.stringify({ error: "bad" }));
  await objects.put(`dead-letter/${PIPELINE}/batches/${ZERO + B}.json`, JSON.stringify({ batchTime: ZERO + B, error: "boom" }));
  await objects.put(`aws/lambda/uuid/${shard1}/2024/01/01/x`, "{}");
  // Another pipeline's dead letter in the same bucket does not count.
  await objects.put(`dead-letter/other/${shard0}/1.json`, "{}");
  kinesis.destroy();
  ddb.destroy();
  s3.destroy();

  writeStackFile(stateDir, {
    region: "us-east-1",
    endpoints: { kinesis: emu.kinesis.endpoint, dynamodb: emu.dynamodb.endpoint, s3: emu.s3.endpoint },
    stacks: [
      {
        name: "SparklessWordCount",
        streams: [{ logicalId: "WordCountStream", name: STREAM }],
        tables: [{ logicalId: "WordCountTable", name: TABLE }],
        buckets: [{ logicalId: "WordCountBucket", name: BUCKET }],
        functions: [],
        pipelines: [{ name: PIPELINE, stream: STREAM, table: TABLE, bucket: BUCKET, batchIntervalMs: B }],
      },
    ],
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("sparkless status", () => {
  it("shows per shard the committed sequence number, watermark, records behind and drained; finalized and pending batches; dead letters", async () => {
    const t = testIo({ cwd: dir });
    expect(await main(["status"], t.io)).toBe(0);
    const out = t.stdout();
    expect(t.stderr()).toBe("");

    expect(out).toContain(`pipeline word-count on the local stack: stream ${STREAM}, table ${TABLE}, bucket ${BUCKET}\n`);
    expect(out).toMatch(/last finalized +1700000005000 ms \(22:13:25Z\)\n/);
    expect(out).toMatch(/batch interval +5\.0 s\n/);
    // Both watermarks have passed ZERO+2B: that batch is complete; ZERO+3B waits for the second shard.
    expect(out).toMatch(/pending +1 batch complete, not yet finalized: 1700000010000 ms \(22:13:30Z\)\n/);
    expect(out).toContain(`next batch 1700000015000 ms (22:13:35Z) waits for ${shard1}\n`);
    expect(out).toMatch(/dead letters +2 records, 1 failed batch, 1 discarded by the event-source mapping\n/);
    // What `local up` shows on its live line, from the same report; no invocation counts from this stand-in stack.
    expect(out).toMatch(/^summary +pending 1 batch · lag shard 0: 2 records, oldest [\d.]+ m?s; shard 1: 3 records, oldest [\d.]+ m?s\n/m);

    const rows = out.split("\n").filter((l) => l.startsWith("shardId-"));
    const cells = rows.map((r) => r.split(/ {2,}/));
    expect(cells).toEqual([
      // 2 records after the committed third one; the oldest of them arrived moments ago.
      [shard0, seqs[shard0]![2], new Date(ZERO + 3 * B).toISOString(), "2", expect.stringMatching(/ms|s$/), "no"],
      // No commit yet: all 3 records are behind.
      [shard1, "-", new Date(ZERO + 2 * B).toISOString(), "3", expect.stringMatching(/ms|s$/), "no"],
    ]);
    expect(out).toMatch(/^SHARD +COMMITTED SEQUENCE NUMBER +WATERMARK +BEHIND +OLDEST +DRAINED$/m);
  });

  it("prints the same numbers as JSON", async () => {
    const t = testIo({ cwd: dir });
    expect(await main(["status", "--json"], t.io)).toBe(0);
    const r = JSON.parse(t.stdout()) as PipelineStatusReport;
    expect(r).toMatchObject({
      pipeline: PIPELINE,
      zeroTime: ZERO,
      lastFinalized: ZERO + B,
      graphHash: "g1",
      batchIntervalMs: B,
      pending: { ready: [ZERO + 2 * B], next: ZERO + 3 * B, waitingOn: [shard1] },
      deadLetters: { records: 2, batches: 1, discarded: 1 },
    });
    expect(r.shards.map((s) => [s.shardId, s.seq, s.watermark, s.recordsBehind, s.recordsBehindCapped, s.drained, s.closed])).toEqual([
      [shard0, seqs[shard0]![2], ZERO + 3 * B, 2, false, false, false],
      [shard1, undefined, ZERO + 2 * B, 3, false, false, false],
    ]);
    expect(r.shards[0]!.millisBehindLatest).toBeGreaterThanOrEqual(0);
  });

  it("reads named resources without a local stack (endpoints from the SDK's variables), the batch interval from the metadata checkpoint", async () => {
    const s3 = s3Client({ endpoint: emu.s3.endpoint });
    await new S3ObjectStore({ client: s3, bucket: BUCKET }).put(`checkpoint/${PIPELINE}/metadata.json`, JSON.stringify({ batchIntervalMs: B }));
    s3.destroy();
    const t = testIo({
      cwd: join(dir, "elsewhere"),
      env: { AWS_ENDPOINT_URL_KINESIS: emu.kinesis.endpoint, AWS_ENDPOINT_URL_DYNAMODB: emu.dynamodb.endpoint, AWS_ENDPOINT_URL_S3: emu.s3.endpoint },
    });
    expect(await main(["status", "--json", "--pipeline", PIPELINE, "--stream", STREAM, "--table", TABLE, "--bucket", BUCKET], t.io)).toBe(0);
    const r = JSON.parse(t.stdout()) as PipelineStatusReport;
    expect(r).toMatchObject({ batchIntervalMs: B, lastFinalized: ZERO + B, pending: { ready: [ZERO + 2 * B] } });
    expect(r.shards.map((s) => s.recordsBehind)).toEqual([2, 3]);
  });

  it("fails if the named resources are incomplete", async () => {
    const t = testIo({ cwd: dir });
    expect(await main(["status", "--table", TABLE], t.io)).toBe(2);
    expect(t.stderr()).toBe("sparkless: naming the resources needs --pipeline, --bucket, --stream as well (or none of them, to use the running local stack)\n");
  });

  it("fails if the local stack has no such pipeline", async () => {
    const t = testIo({ cwd: dir });
    expect(await main(["status", "--pipeline", "nope"], t.io)).toBe(2);
    expect(t.stderr()).toBe('sparkless: the local stack has no pipeline "nope"; it has: word-count\n');
  });
});

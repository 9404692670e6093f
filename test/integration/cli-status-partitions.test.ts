/**
 * `sparkless status` of a pipeline with finalizer partitions: one row per partition — how far it finalized, the
 * complete batches it has left, who holds its lease — read from the store's `listPartitionStatus`, with a
 * partition whose finalizer never ran shown at the zero time; and the summary line names the slowest partition.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateStreamCommand, ListShardsCommand } from "@aws-sdk/client-kinesis";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDbClient, kinesisClient, s3Client } from "../../lib/io/aws-clients.js";
import { S3ObjectStore } from "../../lib/io/s3-object-store.js";
import { DynamoDbPipelineStore } from "../../lib/pipeline-store/dynamodb-pipeline-store.js";
import { main } from "../../tooling/cli/index.js";
import type { PipelineStatusReport } from "../../tooling/cli/pipeline-status.js";
import { testIo, writeStackFile } from "../support/cli.js";
import { createPipelineTable, useEmulators } from "../support/emulators.js";

const emu = useEmulators();
const STREAM = "partitions-stream";
const TABLE = "partitions-table";
const BUCKET = "partitions-bucket";
const PIPELINE = "word-count";
const ZERO = 1_700_000_000_000;
const B = 5_000;
/** Far in the future, so the lease is held whenever the test reads it. */
const LEASE_TTL = 3_600_000;

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sparkless-cli-partitions-"));
  const kinesis = kinesisClient({ endpoint: emu.kinesis.endpoint });
  const ddb = dynamoDbClient({ endpoint: emu.dynamodb.endpoint });
  const s3 = s3Client({ endpoint: emu.s3.endpoint });
  await kinesis.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 1 }));
  await createPipelineTable(ddb, TABLE);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const shardId = (await kinesis.send(new ListShardsCommand({ StreamName: STREAM }))).Shards![0]!.ShardId!;

  // Three partitions; the shard's watermark has passed ZERO+3B, so batches B..3B are complete. Partition 0 has
  // finalized up to 2B, partition 1 up to B and still holds its lease, partition 2 never ran.
  const store = new DynamoDbPipelineStore({ client: ddb, tableName: TABLE, pipeline: PIPELINE, objects: new S3ObjectStore({ client: s3, bucket: BUCKET }) });
  expect(await store.createStatus({ zeroTime: ZERO, lastFinalized: ZERO, graphHash: "g1", partitions: 3 })).toBe(true);
  expect(await store.advanceWatermark(shardId, { watermark: 0 }, ZERO + 3 * B, false)).toBe(true);
  const now = Date.now();
  const p0 = (await store.acquirePartitionLease(0, "finalizer-a", now, LEASE_TTL))!;
  expect(await store.advanceStatus(ZERO, ZERO + B, p0.token, 0)).toBe(true);
  expect(await store.advanceStatus(ZERO + B, ZERO + 2 * B, p0.token, 0)).toBe(true);
  await store.releaseLease(p0);
  const p1 = (await store.acquirePartitionLease(1, "finalizer-b", now, LEASE_TTL))!;
  expect(await store.advanceStatus(ZERO, ZERO + B, p1.token, 1)).toBe(true);
  kinesis.destroy();
  ddb.destroy();
  s3.destroy();

  writeStackFile(join(dir, ".sparkless"), {
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

describe("sparkless status with finalizer partitions", () => {
  it("reports every partition's last finalized batch, the complete batches it has left and its lease", async () => {
    const t = testIo({ cwd: dir });
    expect(await main(["status", "--json"], t.io)).toBe(0);
    const r = JSON.parse(t.stdout()) as PipelineStatusReport;
    expect(r.pending.ready).toEqual([ZERO + B, ZERO + 2 * B, ZERO + 3 * B]);
    expect(r.partitions).toEqual([
      // A released lease keeps its last owner, expired.
      { partition: 0, lastFinalized: ZERO + 2 * B, leaseOwner: "finalizer-a", leaseExpiresAt: expect.any(Number), behind: 1 },
      { partition: 1, lastFinalized: ZERO + B, leaseOwner: "finalizer-b", leaseExpiresAt: expect.any(Number), behind: 2 },
      { partition: 2, lastFinalized: ZERO, behind: 3 },
    ]);
    expect(r.partitions![0]!.leaseExpiresAt).toBeLessThanOrEqual(Date.now());
    expect(r.partitions![1]!.leaseExpiresAt).toBeGreaterThan(Date.now());
  });

  it("prints a row per partition and names the slowest one in the summary", async () => {
    const t = testIo({ cwd: dir });
    expect(await main(["status"], t.io)).toBe(0);
    const out = t.stdout();
    expect(out).toMatch(/^summary +pending 3 batches · partitions 3, slowest p2 \(3 batches behind\) · lag /m);
    expect(out).toMatch(/^PARTITION +LAST FINALIZED +BEHIND +LEASE$/m);
    const rows = out.split("\n").filter((l) => /^p\d /.test(l)).map((l) => l.split(/ {2,}/));
    expect(rows).toEqual([
      ["p0", "1700000010000 ms (22:13:30Z)", "1", "free"],
      ["p1", "1700000005000 ms (22:13:25Z)", "2", expect.stringMatching(/^finalizer-b \((\d+ (h|min|s) ?)+ left\)$/)],
      ["p2", "none yet", "3", "-"],
    ]);
  });
});

/**
 * The UI's stack monitor against the emulators, on a pipeline's table, bucket and stream left as the runtime
 * leaves them: records per batch counted from the stream by arrival, a completed batch's delays from its output
 * directories' write times, the shards and summary of `sparkless status`, dead letters with their reason and
 * batch, a failed batch, and the totals operator's keys and bytes. The server serves it, and nothing else.
 */
import { CreateStreamCommand, ListShardsCommand, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeValue } from "../../lib/core/codec.js";
import { dynamoDbClient, kinesisClient, s3Client } from "../../lib/io/aws-clients.js";
import { S3ObjectStore } from "../../lib/io/s3-object-store.js";
import { DynamoDbPipelineStore } from "../../lib/pipeline-store/dynamodb-pipeline-store.js";
import { collectStatus } from "../../tooling/cli/pipeline-status.js";
import { statusSummary } from "../../tooling/cli/status-summary.js";
import type { PipelineTarget } from "../../tooling/cli/target.js";
import { startUiServer, type UiServer } from "../../tooling/ui/server.js";
import type { UiSnapshot } from "../../tooling/ui/snapshot.js";
import { StackMonitor } from "../../tooling/ui/stack-monitor.js";
import { createPipelineTable, useEmulators } from "../support/emulators.js";

const emu = useEmulators();
const B = 2_000;
const PIPELINE = "wc";
let target: PipelineTarget;
let monitor: StackMonitor;
let server: UiServer;
let T: number;
let zero: number;
let shardId: string;
let seqs: string[];

beforeAll(async () => {
  target = {
    pipeline: PIPELINE,
    stream: "ui-stream",
    table: "ui-table",
    bucket: "ui-bucket",
    batchIntervalMs: B,
    endpoints: { kinesis: emu.kinesis.endpoint, dynamodb: emu.dynamodb.endpoint, s3: emu.s3.endpoint },
    region: "us-east-1",
    local: false,
    where: "the emulators",
  };
  const kinesis = kinesisClient({ endpoint: emu.kinesis.endpoint });
  const ddb = dynamoDbClient({ endpoint: emu.dynamodb.endpoint });
  const s3 = s3Client({ endpoint: emu.s3.endpoint });
  await kinesis.send(new CreateStreamCommand({ StreamName: target.stream, ShardCount: 1 }));
  await createPipelineTable(ddb, target.table);
  await s3.send(new CreateBucketCommand({ Bucket: target.bucket }));
  shardId = (await kinesis.send(new ListShardsCommand({ StreamName: target.stream }))).Shards![0]!.ShardId!;

  // Three records arrive now: their batch is T.
  const put = await kinesis.send(new PutRecordsCommand({ StreamName: target.stream, Records: ["a b", "b", "c"].map((l) => ({ Data: Buffer.from(l), PartitionKey: "k" })) }));
  seqs = put.Records!.map((r) => r.SequenceNumber!);
  const arrival = Date.now();
  T = Math.floor(arrival / B) * B + B;
  zero = T - 3 * B;

  // As the runtime leaves it: T finalized, the shard committed past its records, T's outputs and totals written.
  const objects = new S3ObjectStore({ client: s3, bucket: target.bucket });
  const store = new DynamoDbPipelineStore({ client: ddb, tableName: target.table, pipeline: PIPELINE, objects });
  await objects.put(
    `checkpoint/${PIPELINE}/graphs/g1.json`,
    JSON.stringify({
      graph: {
        batchDurationMs: B,
        nodes: [
          { id: "kinesis-1", kind: "input", parents: [], slideMs: B },
          { id: "totals", kind: "updateStateByKey", parents: ["kinesis-1"], slideMs: B },
          { id: "saveAsTextFiles-2", kind: "saveAsTextFiles", parents: ["totals"], slideMs: B, prefix: "out/totals", suffix: "txt" },
        ],
      },
      checkpointIntervals: {},
    }),
  );
  expect(await store.createStatus({ zeroTime: zero, lastFinalized: zero, graphHash: "g1" })).toBe(true);
  const lease = (await store.acquireLease("f", Date.now(), 60_000))!;
  for (let t = zero + B; t <= T; t += B) {
    await objects.put(`output/${PIPELINE}/out/totals-${t}.txt/part-00000`, t === T ? "(a,1)\n(b,2)\n(c,1)\n" : "");
    await objects.put(`output/${PIPELINE}/out/totals-${t}.txt/_SUCCESS`, "");
    expect(await store.putMemory("totals", t, encodeValue(t === T ? [[["a", 1], ["b", 2], ["c", 1]]] : [[]]), Date.now() + 3600_000, lease.token)).toBe(true);
    expect(await store.advanceStatus(t - B, t, lease.token)).toBe(true);
  }
  expect(await store.commit({ shardId, expected: { watermark: 0 }, seq: seqs[2]!, watermark: T + B, times: [T], attemptId: "a1" })).toBe(true);
  await objects.put(
    `dead-letter/${PIPELINE}/${shardId}/${seqs[1]}.json`,
    JSON.stringify({ shardId, sequenceNumber: seqs[1], arrivalTime: arrival, operator: "map at app.ts:3", error: "boom", data: Buffer.from("b").toString("base64") }),
  );
  await objects.put(`dead-letter/${PIPELINE}/batches/${T}.json`, JSON.stringify({ batchTime: T, error: "foreachRDD threw" }));
  kinesis.destroy();
  ddb.destroy();
  s3.destroy();

  monitor = new StackMonitor({ target, refreshMs: 200 });
  server = await startUiServer({ monitor });
});

afterAll(async () => {
  await server?.close();
});

const get = async (path: string) => fetch(new URL(path, server.url));

describe("the stack monitor", () => {
  it("counts the stream's records into the batch they arrived in", async () => {
    const s = (await (await get("/api/snapshot")).json()) as UiSnapshot;
    expect(s.warnings).toEqual([]);
    expect(s.batches.find((b) => b.time === T)).toMatchObject({ time: T, state: "failed", records: 3, outputs: 1, deadLetters: 1, lateRecords: 0 });
    expect(s.batches.find((b) => b.time === T - B)).toMatchObject({ state: "completed", records: 0, outputs: 1 });
  });

  it("takes a batch's delays from its output directories' write times", async () => {
    const s = await monitor.snapshot();
    for (const b of s.batches.filter((b) => b.state === "completed" || b.state === "failed")) {
      expect(b.totalDelayMs, String(b.time)).toBeGreaterThanOrEqual(0);
      expect(b.totalDelayMs).toBe(b.schedulingDelayMs! + b.processingMs!);
    }
    // Active on top, then pending (the shard's watermark has passed T + B: complete, not finalized), then the
    // completed ones newest first.
    const rank = s.batches.map((b) => ({ active: 0, pending: 1, completed: 2, failed: 2 })[b.state]);
    expect(rank).toEqual([...rank].sort());
    expect(s.batches.filter((b) => b.state === "pending").map((b) => b.time)).toEqual([T + B]);
    expect(s.batches.filter((b) => b.state === "completed" || b.state === "failed").map((b) => b.time)).toEqual([T, T - B, T - 2 * B]);
  });

  it("reports the shards and summary line `sparkless status` reports", async () => {
    const [s, report] = [await monitor.snapshot(), await collectStatus(target)];
    expect(s.lastFinalized).toBe(report.lastFinalized);
    expect(s.shards).toEqual(report.shards.map((sh) => ({ id: sh.shardId, closed: sh.closed, position: sh.seq, watermark: sh.watermark, recordsBehind: sh.recordsBehind, recordsBehindCapped: false, drained: false })));
    expect(s.summary).toBe(statusSummary(report, s.takenAt).line);
  });

  it("lists the dead letter with its reason, operator, bytes and batch, and the operator's keys and bytes", async () => {
    const s = await monitor.snapshot();
    expect(s.deadLetters).toEqual({
      total: 1,
      items: [{ id: `dead-letter/${PIPELINE}/${shardId}/${seqs[1]}.json`, shard: shardId, position: seqs[1], batch: T, operator: "map at app.ts:3", reason: "boom", data: "Yg==", bytes: 1 }],
    });
    expect(s.operators).toEqual([{ id: "totals", kind: "updateStateByKey", batchTime: T, keys: 3, bytes: expect.any(Number) }]);
  });

  it("gives a batch's detail: output lines and job errors", async () => {
    const d = await (await get(`/api/batches/${T}`)).json();
    expect(d).toMatchObject({ time: T, outputs: [{ path: `out/totals-${T}.txt`, lines: ["(a,1)", "(b,2)", "(c,1)"], truncated: false }], errors: ["foreachRDD threw"] });
  });

  it("sends snapshots as server-sent events, and nothing outside its routes", async () => {
    const res = await get("/api/events");
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("event: snapshot")) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect((await get("/index.html")).status).toBe(404);
    expect((await get("/app.js")).status).toBe(200);
    expect((await get("/vendor/uPlot.iife.min.js")).status).toBe(200);
    expect((await fetch(new URL("/api/snapshot", server.url), { method: "DELETE" })).status).toBe(405);
  });
});

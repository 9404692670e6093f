/**
 * The serverless runtime on the real stores: DynamoDbPipelineStore on dynalite, S3ObjectStore on s3rver, and
 * KinesisShardDirectory on kinesis-mock. Records are put to a 2-shard stream, read back with GetRecords into
 * events shaped as Lambda builds them (base64 data, arrival in epoch seconds), and handed to the shard handler
 * batch by batch — one batch delivered twice, one failed by a DynamoDB error and retried, one cut short by the
 * deadline — with a SplitShard in the middle. Once the stream is quiet, ticks finalize every batch, and the
 * S3 outputs and printed blocks equal what the local engine produces for the same records.
 */
import {
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  SplitShardCommand,
} from "@aws-sdk/client-kinesis";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Seconds } from "../../lib/core/duration.js";
import { SparklessError } from "../../lib/core/errors.js";
import { dynamoDbClient, kinesisClient, s3Client } from "../../lib/io/aws-clients.js";
import { S3ObjectStore } from "../../lib/io/s3-object-store.js";
import { definePipeline } from "../../lib/api/define-pipeline.js";
import type { KinesisRecordLike } from "../../lib/serverless/kinesis-event.js";
import { KinesisShardDirectory } from "../../lib/serverless/kinesis-shards.js";
import { PipelineRuntime } from "../../lib/serverless/runtime.js";
import { DynamoDbPipelineStore } from "../../lib/pipeline-store/dynamodb-pipeline-store.js";
import type { PipelineStore } from "../../lib/pipeline-store/pipeline-store.js";
import { useEmulators, createPipelineTable } from "../support/emulators.js";
import { lambdaContext, printedBlocks, runLocal, serverlessFiles, timedContext } from "../serverless/support.js";

const emu = useEmulators();
let kinesis: KinesisClient;
let ddb: DynamoDBClient;
let s3: S3Client;
const TABLE = "sparkless-serverless";
const BUCKET = "sparkless-serverless";
const STREAM = "serverless-words";
const B = 1000;
const add = (a: number, b: number) => a + b;
const sub = (a: number, b: number) => a - b;

beforeAll(async () => {
  kinesis = kinesisClient({ endpoint: emu.kinesis.endpoint });
  ddb = dynamoDbClient({ endpoint: emu.dynamodb.endpoint });
  s3 = s3Client({ endpoint: emu.s3.endpoint });
  await Promise.all([
    s3.send(new CreateBucketCommand({ Bucket: BUCKET })),
    createPipelineTable(ddb, TABLE),
    kinesis.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 2 })), // ACTIVE at once (CREATE_STREAM_DURATION 0)
  ]);
});
afterAll(() => {
  kinesis?.destroy();
  ddb?.destroy();
  s3?.destroy();
});

const pipeline = definePipeline("emu-words", { batchInterval: Seconds(1) }, (lines) => {
  const words = lines.flatMap((l) => l.split(" ")).map((w) => [w, 1] as [string, number]);
  const perBatch = words.reduceByKey(add);
  perBatch.print();
  perBatch.saveAsTextFiles("out/batch");
  words.reduceByKeyAndWindow(add, sub, Seconds(3), Seconds(1), { name: "w3" }).saveAsTextFiles("out/window");
  words.updateStateByKey((vs: number[], s: number | undefined) => (s ?? 0) + vs.reduce(add, 0), { name: "totals" }).saveAsTextFiles("out/totals");
  lines.saveAsTextFiles("out/lines");
});

/** A record as the test read it from GetRecords: what Lambda would deliver, and what the local engine needs. */
interface Read {
  readonly shardId: string;
  readonly seq: string;
  readonly arrivalMs: number;
  readonly event: KinesisRecordLike;
  readonly text: string;
}

const VOCABULARY = ["spark", "lambda", "kinesis", "dynamo", "s3", "window", "state", "shard"];
let lineNo = 0;
async function putLines(n: number): Promise<void> {
  const records = Array.from({ length: n }, () => {
    const i = lineNo++;
    const text = Array.from({ length: 1 + (i % 4) }, (_, j) => VOCABULARY[(i * 7 + j * 3) % VOCABULARY.length]).join(" ");
    return { PartitionKey: `key-${i}`, Data: Buffer.from(text) };
  });
  const res = await kinesis.send(new PutRecordsCommand({ StreamName: STREAM, Records: records }));
  expect(res.FailedRecordCount ?? 0).toBe(0);
}

/** Everything after `afterSeq` in a shard, as GetRecords returns it, in Lambda's event shape. */
async function readShard(shardId: string, afterSeq: string | undefined): Promise<Read[]> {
  const it = await kinesis.send(
    new GetShardIteratorCommand({
      StreamName: STREAM,
      ShardId: shardId,
      ...(afterSeq ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: afterSeq } : { ShardIteratorType: "TRIM_HORIZON" }),
    }),
  );
  const out: Read[] = [];
  let iterator = it.ShardIterator;
  for (let page = 0; page < 20 && iterator; page++) {
    const res = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 100 }));
    for (const r of res.Records ?? []) {
      const arrivalMs = r.ApproximateArrivalTimestamp!.getTime();
      out.push({
        shardId,
        seq: r.SequenceNumber!,
        arrivalMs,
        text: Buffer.from(r.Data!).toString("utf8"),
        event: {
          kinesis: {
            partitionKey: r.PartitionKey!,
            sequenceNumber: r.SequenceNumber!,
            data: Buffer.from(r.Data!).toString("base64"),
            approximateArrivalTimestamp: arrivalMs / 1000,
          },
          eventID: `${shardId}:${r.SequenceNumber}`,
          eventSourceARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${STREAM}`,
        },
      });
    }
    if ((res.Records ?? []).length === 0) break;
    iterator = res.NextShardIterator;
  }
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the serverless runtime on dynalite, s3rver and kinesis-mock", () => {
  it("equals the local engine through duplicates, a failed commit, a deadline and a shard split", async () => {
    const objects = new S3ObjectStore({ client: s3, bucket: BUCKET });
    const dynamo = new DynamoDbPipelineStore({ client: ddb, tableName: TABLE, pipeline: pipeline.name, objects });
    // One DynamoDB failure on demand (a throttled commit): the invocation fails and Lambda retries the batch.
    let failCommit = false;
    const store: PipelineStore = new Proxy(dynamo, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== "function") return value;
        if (prop !== "commit") return value.bind(target);
        return async (...args: unknown[]) => {
          if (failCommit) {
            failCommit = false;
            throw new SparklessError("ProvisionedThroughputExceededException", "simulated throttling of the commit");
          }
          return (value as (...a: unknown[]) => Promise<boolean>).apply(target, args);
        };
      },
    });
    let skew = 0; // the clock jumps ahead only once the stream is quiet
    const logs: string[] = [];
    const runtime = new PipelineRuntime(pipeline, {
      store,
      objects,
      shards: new KinesisShardDirectory(kinesis, { streamName: STREAM }),
      now: () => Date.now() + skew,
      log: (t) => logs.push(t),
    });

    // Deployed before the data: the first tick starts the pipeline and finds both shards idle.
    const first = await runtime.tick();
    expect(first.probe).toMatchObject({ shards: 2, drained: [] });
    expect(first.probe.idle.sort()).toEqual(["shardId-000000000000", "shardId-000000000001"]);

    const delivered: Read[] = [];
    const last = new Map<string, string>();
    const stats = { invocations: 0, duplicates: 0, retried: 0, cutShort: 0 };
    /** Lambda over one shard: batches of `size` records from the last committed one, with the scripted faults. */
    const consume = async (shardId: string, size: number) => {
      const recs = await readShard(shardId, last.get(shardId));
      for (let i = 0; i < recs.length; ) {
        const batch = recs.slice(i, i + size);
        const event = { Records: batch.map((r) => r.event) };
        stats.invocations++;
        let response;
        if (stats.invocations === 2) {
          failCommit = true;
          await expect(runtime.handleShardEvent(event, lambdaContext())).rejects.toThrow(/simulated throttling/);
          stats.retried++;
          response = await runtime.handleShardEvent(event, lambdaContext());
        } else if (stats.invocations === 4 && batch.length > 2) {
          // Two records' worth of time: the rest is reported, and Lambda redelivers from there.
          let calls = 0;
          response = await runtime.handleShardEvent(event, timedContext(() => (calls++ < 1 ? 60_000 : 1_000)));
          expect(response.batchItemFailures).toEqual([{ itemIdentifier: batch[2]!.seq }]);
          stats.cutShort++;
        } else {
          response = await runtime.handleShardEvent(event, lambdaContext());
        }
        if (stats.invocations === 3) {
          const again = await runtime.handleShardEvent(event, lambdaContext()); // a duplicate delivery
          expect(again.stage.processed).toBe(0);
          stats.duplicates++;
        }
        const failed = response.batchItemFailures[0]?.itemIdentifier;
        const next = failed ? batch.findIndex((r) => r.seq === failed) : batch.length;
        delivered.push(...batch.slice(0, next));
        if (next > 0) last.set(shardId, batch[next - 1]!.seq);
        i += next;
      }
    };

    // Round 1 on two shards, over two batch times.
    await putLines(12);
    await sleep(B);
    await putLines(12);
    // One shard after the other (Lambda runs them in parallel; order within a shard is what the protocol needs).
    for (const s of ["shardId-000000000000", "shardId-000000000001"]) await consume(s, 5);

    // Reshard: shard 0 splits; new records for its keys go to the children.
    const shards = (await kinesis.send(new ListShardsCommand({ StreamName: STREAM }))).Shards!;
    const parent = shards.find((s) => s.ShardId === "shardId-000000000000")!;
    const mid = (BigInt(parent.HashKeyRange!.StartingHashKey!) + BigInt(parent.HashKeyRange!.EndingHashKey!)) / 2n;
    await kinesis.send(new SplitShardCommand({ StreamName: STREAM, ShardToSplit: parent.ShardId, NewStartingHashKey: mid.toString() }));
    const after = (await kinesis.send(new ListShardsCommand({ StreamName: STREAM }))).Shards!;
    const children = after.filter((s) => s.ParentShardId === parent.ShardId).map((s) => s.ShardId!);
    expect(children).toHaveLength(2);

    // Round 2: shard 1 and the children (the parent is read to its end already, as Lambda requires).
    await sleep(B);
    await putLines(16);
    await sleep(B / 2);
    await putLines(8);
    for (const s of ["shardId-000000000001", ...children]) await consume(s, 4);
    expect(stats).toMatchObject({ duplicates: 1, retried: 1, cutShort: 1 });
    expect(delivered.length).toBe(lineNo);
    expect(new Set(delivered.map((r) => r.shardId)).size).toBeGreaterThanOrEqual(3);

    // Quiet stream: the clock passes the last record; ticks drain the parent, idle the rest and finalize.
    const status0 = (await dynamo.getStatus())!;
    const end = Math.floor(Math.max(...delivered.map((r) => r.arrivalMs)) / B) * B + 4 * B;
    skew = end + 3 * B - Date.now();
    let drained: string[] = [];
    for (let i = 0; i < 5 && (await dynamo.getStatus())!.lastFinalized < end; i++) {
      const t = await runtime.tick();
      drained = [...drained, ...t.probe.drained];
    }
    expect(drained).toContain("shardId-000000000000");
    expect((await dynamo.getStatus())!.lastFinalized).toBeGreaterThanOrEqual(end);

    // The local engine on the same records: per batch time, shard then sequence order.
    const zero = status0.zeroTime;
    const ordered = [...delivered].sort((a, b) => (a.shardId !== b.shardId ? (a.shardId < b.shardId ? -1 : 1) : BigInt(a.seq) < BigInt(b.seq) ? -1 : 1));
    const batches: string[][] = [];
    for (let t = zero + B; t <= end; t += B) {
      batches.push(ordered.filter((r) => Math.max(Math.floor(r.arrivalMs / B) * B + B, zero + B) === t).map((r) => r.text));
    }
    expect(batches.filter((b) => b.length > 0).length).toBeGreaterThanOrEqual(3);
    const local = await runLocal(pipeline, batches, zero, end);
    const remote = await serverlessFiles(objects, pipeline.name, end);
    expect([...remote.keys()].sort()).toEqual([...local.files.keys()].sort());
    for (const [dir, text] of local.files) expect(remote.get(dir), dir).toBe(text);
    const localBlocks = printedBlocks(local.printed, end);
    const remoteBlocks = printedBlocks(logs, end);
    for (const [time, texts] of localBlocks) expect(remoteBlocks.get(time), `print at ${time}`).toEqual(texts);
  }, 60_000);
});

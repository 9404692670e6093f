/**
 * Every AWS call each handler makes stays inside what the contract says that function does
 * (lib/contract/functions.ts), on every path: a shard commit, a dead letter, a spilled payload, inline
 * finalization, a late record, the finalizer invoked on its own, a failed batch, the ticker's probe and
 * finalization, and the metadata checkpoint. The handlers are the real ones (functions/lambda-handlers.ts, with
 * the environment the construct sets) on the emulators; calls are recorded where the AWS SDK sends them, as the
 * IAM action and resource AWS would check — independent of how the stores are written. The construct grants
 * each role exactly the contract (test/infra/grants.test.ts), so a call outside it here is an AccessDenied on AWS.
 */
import { randomBytes } from "node:crypto";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import type { Context, KinesisStreamEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lambdaHandlers } from "../../functions/lambda-handlers.js";
import { BUCKET_PREFIXES, ENV, type FunctionContract, type FunctionKind, FUNCTIONS } from "../../lib/contract/index.js";
import { Seconds } from "../../lib/core/duration.js";
import { dynamoDbClient, kinesisClient, s3Client } from "../../lib/io/aws-clients.js";
import { definePipeline } from "../../lib/api/define-pipeline.js";
import { createPipelineTable, useEmulators } from "../support/emulators.js";

const TABLE = "contract-calls";
const BUCKET = "contract-calls";
const STREAM = "contract-calls";
const B = 60_000;
const add = (a: number, b: number) => a + b;

/** One call as IAM sees it. */
interface Call {
  readonly fn: FunctionKind;
  readonly action: string;
  /** `table/<name>`, `bucket/<name>`, `object/<bucket>/<key>` or `stream/<name>`. */
  readonly resource: string;
}

/** DocumentClient commands by the DynamoDB operation they send. */
const DOCUMENT_OPERATIONS: Record<string, string> = {
  Get: "GetItem", Put: "PutItem", Update: "UpdateItem", Delete: "DeleteItem", Query: "Query", Scan: "Scan",
  BatchWrite: "BatchWriteItem", BatchGet: "BatchGetItem", TransactWrite: "TransactWriteItems", TransactGet: "TransactGetItems",
};
/** A transaction's items are authorized one by one, by what each does. */
const TRANSACT_ITEM_ACTIONS: Record<string, string> = { Put: "PutItem", Update: "UpdateItem", Delete: "DeleteItem", ConditionCheck: "ConditionCheckItem", Get: "GetItem" };

/** The IAM actions and resources of one SDK command. */
function iamOf(service: string, commandName: string, input: Record<string, any>): Array<{ action: string; resource: string }> {
  const name = commandName.replace(/Command$/, "");
  if (service === "DynamoDB") {
    const op = DOCUMENT_OPERATIONS[name] ?? name;
    if (op === "BatchWriteItem" || op === "BatchGetItem") return Object.keys(input.RequestItems ?? {}).map((t) => ({ action: `dynamodb:${op}`, resource: `table/${t}` }));
    if (op === "TransactWriteItems" || op === "TransactGetItems") {
      return (input.TransactItems as Array<Record<string, any>>).flatMap((item) =>
        Object.entries(item).map(([kind, spec]) => ({ action: `dynamodb:${TRANSACT_ITEM_ACTIONS[kind] ?? kind}`, resource: `table/${spec.TableName}` })),
      );
    }
    return [{ action: `dynamodb:${op}`, resource: `table/${input.TableName}` }];
  }
  if (service === "S3") {
    const object = (key: string) => `object/${input.Bucket}/${key}`;
    switch (name) {
      case "GetObject": case "HeadObject": return [{ action: "s3:GetObject", resource: object(input.Key) }];
      case "PutObject": return [{ action: "s3:PutObject", resource: object(input.Key) }];
      case "DeleteObject": return [{ action: "s3:DeleteObject", resource: object(input.Key) }];
      case "DeleteObjects": return (input.Delete.Objects as Array<{ Key: string }>).map((o) => ({ action: "s3:DeleteObject", resource: object(o.Key) }));
      case "ListObjects": case "ListObjectsV2": return [{ action: "s3:ListBucket", resource: `bucket/${input.Bucket}` }];
      default: return [{ action: `s3:${name}`, resource: `bucket/${input.Bucket}` }];
    }
  }
  if (service === "Kinesis") {
    // GetRecords names only an iterator, which belongs to the stream it was obtained for: this test's one stream.
    const stream = input.StreamName ?? (input.StreamARN as string | undefined)?.split("/").pop() ?? STREAM;
    return [{ action: `kinesis:${name}`, resource: `stream/${stream}` }];
  }
  return [{ action: `${service}:${name}`, resource: "*" }];
}

/** Why `call` is outside the contract of its function, or undefined when the contract allows it. */
function violation(call: Call): string | undefined {
  const contract: FunctionContract = FUNCTIONS[call.fn];
  const [kind, ...rest] = call.resource.split("/");
  const allowed = (() => {
    if (kind === "table") return rest[0] === TABLE && (contract.table as readonly string[]).includes(call.action);
    if (kind === "stream") return rest[0] === STREAM && (contract.stream as readonly string[]).includes(call.action);
    if (kind === "bucket") return rest[0] === BUCKET && call.action === "s3:ListBucket" && contract.reads.length > 0;
    if (kind === "object") {
      const key = rest.slice(1).join("/");
      const prefixes = call.action === "s3:GetObject" ? contract.reads : call.action === "s3:PutObject" ? contract.writes : [];
      return rest[0] === BUCKET && prefixes.some((prefix) => key.startsWith(BUCKET_PREFIXES[prefix]));
    }
    return false;
  })();
  return allowed ? undefined : `${call.fn}: ${call.action} on ${call.resource}`;
}

/** Records every command the SDK clients send while `current` names a function. */
class Recorder {
  current: FunctionKind | undefined;
  readonly calls: Call[] = [];
  private readonly restore: Array<() => void> = [];

  install(): void {
    const recorder = this;
    const bases = new Set([S3Client, DynamoDBClient, KinesisClient, DynamoDBDocumentClient].map((c) => Object.getPrototypeOf(c.prototype) as { send: (...args: any[]) => any }));
    for (const base of bases) {
      const send = base.send;
      base.send = function (this: { config: { serviceId?: string } }, command: { constructor: { name: string }; input: Record<string, any> }, ...rest: unknown[]) {
        if (recorder.current) {
          for (const { action, resource } of iamOf(this.config.serviceId ?? "?", command.constructor.name, command.input)) recorder.calls.push({ fn: recorder.current, action, resource });
        }
        return send.call(this, command, ...rest);
      };
      this.restore.push(() => (base.send = send));
    }
  }

  uninstall(): void {
    for (const undo of this.restore) undo();
  }

  async as<R>(fn: FunctionKind, run: () => Promise<R>): Promise<R> {
    this.current = fn;
    try {
      return await run();
    } finally {
      this.current = undefined;
    }
  }

  of(fn: FunctionKind): Call[] {
    return this.calls.filter((c) => c.fn === fn);
  }
}

interface Event { readonly w: string; readonly t: number }

/**
 * Event time, so a record can be late; a record that is not JSON is a dead letter, a word "bad" makes the user's
 * function throw (a dead letter), and a batch holding "fail-batch" fails in the finalizer (a failed batch).
 */
const pipeline = definePipeline<Event>(
  "contract-calls",
  { batchInterval: Seconds(60), decoder: (bytes) => JSON.parse(Buffer.from(bytes).toString("utf8")) as Event, timestampExtractor: (e) => e.t },
  (events) => {
    const words = events
      .flatMap((e) => e.w.split(" "))
      .map((w) => {
        if (w === "bad") throw new Error("a bad word");
        return [w, 1] as [string, number];
      });
    const counts = words.reduceByKey(add);
    counts.saveAsTextFiles("counts");
    counts.foreachRDD((rdd) => {
      if (rdd.collect().some(([w]) => w === "fail-batch")) throw new Error("this batch fails");
    });
    words.reduceByKeyAndWindow(add, Seconds(120), Seconds(60), { name: "w" }).saveAsTextFiles("window");
  },
);

const emu = useEmulators();
const recorder = new Recorder();
const saved: Record<string, string | undefined> = {};
let kinesis: KinesisClient;
let handlers: ReturnType<typeof lambdaHandlers<Event>>;

beforeAll(async () => {
  kinesis = kinesisClient({ endpoint: emu.kinesis.endpoint });
  const s3 = s3Client({ endpoint: emu.s3.endpoint });
  const ddb = dynamoDbClient({ endpoint: emu.dynamodb.endpoint });
  await Promise.all([s3.send(new CreateBucketCommand({ Bucket: BUCKET })), createPipelineTable(ddb, TABLE), kinesis.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 1 }))]);
  s3.destroy();
  ddb.destroy();
  // The environment the construct gives the functions (lib/contract/environment.ts), pointed at the emulators.
  const env: Record<string, string> = {
    [ENV.pipeline]: pipeline.name,
    [ENV.table]: TABLE,
    [ENV.bucket]: BUCKET,
    [ENV.streamName]: STREAM,
    [ENV.streamArn]: `arn:aws:kinesis:us-east-1:000000000000:stream/${STREAM}`,
    [ENV.batchIntervalMs]: String(B),
    AWS_ENDPOINT_URL_KINESIS: emu.kinesis.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: emu.dynamodb.endpoint,
    AWS_ENDPOINT_URL_S3: emu.s3.endpoint,
  };
  for (const [name, value] of Object.entries(env)) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
  handlers = lambdaHandlers(pipeline);
  recorder.install();
});

afterAll(() => {
  recorder.uninstall();
  kinesis?.destroy();
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

/** Puts records on the stream and reads them back in Lambda's event shape. */
async function deliver(records: Array<Event | string>, after?: string): Promise<KinesisStreamEvent> {
  await kinesis.send(
    new PutRecordsCommand({
      StreamName: STREAM,
      Records: records.map((r, i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(typeof r === "string" ? r : JSON.stringify(r)) })),
    }),
  );
  const [shard] = (await kinesis.send(new ListShardsCommand({ StreamName: STREAM }))).Shards!;
  const { ShardIterator } = await kinesis.send(
    new GetShardIteratorCommand({
      StreamName: STREAM,
      ShardId: shard!.ShardId,
      ...(after ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: after } : { ShardIteratorType: "TRIM_HORIZON" }),
    }),
  );
  const read = await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 100 }));
  expect(read.Records).toHaveLength(records.length);
  return {
    Records: read.Records!.map((r) => ({
      eventID: `${shard!.ShardId}:${r.SequenceNumber}`,
      eventSourceARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${STREAM}`,
      kinesis: {
        data: Buffer.from(r.Data!).toString("base64"),
        sequenceNumber: r.SequenceNumber!,
        partitionKey: r.PartitionKey!,
        approximateArrivalTimestamp: r.ApproximateArrivalTimestamp!.getTime() / 1000,
        kinesisSchemaVersion: "1.0",
      },
    })) as KinesisStreamEvent["Records"],
  };
}

const lastSeq = (event: KinesisStreamEvent) => event.Records.at(-1)!.kinesis.sequenceNumber;
const context = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs, awsRequestId: "test" }) as unknown as Context;

/** 60 000 random words: a part and a window pane too large for an item even gzipped, so both spill to S3. */
function manyWords(): string {
  const bytes = randomBytes(60_000 * 6);
  const words: string[] = [];
  for (let i = 0; i < 60_000; i++) words.push(bytes.subarray(i * 6, i * 6 + 6).toString("base64url"));
  return words.join(" ");
}

describe("the handlers' AWS calls", () => {
  // Ten minutes back, aligned to the batch: batches T0+60 s … are complete once the ticker probes the quiet shard.
  const T0 = Math.floor((Date.now() - 10 * 60_000) / B) * B;

  it("stay inside each function's contract on every path", { timeout: 600_000 }, async () => {
    // A commit with a dead letter (not JSON), a user function that throws, and a spilled part; nothing completes.
    const first = await deliver([{ w: "a", t: T0 + 1_000 }, "not json", { w: "bad", t: T0 + 1_500 }, { w: manyWords(), t: T0 + 2_000 }]);
    const r1 = await recorder.as("shard", () => handlers.shardHandler(first, context(60_000)));
    expect(r1.batchItemFailures).toEqual([]);

    // The watermark passes T0+60 s and T0+120 s: finalized inline, reading the spill; then a late record.
    const second = await deliver([{ w: "c", t: T0 + 61_000 }, { w: "d", t: T0 + 121_000 }, { w: "late", t: T0 + 3_000 }], lastSeq(first));
    await recorder.as("shard", () => handlers.shardHandler(second, context(60_000)));

    // Too little time left to finalize inline: the finalizer, invoked on its own, finalizes T0+180 s (a failed batch).
    const third = await deliver([{ w: "fail-batch", t: T0 + 181_000 }, { w: "e", t: T0 + 241_000 }], lastSeq(second));
    await recorder.as("shard", () => handlers.shardHandler(third, context(8_000)));
    await recorder.as("finalizer", () => handlers.finalizerHandler({}, context(60_000)));

    // The ticker probes the quiet shard, lets its watermark follow the clock and finalizes the rest.
    await recorder.as("ticker", () => handlers.tickerHandler({}, context(60_000)));

    const keys = (fn: FunctionKind, action: string) => recorder.of(fn).filter((c) => c.action === action).map((c) => c.resource.split("/").slice(2).join("/"));
    // Every path ran: each is a call the contract must allow.
    const shardPuts = keys("shard", "s3:PutObject");
    expect(shardPuts.filter((k) => k.startsWith("checkpoint/contract-calls/graphs/"))).not.toEqual([]); // the graph record
    expect(shardPuts.filter((k) => k.startsWith("dead-letter/contract-calls/shardId-"))).toHaveLength(2);
    expect(shardPuts.filter((k) => k.startsWith("spill/contract-calls/parts/"))).not.toEqual([]);
    expect(shardPuts.filter((k) => k.startsWith("late/contract-calls/"))).toHaveLength(1);
    expect(shardPuts.filter((k) => k.startsWith("output/contract-calls/counts-"))).not.toEqual([]); // inline finalization
    expect(keys("shard", "s3:GetObject").filter((k) => k.startsWith("spill/contract-calls/parts/"))).not.toEqual([]);
    expect(recorder.of("shard").some((c) => c.action === "dynamodb:BatchWriteItem")).toBe(true);
    const finalizerPuts = keys("finalizer", "s3:PutObject");
    expect(finalizerPuts.filter((k) => k.startsWith("dead-letter/contract-calls/batches/"))).toHaveLength(1);
    expect(finalizerPuts.filter((k) => k === "checkpoint/contract-calls/metadata.json")).not.toEqual([]);
    const tickerPuts = keys("ticker", "s3:PutObject");
    expect(tickerPuts.filter((k) => k.startsWith("output/contract-calls/"))).not.toEqual([]); // the ticker finalizes
    expect(tickerPuts.filter((k) => k === "checkpoint/contract-calls/metadata.json")).not.toEqual([]);
    expect(recorder.of("ticker").map((c) => c.action)).toEqual(expect.arrayContaining(["kinesis:ListShards", "kinesis:GetShardIterator", "kinesis:GetRecords"]));

    expect(recorder.calls.map(violation).filter((v) => v !== undefined)).toEqual([]);
  });

  it("would catch a call outside the contract", () => {
    expect(violation({ fn: "ticker", action: "s3:PutObject", resource: `object/${BUCKET}/late/contract-calls/x.json` })).toBe(`ticker: s3:PutObject on object/${BUCKET}/late/contract-calls/x.json`);
    expect(violation({ fn: "finalizer", action: "dynamodb:BatchWriteItem", resource: `table/${TABLE}` })).toBeDefined();
    expect(violation({ fn: "shard", action: "s3:DeleteObject", resource: `object/${BUCKET}/output/contract-calls/x` })).toBeDefined();
    expect(violation({ fn: "finalizer", action: "kinesis:GetRecords", resource: `stream/${STREAM}` })).toBeDefined();
    expect(violation({ fn: "shard", action: "s3:GetObject", resource: `object/${BUCKET}/checkpoint/contract-calls/metadata.json` })).toBeUndefined();
  });
});

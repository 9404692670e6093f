/**
 * Every AWS call each handler makes stays inside what the contract says that function does
 * (lib/contract/functions.ts), on every path: a shard commit, a dead letter, a spilled payload, inline
 * finalization, a late record, the finalizer invoked on its own, a failed batch, the ticker's probe and
 * finalization, and the metadata checkpoint; and, with finalizer partitions, the fan-out (an asynchronous Invoke
 * of the finalizer function per partition, from the shard function and the ticker only) and each partition's run. The handlers are the real ones (functions/lambda-handlers.ts, with
 * the environment the construct sets) on the emulators; calls are recorded where the AWS SDK sends them, as the
 * IAM action and resource AWS would check — independent of how the stores are written. The construct grants
 * each role exactly the contract (test/infra/grants.test.ts), so a call outside it here is an AccessDenied on AWS.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import type { Context, KinesisStreamEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lambdaHandlers } from "../../functions/lambda-handlers.js";
import { BUCKET_PREFIXES, ENV, type FunctionContract, type FunctionKind, FUNCTIONS, INVOKE_ACTION } from "../../lib/contract/index.js";
import { Seconds } from "../../lib/core/duration.js";
import { dynamoDbClient, kinesisClient, s3Client } from "../../lib/io/aws-clients.js";
import { definePipeline } from "../../lib/api/define-pipeline.js";
import { createPipelineTable, useEmulators } from "../support/emulators.js";

const TABLE = "contract-calls";
const BUCKET = "contract-calls";
const STREAM = "contract-calls";
const B = 60_000;
/** The finalizer function's name, as the construct gives it to the functions that fan out (P > 1). */
const FINALIZER = "contract-calls-finalizer";
const add = (a: number, b: number) => a + b;

/** One call as IAM sees it. */
interface Call {
  readonly fn: FunctionKind;
  readonly action: string;
  /** `table/<name>`, `bucket/<name>`, `object/<bucket>/<key>`, `stream/<name>` or `function/<name>`. */
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
  if (service === "Lambda") return [{ action: `lambda:${name === "Invoke" ? "InvokeFunction" : name}`, resource: `function/${input.FunctionName}` }];
  return [{ action: `${service}:${name}`, resource: "*" }];
}

/**
 * Why `call` is outside the contract of its function, or undefined when the contract allows it. With P > 1 the
 * construct grants the functions that fan out the invoke of the finalizer function (infra/grants.ts).
 */
function violation(call: Call, partitions = 1): string | undefined {
  const contract: FunctionContract = FUNCTIONS[call.fn];
  const [kind, ...rest] = call.resource.split("/");
  const allowed = (() => {
    if (kind === "table") return rest[0] === TABLE && (contract.table as readonly string[]).includes(call.action);
    if (kind === "stream") return rest[0] === STREAM && (contract.stream as readonly string[]).includes(call.action);
    if (kind === "function") return partitions > 1 && call.action === INVOKE_ACTION && rest[0] === FINALIZER && contract.invokes.includes("finalizer");
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
    const bases = new Set([S3Client, DynamoDBClient, KinesisClient, DynamoDBDocumentClient, LambdaClient].map((c) => Object.getPrototypeOf(c.prototype) as { send: (...args: any[]) => any }));
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

/** The last sequence number delivered: a later delivery (another pipeline's) starts after it. */
let lastDelivered: string | undefined;

/** Puts records on the stream and reads them back in Lambda's event shape. */
async function deliver(records: Array<Event | string>, after: string | undefined = lastDelivered): Promise<KinesisStreamEvent> {
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
  lastDelivered = read.Records!.at(-1)!.SequenceNumber!;
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
    const first = await deliver([{ w: "a", t: T0 + 1_000 }, "not json", { w: "bad", t: T0 + 1_500 }, { w: manyWords(), t: T0 + 2_000 }], undefined);
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
    expect(violation({ fn: "finalizer", action: "dynamodb:Scan", resource: `table/${TABLE}` })).toBeDefined();
    expect(violation({ fn: "shard", action: "s3:DeleteObject", resource: `object/${BUCKET}/output/contract-calls/x` })).toBeDefined();
    expect(violation({ fn: "finalizer", action: "kinesis:GetRecords", resource: `stream/${STREAM}` })).toBeDefined();
    expect(violation({ fn: "shard", action: "s3:GetObject", resource: `object/${BUCKET}/checkpoint/contract-calls/metadata.json` })).toBeUndefined();
  });
});

describe("with finalizer partitions, the handlers' AWS calls", () => {
  const P = 4;
  const T0 = Math.floor((Date.now() - 10 * 60_000) / B) * B;
  const partitioned = definePipeline<Event>(
    "contract-calls-p4",
    { batchInterval: Seconds(60), finalizerPartitions: P, decoder: (bytes) => JSON.parse(Buffer.from(bytes).toString("utf8")) as Event, timestampExtractor: (e) => e.t },
    (events) => {
      events
        .flatMap((e) => e.w.split(" "))
        .map((w) => [w, 1] as [string, number])
        .reduceByKey(add)
        .saveAsTextFiles("counts");
    },
  );
  /** Lambda as the shard function and the ticker reach it: each Invoke recorded and answered 202 (queued). */
  const invoked: Array<{ functionName: string; type: string | undefined; event: unknown }> = [];
  let lambdaApi: Server;

  beforeAll(async () => {
    lambdaApi = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const name = decodeURIComponent(/\/functions\/([^/]+)\/invocations/.exec(req.url ?? "")?.[1] ?? "");
        invoked.push({ functionName: name, type: req.headers["x-amz-invocation-type"] as string | undefined, event: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
        res.writeHead(202, { "content-length": "0" }).end();
      });
    });
    await new Promise<void>((resolve) => lambdaApi.listen(0, "127.0.0.1", resolve));
    for (const [name, value] of Object.entries({ [ENV.pipeline]: partitioned.name, [ENV.finalizerPartitions]: String(P), AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${(lambdaApi.address() as AddressInfo).port}` })) {
      if (!(name in saved)) saved[name] = process.env[name];
      process.env[name] = value;
    }
  });
  afterAll(async () => {
    lambdaApi?.closeAllConnections();
    await new Promise<void>((resolve) => (lambdaApi ? lambdaApi.close(() => resolve()) : resolve()));
  });

  /** Handlers as the construct deploys them: the shard function and the ticker know the finalizer, the finalizer does not. */
  function deployed(kind: "fan-out" | "finalizer") {
    if (kind === "fan-out") process.env[ENV.finalizerFunction] = FINALIZER;
    else delete process.env[ENV.finalizerFunction];
    if (!(ENV.finalizerFunction in saved)) saved[ENV.finalizerFunction] = undefined;
    return lambdaHandlers(partitioned);
  }

  it("fan a complete batch out to the finalizer, one asynchronous invocation per partition, and stay inside the contract", { timeout: 600_000 }, async () => {
    const fanOut = deployed("fan-out");
    const first = await deliver([{ w: "a b c d e f g h", t: T0 + 1_000 }]);
    await recorder.as("shard", () => fanOut.shardHandler(first, context(60_000)));
    expect(invoked).toEqual([]); // nothing complete yet
    // The watermark passes T0+60 s: the commit that completed the batch asks for its P partitions.
    const second = await deliver([{ w: "a i", t: T0 + 61_000 }]);
    await recorder.as("shard", () => fanOut.shardHandler(second, context(60_000)));
    // In any order: the P requests go out at once.
    expect(invoked.map((i) => [i.functionName, i.type, i.event]).sort(byPartition)).toEqual(Array.from({ length: P }, (_, p) => [FINALIZER, "Event", { partition: p }]));

    // Lambda runs each invocation in the finalizer function: its partition, then the completion of the batch.
    const finalizer = deployed("finalizer");
    const run = async () => {
      for (const { event } of invoked.splice(0)) await recorder.as("finalizer", () => finalizer.finalizerHandler(event as { partition: number }, context(60_000)));
    };
    await run();
    const outputs = () => recorder.calls.filter((c) => c.action === "s3:PutObject" && c.resource.includes(`/output/${partitioned.name}/counts-`)).map((c) => c.resource);
    expect(outputs().some((k) => k.endsWith(`counts-${T0 + B}/_SUCCESS`))).toBe(true);

    // The ticker probes the quiet shard, and fans the batches that became complete out again.
    await recorder.as("ticker", () => fanOut.tickerHandler({}, context(60_000)));
    expect(new Set(invoked.map((i) => JSON.stringify(i.event)))).toEqual(new Set(Array.from({ length: P }, (_, p) => JSON.stringify({ partition: p }))));
    await run();

    expect(recorder.of("shard").filter((c) => c.action === INVOKE_ACTION).map((c) => c.resource)).toEqual(Array(P).fill(`function/${FINALIZER}`));
    expect(recorder.of("ticker").some((c) => c.action === INVOKE_ACTION)).toBe(true);
    expect(recorder.of("finalizer").some((c) => c.action === INVOKE_ACTION)).toBe(false);
    expect(recorder.calls.map((c) => violation(c, P)).filter((v) => v !== undefined)).toEqual([]);
  });

  it("refuse a partition the pipeline does not have, and a module whose P differs from the deployed one", async () => {
    const finalizer = deployed("finalizer");
    await expect(finalizer.finalizerHandler({ partition: P }, context(60_000))).rejects.toThrow(/invoked for partition 4, but the pipeline has 4 finalizer partition\(s\): give \{ "partition": n \} with n from 0 to 3/);
    process.env[ENV.finalizerPartitions] = "2";
    try {
      await expect(lambdaHandlers(partitioned).finalizerHandler({}, context(60_000))).rejects.toThrow(
        /deployed for 2 finalizer partition\(s\) \(SPARKLESS_FINALIZER_PARTITIONS\) but its module's pipeline "contract-calls-p4" has finalizerPartitions 4: synthesize and deploy again/,
      );
    } finally {
      process.env[ENV.finalizerPartitions] = String(P);
    }
  });

  it("would catch an invoke of another function, or any invoke with one partition", () => {
    expect(violation({ fn: "shard", action: INVOKE_ACTION, resource: `function/${FINALIZER}` }, P)).toBeUndefined();
    expect(violation({ fn: "shard", action: INVOKE_ACTION, resource: `function/${FINALIZER}` })).toBeDefined();
    expect(violation({ fn: "ticker", action: INVOKE_ACTION, resource: "function/other" }, P)).toBeDefined();
    expect(violation({ fn: "finalizer", action: INVOKE_ACTION, resource: `function/${FINALIZER}` }, P)).toBeDefined();
  });
});

function byPartition(a: unknown[], b: unknown[]): number {
  return (a[2] as { partition: number }).partition - (b[2] as { partition: number }).partition;
}

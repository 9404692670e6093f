import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateStreamCommand,
  ListShardsCommand,
  MergeShardsCommand,
  PutRecordsCommand,
  SplitShardCommand,
  type KinesisClient,
  type PutRecordsResultEntry,
} from "@aws-sdk/client-kinesis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ValidationError } from "../../lib/core/errors.js";
import { kinesisClient } from "../../lib/io/aws-clients.js";
import {
  EsmPoller,
  FileCheckpointStore,
  MAX_PAYLOAD_BYTES,
  type EsmPollerOptions,
  type KinesisFailureRecord,
  type KinesisHandler,
  type KinesisStreamEventLike,
  type LambdaContextLike,
  type StreamsEventResponseLike,
} from "../../tooling/esm-poller/index.js";
import { useKinesis } from "../support/emulators.js";
import { waitFor } from "../support/wait.js";

const emu = useKinesis();
let kinesis: KinesisClient;
const pollers: EsmPoller[] = [];
let streams = 0;

beforeAll(() => {
  kinesis = kinesisClient({ endpoint: emu.endpoint });
});
afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
});
afterAll(() => kinesis?.destroy());

/** A new stream (the emulator makes it ACTIVE at once). */
async function newStream(shards = 1): Promise<string> {
  const name = `esm-${++streams}`;
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  return name;
}

/** Puts records in order (PutRecords keeps request order per shard); returns their results in the same order. */
async function put(stream: string, records: { key: string; data: string | Buffer }[]): Promise<PutRecordsResultEntry[]> {
  const out: PutRecordsResultEntry[] = [];
  let chunk: typeof records = [];
  let bytes = 0;
  const flush = async () => {
    if (chunk.length === 0) return;
    const res = await kinesis.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: chunk.map((r) => ({ PartitionKey: r.key, Data: Buffer.from(r.data) })),
      }),
    );
    expect(res.FailedRecordCount ?? 0).toBe(0);
    out.push(...res.Records!);
    chunk = [];
    bytes = 0;
  };
  for (const r of records) {
    const size = Buffer.byteLength(r.data) + r.key.length;
    if (chunk.length === 500 || bytes + size > 4 * 1024 * 1024) await flush(); // PutRecords: 500 records, 5 MB
    chunk.push(r);
    bytes += size;
  }
  await flush();
  return out;
}

const records = (prefix: string, n: number, key = (i: number) => `k${i}`) =>
  Array.from({ length: n }, (_, i) => ({ key: key(i), data: `${prefix}${i}` }));

interface Call {
  shardId: string;
  data: string[];
  seqs: string[];
  keys: string[];
  at: number;
  remainingMs: number;
}

/** A handler that records every invocation, then behaves as `behave` says (default: succeed). */
function recorder(
  behave: (call: Call, n: number, event: KinesisStreamEventLike, ctx: LambdaContextLike) => Promise<StreamsEventResponseLike | void> | StreamsEventResponseLike | void = () => {},
) {
  const calls: Call[] = [];
  const ok: Call[] = [];
  const handler: KinesisHandler = async (event, ctx) => {
    const call: Call = {
      shardId: event.Records[0]!.eventID.split(":")[0]!,
      data: event.Records.map((r) => Buffer.from(r.kinesis.data, "base64").toString()),
      seqs: event.Records.map((r) => r.kinesis.sequenceNumber),
      keys: event.Records.map((r) => r.kinesis.partitionKey),
      at: Date.now(),
      remainingMs: ctx.getRemainingTimeInMillis(),
    };
    calls.push(call);
    const res = await behave(call, calls.length, event, ctx);
    if (!res?.batchItemFailures?.length) ok.push(call);
    return res;
  };
  return { calls, ok, handler, delivered: () => ok.flatMap((c) => c.data) };
}

const FAST = { pollIntervalMs: 20, retryDelayMs: 10, shardDiscoveryIntervalMs: 100 } as const;

async function startPoller(o: EsmPollerOptions): Promise<EsmPoller> {
  const poller = new EsmPoller({ ...FAST, ...o });
  pollers.push(poller);
  await poller.start();
  return poller;
}

describe("EsmPoller", () => {
  it("delivers the event in Lambda's shape", async () => {
    const stream = await newStream();
    const [put0] = await put(stream, [{ key: "pk-1", data: "hello" }]);
    let seen: KinesisStreamEventLike | undefined;
    let ctx: LambdaContextLike | undefined;
    await startPoller({
      kinesis,
      streamName: stream,
      functionName: "shard-handler",
      handler: async (event, context) => {
        seen = event;
        ctx = context;
      },
    });
    await waitFor("an invocation", () => seen !== undefined);
    const r = seen!.Records[0]!;
    expect(r).toEqual({
      kinesis: {
        kinesisSchemaVersion: "1.0",
        partitionKey: "pk-1",
        sequenceNumber: put0!.SequenceNumber,
        data: Buffer.from("hello").toString("base64"),
        approximateArrivalTimestamp: expect.any(Number),
      },
      eventSource: "aws:kinesis",
      eventVersion: "1.0",
      eventID: `shardId-000000000000:${put0!.SequenceNumber}`,
      eventName: "aws:kinesis:record",
      invokeIdentityArn: "arn:aws:iam::000000000000:role/shard-handler-role",
      awsRegion: "us-east-1",
      eventSourceARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${stream}`,
    });
    // Epoch seconds, not milliseconds.
    expect(Math.abs(r.kinesis.approximateArrivalTimestamp - Date.now() / 1000)).toBeLessThan(60);
    expect(ctx!.functionName).toBe("shard-handler");
    expect(ctx!.invokedFunctionArn).toBe("arn:aws:lambda:us-east-1:000000000000:function:shard-handler");
    expect(ctx!.memoryLimitInMB).toBe("128");
    expect(ctx!.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("cuts batches at BatchSize, in sequence order", async () => {
    const stream = await newStream();
    await put(stream, records("r", 250));
    const rec = recorder();
    await startPoller({ kinesis, streamName: stream, handler: rec.handler, batchSize: 100 });
    await waitFor("250 records", () => rec.delivered().length === 250);
    expect(rec.calls.map((c) => c.data.length)).toEqual([100, 100, 50]);
    expect(rec.delivered()).toEqual(records("r", 250).map((r) => r.data));
  });

  it("caps an invocation's event at 6 MB", async () => {
    const stream = await newStream();
    const big = (i: number) => ({ key: `k${i}`, data: Buffer.alloc(900 * 1024, 65 + i) });
    await put(stream, Array.from({ length: 6 }, (_, i) => big(i)));
    const sizes: number[] = [];
    const rec = recorder((_c, _n, event) => {
      sizes.push(Buffer.byteLength(JSON.stringify(event)));
    });
    await startPoller({ kinesis, streamName: stream, handler: rec.handler, batchSize: 100 });
    await waitFor("6 records", () => rec.delivered().length === 6);
    // 900 KiB is 1.2 MB in base64: five fit under 6 MB, a sixth would not.
    expect(rec.calls.map((c) => c.data.length)).toEqual([5, 1]);
    for (const s of sizes) expect(s).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
  });

  it("waits MaximumBatchingWindow to gather a batch, but not for a full one", async () => {
    const stream = await newStream();
    const rec = recorder();
    await startPoller({ kinesis, streamName: stream, handler: rec.handler, batchSize: 100, maximumBatchingWindowMs: 500 });
    const first = Date.now();
    await put(stream, records("a", 3));
    await new Promise((r) => setTimeout(r, 100));
    await put(stream, records("b", 3));
    await waitFor("6 records", () => rec.delivered().length === 6);
    expect(rec.calls).toHaveLength(1); // gathered into one batch ...
    expect(rec.calls[0]!.at - first).toBeGreaterThanOrEqual(450); // ... by waiting out the window

    const stream2 = await newStream();
    const rec2 = recorder();
    await startPoller({ kinesis, streamName: stream2, handler: rec2.handler, batchSize: 4, maximumBatchingWindowMs: 60_000 });
    await put(stream2, records("c", 4));
    await waitFor("a full batch without waiting 60 s", () => rec2.calls.length === 1, { timeoutMs: 5_000 });
    expect(rec2.calls[0]!.data).toEqual(["c0", "c1", "c2", "c3"]);
  });

  it("starts at TRIM_HORIZON, LATEST or AT_TIMESTAMP", async () => {
    const stream = await newStream();
    await put(stream, records("old", 3));
    const pause = () => new Promise((r) => setTimeout(r, 30));
    await pause();
    const between = new Date();
    await pause();
    await put(stream, records("mid", 2));

    const trim = recorder();
    const latest = recorder();
    const at = recorder();
    await startPoller({ kinesis, streamName: stream, handler: trim.handler, startingPosition: "TRIM_HORIZON" });
    await startPoller({ kinesis, streamName: stream, handler: latest.handler, startingPosition: "LATEST" });
    await startPoller({
      kinesis,
      streamName: stream,
      handler: at.handler,
      startingPosition: "AT_TIMESTAMP",
      startingPositionTimestamp: between,
    });
    await put(stream, records("new", 2));
    await waitFor("every poller to reach the new records", () =>
      [trim, latest, at].every((r) => r.delivered().includes("new1")),
    );
    expect(trim.delivered()).toEqual(["old0", "old1", "old2", "mid0", "mid1", "new0", "new1"]);
    expect(latest.delivered()).toEqual(["new0", "new1"]);
    expect(at.delivered()).toEqual(["mid0", "mid1", "new0", "new1"]);
  });

  it("bisects a failing batch until only the poison record is discarded", async () => {
    const stream = await newStream();
    const put0 = await put(stream, records("r", 10));
    const failures: KinesisFailureRecord[] = [];
    const rec = recorder((call) => {
      if (call.data.includes("r6")) throw new Error("poison");
    });
    await startPoller({
      kinesis,
      streamName: stream,
      handler: rec.handler,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 0,
      onFailure: async (f) => {
        failures.push(f);
      },
    });
    await waitFor("the rest delivered", () => rec.delivered().length === 9);
    expect(rec.delivered()).toEqual(["r0", "r1", "r2", "r3", "r4", "r5", "r7", "r8", "r9"]);
    expect(failures).toHaveLength(1);
    expect(failures[0]!.KinesisBatchInfo).toMatchObject({
      batchSize: 1,
      startSequenceNumber: put0[6]!.SequenceNumber,
      endSequenceNumber: put0[6]!.SequenceNumber,
    });
    // 10 → 5+5, 5 (r5..r9) → 3+2, 3 (r5..r7) → 2+1, 2 (r5,r6) → 1+1: r6 fails once alone, 0 retries allowed.
    expect(rec.calls.map((c) => c.data.length)).toEqual([10, 5, 5, 3, 2, 1, 1, 1, 2]);
  });

  it("rewinds to the lowest reported itemIdentifier after a partial batch response", async () => {
    const stream = await newStream();
    await put(stream, records("r", 10));
    const rec = recorder((call, n) =>
      n === 1 ? { batchItemFailures: [{ itemIdentifier: call.seqs[7] }, { itemIdentifier: call.seqs[4] }] } : undefined,
    );
    const poller = await startPoller({ kinesis, streamName: stream, handler: rec.handler, reportBatchItemFailures: true });
    await waitFor("the retried rest", () => rec.calls.length === 2);
    expect(rec.calls[0]!.data).toEqual(records("r", 10).map((r) => r.data));
    // From the lowest reported one on, the records come again; the ones before it do not.
    expect(rec.calls[1]!.data).toEqual(["r4", "r5", "r6", "r7", "r8", "r9"]);
    await waitFor("the checkpoint at the end", () => poller.stats().shards[0]?.checkpoint === rec.calls[1]!.seqs[5]);
    expect(poller.stats()).toMatchObject({ partialFailures: 1, functionErrors: 0, recordsDelivered: 10 });
  });

  it("fails the whole batch when an itemIdentifier is not a sequence number of it", async () => {
    const stream = await newStream();
    await put(stream, records("r", 3));
    const rec = recorder((_c, n) => (n === 1 ? { batchItemFailures: [{ itemIdentifier: "12345" }] } : { batchItemFailures: [] }));
    const poller = await startPoller({ kinesis, streamName: stream, handler: rec.handler, reportBatchItemFailures: true });
    await waitFor("the retry", () => rec.calls.length === 2);
    expect(rec.calls[1]!.data).toEqual(["r0", "r1", "r2"]);
    expect(poller.stats().functionErrors).toBe(1);
  });

  it("discards a batch to the on-failure destination, in Lambda's format, once retries are exhausted", async () => {
    const stream = await newStream();
    const put0 = await put(stream, records("bad", 4));
    const failures: KinesisFailureRecord[] = [];
    const rec = recorder((call) => {
      if (call.data.some((d) => d.startsWith("bad"))) throw new Error("boom");
    });
    const poller = await startPoller({
      kinesis,
      streamName: stream,
      functionName: "fn",
      handler: rec.handler,
      maximumRetryAttempts: 2,
      onFailure: async (f) => {
        failures.push(f);
      },
    });
    await waitFor("the discard", () => failures.length === 1);
    expect(rec.calls).toHaveLength(3); // the first attempt and 2 retries
    const f = failures[0]!;
    expect(f).toEqual({
      requestContext: {
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        functionArn: "arn:aws:lambda:us-east-1:000000000000:function:fn",
        condition: "RetryAttemptsExhausted",
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
      version: "1.0",
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      KinesisBatchInfo: {
        shardId: "shardId-000000000000",
        startSequenceNumber: put0[0]!.SequenceNumber,
        endSequenceNumber: put0[3]!.SequenceNumber,
        approximateArrivalOfFirstRecord: expect.stringMatching(/Z$/),
        approximateArrivalOfLastRecord: expect.stringMatching(/Z$/),
        batchSize: 4,
        streamArn: `arn:aws:kinesis:us-east-1:000000000000:stream/${stream}`,
      },
      payload: expect.any(String),
    });
    expect((JSON.parse(f.payload!) as KinesisStreamEventLike).Records).toHaveLength(4);
    // The shard moves on.
    await put(stream, records("good", 2));
    await waitFor("later records", () => rec.delivered().length === 2);
    expect(rec.delivered()).toEqual(["good0", "good1"]);
    expect(poller.stats()).toMatchObject({ recordsDiscarded: 4, functionErrors: 3 });
  });

  it("discards records older than MaximumRecordAge without invoking the function", async () => {
    const stream = await newStream();
    await put(stream, records("old", 3));
    let skew = 120_000; // the poller's clock runs 2 minutes ahead: every record already put is 2 minutes old
    const failures: KinesisFailureRecord[] = [];
    const rec = recorder();
    await startPoller({
      kinesis,
      streamName: stream,
      handler: rec.handler,
      maximumRecordAgeSeconds: 60,
      now: () => Date.now() + skew,
      onFailure: async (f) => {
        failures.push(f);
      },
    });
    await waitFor("the discard", () => failures.length === 1);
    expect(failures[0]!.requestContext).toMatchObject({ condition: "RecordAgeExceeded", approximateInvokeCount: 0 });
    expect(failures[0]!.KinesisBatchInfo.batchSize).toBe(3);
    expect(rec.calls).toHaveLength(0);
    skew = 0;
    await put(stream, records("new", 2));
    await waitFor("fresh records", () => rec.delivered().length === 2);
    expect(rec.delivered()).toEqual(["new0", "new1"]);
  });

  it("with ParallelizationFactor > 1 runs batches of one shard concurrently, in order per partition key", async () => {
    const stream = await newStream();
    const keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
    const put0 = await put(
      stream,
      Array.from({ length: 80 }, (_, i) => ({ key: keys[i % 8]!, data: `${keys[i % 8]}-${Math.floor(i / 8)}` })),
    );
    let running = 0;
    let maxRunning = 0;
    const rec = recorder(async () => {
      maxRunning = Math.max(maxRunning, ++running);
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 10));
      running--;
    });
    const poller = await startPoller({ kinesis, streamName: stream, handler: rec.handler, batchSize: 3, parallelizationFactor: 4 });
    await waitFor("80 records", () => rec.delivered().length === 80);
    for (const k of keys) {
      const seen = rec.delivered().filter((d) => d.startsWith(`${k}-`));
      expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => `${k}-${i}`));
    }
    expect(maxRunning).toBeGreaterThan(1);
    // The shard's checkpoint only reaches the last record once every bucket is done with what precedes it.
    await waitFor("the checkpoint at the last record", () => poller.stats().shards[0]?.checkpoint === put0.at(-1)!.SequenceNumber);
  });

  it("keeps other shards going while one retries a failing batch", async () => {
    const stream = await newStream(2);
    await put(stream, records("r", 40));
    const rec = recorder((call) => {
      if (call.shardId === "shardId-000000000000") throw new Error("this shard is stuck");
    });
    await startPoller({ kinesis, streamName: stream, handler: rec.handler }); // retries forever (-1)
    await waitFor("shard 1 delivered", () => rec.ok.length > 0 && rec.calls.filter((c) => c.shardId.endsWith("0")).length >= 3);
    expect(rec.ok.every((c) => c.shardId === "shardId-000000000001")).toBe(true);
  });

  it("reads a split shard's children only after the parent is drained", async () => {
    const stream = await newStream(1);
    await put(stream, records("p", 20, (i) => `key-${i % 5}`));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const rec = recorder(async (_c, n) => {
      if (n === 1) await gate; // hold the parent's first batch while the shard splits
    });
    const poller = await startPoller({
      kinesis,
      streamName: stream,
      handler: rec.handler,
      batchSize: 5,
      functionTimeoutMs: 20_000,
    });
    await waitFor("the first batch", () => rec.calls.length === 1);
    const [parent] = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards!;
    const mid = (BigInt(parent!.HashKeyRange!.StartingHashKey!) + BigInt(parent!.HashKeyRange!.EndingHashKey!)) / 2n;
    await kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: parent!.ShardId, NewStartingHashKey: mid.toString() }));
    await put(stream, records("c", 20, (i) => `key-${i % 5}`));
    release();
    await waitFor("all 40 records", () => rec.delivered().length === 40);
    const order = rec.delivered();
    const lastParent = order.map((d) => d.startsWith("p")).lastIndexOf(true);
    const firstChild = order.findIndex((d) => d.startsWith("c"));
    expect(lastParent).toBe(19);
    expect(firstChild).toBe(20);
    expect(order.slice(0, 20)).toEqual(records("p", 20).map((r) => r.data));
    // Per key, the children's records come in put order.
    for (let k = 0; k < 5; k++) {
      const mine = order.filter((d) => d.startsWith("c") && Number(d.slice(1)) % 5 === k);
      expect(mine).toEqual(records("c", 20).map((r) => r.data).filter((d) => Number(d.slice(1)) % 5 === k));
    }
    const shards = poller.stats().shards;
    expect(shards.find((s) => s.shardId === parent!.ShardId)?.state).toBe("drained");
    expect(shards.filter((s) => s.parentShardIds.includes(parent!.ShardId!))).toHaveLength(2);
  });

  it("reads a merged shard only after both parents are drained", async () => {
    const stream = await newStream(2);
    await put(stream, records("p", 20));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const rec = recorder(async (_c, n) => {
      if (n === 1) await gate; // hold one parent while the shards merge
    });
    const poller = await startPoller({ kinesis, streamName: stream, handler: rec.handler, batchSize: 3, functionTimeoutMs: 20_000 });
    await waitFor("the first batch", () => rec.calls.length >= 1);
    const [a, b] = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards!;
    await kinesis.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: a!.ShardId, AdjacentShardToMerge: b!.ShardId }));
    const later = await put(stream, records("c", 10));
    const child = later[0]!.ShardId!;
    release();
    await waitFor("all 30 records", () => rec.delivered().length === 30);
    const order = rec.delivered();
    expect(order.slice(0, 20).sort()).toEqual(records("p", 20).map((r) => r.data).sort());
    expect(order.slice(20)).toEqual(records("c", 10).map((r) => r.data));
    const merged = poller.stats().shards.find((s) => s.shardId === child)!;
    expect([...merged.parentShardIds].sort()).toEqual([a!.ShardId, b!.ShardId].sort());
  });

  it("fails to start if the stream does not exist, and leaves nothing running", async () => {
    const poller = new EsmPoller({ ...FAST, kinesis, streamName: "no-such-stream", handler: async () => {} });
    await expect(poller.start()).rejects.toMatchObject({ name: "ResourceNotFoundException" });
    expect(poller.stats().state).toBe("stopped");
  });

  it("fails an invocation that outlives the function timeout, and retries the batch", async () => {
    const stream = await newStream();
    await put(stream, records("r", 3));
    let release!: () => void;
    const hung = new Promise<void>((r) => (release = r));
    const outcomes: string[] = [];
    const rec = recorder(async (_c, n) => {
      if (n === 1) await hung; // never answers in time
    });
    const poller = await startPoller({ kinesis, streamName: stream, handler: rec.handler, functionTimeoutMs: 150 });
    poller.on("result", (e) => outcomes.push(e.outcome));
    try {
      await waitFor("the retry", () => rec.ok.length === 1);
      expect(outcomes).toEqual(["timeout", "success"]);
      expect(rec.calls[1]!.data).toEqual(["r0", "r1", "r2"]);
      expect(rec.calls[0]!.remainingMs).toBeLessThanOrEqual(150);
      expect(rec.calls[1]!.at - rec.calls[0]!.at).toBeGreaterThanOrEqual(140);
      expect(poller.stats()).toMatchObject({ timeouts: 1, functionErrors: 1 });
    } finally {
      release();
    }
  });

  it("resumes from its checkpoint store after a restart", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sparkless-esm-"));
    try {
      const stream = await newStream();
      await put(stream, records("a", 5));
      const first = recorder();
      const p1 = await startPoller({
        kinesis,
        streamName: stream,
        handler: first.handler,
        checkpointStore: new FileCheckpointStore(join(dir, "esm.json")),
      });
      await waitFor("the first records", () => first.delivered().length === 5);
      await p1.stop();
      await put(stream, records("b", 3));
      const second = recorder();
      await startPoller({
        kinesis,
        streamName: stream,
        handler: second.handler,
        checkpointStore: new FileCheckpointStore(join(dir, "esm.json")),
      });
      await waitFor("the new records", () => second.delivered().length === 3);
      expect(second.delivered()).toEqual(["b0", "b1", "b2"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [{ batchSize: 0 }, /batchSize must be an integer in 1\.\.10000, got 0/],
    [{ batchSize: 10_001 }, /batchSize must be an integer in 1\.\.10000, got 10001/],
    [{ parallelizationFactor: 11 }, /parallelizationFactor must be an integer in 1\.\.10, got 11/],
    [{ maximumRetryAttempts: -2 }, /maximumRetryAttempts must be an integer in -1 or 0\.\.10000, got -2/],
    [{ maximumRecordAgeSeconds: 30 }, /maximumRecordAgeSeconds must be an integer in -1 or 60\.\.604800, got 30/],
    [{ maximumBatchingWindowMs: 300_001 }, /maximumBatchingWindowMs must be in 0\.\.300000, got 300001/],
    [{ startingPosition: "AT_TIMESTAMP" as const }, /AT_TIMESTAMP needs startingPositionTimestamp/],
  ])("fails if a setting is out of AWS's range: %o", (bad, message) => {
    const make = () => new EsmPoller({ kinesis, streamName: "s", handler: async () => {}, ...bad });
    expect(make).toThrow(ValidationError);
    expect(make).toThrow(message);
  });

  it("lists where it differs from AWS", () => {
    const poller = new EsmPoller({ kinesis, streamName: "s", handler: async () => {} });
    expect(poller.limitations.length).toBeGreaterThan(0);
    for (const l of poller.limitations) expect(l).toMatch(/\S/);
  });
});

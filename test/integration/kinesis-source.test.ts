import { createHash } from "node:crypto";
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  SplitShardCommand,
  type Shard,
} from "@aws-sdk/client-kinesis";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import agg from "aws-kinesis-agg";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { Time } from "../../lib/core/duration.js";
import { kinesisClient } from "../../lib/io/aws-clients.js";
import { KinesisSource, type KinesisElement, type KinesisPosition, type KinesisSourceOptions } from "../../lib/io/kinesis-source.js";
import { SourceError } from "../../lib/io/socket-text-source.js";
import { useKinesis } from "../support/emulators.js";
import { FakeSourceContext } from "../support/fake-source-context.js";

const mock = useKinesis();
let client: KinesisClient;
beforeAll(() => {
  client = kinesisClient({ endpoint: mock.endpoint });
});
afterAll(() => client.destroy());

const running: KinesisSource<unknown>[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

/** Fast polling so the test waits milliseconds, not seconds. */
const FAST = { pollIntervalMs: 20, shardSyncIntervalMs: 100 } as const;

async function source<T = string>(stream: string, options: KinesisSourceOptions<T>, position?: unknown) {
  const ctx = new FakeSourceContext();
  const errors: SourceError[] = [];
  const s = new KinesisSource<T>(stream, { endpoint: mock.endpoint, ...FAST, onError: (e) => errors.push(e), ...options });
  running.push(s as KinesisSource<unknown>);
  if (position !== undefined) s.restore(position);
  await s.start(ctx);
  return { s, ctx, errors };
}

let batch = 0;
/** Takes batches until `n` elements have come; returns them in the order handed over. */
async function collect<T>(s: KinesisSource<T>, n: number): Promise<KinesisElement<T>[]> {
  const got: KinesisElement<T>[] = [];
  await vi.waitFor(
    () => {
      got.push(...s.takeRecords(new Time(++batch * 1000)));
      expect(got.length).toBeGreaterThanOrEqual(n);
    },
    { timeout: 10_000, interval: 20 },
  );
  return got;
}

async function createStream(name: string, shards: number): Promise<Shard[]> {
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  return (await client.send(new ListShardsCommand({ StreamName: name }))).Shards!;
}

/** Puts records to the shard whose hash range starts at `hashKey`; returns their sequence numbers. */
async function put(stream: string, hashKey: string, data: (string | Uint8Array)[]): Promise<string[]> {
  const res = await client.send(
    new PutRecordsCommand({
      StreamName: stream,
      Records: data.map((d) => ({ PartitionKey: "pk", ExplicitHashKey: hashKey, Data: typeof d === "string" ? Buffer.from(d) : d })),
    }),
  );
  expect(res.FailedRecordCount ?? 0).toBe(0);
  return res.Records!.map((r) => r.SequenceNumber!);
}

const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

const values = <T>(els: KinesisElement<T>[], shardId?: string) => els.filter((e) => !shardId || e.meta.shardId === shardId).map((e) => e.value);

async function split(stream: string, shard: Shard): Promise<[Shard, Shard]> {
  const lo = BigInt(shard.HashKeyRange!.StartingHashKey!);
  const hi = BigInt(shard.HashKeyRange!.EndingHashKey!);
  await client.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: shard.ShardId, NewStartingHashKey: ((lo + hi + 1n) / 2n).toString() }));
  const children = (await client.send(new ListShardsCommand({ StreamName: stream }))).Shards!.filter((s) => s.ParentShardId === shard.ShardId);
  expect(children).toHaveLength(2);
  return children.sort((a, b) => (BigInt(a.HashKeyRange!.StartingHashKey!) < BigInt(b.HashKeyRange!.StartingHashKey!) ? -1 : 1)) as [Shard, Shard];
}

describe("KinesisSource", () => {
  it("reads every shard in order and resumes after the last handed record from its position", async () => {
    const [a, b] = await createStream("ks-two", 2);
    const seqA = await put("ks-two", a!.HashKeyRange!.StartingHashKey!, ["a0", "a1", "a2", "a3", "a4"]);
    const seqB = await put("ks-two", b!.HashKeyRange!.StartingHashKey!, ["b0", "b1", "b2"]);

    const timersBefore = timers();
    const first = await source("ks-two", { initialPosition: "TRIM_HORIZON" });
    const got = await collect(first.s, 8);
    expect(got).toHaveLength(8);
    expect(values(got, a!.ShardId)).toEqual(["a0", "a1", "a2", "a3", "a4"]);
    expect(values(got, b!.ShardId)).toEqual(["b0", "b1", "b2"]);
    const e = got.find((x) => x.value === "a1")!;
    expect(e.meta).toMatchObject({ streamName: "ks-two", shardId: a!.ShardId, sequenceNumber: seqA[1], subSequenceNumber: 0, partitionKey: "pk", aggregated: false });
    expect(Math.abs(e.meta.arrivalTime - Date.now())).toBeLessThan(60_000);
    expect(e.time).toBe(e.meta.arrivalTime);

    const position = JSON.parse(JSON.stringify(first.s.position())) as KinesisPosition;
    expect(position).toEqual({
      version: 1,
      streamName: "ks-two",
      shards: {
        [a!.ShardId!]: { at: "AFTER_SEQUENCE_NUMBER", sequenceNumber: seqA[4] },
        [b!.ShardId!]: { at: "AFTER_SEQUENCE_NUMBER", sequenceNumber: seqB[2] },
      },
    });
    await first.s.stop();
    expect(first.s.status).toBe("stopped");
    expect(timers()).toBeLessThanOrEqual(timersBefore); // no poll, sync or backoff timer left behind

    await put("ks-two", a!.HashKeyRange!.StartingHashKey!, ["a5"]);
    await put("ks-two", b!.HashKeyRange!.StartingHashKey!, ["b3", "b4"]);
    // A restored position wins over the initial position: nothing is read twice, nothing is skipped.
    const second = await source("ks-two", { initialPosition: "LATEST" }, position);
    const more = await collect(second.s, 3);
    expect(values(more, a!.ShardId)).toEqual(["a5"]);
    expect(values(more, b!.ShardId)).toEqual(["b3", "b4"]);
    expect(second.s.take(new Time(++batch * 1000))).toEqual([]);
    expect([...first.errors, ...second.errors]).toEqual([]);
  });

  it("drains a split parent before reading its children, including a split during the run", async () => {
    const [parent] = await createStream("ks-split", 1);
    await put("ks-split", parent!.HashKeyRange!.StartingHashKey!, ["p0", "p1", "p2"]);
    const [left, right] = await split("ks-split", parent!);
    // Written before the source starts: the children already hold data when it lists them.
    await put("ks-split", left!.HashKeyRange!.StartingHashKey!, ["l0", "l1"]);
    await put("ks-split", right!.HashKeyRange!.StartingHashKey!, ["r0", "r1"]);

    // One record per GetRecords call: the parent takes several calls, so children read alongside it would interleave.
    const { s } = await source("ks-split", { initialPosition: "TRIM_HORIZON", maxRecordsPerCall: 1 });
    const got = await collect(s, 7);
    const order = values(got);
    const lastParent = Math.max(...["p0", "p1", "p2"].map((v) => order.indexOf(v)));
    const firstChild = Math.min(...["l0", "l1", "r0", "r1"].map((v) => order.indexOf(v)));
    expect(lastParent).toBeLessThan(firstChild);
    expect(values(got, parent!.ShardId)).toEqual(["p0", "p1", "p2"]);
    expect(values(got, left!.ShardId)).toEqual(["l0", "l1"]);
    expect(values(got, right!.ShardId)).toEqual(["r0", "r1"]);
    expect(s.position().shards[parent!.ShardId!]).toEqual({ at: "SHARD_END" });

    // Split the right child while the source runs: the rest of it comes first, then its children's records.
    await put("ks-split", right!.HashKeyRange!.StartingHashKey!, ["r2"]);
    const [rl, rr] = await split("ks-split", right!);
    await put("ks-split", rl!.HashKeyRange!.StartingHashKey!, ["rl0"]);
    await put("ks-split", rr!.HashKeyRange!.StartingHashKey!, ["rr0", "rr1"]);
    await put("ks-split", left!.HashKeyRange!.StartingHashKey!, ["l2"]);
    const later = await collect(s, 5);
    const o2 = values(later);
    expect(o2.slice().sort()).toEqual(["l2", "r2", "rl0", "rr0", "rr1"]);
    expect(o2.indexOf("r2")).toBeLessThan(Math.min(o2.indexOf("rl0"), o2.indexOf("rr0")));
    expect(values(later, rr!.ShardId)).toEqual(["rr0", "rr1"]);
    expect(s.position().shards).toMatchObject({
      [parent!.ShardId!]: { at: "SHARD_END" },
      [right!.ShardId!]: { at: "SHARD_END" },
      [left!.ShardId!]: { at: "AFTER_SEQUENCE_NUMBER" },
      [rl!.ShardId!]: { at: "AFTER_SEQUENCE_NUMBER" },
      [rr!.ShardId!]: { at: "AFTER_SEQUENCE_NUMBER" },
    });
  });

  it("starts at LATEST, de-aggregates KPL records, extracts event time and dead-letters what it cannot decode", async () => {
    const [shard] = await createStream("ks-kpl", 1);
    const hash = shard!.HashKeyRange!.StartingHashKey!;
    await put("ks-kpl", hash, ['{"n":-1,"t":1}']); // before the start: LATEST skips it

    const { s, ctx } = await source<{ n: number; t: number }>("ks-kpl", {
      initialPosition: "LATEST",
      decoder: (bytes) => JSON.parse(new TextDecoder().decode(bytes)) as { n: number; t: number },
      timestampExtractor: (v) => v.t * 1000,
    });
    const aggregator = new (agg as unknown as { RecordAggregator: new () => KplAggregator }).RecordAggregator();
    aggregator.addUserRecord({ partitionKey: "u1", data: Buffer.from('{"n":1,"t":10}') });
    aggregator.addUserRecord({ partitionKey: "u2", data: Buffer.from("not json") });
    aggregator.addUserRecord({ partitionKey: "u3", data: Buffer.from('{"n":3,"t":30}') });
    const aggregate = new Uint8Array(aggregator.build().data);
    const broken = aggregate.slice(0, aggregate.length - 1); // MD5 trailer cut short
    const [seqAgg, seqBroken] = await put("ks-kpl", hash, [aggregate, broken, '{"n":4,"t":40}']);

    const got = await collect(s, 3);
    expect(got.map((e) => [e.value.n, e.time, e.meta.partitionKey, e.meta.subSequenceNumber, e.meta.aggregated])).toEqual([
      [1, 10_000, "u1", 0, true],
      [3, 30_000, "u3", 2, true],
      [4, 40_000, "pk", 0, false],
    ]);
    expect(ctx.deadLetters).toEqual([
      {
        source: "kinesis ks-kpl",
        position: { shardId: shard!.ShardId, sequenceNumber: seqAgg, subSequenceNumber: 1 },
        reason: expect.stringMatching(/^the decoder threw: .*JSON/),
        raw: Buffer.from("not json").toString("base64"),
      },
      {
        source: "kinesis ks-kpl",
        position: { shardId: shard!.ShardId, sequenceNumber: seqBroken },
        reason: expect.stringMatching(/^KPL aggregate MD5 trailer [0-9a-f]+ does not match its content/),
        raw: Buffer.from(broken).toString("base64"),
      },
    ]);
  });

  it("dead-letters a record that is not UTF-8 with the default decoder", async () => {
    const [shard] = await createStream("ks-utf8", 1);
    const { s, ctx } = await source("ks-utf8", { initialPosition: "TRIM_HORIZON" });
    const [, seqBad] = await put("ks-utf8", shard!.HashKeyRange!.StartingHashKey!, ["ok", Uint8Array.of(0xc3, 0x28), "fine"]);
    expect(values(await collect(s, 2))).toEqual(["ok", "fine"]);
    expect(ctx.deadLetters).toEqual([
      {
        source: "kinesis ks-utf8",
        position: { shardId: shard!.ShardId, sequenceNumber: seqBad, subSequenceNumber: 0 },
        reason: "the decoder threw: the record is not valid UTF-8 text",
        raw: "wyg=",
      },
    ]);
  });

  it("dead-letters a KPL aggregate with a valid checksum and no user records instead of dropping it uncounted", async () => {
    const [shard] = await createStream("ks-empty-kpl", 1);
    const { s, ctx } = await source("ks-empty-kpl", { initialPosition: "TRIM_HORIZON" });
    const nothing = new Uint8Array(0);
    const empty = Buffer.concat([Buffer.from([0xf3, 0x89, 0x9a, 0xc2]), nothing, createHash("md5").update(nothing).digest()]);
    const [, seqEmpty] = await put("ks-empty-kpl", shard!.HashKeyRange!.StartingHashKey!, ["before", empty, "after"]);
    expect(values(await collect(s, 2))).toEqual(["before", "after"]);
    expect(ctx.deadLetters).toEqual([
      {
        source: "kinesis ks-empty-kpl",
        position: { shardId: shard!.ShardId, sequenceNumber: seqEmpty },
        reason: "KPL aggregate has a valid checksum but holds no user records",
        raw: empty.toString("base64"),
      },
    ]);
  });

  it("backs off when throttled, reports it, and loses nothing", async () => {
    const [shard] = await createStream("ks-throttle", 1);
    // A proxy in front of the Kinesis emulator (which never throttles) answers the first GetRecords calls as AWS does
    // when a shard's read limit is exceeded.
    let throttle = 3;
    const proxy = createServer((req, res) => {
      const body: Buffer[] = [];
      req.on("data", (c: Buffer) => body.push(c));
      req.on("end", () => {
        if (req.headers["x-amz-target"] === "Kinesis_20131202.GetRecords" && throttle > 0) {
          throttle -= 1;
          res.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
          res.end(JSON.stringify({ __type: "ProvisionedThroughputExceededException", message: "Rate exceeded for shard" }));
          return;
        }
        const up = httpRequest(mock.endpoint, { method: req.method, path: req.url, headers: req.headers }, (upRes) => {
          res.writeHead(upRes.statusCode ?? 500, upRes.headers);
          upRes.pipe(res);
        });
        up.on("error", (e) => res.destroy(e));
        up.end(Buffer.concat(body));
      });
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    // No SDK retries, so the source's own backoff is what is exercised; the client is the caller's to destroy.
    const own = new KinesisClient({
      endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "x", secretAccessKey: "x" },
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler(),
    });
    try {
      const seqs = await put("ks-throttle", shard!.HashKeyRange!.StartingHashKey!, ["t0", "t1", "t2"]);
      const { s, errors } = await source("ks-throttle", { initialPosition: "TRIM_HORIZON", client: own, maxBackoffMs: 200 });
      expect(values(await collect(s, 3))).toEqual(["t0", "t1", "t2"]);
      expect(errors.map((e) => e.code)).toEqual(["KinesisThrottled", "KinesisThrottled", "KinesisThrottled"]);
      expect(errors[0]!.message).toBe(`GetRecords on ${shard!.ShardId} (stream ks-throttle) was throttled: Rate exceeded for shard; backing off`);
      expect(s.lastError).toBe(errors[2]);
      expect(s.position().shards[shard!.ShardId!]).toEqual({ at: "AFTER_SEQUENCE_NUMBER", sequenceNumber: seqs[2] });
      await s.stop();
      // Still usable: stop() left the caller's client alone.
      await own.send(new ListShardsCommand({ StreamName: "ks-throttle" }));
    } finally {
      own.destroy();
      await new Promise((r) => proxy.close(r));
    }
  });

  it("fails if the stream is deleted while it runs: reported, and take throws once the data is handed over", async () => {
    const [shard] = await createStream("ks-deleted", 1);
    const { s, errors } = await source("ks-deleted", { initialPosition: "TRIM_HORIZON" });
    await put("ks-deleted", shard!.HashKeyRange!.StartingHashKey!, ["last words"]);
    await vi.waitFor(() => expect(s.buffered).toBe(1), { timeout: 5_000, interval: 10 });
    await client.send(new DeleteStreamCommand({ StreamName: "ks-deleted" }));
    await vi.waitFor(() => expect(s.status).toBe("failed"), { timeout: 5_000, interval: 10 });
    expect(s.take(new Time(++batch * 1000))).toEqual(["last words"]);
    expect(() => s.take(new Time(++batch * 1000))).toThrow(/^Kinesis stream ks-deleted no longer exists \(/);
    expect(errors.at(-1)).toMatchObject({ code: "KinesisStreamNotFound" });
    expect(s.lastError).toBe(errors.at(-1));
  });

  it("fails if the stream does not exist", async () => {
    const s = new KinesisSource("ks-missing", { endpoint: mock.endpoint });
    const err = await s.start(new FakeSourceContext()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).code).toBe("KinesisStreamNotFound");
    expect((err as SourceError).message).toMatch(/^Kinesis stream ks-missing does not exist \(/);
    expect(s.status).toBe("failed");
  });

  it.each<[string, () => unknown, string]>([
    ["a position it did not write", () => new KinesisSource("s").restore({ shards: {} }), "kinesisStream s: the checkpointed position is not one it wrote"],
    [
      "a position of another stream",
      () => new KinesisSource("s").restore({ version: 1, streamName: "t", shards: {} }),
      "kinesisStream s: the checkpointed position is for stream t",
    ],
    ["a zero poll interval", () => new KinesisSource("s", { pollIntervalMs: 0 }), "pollIntervalMs must be a positive whole number, got 0"],
    ["an unknown initial position", () => new KinesisSource("s", { initialPosition: "EARLIEST" as "LATEST" }), 'initialPosition must be "LATEST", "TRIM_HORIZON" or { atTimestamp }, got "EARLIEST"'],
  ])("fails if given %s", (_what, make, message) => {
    expect(make).toThrow(message);
  });
});

interface KplAggregator {
  addUserRecord(r: { partitionKey: string; data: Buffer }): void;
  build(): { partitionKey: string; data: Buffer };
}

/**
 * The project's Kinesis emulator (tooling/kinesis): what AWS documents for the operations the runtime uses,
 * and what its journal promises — an acknowledged put survives a kill -9, a torn last line is dropped, a damaged
 * journal says what to do, and a sequence number is never handed out twice.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  ListStreamsCommand,
  MergeShardsCommand,
  PutRecordCommand,
  PutRecordsCommand,
  type KinesisClient,
} from "@aws-sdk/client-kinesis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kinesisClient } from "../../lib/io/aws-clients.js";
import { startKinesis } from "../../tooling/emulators/index.js";
import { KinesisApi } from "../../tooling/kinesis/api.js";
import { JOURNAL_FILE } from "../../tooling/kinesis/journal.js";
import { StreamState } from "../../tooling/kinesis/streams.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "sparkless-kinesis-"));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const byBigInt = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

async function readAll(kinesis: KinesisClient, stream: string, shardId: string): Promise<{ seq: string; data: string }[]> {
  const it = await kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" }));
  const out: { seq: string; data: string }[] = [];
  let iterator = it.ShardIterator;
  for (let i = 0; iterator && i < 100; i++) {
    const res = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator }));
    for (const r of res.Records ?? []) out.push({ seq: r.SequenceNumber!, data: Buffer.from(r.Data!).toString() });
    if ((res.Records ?? []).length === 0) break;
    iterator = res.NextShardIterator;
  }
  return out;
}

describe("the Kinesis emulator's API", () => {
  let emu: Awaited<ReturnType<typeof startKinesis>>;
  let kinesis: KinesisClient;
  beforeAll(async () => {
    emu = await startKinesis();
    kinesis = kinesisClient({ endpoint: emu.endpoint });
  });
  afterAll(async () => {
    kinesis?.destroy();
    await emu?.stop();
  });

  it("routes a partition key to the shard whose hash key range holds its MD5, and an ExplicitHashKey to its own", async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: "api-route", ShardCount: 4 }));
    const shards = (await kinesis.send(new ListShardsCommand({ StreamName: "api-route" }))).Shards!;
    expect(shards.map((s) => s.ShardId)).toEqual(["shardId-000000000000", "shardId-000000000001", "shardId-000000000002", "shardId-000000000003"]);
    expect(shards[0]!.HashKeyRange!.StartingHashKey).toBe("0");
    expect(shards[3]!.HashKeyRange!.EndingHashKey).toBe(((1n << 128n) - 1n).toString());
    const owner = (hash: bigint) => shards.find((s) => BigInt(s.HashKeyRange!.StartingHashKey!) <= hash && hash <= BigInt(s.HashKeyRange!.EndingHashKey!))!.ShardId;
    const keys = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    const put = await kinesis.send(new PutRecordsCommand({ StreamName: "api-route", Records: keys.map((k) => ({ PartitionKey: k, Data: Buffer.from(k) })) }));
    keys.forEach((k, i) => expect(put.Records![i]!.ShardId).toBe(owner(BigInt(`0x${createHash("md5").update(k).digest("hex")}`))));
    const explicit = await kinesis.send(new PutRecordCommand({ StreamName: "api-route", PartitionKey: "any", ExplicitHashKey: ((1n << 128n) - 1n).toString(), Data: Buffer.from("x") }));
    expect(explicit.ShardId).toBe("shardId-000000000003");
    // Sequence numbers are decimal strings beyond 64 bits, increasing in each shard.
    const seqs = put.Records!.map((r) => BigInt(r.SequenceNumber!));
    expect(seqs.every((s) => s > 2n ** 64n)).toBe(true);
    expect([...seqs].sort(byBigInt)).toEqual(seqs);
  });

  it("refuses a record over 1 MiB with the whole request, as AWS validates it, and names missing streams", async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: "api-limits", ShardCount: 1 }));
    await expect(
      kinesis.send(new PutRecordsCommand({ StreamName: "api-limits", Records: [{ PartitionKey: "k", Data: Buffer.alloc(1024 * 1024 + 1) }] })),
    ).rejects.toMatchObject({ name: "ValidationException" });
    await expect(kinesis.send(new PutRecordsCommand({ StreamName: "nope", Records: [{ PartitionKey: "k", Data: Buffer.from("x") }] }))).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
    await expect(kinesis.send(new CreateStreamCommand({ StreamName: "api-limits", ShardCount: 1 }))).rejects.toMatchObject({ name: "ResourceInUseException" });
  });

  it("hands out iterators of every type and reads with Limit, MillisBehindLatest and arrival timestamps", async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: "api-iter", ShardCount: 1 }));
    const shardId = "shardId-000000000000";
    const before = Date.now();
    const put = await kinesis.send(new PutRecordsCommand({ StreamName: "api-iter", Records: ["a", "b", "c"].map((d) => ({ PartitionKey: d, Data: Buffer.from(d) })) }));
    const [s0, s1] = put.Records!.map((r) => r.SequenceNumber!);
    const latest = await kinesis.send(new GetShardIteratorCommand({ StreamName: "api-iter", ShardId: shardId, ShardIteratorType: "LATEST" }));
    await kinesis.send(new PutRecordCommand({ StreamName: "api-iter", PartitionKey: "d", Data: Buffer.from("d") }));
    const read = async (input: Omit<ConstructorParameters<typeof GetShardIteratorCommand>[0], "StreamName" | "ShardId">, limit?: number) => {
      const it = await kinesis.send(new GetShardIteratorCommand({ StreamName: "api-iter", ShardId: shardId, ...input }));
      return kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator, ...(limit ? { Limit: limit } : {}) }));
    };
    const data = (res: { Records?: { Data?: Uint8Array }[] }) => (res.Records ?? []).map((r) => Buffer.from(r.Data!).toString());

    const first = await read({ ShardIteratorType: "TRIM_HORIZON" }, 2);
    expect(data(first)).toEqual(["a", "b"]);
    expect(first.MillisBehindLatest).toBeGreaterThanOrEqual(0);
    expect(first.Records![0]!.ApproximateArrivalTimestamp!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(data(await kinesis.send(new GetRecordsCommand({ ShardIterator: first.NextShardIterator })))).toEqual(["c", "d"]);
    expect(data(await read({ ShardIteratorType: "AT_SEQUENCE_NUMBER", StartingSequenceNumber: s1 }))).toEqual(["b", "c", "d"]);
    expect(data(await read({ ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: s0 }))).toEqual(["b", "c", "d"]);
    expect(data(await kinesis.send(new GetRecordsCommand({ ShardIterator: latest.ShardIterator })))).toEqual(["d"]);
    const tip = await read({ ShardIteratorType: "LATEST" });
    expect(tip.Records).toEqual([]);
    expect(tip.MillisBehindLatest).toBe(0);
    expect(tip.NextShardIterator).toBeDefined();
    await expect(read({ ShardIteratorType: "AT_SEQUENCE_NUMBER", StartingSequenceNumber: "1" })).rejects.toMatchObject({ name: "InvalidArgumentException" });
  });

  it("merges two adjacent shards: the child names both parents, and both parents end", async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: "api-merge", ShardCount: 3 }));
    await expect(
      kinesis.send(new MergeShardsCommand({ StreamName: "api-merge", ShardToMerge: "shardId-000000000000", AdjacentShardToMerge: "shardId-000000000002" })),
    ).rejects.toMatchObject({ name: "InvalidArgumentException" });
    await kinesis.send(new MergeShardsCommand({ StreamName: "api-merge", ShardToMerge: "shardId-000000000001", AdjacentShardToMerge: "shardId-000000000002" }));
    const shards = (await kinesis.send(new ListShardsCommand({ StreamName: "api-merge" }))).Shards!;
    const child = shards.find((s) => s.ShardId === "shardId-000000000003")!;
    expect(child).toMatchObject({ ParentShardId: "shardId-000000000001", AdjacentParentShardId: "shardId-000000000002" });
    expect(child.HashKeyRange).toEqual({ StartingHashKey: shards[1]!.HashKeyRange!.StartingHashKey, EndingHashKey: shards[2]!.HashKeyRange!.EndingHashKey });
    expect(shards.filter((s) => s.SequenceNumberRange?.EndingSequenceNumber !== undefined).map((s) => s.ShardId)).toEqual(["shardId-000000000001", "shardId-000000000002"]);
    const open = (await kinesis.send(new ListShardsCommand({ StreamName: "api-merge", ShardFilter: { Type: "AT_LATEST" } }))).Shards!;
    expect(open.map((s) => s.ShardId)).toEqual(["shardId-000000000000", "shardId-000000000003"]);
    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: "api-merge" }));
    expect(summary.StreamDescriptionSummary).toMatchObject({ StreamStatus: "ACTIVE", OpenShardCount: 2, RetentionPeriodHours: 24 });
    const described = await kinesis.send(new DescribeStreamCommand({ StreamName: "api-merge" }));
    expect(described.StreamDescription!.Shards).toHaveLength(4);
    expect((await kinesis.send(new ListStreamsCommand({}))).StreamNames).toContain("api-merge");
    await kinesis.send(new DeleteStreamCommand({ StreamName: "api-merge" }));
    await expect(kinesis.send(new ListShardsCommand({ StreamName: "api-merge" }))).rejects.toMatchObject({ name: "ResourceNotFoundException" });
  });

  it("creates an on-demand stream with 4 shards, as AWS does", async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: "api-od", StreamModeDetails: { StreamMode: "ON_DEMAND" } }));
    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: "api-od" }));
    expect(summary.StreamDescriptionSummary).toMatchObject({ OpenShardCount: 4, StreamModeDetails: { StreamMode: "ON_DEMAND" } });
  });
});

describe("the Kinesis emulator on a manual clock", () => {
  function api(clock: { now: number }, transitionMs = 0): KinesisApi {
    return new KinesisApi(new StreamState("000000000000", "us-east-1"), undefined, { now: () => clock.now, transitionMs });
  }

  it("expires an iterator 5 minutes after it was handed out", () => {
    const clock = { now: 1_000_000 };
    const k = api(clock);
    k.handle("CreateStream", { StreamName: "s", ShardCount: 1 });
    const { ShardIterator } = k.handle("GetShardIterator", { StreamName: "s", ShardId: "shardId-000000000000", ShardIteratorType: "TRIM_HORIZON" });
    clock.now += 5 * 60_000 + 1;
    expect(() => k.handle("GetRecords", { ShardIterator })).toThrow(expect.objectContaining({ type: "ExpiredIteratorException" }));
  });

  it("drops records past the retention period", () => {
    const clock = { now: 1_000_000 };
    const k = api(clock);
    k.handle("CreateStream", { StreamName: "s", ShardCount: 1 });
    k.handle("PutRecord", { StreamName: "s", PartitionKey: "k", Data: Buffer.from("old").toString("base64") });
    clock.now += 24 * 3_600_000 + 1;
    k.handle("PutRecord", { StreamName: "s", PartitionKey: "k", Data: Buffer.from("new").toString("base64") });
    const { ShardIterator } = k.handle("GetShardIterator", { StreamName: "s", ShardId: "shardId-000000000000", ShardIteratorType: "TRIM_HORIZON" });
    const res = k.handle("GetRecords", { ShardIterator }) as { Records: { Data: string }[] };
    expect(res.Records.map((r) => Buffer.from(r.Data, "base64").toString())).toEqual(["new"]);
  });

  it("is CREATING, then ACTIVE, and refuses a split while UPDATING", () => {
    const clock = { now: 1_000_000 };
    const k = api(clock, 500);
    k.handle("CreateStream", { StreamName: "s", ShardCount: 1 });
    const status = () => (k.handle("DescribeStreamSummary", { StreamName: "s" }).StreamDescriptionSummary as { StreamStatus: string }).StreamStatus;
    expect(status()).toBe("CREATING");
    clock.now += 500;
    expect(status()).toBe("ACTIVE");
    k.handle("SplitShard", { StreamName: "s", ShardToSplit: "shardId-000000000000", NewStartingHashKey: (1n << 127n).toString() });
    expect(status()).toBe("UPDATING");
    expect(() => k.handle("SplitShard", { StreamName: "s", ShardToSplit: "shardId-000000000001", NewStartingHashKey: "100" })).toThrow(
      expect.objectContaining({ type: "ResourceInUseException" }),
    );
  });
});

/** A child process running the emulator on `dataDir`; it prints its endpoint, and dies by kill -9. */
function emulatorProcess(dataDir: string) {
  const script = join(root, `emu-${Math.random().toString(36).slice(2)}.mts`);
  writeFileSync(
    script,
    `import { startKinesis } from ${JSON.stringify(pathToFileURL(join(REPO, "tooling/emulators/index.ts")).href)};
const emu = await startKinesis({ dataDir: ${JSON.stringify(dataDir)} });
console.log(emu.endpoint);
setInterval(() => {}, 1 << 30);
`,
  );
  const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] });
  const endpoint = new Promise<string>((ok, fail) => {
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      const line = out.split("\n").find((l) => l.startsWith("http://"));
      if (line) ok(line.trim());
    });
    child.once("exit", (code) => fail(new Error(`emulator process exited (${code}) before it was ready`)));
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return { endpoint, kill: async () => (child.kill("SIGKILL"), await exited) };
}

describe("the Kinesis emulator's journal", () => {
  it("keeps every acknowledged record through a kill -9 and never hands out a sequence number twice", async () => {
    const dataDir = join(root, "crash");
    const proc = emulatorProcess(dataDir);
    const kinesis = kinesisClient({ endpoint: await proc.endpoint });
    const acked: string[] = [];
    try {
      await kinesis.send(new CreateStreamCommand({ StreamName: "durable", ShardCount: 2 }));
      for (let b = 0; b < 5; b++) {
        const res = await kinesis.send(new PutRecordsCommand({ StreamName: "durable", Records: Array.from({ length: 50 }, (_, i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(`${b}-${i}`) })) }));
        acked.push(...res.Records!.map((r) => r.SequenceNumber!));
      }
    } finally {
      kinesis.destroy();
    }
    await proc.kill(); // no clean stop: nothing is saved on the way out

    const again = await startKinesis({ dataDir });
    const client = kinesisClient({ endpoint: again.endpoint });
    try {
      const stored = [...(await readAll(client, "durable", "shardId-000000000000")), ...(await readAll(client, "durable", "shardId-000000000001"))];
      expect(stored.map((r) => r.seq).sort()).toEqual([...acked].sort());
      expect(stored).toHaveLength(250);
      const next = await client.send(new PutRecordCommand({ StreamName: "durable", PartitionKey: "k0", Data: Buffer.from("after") }));
      const highest = acked.map(BigInt).sort(byBigInt).at(-1)!;
      expect(BigInt(next.SequenceNumber!)).toBeGreaterThan(highest);
    } finally {
      client.destroy();
      await again.stop();
    }
  }, 60_000);

  it("drops a torn last line (a put never acknowledged), says so, and appends after it", async () => {
    const dataDir = join(root, "torn");
    const first = await startKinesis({ dataDir });
    const k1 = kinesisClient({ endpoint: first.endpoint });
    await k1.send(new CreateStreamCommand({ StreamName: "torn", ShardCount: 1 }));
    await k1.send(new PutRecordCommand({ StreamName: "torn", PartitionKey: "k", Data: Buffer.from("kept") }));
    k1.destroy();
    await first.stop();
    appendFileSync(join(dataDir, JOURNAL_FILE), '{"op":"put","name":"torn","at":1,"seq":"4900000000000000000000000000000000000000000000000000000","records":[["shardId-0000');

    const second = await startKinesis({ dataDir });
    expect(second.replay).toMatchObject({ entries: 2, tornBytes: expect.any(Number) });
    expect(second.replay!.tornBytes).toBeGreaterThan(0);
    const k2 = kinesisClient({ endpoint: second.endpoint });
    await k2.send(new PutRecordCommand({ StreamName: "torn", PartitionKey: "k", Data: Buffer.from("later") }));
    k2.destroy();
    await second.stop();

    const third = await startKinesis({ dataDir });
    expect(third.replay).toEqual({ entries: 3, tornBytes: 0 });
    const k3 = kinesisClient({ endpoint: third.endpoint });
    expect((await readAll(k3, "torn", "shardId-000000000000")).map((r) => r.data)).toEqual(["kept", "later"]);
    k3.destroy();
    await third.stop();
  });

  it("fails if a complete line cannot be read, naming the file and what --fresh discards", async () => {
    const dataDir = join(root, "damaged");
    const first = await startKinesis({ dataDir });
    const k = kinesisClient({ endpoint: first.endpoint });
    await k.send(new CreateStreamCommand({ StreamName: "damaged", ShardCount: 1 }));
    k.destroy();
    await first.stop();
    const path = join(dataDir, JOURNAL_FILE);
    writeFileSync(path, `garbage\n${readFileSync(path, "utf8")}`);
    await expect(startKinesis({ dataDir })).rejects.toMatchObject({
      code: "KinesisJournalUnreadable",
      message: expect.stringMatching(/journal\.jsonl is damaged: line 1 cannot be read back[\s\S]*--fresh discards all local state/),
    });
  });
});

import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  PutRecordsCommand,
  SplitShardCommand,
  type KinesisClient,
} from "@aws-sdk/client-kinesis";
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTimeToLiveCommand,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDbClient, kinesisClient, s3Client } from "../../lib/io/aws-clients.js";
import { startEmulators, startS3rver } from "../../tooling/emulators/index.js";
import { createPipelineTable, useEmulators } from "../support/emulators.js";
import { accepts } from "../support/net.js";

const emu = useEmulators();
let kinesis: KinesisClient;
let ddb: DynamoDBClient;
let s3: S3Client;

beforeAll(() => {
  kinesis = kinesisClient({ endpoint: emu.kinesis.endpoint });
  ddb = dynamoDbClient({ endpoint: emu.dynamodb.endpoint });
  s3 = s3Client({ endpoint: emu.s3.endpoint });
});
afterAll(() => {
  kinesis?.destroy();
  ddb?.destroy();
  s3?.destroy();
});

describe("the Kinesis emulator", () => {
  it("delivers put records through GetRecords, per shard in order", async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: "emu-basic", ShardCount: 2 }));
    // Transitions take no time here: the stream is ACTIVE at once, no waiter needed.
    const put = await kinesis.send(
      new PutRecordsCommand({
        StreamName: "emu-basic",
        Records: Array.from({ length: 10 }, (_, i) => ({ PartitionKey: `key-${i}`, Data: Buffer.from(`r${i}`) })),
      }),
    );
    expect(put.FailedRecordCount ?? 0).toBe(0);
    const shards = (await kinesis.send(new ListShardsCommand({ StreamName: "emu-basic" }))).Shards ?? [];
    expect(shards).toHaveLength(2);

    const got: string[] = [];
    for (const shard of shards) {
      const it = await kinesis.send(
        new GetShardIteratorCommand({ StreamName: "emu-basic", ShardId: shard.ShardId, ShardIteratorType: "TRIM_HORIZON" }),
      );
      const res = await kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
      const seqs = (res.Records ?? []).map((r) => BigInt(r.SequenceNumber!));
      expect(seqs).toEqual([...seqs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      expect(res.NextShardIterator).toBeDefined(); // an open shard always has a next iterator
      for (const r of res.Records ?? []) got.push(Buffer.from(r.Data!).toString());
      const expected = (put.Records ?? []).filter((r) => r.ShardId === shard.ShardId).map((r) => r.SequenceNumber);
      expect((res.Records ?? []).map((r) => r.SequenceNumber)).toEqual(expected);
    }
    expect(got.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`).sort());
  });

  it("splits a shard: children name the parent, the closed parent reaches SHARD_END", async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: "emu-split", ShardCount: 2 }));
    const before = await kinesis.send(
      new PutRecordsCommand({
        StreamName: "emu-split",
        Records: Array.from({ length: 8 }, (_, i) => ({ PartitionKey: `key-${i}`, Data: Buffer.from(`a${i}`) })),
      }),
    );
    const [parent] = (await kinesis.send(new ListShardsCommand({ StreamName: "emu-split" }))).Shards!;
    const range = parent!.HashKeyRange!;
    const mid = (BigInt(range.StartingHashKey!) + BigInt(range.EndingHashKey!)) / 2n;
    await kinesis.send(
      new SplitShardCommand({ StreamName: "emu-split", ShardToSplit: parent!.ShardId, NewStartingHashKey: mid.toString() }),
    );
    // The split is done when the call returns.
    const shards = (await kinesis.send(new ListShardsCommand({ StreamName: "emu-split" }))).Shards!;
    expect(shards).toHaveLength(4);
    const children = shards.filter((s) => s.ParentShardId === parent!.ShardId);
    expect(children).toHaveLength(2);
    const closed = shards.find((s) => s.ShardId === parent!.ShardId)!;
    // A closed parent's EndingSequenceNumber bounds its records; the children start after it.
    const ending = BigInt(closed.SequenceNumberRange!.EndingSequenceNumber!);
    for (const c of children) expect(BigInt(c.SequenceNumberRange!.StartingSequenceNumber!)).toBeGreaterThan(ending);

    const parentSeqs = before.Records!.filter((r) => r.ShardId === parent!.ShardId).map((r) => r.SequenceNumber);
    const it = await kinesis.send(
      new GetShardIteratorCommand({ StreamName: "emu-split", ShardId: parent!.ShardId, ShardIteratorType: "TRIM_HORIZON" }),
    );
    const res = await kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
    // Legal on AWS: the response that returns a closed shard's last records can also be its end — no
    // NextShardIterator and ChildShards set together with records. A reader must process the records first.
    expect(res.Records!.map((r) => r.SequenceNumber)).toEqual(parentSeqs);
    expect(res.NextShardIterator).toBeUndefined();
    expect(res.ChildShards?.map((c) => c.ShardId).sort()).toEqual(children.map((c) => c.ShardId).sort());

    // Reading after the last record of a drained closed shard: no records, no next iterator (SHARD_END).
    const after = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: "emu-split",
        ShardId: parent!.ShardId,
        ShardIteratorType: "AFTER_SEQUENCE_NUMBER",
        StartingSequenceNumber: parentSeqs.at(-1),
      }),
    );
    const end = await kinesis.send(new GetRecordsCommand({ ShardIterator: after.ShardIterator }));
    expect(end.Records ?? []).toEqual([]);
    expect(end.NextShardIterator).toBeUndefined();

    // New records for the parent's hash range go to the children.
    const later = await kinesis.send(
      new PutRecordsCommand({
        StreamName: "emu-split",
        Records: Array.from({ length: 8 }, (_, i) => ({ PartitionKey: `key-${i}`, Data: Buffer.from(`b${i}`) })),
      }),
    );
    expect(later.Records!.some((r) => r.ShardId === parent!.ShardId)).toBe(false);
  });

  it("reads AT_TIMESTAMP from the first record at or after the time, and from the tip for a time not yet reached", async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: "emu-ts", ShardCount: 1 }));
    await kinesis.send(new PutRecordsCommand({ StreamName: "emu-ts", Records: [{ PartitionKey: "k", Data: Buffer.from("x") }] }));
    const read = async (at: Date) => {
      const it = await kinesis.send(
        new GetShardIteratorCommand({ StreamName: "emu-ts", ShardId: "shardId-000000000000", ShardIteratorType: "AT_TIMESTAMP", Timestamp: at }),
      );
      const res = await kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
      return (res.Records ?? []).map((r) => Buffer.from(r.Data!).toString());
    };
    expect(await read(new Date(Date.now() - 60_000))).toEqual(["x"]);
    const future = new Date(Date.now() + 60_000);
    expect(await read(future)).toEqual([]);
  });
});

describe("dynalite", () => {
  it("fails a conditional update whose condition is false, and applies it when true", async () => {
    await createPipelineTable(ddb, "emu-progress");
    // createTableMs is 0: ACTIVE at once.
    const doc = DynamoDBDocumentClient.from(ddb);
    const key = { pk: "p#shard-0", sk: "progress" };
    await doc.send(new PutCommand({ TableName: "emu-progress", Item: { ...key, committed: "100" } }));
    const advance = (from: string, to: string) =>
      doc.send(
        new UpdateCommand({
          TableName: "emu-progress",
          Key: key,
          UpdateExpression: "SET committed = :to",
          ConditionExpression: "committed = :from",
          ExpressionAttributeValues: { ":from": from, ":to": to },
        }),
      );
    await advance("100", "200");
    await expect(advance("100", "300")).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    const item = await doc.send(new GetCommand({ TableName: "emu-progress", Key: key }));
    expect(item.Item?.committed).toBe("200");
    // attribute_not_exists guards a first write (a lease, say) the same way.
    const claim = () =>
      doc.send(
        new PutCommand({
          TableName: "emu-progress",
          Item: { pk: "p", sk: "lease", owner: "a" },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    await claim();
    await expect(claim()).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  });

  it("does not support UpdateTimeToLive: a deployer must tolerate UnknownOperationException", async () => {
    await ddb.send(
      new CreateTableCommand({
        TableName: "emu-ttl",
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
    // Quirk (dynalite 4.0.0): UpdateTimeToLive is not among its operations; DescribeTimeToLive answers DISABLED.
    // Items are never expired, which readers already handle by filtering on the ttl attribute.
    await expect(
      ddb.send(
        new UpdateTimeToLiveCommand({ TableName: "emu-ttl", TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true } }),
      ),
    ).rejects.toMatchObject({ name: "UnknownOperationException" });
    const ttl = await ddb.send(new DescribeTimeToLiveCommand({ TableName: "emu-ttl" }));
    expect(ttl.TimeToLiveDescription?.TimeToLiveStatus).toBe("DISABLED");
  });
});

describe("s3rver", () => {
  it("puts, lists, gets and deletes objects", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "emu-bucket" }));
    await s3.send(new PutObjectCommand({ Bucket: "emu-bucket", Key: "output/a-1000.txt/part-0", Body: "x\ny\n" }));
    await s3.send(new PutObjectCommand({ Bucket: "emu-bucket", Key: "output/a-1000.txt/_SUCCESS", Body: "" }));
    await s3.send(new PutObjectCommand({ Bucket: "emu-bucket", Key: "shuffle/c", Body: "z" }));
    const list = await s3.send(new ListObjectsV2Command({ Bucket: "emu-bucket", Prefix: "output/" }));
    expect(list.Contents?.map((o) => o.Key).sort()).toEqual(["output/a-1000.txt/_SUCCESS", "output/a-1000.txt/part-0"]);
    const got = await s3.send(new GetObjectCommand({ Bucket: "emu-bucket", Key: "output/a-1000.txt/part-0" }));
    expect(await got.Body?.transformToString()).toBe("x\ny\n");
    await s3.send(new DeleteObjectCommand({ Bucket: "emu-bucket", Key: "shuffle/c" }));
    const rest = await s3.send(new ListObjectsV2Command({ Bucket: "emu-bucket", Prefix: "shuffle/" }));
    expect(rest.KeyCount ?? 0).toBe(0);
    await expect(s3.send(new GetObjectCommand({ Bucket: "emu-bucket", Key: "shuffle/c" }))).rejects.toMatchObject({
      name: "NoSuchKey",
    });
  });
});

describe("s3rver's writes (made atomic by startS3rver)", () => {
  it("replace an object whole: a reader (or a restart after a kill -9) never sees it cut short, and no temporary file is left", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "sparkless-s3rver-"));
    const own = await startS3rver({ dataDir });
    const client = s3Client({ endpoint: own.endpoint });
    try {
      await client.send(new CreateBucketCommand({ Bucket: "whole" }));
      const body = Buffer.alloc(8 * 1024 * 1024, "x");
      const file = join(dataDir, "whole", "checkpoint", "meta._S3rver_object");
      await client.send(new PutObjectCommand({ Bucket: "whole", Key: "checkpoint/meta", Body: body }));
      const sizes = new Set<number>();
      for (let i = 0; i < 3; i++) {
        let answered = false;
        const putting = client.send(new PutObjectCommand({ Bucket: "whole", Key: "checkpoint/meta", Body: body })).then(() => (answered = true));
        while (!answered) {
          sizes.add(statSync(file).size);
          await new Promise((r) => setImmediate(r));
        }
        await putting;
        sizes.add(statSync(file).size);
      }
      expect([...sizes]).toEqual([body.length]);
      expect(readdirSync(join(dataDir, "whole", "checkpoint")).filter((f) => f.endsWith(".partial"))).toEqual([]);
    } finally {
      client.destroy();
      await own.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("startEmulators", () => {
  it("stops every emulator: no listening port left", async () => {
    const own = await startEmulators();
    const endpoints = [own.kinesis.endpoint, own.dynamodb.endpoint, own.s3.endpoint];
    for (const e of endpoints) expect(e).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // A client with an idle keep-alive connection must not hold stop() up.
    const k = kinesisClient({ endpoint: own.kinesis.endpoint });
    const d = dynamoDbClient({ endpoint: own.dynamodb.endpoint });
    const s = s3Client({ endpoint: own.s3.endpoint });
    await k.send(new ListShardsCommand({ StreamName: "none" })).catch(() => undefined);
    await d.send(new DescribeTimeToLiveCommand({ TableName: "none" })).catch(() => undefined);
    await s.send(new ListObjectsV2Command({ Bucket: "none" })).catch(() => undefined);

    await own.stop();
    for (const e of endpoints) expect(await accepts(e)).toBe(false);
    await own.stop(); // idempotent
    k.destroy();
    d.destroy();
    s.destroy();
  });
});

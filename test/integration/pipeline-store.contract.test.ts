/**
 * One suite, two implementations of PipelineStore: in memory, and DynamoDB (dynalite) spilling to S3 (s3rver).
 * Conditional writes are semantics, so they are checked against the emulator, not a mock. Every test gets a
 * store of its own — a fresh pipeline name on one shared table — which also exercises the pipeline prefix.
 */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
  DynamoDBClient,
  GetItemCommand,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { createPipelineTable } from "../support/emulators.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDbClient, s3Client } from "../../lib/io/aws-clients.js";
import type { ObjectStore } from "../../lib/io/object-store.js";
import { S3ObjectStore } from "../../lib/io/s3-object-store.js";
import { startDynalite, startS3rver, type RunningEmulator } from "../../tooling/emulators/index.js";
import { DynamoDbPipelineStore } from "../../lib/pipeline-store/dynamodb-pipeline-store.js";
import { MemoryPipelineStore, SimulatedCrash } from "../../lib/testing/memory-pipeline-store.js";
import type { CommitRequest, Part, PipelineStore } from "../../lib/pipeline-store/pipeline-store.js";

// Only dynalite and s3rver: useEmulators() would start the Kinesis emulator too, which this file never uses.
const running: RunningEmulator[] = [];
let ddb: DynamoDBClient | undefined;
let s3: S3Client | undefined;
const TABLE = "sparkless-contract";
const BUCKET = "sparkless-contract";

beforeAll(async () => {
  const [dynalite, s3rver] = await Promise.all([startDynalite(), startS3rver()]);
  running.push(dynalite, s3rver);
  ddb = dynamoDbClient({ endpoint: dynalite.endpoint });
  s3 = s3Client({ endpoint: s3rver.endpoint });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await createPipelineTable(ddb, TABLE);
  try {
    await ddb.send(
      new UpdateTimeToLiveCommand({ TableName: TABLE, TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true } }),
    );
  } catch (err) {
    // dynalite has no UpdateTimeToLive (see tooling/emulators/dynalite.ts); AWS and DynamoDB Local do.
    if ((err as { name?: string }).name !== "UnknownOperationException") throw err;
  }
});
afterAll(async () => {
  ddb?.destroy();
  s3?.destroy();
  await Promise.all(running.map((e) => e.stop()));
});

interface Harness {
  readonly store: PipelineStore;
  /** Where the implementation spills: the keys of this store's spilled payloads, after `spill/<pipeline>/`. */
  readonly spilled?: () => Promise<string[]>;
}

let n = 0;
const implementations: Array<[string, () => Harness]> = [
  ["memory", () => ({ store: new MemoryPipelineStore() })],
  [
    "dynamodb+s3",
    () => {
      const pipeline = `pipe-${++n}`;
      const objects: ObjectStore = new S3ObjectStore({ client: s3!, bucket: BUCKET, prefix: "data" });
      const store = new DynamoDbPipelineStore({ client: ddb!, tableName: TABLE, pipeline, objects });
      const spillPrefix = `spill/${pipeline}/`;
      return { store, spilled: async () => (await objects.list(spillPrefix)).map((k) => k.slice(spillPrefix.length)) };
    },
  ],
];

const SHARD = "shardId-000000000000";
const SEQ1 = "49590338271490256608559692538361571095921575989136588802"; // > 2^64: never a Number
const SEQ2 = "49590338271490256608559692538361571095921575989136588899";

function commitOf(over: Partial<CommitRequest> = {}): CommitRequest {
  return { shardId: SHARD, expected: { watermark: 0 }, seq: SEQ1, watermark: 2000, times: [1000, 2000], attemptId: "a1", ...over };
}

function part(over: Partial<Part> = {}): Part {
  return { time: 1000, nodeId: "reduceByKey-1", shardId: SHARD, attemptId: "a1", firstSeq: SEQ1, payload: "[]", ...over };
}

describe.each(implementations)("PipelineStore contract: %s", (_name, make) => {
  describe("status", () => {
    it("is created once, then advances only from the expected lastFinalized", async () => {
      const { store } = make();
      expect(await store.getStatus()).toBeUndefined();
      expect(await store.advanceStatus(0, 1000, 1)).toBe(false); // no status yet
      expect(await store.acquireLease("f1", 0, 60_000)).toBeUndefined(); // the lease lives on the status
      const status = { zeroTime: 0, lastFinalized: 0, graphHash: "h1" };
      expect(await store.createStatus(status)).toBe(true);
      expect(await store.createStatus({ zeroTime: 5, lastFinalized: 5, graphHash: "h2" })).toBe(false);
      expect(await store.getStatus()).toEqual(status);

      const { token } = (await store.acquireLease("f1", 0, 60_000))!;
      expect(await store.advanceStatus(0, 1000, token)).toBe(true);
      expect(await store.advanceStatus(0, 2000, token)).toBe(false); // stale `from`
      expect(await store.getStatus()).toEqual({ zeroTime: 0, lastFinalized: 1000, graphHash: "h1" });
      expect(await store.advanceStatus(1000, 2000, token)).toBe(true);
      expect((await store.getStatus())?.lastFinalized).toBe(2000);
    });

    it("advances only with the current lease token: a finalizer whose lease another took is fenced off", async () => {
      const { store } = make();
      await store.createStatus({ zeroTime: 0, lastFinalized: 0, graphHash: "h" });
      const first = (await store.acquireLease("f1", 0, 1_000))!;
      const second = (await store.acquireLease("f2", 1_000, 1_000))!; // f1's expired
      expect(second.token).toBeGreaterThan(first.token);
      expect(await store.advanceStatus(0, 1000, first.token)).toBe(false);
      expect(await store.advanceStatus(0, 1000, second.token)).toBe(true);
      // Released, the lease keeps its token: f1 stays fenced off until it takes the lease again.
      await store.releaseLease(second);
      expect(await store.advanceStatus(1000, 2000, first.token)).toBe(false);
      const third = (await store.acquireLease("f1", 1_500, 1_000))!;
      expect(third.token).toBeGreaterThan(second.token);
      expect(await store.advanceStatus(1000, 2000, third.token)).toBe(true);
    });

    it("lets exactly one of two concurrent finalizers advance from the same time", async () => {
      const { store } = make();
      await store.createStatus({ zeroTime: 0, lastFinalized: 0, graphHash: "h" });
      const { token } = (await store.acquireLease("f", 0, 60_000))!;
      const won = await Promise.all([store.advanceStatus(0, 1000, token), store.advanceStatus(0, 1000, token), store.advanceStatus(0, 1000, token)]);
      expect(won.filter(Boolean)).toHaveLength(1);
    });

    it("replaces the graph hash only from the expected one, keeping the rest", async () => {
      const { store } = make();
      expect(await store.replaceGraphHash("h1", "h2")).toBe(false); // no status yet
      await store.createStatus({ zeroTime: 0, lastFinalized: 3000, graphHash: "h1" });
      expect(await store.replaceGraphHash("h0", "h2")).toBe(false);
      expect(await store.replaceGraphHash("h1", "h2")).toBe(true);
      expect(await store.getStatus()).toEqual({ zeroTime: 0, lastFinalized: 3000, graphHash: "h2" });
    });
  });

  describe("commit", () => {
    it("succeeds from the expected progress: a missing item, then the stored one", async () => {
      const { store } = make();
      expect(await store.getProgress(SHARD)).toBeUndefined();
      expect(await store.commit(commitOf())).toBe(true);
      expect(await store.getProgress(SHARD)).toEqual({
        shardId: SHARD,
        seq: SEQ1,
        watermark: 2000,
        drained: false,
        lastCommit: { attemptId: "a1", times: [1000, 2000] },
      });
      expect(
        await store.commit(commitOf({ expected: { seq: SEQ1, watermark: 2000 }, seq: SEQ2, watermark: 3000, times: [3000], attemptId: "a2" })),
      ).toBe(true);
      expect(await store.getProgress(SHARD)).toEqual({
        shardId: SHARD,
        seq: SEQ2,
        watermark: 3000,
        drained: false,
        lastCommit: { attemptId: "a2", times: [3000] },
      });
    });

    it.each([
      ["an older seq", { seq: SEQ1, watermark: 3000 }],
      ["the right seq with another watermark", { seq: SEQ2, watermark: 2000 }],
      ["no seq when one is committed", { watermark: 3000 }],
      ["nothing committed yet", { watermark: 0 }],
    ])("fails from a stale progress (%s) and changes nothing", async (_case, expected) => {
      const { store } = make();
      await store.commit(commitOf());
      await store.commit(commitOf({ expected: { seq: SEQ1, watermark: 2000 }, seq: SEQ2, watermark: 3000, times: [3000], attemptId: "a2" }));
      const before = await store.getProgress(SHARD);
      expect(await store.commit(commitOf({ expected, seq: "9".repeat(60), watermark: 9000, times: [9000], attemptId: "late" }))).toBe(false);
      expect(await store.getProgress(SHARD)).toEqual(before);
    });

    it("fails on a missing item unless the expected watermark is 0, creating nothing", async () => {
      const { store } = make();
      expect(await store.commit(commitOf({ expected: { watermark: 500 } }))).toBe(false);
      expect(await store.commit(commitOf({ expected: { seq: SEQ1, watermark: 0 } }))).toBe(false);
      expect(await store.getProgress(SHARD)).toBeUndefined();
      expect(await store.listProgress()).toEqual([]);
    });

    it("lets exactly one of concurrent commits from the same progress win", async () => {
      const { store } = make();
      const attempts = ["x1", "x2", "x3", "x4"];
      // From a missing item (the creating write) ...
      const first = await Promise.all(attempts.map((attemptId) => store.commit(commitOf({ attemptId, times: [1000] }))));
      expect(first.filter(Boolean)).toHaveLength(1);
      const winner = attempts[first.indexOf(true)]!;
      expect((await store.getProgress(SHARD))?.lastCommit).toEqual({ attemptId: winner, times: [1000] });
      // ... and from an existing one.
      const from = { seq: SEQ1, watermark: 2000 };
      const second = await Promise.all(
        attempts.map((attemptId) => store.commit(commitOf({ expected: from, seq: SEQ2, attemptId: `${attemptId}b`, times: [2000] }))),
      );
      expect(second.filter(Boolean)).toHaveLength(1);
      expect((await store.getProgress(SHARD))?.lastCommit).toEqual({ attemptId: `${attempts[second.indexOf(true)]}b`, times: [2000] });
    });

    it("keeps only the latest commit, its times once each and in order, however many came before", async () => {
      const { store } = make();
      await store.commit(commitOf({ times: [2000, 1000, 1000] }));
      expect((await store.getProgress(SHARD))?.lastCommit).toEqual({ attemptId: "a1", times: [1000, 2000] });
      await store.commit(commitOf({ expected: { seq: SEQ1, watermark: 2000 }, seq: SEQ2, times: [1000], attemptId: "a2" }));
      expect((await store.getProgress(SHARD))?.lastCommit).toEqual({ attemptId: "a2", times: [1000] });
    });

    it("commits with no batch times (a batch of records that all were late or dead letters)", async () => {
      const { store } = make();
      expect(await store.commit(commitOf({ times: [] }))).toBe(true);
      expect(await store.getProgress(SHARD)).toMatchObject({ seq: SEQ1, watermark: 2000, lastCommit: { attemptId: "a1", times: [] } });
    });

    it("never moves the watermark back", async () => {
      const { store } = make();
      await store.commit(commitOf({ watermark: 5000 }));
      expect(await store.commit(commitOf({ expected: { seq: SEQ1, watermark: 5000 }, seq: SEQ2, watermark: 4000, attemptId: "a2" }))).toBe(true);
      expect(await store.getProgress(SHARD)).toMatchObject({ seq: SEQ2, watermark: 5000 });
    });
  });

  describe("probe (advanceWatermark)", () => {
    it("creates a missing item without a seq; a commit then starts from the probe's values", async () => {
      const { store } = make();
      expect(await store.advanceWatermark(SHARD, { watermark: 0 }, 4000, false)).toBe(true);
      expect(await store.getProgress(SHARD)).toEqual({ shardId: SHARD, watermark: 4000, drained: false });
      // The probe's item has no seq: only a commit that expected it (no seq, watermark 4000) goes through.
      expect(await store.commit(commitOf({ expected: { watermark: 0 } }))).toBe(false);
      expect(await store.commit(commitOf({ expected: { seq: SEQ1, watermark: 4000 } }))).toBe(false);
      expect(await store.commit(commitOf({ expected: { watermark: 4000 }, watermark: 5000 }))).toBe(true);
      expect(await store.getProgress(SHARD)).toMatchObject({ seq: SEQ1, watermark: 5000, drained: false });
    });

    it("raises the watermark of a probed item again, and never overtakes a commit", async () => {
      const { store } = make();
      await store.advanceWatermark(SHARD, { watermark: 0 }, 4000, false);
      expect(await store.advanceWatermark(SHARD, { watermark: 4000 }, 6000, false)).toBe(true);
      await store.commit(commitOf({ expected: { watermark: 6000 }, watermark: 7000 }));
      // The probe read the progress before the commit: its expectation is stale.
      expect(await store.advanceWatermark(SHARD, { watermark: 6000 }, 8000, false)).toBe(false);
      expect(await store.advanceWatermark(SHARD, { seq: SEQ1, watermark: 7000 }, 8000, false)).toBe(true);
      expect(await store.getProgress(SHARD)).toMatchObject({ seq: SEQ1, watermark: 8000 });
    });

    it("marks a shard drained, and a later probe does not un-drain it", async () => {
      const { store } = make();
      await store.commit(commitOf());
      expect(await store.advanceWatermark(SHARD, { seq: SEQ1, watermark: 2000 }, 2000, true)).toBe(true);
      expect(await store.getProgress(SHARD)).toMatchObject({ seq: SEQ1, watermark: 2000, drained: true });
      expect(await store.advanceWatermark(SHARD, { seq: SEQ1, watermark: 2000 }, 1000, false)).toBe(true);
      expect(await store.getProgress(SHARD)).toMatchObject({ watermark: 2000, drained: true });
    });

    it("fails on a missing item unless expected says there is none, creating nothing", async () => {
      const { store } = make();
      expect(await store.advanceWatermark(SHARD, { watermark: 100 }, 4000, true)).toBe(false);
      expect(await store.advanceWatermark(SHARD, { seq: SEQ1, watermark: 0 }, 4000, true)).toBe(false);
      expect(await store.getProgress(SHARD)).toBeUndefined();
    });

    it("lets exactly one of a commit and a probe from the same progress win", async () => {
      const { store } = make();
      const results = await Promise.all([
        store.commit(commitOf({ times: [1000] })),
        store.advanceWatermark(SHARD, { watermark: 0 }, 3000, false),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      const p = await store.getProgress(SHARD);
      expect(p).toEqual(
        results[0]
          ? { shardId: SHARD, seq: SEQ1, watermark: 2000, drained: false, lastCommit: { attemptId: "a1", times: [1000] } }
          : { shardId: SHARD, watermark: 3000, drained: false },
      );
    });
  });

  describe("commit markers and listProgress", () => {
    it("keeps a marker per (time, shard, attempt), written again harmlessly, with parts in one call", async () => {
      const { store } = make();
      const m = (time: number, attemptId: string, shardId = SHARD) => ({ shardId, time, attemptId });
      await store.putParts([part()], [m(1000, "a0"), m(2000, "a0")]);
      await store.putParts([], [m(1000, "a0"), m(1000, "b1", "shardId-000000000001")]);
      expect(await store.getCommitMarkers(1000)).toEqual([m(1000, "a0"), m(1000, "b1", "shardId-000000000001")]);
      expect(await store.getCommitMarkers(2000)).toEqual([m(2000, "a0")]);
      expect(await store.getCommitMarkers(3000)).toEqual([]);
      expect(await store.getParts(1000)).toEqual([part()]);
      // Markers are not progress: no shard item appears, and a commit from nothing still goes through.
      expect(await store.listProgress()).toEqual([]);
      expect(await store.commit(commitOf())).toBe(true);
      await expect(store.putParts([], [m(1000, "a#1")])).rejects.toMatchObject({ code: "BadStoreKey" });
    });

    it("lists every shard's progress by shard id, and nothing of another pipeline", async () => {
      const { store } = make();
      const other = make().store;
      await store.commit(commitOf({ shardId: "shardId-000000000002" }));
      await store.advanceWatermark("shardId-000000000001", { watermark: 0 }, 500, true);
      await other.commit(commitOf({ shardId: "shardId-000000000003" }));
      const list = await store.listProgress();
      expect(list.map((p) => p.shardId)).toEqual(["shardId-000000000001", "shardId-000000000002"]);
      expect(list[0]).toEqual({ shardId: "shardId-000000000001", watermark: 500, drained: true });
      expect(await other.getStatus()).toBeUndefined();
    });
  });

  describe("parts", () => {
    it("returns every part of a time (committed or not), in key order, and none of other times", async () => {
      const { store } = make();
      const parts = [
        part({ nodeId: "window-2", attemptId: "b" }),
        part({ attemptId: "b", payload: '[["x",1]]' }),
        part({ attemptId: "a", shardId: "shardId-000000000001", firstSeq: "7" }),
        part({ time: 2000 }),
      ];
      await store.putParts(parts);
      // By `<nodeId>#<shardId>#<attemptId>`.
      expect(await store.getParts(1000)).toEqual([parts[1], parts[2], parts[0]]);
      expect(await store.getParts(2000)).toEqual([parts[3]]);
      expect(await store.getParts(3000)).toEqual([]);
    });

    it("writes more parts than one batch write takes (25)", async () => {
      const { store } = make();
      const parts = Array.from({ length: 60 }, (_, i) => part({ attemptId: `att-${String(i).padStart(2, "0")}`, payload: `[${i}]` }));
      await store.putParts(parts);
      await store.putParts([]);
      expect(await store.getParts(1000)).toEqual(parts);
    });

    it("reads more than one query page (1 MB) of parts inline under the spill threshold", async () => {
      const { store } = make();
      const parts = Array.from({ length: 4 }, (_, i) => part({ attemptId: `p${i}`, payload: String(i).repeat(300_000) }));
      await store.putParts(parts);
      expect(await store.getParts(1000)).toEqual(parts);
    });

    it("overwrites a part put again under the same key (a retried write), even within one call", async () => {
      const { store } = make();
      await store.putParts([part({ payload: "old" })]);
      await store.putParts([part({ payload: "older" }), part({ payload: "new" })]);
      expect(await store.getParts(1000)).toEqual([part({ payload: "new" })]);
    });

    it("keeps a 1 MB payload whole, spilled to the object store", async () => {
      const { store, spilled } = make();
      // Random text does not compress: ~1 MB even gzipped.
      const big = JSON.stringify(["é" + randomBytes(350_000).toString("base64"), randomBytes(300_000).toString("base64")]);
      const parts = [part({ payload: big }), part({ attemptId: "small" })];
      await store.putParts(parts);
      expect(await store.getParts(1000)).toEqual(parts);
      if (spilled) expect(await spilled()).toEqual([`parts/000000000001000/p0/reduceByKey-1/${SHARD}/a1`]);
    });

    it("fails if a key segment holds '#' or '/', before writing anything", async () => {
      const { store } = make();
      await expect(store.putParts([part({ attemptId: "ok" }), part({ nodeId: "a#b" })])).rejects.toThrow(
        `nodeId "a#b" must be non-empty and contain neither '#' nor '/'`,
      );
      await expect(store.putParts([part({ shardId: "s/1" })])).rejects.toMatchObject({ code: "BadStoreKey" });
      expect(await store.getParts(1000)).toEqual([]);
      await expect(store.getParts(1.5)).rejects.toMatchObject({ code: "BadBatchTime" });
    });
  });

  describe("memory", () => {
    it("round-trips a node's RDD per time, overwrites with a re-run, and spills a large one", async () => {
      const { store, spilled } = make();
      expect(await store.getMemory("window-3", 1000)).toBeUndefined();
      await store.putMemory("window-3", 1000, "[1,2]", Date.now() + 60_000, 1);
      await store.putMemory("window-3", 1000, "[1,2,3]", Date.now() + 60_000, 1);
      await store.putMemory("window-3", 2000, "[4]", Date.now() + 60_000, 1);
      await store.putMemory("window-4", 1000, "[5]", Date.now() + 60_000, 1);
      expect(await store.getMemory("window-3", 1000)).toBe("[1,2,3]");
      expect(await store.getMemory("window-3", 2000)).toBe("[4]");
      expect(await store.getMemory("window-4", 1000)).toBe("[5]");
      const big = `["${randomBytes(1 << 19).toString("base64")}"]`; // incompressible: spilled even gzipped
      await store.putMemory("window-3", 3000, big, Date.now() + 60_000, 1);
      const compressible = JSON.stringify(Array.from({ length: 20_000 }, (_, i) => [`word-${i % 500}`, i])); // ~400 KB, gzips small: stays in the item
      await store.putMemory("window-3", 4000, compressible, Date.now() + 60_000, 1);
      expect(await store.getMemory("window-3", 4000)).toBe(compressible);
      expect(await store.getMemory("window-3", 3000)).toBe(big);
      if (spilled) expect(await spilled()).toEqual(["mem/window-3/000000000003000"]);
    });
    it("refuses a write fenced with an older lease token than the one that wrote it", async () => {
      const { store } = make();
      expect(await store.putMemory("state-1", 1000, "[1]", Date.now() + 60_000, 3)).toBe(true);
      expect(await store.putMemory("state-1", 1000, "[2]", Date.now() + 60_000, 2)).toBe(false);
      expect(await store.getMemory("state-1", 1000)).toBe("[1]");
      expect(await store.putMemory("state-1", 1000, "[3]", Date.now() + 60_000, 3)).toBe(true); // a re-run by the holder
      expect(await store.putMemory("state-1", 1000, "[4]", Date.now() + 60_000, 4)).toBe(true);
      expect(await store.getMemory("state-1", 1000)).toBe("[4]");
    });
  });

  describe("finalizer partitions (P > 1)", () => {
    it("keeps each partition's parts apart, partition 0 where parts always were", async () => {
      const { store, spilled } = make();
      const big = `["${randomBytes(1 << 19).toString("base64")}"]`;
      await store.putParts([part({ payload: "[0]" }), part({ partition: 3, payload: "[3]" }), part({ partition: 5, payload: big })]);
      expect((await store.getParts(1000)).map((p) => p.payload)).toEqual(["[0]"]);
      expect(await store.getParts(1000, 0)).toEqual([part({ payload: "[0]" })]);
      expect(await store.getParts(1000, 3)).toEqual([part({ partition: 3, payload: "[3]" })]);
      expect((await store.getParts(1000, 5))[0]!.payload).toBe(big);
      expect(await store.getParts(1000, 4)).toEqual([]);
      if (spilled) expect(await spilled()).toEqual([`parts/000000000001000/p5/reduceByKey-1/${SHARD}/a1`]);
      await expect(store.putParts([part({ partition: 256 })])).rejects.toMatchObject({ code: "BadPartition" });
    });

    it("gives each partition its own lease, token sequence and lastFinalized, apart from the pipeline's", async () => {
      const { store } = make();
      await store.createStatus({ zeroTime: 0, lastFinalized: 0, graphHash: "h", partitions: 4 });
      expect(await store.getStatus()).toEqual({ zeroTime: 0, lastFinalized: 0, graphHash: "h", partitions: 4 });
      const pipe = (await store.acquireLease("c", 1_000, 5_000))!;
      const p1 = (await store.acquirePartitionLease(1, "f1", 1_000, 5_000))!;
      const p2 = (await store.acquirePartitionLease(2, "f2", 1_000, 5_000))!;
      expect(p1).toMatchObject({ owner: "f1", partition: 1, expiresAt: 6_000 });
      expect(await store.acquirePartitionLease(1, "g1", 2_000, 5_000)).toBeUndefined();
      expect(await store.getPartitionFinalized(1)).toBeUndefined();
      expect(await store.advanceStatus(0, 1000, p1.token, 1)).toBe(true);
      expect(await store.advanceStatus(0, 1000, p1.token, 1)).toBe(false); // stale `from`
      expect(await store.advanceStatus(1000, 2000, p1.token, 1)).toBe(true);
      expect(await store.getPartitionFinalized(1)).toBe(2000);
      expect(await store.getPartitionFinalized(2)).toBeUndefined();
      expect((await store.getStatus())!.lastFinalized).toBe(0); // the pipeline's own status did not move
      expect(await store.advanceStatus(0, 1000, pipe.token)).toBe(true);

      // Taken over after expiry: the old holder is fenced off from advancing, renewing and releasing.
      const g1 = (await store.acquirePartitionLease(1, "g1", 6_000, 5_000))!;
      expect(g1.token).toBeGreaterThan(p1.token);
      expect(await store.advanceStatus(2000, 3000, p1.token, 1)).toBe(false);
      expect(await store.renewLease(p1, 6_100, 5_000)).toBeUndefined();
      await store.releaseLease(p1);
      expect(await store.acquirePartitionLease(1, "h1", 7_000, 5_000)).toBeUndefined();
      expect(await store.renewLease(g1, 7_000, 5_000)).toMatchObject({ partition: 1, expiresAt: 12_000 });
      await store.releaseLease(g1);
      expect(await store.acquirePartitionLease(1, "h1", 7_000, 5_000)).toBeDefined();

      const list = await store.listPartitionStatus();
      expect(list.map((s) => [s.partition, s.lastFinalized, s.leaseOwner])).toEqual([
        [1, 2000, "h1"],
        [2, 0, "f2"],
      ]);
      expect(list[1]!.leaseExpiresAt).toBe(p2.expiresAt);
    });

    it("lists partition 0 from the pipeline's status when no partition has an item of its own (P = 1), nothing before the status", async () => {
      const { store } = make();
      expect(await store.listPartitionStatus()).toEqual([]);
      await store.createStatus({ zeroTime: 0, lastFinalized: 0, graphHash: "h" });
      const lease = (await store.acquireLease("f", 1_000, 5_000))!;
      await store.advanceStatus(0, 1000, lease.token);
      expect(await store.listPartitionStatus()).toEqual([{ partition: 0, lastFinalized: 1000, leaseOwner: "f", leaseExpiresAt: 6_000 }]);
    });

    it("keeps each partition's node memory apart, fenced by that partition's tokens", async () => {
      const { store, spilled } = make();
      expect(await store.putMemory("state-1", 1000, "[0]", Date.now() + 60_000, 5)).toBe(true);
      expect(await store.putMemory("state-1", 1000, "[1]", Date.now() + 60_000, 1, 1)).toBe(true);
      expect(await store.putMemory("state-1", 1000, "[2]", Date.now() + 60_000, 1, 2)).toBe(true);
      expect(await store.putMemory("state-1", 1000, "[x]", Date.now() + 60_000, 0, 1)).toBe(false);
      expect(await store.getMemory("state-1", 1000)).toBe("[0]");
      expect(await store.getMemory("state-1", 1000, 1)).toBe("[1]");
      expect(await store.getMemory("state-1", 1000, 2)).toBe("[2]");
      expect(await store.getMemory("state-1", 1000, 3)).toBeUndefined();
      const big = `["${randomBytes(1 << 19).toString("base64")}"]`;
      await store.putMemory("state-1", 2000, big, Date.now() + 60_000, 1, 2);
      expect(await store.getMemory("state-1", 2000, 2)).toBe(big);
      if (spilled) expect(await spilled()).toEqual(["mem/state-1/p2/000000000002000"]);
    });
  });

  describe("lease", () => {
    const withStatus = async () => {
      const { store } = make();
      await store.createStatus({ zeroTime: 0, lastFinalized: 0, graphHash: "h" });
      return store;
    };

    it("is taken when free with a larger token each time, refused while held, taken after expiry", async () => {
      const store = await withStatus();
      const f1 = (await store.acquireLease("f1", 10_000, 1_000))!; // held until 11 000
      expect(f1).toMatchObject({ owner: "f1", expiresAt: 11_000 });
      expect(await store.acquireLease("f2", 10_500, 1_000)).toBeUndefined();
      expect(await store.acquireLease("f1", 10_500, 1_000)).toBeUndefined(); // not re-entrant: renew instead
      const f2 = (await store.acquireLease("f2", 11_000, 1_000))!; // expired: f2 holds it until 12 000
      expect(f2.token).toBeGreaterThan(f1.token);
      expect(await store.acquireLease("f1", 11_500, 1_000)).toBeUndefined();
    });

    it("is renewed only by the holder of the current token", async () => {
      const store = await withStatus();
      const f1 = (await store.acquireLease("f1", 10_000, 1_000))!;
      const renewed = (await store.renewLease(f1, 10_900, 1_000))!;
      expect(renewed).toEqual({ ...f1, expiresAt: 11_900 });
      expect(await store.acquireLease("f2", 11_500, 1_000)).toBeUndefined(); // the renewal holds
      // Expired but not taken: the holder may still renew (nobody else wrote since).
      expect(await store.renewLease(f1, 12_000, 1_000)).toMatchObject({ token: f1.token, expiresAt: 13_000 });
      const f2 = (await store.acquireLease("f2", 13_000, 1_000))!;
      expect(await store.renewLease(f1, 13_100, 1_000)).toBeUndefined();
      expect(await store.acquireLease("f3", 13_500, 1_000)).toBeUndefined(); // f1's refused renewal changed nothing
      expect(await store.renewLease(f2, 13_500, 1_000)).toBeDefined();
    });

    it("is released only by the holder of the current token, never another's", async () => {
      const store = await withStatus();
      const f1 = (await store.acquireLease("f1", 10_000, 1_000))!;
      const f2 = (await store.acquireLease("f2", 11_000, 1_000))!;
      await store.releaseLease(f1); // a stalled release of a finalizer that lost its lease: nothing happens
      expect(await store.acquireLease("f3", 11_500, 1_000)).toBeUndefined();
      await store.releaseLease(f2);
      await store.releaseLease(f2); // idempotent
      expect((await store.acquireLease("f3", 11_500, 1_000))!.token).toBeGreaterThan(f2.token);
    });

    it("goes to exactly one of concurrent takers", async () => {
      const store = await withStatus();
      const won = await Promise.all(["a", "b", "c", "d"].map((owner) => store.acquireLease(owner, 1_000, 5_000)));
      expect(won.filter(Boolean)).toHaveLength(1);
    });
  });
});

describe("DynamoDbPipelineStore layout", () => {
  it("keeps progress as documented: seq, watermark, drained and the latest commit", async () => {
    const store = new DynamoDbPipelineStore({ client: ddb!, tableName: TABLE, pipeline: "layout", objects: new S3ObjectStore({ client: s3!, bucket: BUCKET }) });
    await store.commit(commitOf());
    const res = await ddb!.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: "layout#progress" }, sk: { S: SHARD } } }));
    expect(res.Item).toEqual({
      pk: { S: "layout#progress" },
      sk: { S: SHARD },
      seq: { S: SEQ1 },
      watermark: { N: "2000" },
      drained: { BOOL: false },
      lastAttempt: { S: "a1" },
      lastTimes: { L: [{ N: "1000" }, { N: "2000" }] },
    });
    await store.putParts([part()]);
    const item = await ddb!.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: "layout#parts#000000000001000#p0" }, sk: { S: `reduceByKey-1#${SHARD}#a1` } } }),
    );
    expect(item.Item?.payload).toEqual({ S: "[]" });
    expect(Number(item.Item?.ttl?.N)).toBeGreaterThan(Date.now() / 1000 + 6 * 24 * 3600);
  });

  it("keeps the progress item the same size however many commits wait for finalization", async () => {
    const store = new DynamoDbPipelineStore({ client: ddb!, tableName: TABLE, pipeline: "bounded", objects: new S3ObjectStore({ client: s3!, bucket: BUCKET }) });
    const raw = async () => (await ddb!.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: "bounded#progress" }, sk: { S: SHARD } } }))).Item!;
    let expected: CommitRequest["expected"] = { watermark: 0 };
    const sizes: number[] = [];
    for (let i = 1; i <= 30; i++) {
      const attemptId = `attempt-${String(i).padStart(30, "0")}`;
      const previous = i > 1 ? [{ shardId: SHARD, time: 1000, attemptId: `attempt-${String(i - 1).padStart(30, "0")}` }] : [];
      await store.putParts([], previous);
      expect(await store.commit(commitOf({ expected, seq: String(1000 + i), watermark: 500, times: [1000], attemptId }))).toBe(true);
      expected = { seq: String(1000 + i), watermark: 500 };
      sizes.push(JSON.stringify(await raw()).length);
    }
    expect(new Set(sizes).size).toBe(1);
    expect((await store.getCommitMarkers(1000)).map((m) => m.attemptId)).toHaveLength(29);
  });

  it("retries the items a batch write leaves unprocessed until all are written", async () => {
    // DynamoDB answers throttling inside BatchWriteItem with UnprocessedItems, not an error; dynalite never does. So
    // the first two batch writes are cut short on the wire: half their items reach dynalite, the rest come back.
    const flaky = new UnprocessingHandler(2);
    const client = new DynamoDBClient({
      endpoint: running[0]!.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      requestHandler: flaky,
    });
    try {
      const store = new DynamoDbPipelineStore({ client, tableName: TABLE, pipeline: "unprocessed", objects: new S3ObjectStore({ client: s3!, bucket: BUCKET }) });
      const parts = Array.from({ length: 30 }, (_, i) => part({ attemptId: `u${String(i).padStart(2, "0")}` }));
      await store.putParts(parts);
      expect(flaky.unprocessed).toBe(13 + 7); // of the first 25, 12 are written and 13 left; of those, 6 and 7
      expect(await store.getParts(1000)).toEqual(parts);
    } finally {
      client.destroy();
    }
  });

  it.each([
    [{ pipeline: "a#b" }, `pipeline name must be 1 to 63 lowercase letters, digits or '-'`],
    [{ spillBytes: 400_000 }, "spillBytes (400000) must be an integer from 0 to 390000"],
    [{ partsTtlSeconds: 0 }, "partsTtlSeconds (0) must be a positive integer"],
  ])("fails if constructed with %o", (bad, message) => {
    const props = { client: ddb!, tableName: TABLE, pipeline: "p", objects: new S3ObjectStore({ client: s3!, bucket: BUCKET }) };
    expect(() => new DynamoDbPipelineStore({ ...props, ...bad })).toThrow(message);
  });
});

type HttpRequest = Parameters<NodeHttpHandler["handle"]>[0];
type HttpHandlerOptions = Parameters<NodeHttpHandler["handle"]>[1];
type HttpResponse = Awaited<ReturnType<NodeHttpHandler["handle"]>>["response"];

/** An HTTP handler that forwards only the first half of the next `cuts` BatchWriteItem requests and returns the rest as UnprocessedItems. */
class UnprocessingHandler {
  unprocessed = 0;
  private readonly inner = new NodeHttpHandler();
  constructor(private cuts: number) {}

  async handle(request: HttpRequest, options?: HttpHandlerOptions): Promise<{ response: HttpResponse }> {
    const target = Object.entries(request.headers).find(([k]) => k.toLowerCase() === "x-amz-target")?.[1];
    if (this.cuts === 0 || !target?.endsWith(".BatchWriteItem")) return this.inner.handle(request, options);
    this.cuts--;
    const body = JSON.parse(request.body as string) as { RequestItems: Record<string, unknown[]> };
    const [table, writes] = Object.entries(body.RequestItems)[0]!;
    const kept = writes.slice(0, Math.floor(writes.length / 2));
    const left = writes.slice(kept.length);
    this.unprocessed += left.length;
    // dynalite checks no signature, so the re-written body may keep the headers signed for the original one.
    const text = JSON.stringify({ RequestItems: { [table]: kept } });
    const forwarded = { ...request, body: text, headers: { ...request.headers, "content-length": String(Buffer.byteLength(text)) } };
    const { response } = await this.inner.handle(forwarded as unknown as HttpRequest, options);
    for await (const _ of response.body as AsyncIterable<unknown>) void _; // drain it
    const reply = JSON.stringify({ UnprocessedItems: { [table]: left } });
    return {
      response: {
        statusCode: 200,
        reason: "OK",
        headers: { "content-type": "application/x-amz-json-1.0", "content-length": String(Buffer.byteLength(reply)) },
        body: Readable.from([Buffer.from(reply)]),
      } as HttpResponse,
    };
  }

  updateHttpClientConfig(): void {}
  httpHandlerConfigs(): Record<string, never> {
    return {};
  }
  destroy(): void {
    this.inner.destroy();
  }
}

describe("MemoryPipelineStore fault hook", () => {
  it("crashes a commit before it (nothing changed) or after it took effect (the caller never hears)", async () => {
    const store = new MemoryPipelineStore();
    store.failNext("commit", "before");
    await expect(store.commit(commitOf())).rejects.toThrow(SimulatedCrash);
    expect(await store.getProgress(SHARD)).toBeUndefined();

    store.failNext("commit", "after");
    await expect(store.commit(commitOf())).rejects.toMatchObject({ name: "SimulatedCrash", method: "commit", when: "after" });
    expect(await store.getProgress(SHARD)).toMatchObject({ seq: SEQ1, lastCommit: { attemptId: "a1", times: [1000, 2000] } });
    // The retry from the same progress finds the commit already made.
    expect(await store.commit(commitOf())).toBe(false);
  });

  it("crashes only the method it was armed for, once per arming", async () => {
    const store = new MemoryPipelineStore();
    store.failNext("putParts", "after");
    expect(await store.commit(commitOf())).toBe(true);
    await expect(store.putParts([part()])).rejects.toThrow("simulated crash after putParts (its write took effect)");
    expect(await store.getParts(1000)).toHaveLength(1);
    await store.putParts([part({ attemptId: "a2" })]);
    expect(await store.getParts(1000)).toHaveLength(2);
  });
});

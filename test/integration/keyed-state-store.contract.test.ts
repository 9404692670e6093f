/**
 * One suite, two implementations of KeyedStateStore (mapWithState's per-key state): in memory, and DynamoDB
 * (dynalite) spilling to S3 (s3rver). The per-item conditions — never back to an older batch, never under an
 * older lease token — and the undo record's are semantics, so they are checked against the emulator. Each test has a pipeline of its
 * own on one shared table.
 */
import { createHash, randomBytes } from "node:crypto";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDbClient, s3Client } from "../../lib/io/aws-clients.js";
import type { ObjectStore } from "../../lib/io/object-store.js";
import { S3ObjectStore } from "../../lib/io/s3-object-store.js";
import { startDynalite, startS3rver, type RunningEmulator } from "../../tooling/emulators/index.js";
import { DynamoDbKeyedStateStore } from "../../lib/pipeline-store/dynamodb-keyed-state-store.js";
import { encodeValue } from "../../lib/core/codec.js";
import { inlineStateId, INLINE_KEY_MAX_BYTES, stateItemBytes, type KeyedStateStore, type StateItem, type StateScope } from "../../lib/pipeline-store/keyed-state-store.js";
import { MemoryKeyedStateStore } from "../../lib/testing/memory-keyed-state-store.js";
import { MemoryObjectStore } from "../../lib/testing/memory-object-store.js";
import { MemoryPipelineStore } from "../../lib/testing/memory-pipeline-store.js";
import { kinesisEvent, lambdaContext, sequenceNumber, SimShards, type SimRecord } from "../../lib/testing/simulated-stream.js";
import { definePipeline } from "../../lib/api/define-pipeline.js";
import type { DStream } from "../../lib/api/dstream.js";
import { Milliseconds, Seconds } from "../../lib/core/duration.js";
import { StateSpec } from "../../lib/core/state-spec.js";
import type { State } from "../../lib/core/state.js";
import { finalizeReady } from "../../lib/serverless/finalizer.js";
import { readKeyedState } from "../../lib/serverless/keyed-state.js";
import { PipelineRuntime } from "../../lib/serverless/runtime.js";
import type { RuntimeDeps } from "../../lib/serverless/runtime-deps.js";
import { survives } from "../serverless/support.js";
import { createPipelineTable } from "../support/emulators.js";

const running: RunningEmulator[] = [];
let ddb: DynamoDBClient | undefined;
let s3: S3Client | undefined;
const TABLE = "sparkless-keyed-state";
const BUCKET = "sparkless-keyed-state";

beforeAll(async () => {
  const [dynalite, s3rver] = await Promise.all([startDynalite(), startS3rver()]);
  running.push(dynalite, s3rver);
  ddb = dynamoDbClient({ endpoint: dynalite.endpoint });
  s3 = s3Client({ endpoint: s3rver.endpoint });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await createPipelineTable(ddb, TABLE);
});
afterAll(async () => {
  ddb?.destroy();
  s3?.destroy();
  await Promise.all(running.map((e) => e.stop()));
});

interface Harness {
  readonly store: KeyedStateStore;
  readonly spilled?: () => Promise<string[]>;
  readonly spilledUndo?: () => Promise<string[]>;
  /** The attribute names of the stored item of this id (what DynamoDB keeps). */
  readonly attributes?: (id: string) => Promise<string[]>;
}

let n = 0;
const implementations: Array<[string, () => Harness]> = [
  ["memory", () => ({ store: new MemoryKeyedStateStore() })],
  [
    "dynamodb+s3",
    () => {
      const pipeline = `kst-${++n}`;
      const objects: ObjectStore = new S3ObjectStore({ client: s3!, bucket: BUCKET, prefix: "data" });
      // A small spill threshold, so that a few KB of random text spills.
      const store = new DynamoDbKeyedStateStore({ client: ddb!, tableName: TABLE, pipeline, objects, spillBytes: 2_000 });
      const attributes = async (id: string) => {
        const doc = DynamoDBDocumentClient.from(ddb!);
        const res = await doc.send(
          new ScanCommand({
            TableName: TABLE,
            FilterExpression: "begins_with(#pk, :pk) AND #sk = :sk",
            ExpressionAttributeNames: { "#pk": "pk", "#sk": "sk" },
            ExpressionAttributeValues: { ":pk": `${pipeline}#kst#`, ":sk": id },
          }),
        );
        expect(res.Items).toHaveLength(1);
        return Object.keys(res.Items![0]!).sort();
      };
      return { store, spilled: async () => objects.list(`spill/${pipeline}/kst/`), spilledUndo: async () => objects.list(`spill/${pipeline}/mem/kst-undo/`), attributes };
    },
  ],
];

const scope: StateScope = { nodeId: "mapWithState-1", partition: 0 };
const item = (id: string, time: number, value: string | undefined): StateItem => ({
  id,
  key: JSON.stringify(id),
  current: { time, ...(value !== undefined ? { value } : {}) },
});
const byId = (items: StateItem[]) => Object.fromEntries(items.map((i) => [i.id, i]));
/** The item of a key that is its own id, as keyed-state.ts makes it. */
const inline = (key: string | number, time: number, value: string | undefined): StateItem => {
  const id = inlineStateId(encodeValue(key));
  if (id === undefined) throw new Error(`${encodeValue(key)} is not an inline id`);
  return { id, key: encodeValue(key), current: { time, ...(value !== undefined ? { value } : {}) } };
};
/** Keys that are their own ids, with every character a storage key or a list might trip on. */
const awkwardKeys: Array<string | number> = ["a,b,c", "a#b", "a/b/../c", 'say "hi"\\', "ünïcødé ✓ 🚀", "", "~started", "=42", 42, "42", -17.5, 1e21];

describe("inline ids", () => {
  it("are a short string's or finite number's encoding, told apart from hash and reserved ids", () => {
    expect(inlineStateId('"k0000001234"')).toBe('"k0000001234"');
    expect(inlineStateId("42")).toBe("=42");
    expect(inlineStateId(encodeValue(-0))).toBe("=0");
    // Just within the bound (64 bytes: quotes and 62 characters, or 31 two-byte ones), and just past it.
    expect(inlineStateId(encodeValue("x".repeat(62)))).toBe(`"${"x".repeat(62)}"`);
    expect(inlineStateId(encodeValue("é".repeat(31)))).toBe(`"${"é".repeat(31)}"`);
    expect(inlineStateId(encodeValue("x".repeat(63)))).toBeUndefined();
    expect(inlineStateId(encodeValue("é".repeat(32)))).toBeUndefined();
    expect(INLINE_KEY_MAX_BYTES).toBe(64);
    // Not strings or numbers: hashed.
    for (const key of [null, true, [1], { a: 1 }]) expect(inlineStateId(encodeValue(key))).toBeUndefined();
  });

  it("weigh their key once: the item stores no other", () => {
    const counter = inline("k0000001234", 1000, '[{"n":2,"text":""},1234]');
    expect(stateItemBytes(counter)).toBe(13 + 24 + 8);
    expect(stateItemBytes({ ...counter, id: "hashhashhashhashhashha" })).toBe(22 + 13 + 24 + 8);
  });
});

describe.each(implementations)("KeyedStateStore contract: %s", (_name, make) => {
  it("reads back what it wrote, only the ids asked for, versions and tombstones included", async () => {
    const { store } = make();
    const a = item("aaa", 1000, '{"s":1}');
    const b = item("bbb", 2000, undefined);
    const c = item("~started", 1000, "1");
    expect(await store.putItems(scope, [a, b, c], 1, 99_000)).toBe(true);
    expect(byId(await store.getItems(scope, ["aaa", "bbb", "zzz", "aaa"]))).toEqual({ aaa: a, bbb: b });
    expect(byId(await store.scanItems(scope))).toEqual({ aaa: a, bbb: b, "~started": c });
    // Another partition, another operator: nothing.
    expect(await store.getItems({ ...scope, partition: 1 }, ["aaa"])).toEqual([]);
    expect(await store.scanItems({ nodeId: "mapWithState-2", partition: 0 })).toEqual([]);
  });

  it("refuses an item from an older batch than the stored one, or under an older lease token; a re-run succeeds", async () => {
    const { store } = make();
    expect(await store.putItems(scope, [item("k", 2000, "v2")], 5, 0)).toBe(true);
    // The same batch again (a re-run), same token: written.
    expect(await store.putItems(scope, [item("k", 2000, "v2")], 5, 0)).toBe(true);
    // An older batch (a finalizer that is behind): refused, the item stays.
    expect(await store.putItems(scope, [item("k", 1000, "old"), item("other", 1000, "x")], 5, 0)).toBe(false);
    // An older lease token for a later batch: refused.
    expect(await store.putItems(scope, [item("k", 3000, "v3")], 4, 0)).toBe(false);
    expect(byId(await store.getItems(scope, ["k", "other"]))).toEqual({ k: item("k", 2000, "v2"), other: item("other", 1000, "x") });
    // A later token and batch: written.
    expect(await store.putItems(scope, [item("k", 3000, "v3")], 6, 0)).toBe(true);
    expect((await store.getItems(scope, ["k"]))[0]!.current).toEqual({ time: 3000, value: "v3" });
  });

  it("lets the newer of two racing writers of one key win, whatever the interleaving", async () => {
    const { store } = make();
    const writes = await Promise.all([
      store.putItems(scope, [item("r", 2000, "new")], 7, 0),
      store.putItems(scope, [item("r", 1000, "stale")], 6, 0),
      store.putItems(scope, [item("r", 2000, "new")], 7, 0),
    ]);
    expect(writes[0] && writes[2]).toBe(true);
    expect((await store.getItems(scope, ["r"]))[0]!.current).toEqual({ time: 2000, value: "new" });
  });

  it("keeps large values (compressed or spilled) and many ids (batched reads)", async () => {
    const { store, spilled } = make();
    // Random text does not compress: it spills past the 2 KB threshold.
    const random = (bytes: number) => randomBytes(bytes).toString("base64");
    const big = item("big", 2000, random(60_000));
    const medium = item("medium", 1000, "x".repeat(5_000));
    const many = Array.from({ length: 130 }, (_, i) => item(`k${i}`, 1000, `{"s":${i}}`));
    expect(await store.putItems(scope, [big, medium, ...many], 1, 0)).toBe(true);
    const got = byId(await store.getItems(scope, ["big", "medium", ...many.map((m) => m.id)]));
    expect(got.big).toEqual(big);
    expect(got.medium).toEqual(medium);
    expect(Object.keys(got)).toHaveLength(132);
    if (spilled) expect((await spilled()).length).toBe(1); // big; medium gzips to a few bytes
  });

  it("keeps one undo record per batch (tombstones, large ones spilled), refused under an older lease token", async () => {
    const { store, spilledUndo } = make();
    expect(await store.getUndo(scope, 2000)).toBeUndefined();
    const undo = new Map([["aaa", { time: 1000, value: '{"s":1}' }], ["bbb", { time: 500 }], ["~started", { time: 500, value: "1" }]]);
    expect(await store.putUndo(scope, 2000, undo, 5, 99_000)).toBe(true);
    expect(await store.getUndo(scope, 2000)).toEqual(undo);
    // A re-run under the same or a later token writes it again; an older token is refused and changes nothing.
    expect(await store.putUndo(scope, 2000, undo, 5, 99_000)).toBe(true);
    expect(await store.putUndo(scope, 2000, new Map(), 4, 99_000)).toBe(false);
    expect(await store.getUndo(scope, 2000)).toEqual(undo);
    // An empty record (no changed key existed before) is not the absence of one.
    expect(await store.putUndo(scope, 3000, new Map(), 6, 99_000)).toBe(true);
    expect(await store.getUndo(scope, 3000)).toEqual(new Map());
    expect(await store.getUndo({ ...scope, partition: 1 }, 2000)).toBeUndefined();
    expect(await store.getUndo(scope, 1000)).toBeUndefined();
    // Random text does not compress: past the 2 KB threshold the record spills.
    const large = new Map(Array.from({ length: 20 }, (_, i) => [`r${i}`, { time: 1000, value: randomBytes(300).toString("base64") }] as const));
    expect(await store.putUndo(scope, 4000, large, 6, 99_000)).toBe(true);
    expect(await store.getUndo(scope, 4000)).toEqual(large);
    if (spilledUndo) expect(await spilledUndo()).toHaveLength(1);
  });

  it("indexes ids by update time and reads the times in [from, to)", async () => {
    const { store } = make();
    await store.putUpdateIndex(scope, 1000, ["a", "b"], 0);
    await store.putUpdateIndex(scope, 2000, ["c"], 0);
    await store.putUpdateIndex(scope, 3000, ["a"], 0);
    await store.putUpdateIndex(scope, 2000, ["c"], 0); // a re-run: the same ids again
    const many = Array.from({ length: 25_000 }, (_, i) => `m${i}`);
    await store.putUpdateIndex(scope, 4000, many, 0);
    expect(await store.getUpdateIndex(scope, 1000, 3000)).toEqual(["a", "b", "c"]);
    expect(await store.getUpdateIndex(scope, 2000, 2001)).toEqual(["c"]);
    expect(await store.getUpdateIndex(scope, 0, 1000)).toEqual([]);
    expect(await store.getUpdateIndex(scope, 4000, 5000)).toEqual(many);
    expect(await store.getUpdateIndex({ ...scope, partition: 3 }, 0, 5000)).toEqual([]);
  });

  it("keeps keys that are their own ids — any character, a number apart from its digits as a string — beside hashed ones", async () => {
    const { store, attributes } = make();
    const items = awkwardKeys.map((key, i) => inline(key, 1000 + i, encodeValue([{ key }, i])));
    // Just past the bound: hashed, the key kept beside the id.
    const long = "y".repeat(63);
    const hashed: StateItem = { id: "H".repeat(22), key: encodeValue(long), current: { time: 1000, value: "[1,0]" } };
    const removed = inline("gone,gone", 2000, undefined);
    expect(await store.putItems(scope, [...items, hashed, removed], 1, 99_000)).toBe(true);
    const want = Object.fromEntries([...items, hashed, removed].map((i) => [i.id, i]));
    expect(byId(await store.getItems(scope, [...items, hashed, removed].map((i) => i.id)))).toEqual(want);
    expect(byId(await store.scanItems(scope))).toEqual(want);
    // 42 and "42" are two keys with two states.
    const [number, text] = await Promise.all([store.getItems(scope, ["=42"]), store.getItems(scope, ['"42"'])]);
    expect(number.map((i) => [i.key, i.current.value])).toEqual([["42", encodeValue([{ key: 42 }, awkwardKeys.indexOf(42)])]]);
    expect(text.map((i) => [i.key, i.current.value])).toEqual([['"42"', encodeValue([{ key: "42" }, awkwardKeys.indexOf("42")])]]);
    // Conditions hold for them as for any item: an older batch is refused.
    expect(await store.putItems(scope, [inline("a,b,c", 500, "old")], 1, 0)).toBe(false);
    if (attributes) {
      expect(await attributes('"a,b,c"')).not.toContain("key");
      expect(await attributes(hashed.id)).toContain("key");
    }
  });

  it("refuses an inline id that is not the key's encoding as keyed-state.ts writes it", async () => {
    const { store } = make();
    await expect(store.putItems(scope, [{ id: '"a"', key: '"b"', current: { time: 1, value: "1" } }], 1, 0)).rejects.toThrow(/carries its key in its id/);
    for (const id of ['"\\u0061"', "=1.0", '="a"', '"a', "=", `"${"x".repeat(63)}"`]) {
      await expect(store.getItems(scope, [id]), id).rejects.toThrow(/must be 1 to 64 characters/);
    }
  });

  it("spills a large value of a key that is its own id under a hash of it, and reads it back", async () => {
    const { store, spilled } = make();
    const big = inline("a/b#c,d", 2000, randomBytes(60_000).toString("base64"));
    expect(await store.putItems(scope, [big], 1, 0)).toBe(true);
    expect(await store.getItems(scope, [big.id])).toEqual([big]);
    if (spilled) {
      const keys = await spilled();
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatch(/\/p0\/=\/[A-Za-z0-9_-]{22}\/\d+$/);
    }
  });

  it("indexes and undoes inline ids as they are, commas and all, in chunks of any size", async () => {
    const { store } = make();
    const ids = awkwardKeys.map((key) => inline(key, 1, "1").id);
    await store.putUpdateIndex(scope, 1000, ids, 0);
    expect(await store.getUpdateIndex(scope, 1000, 1001)).toEqual(ids);
    // 64-byte ids past one index item's share.
    const long = Array.from({ length: 4_000 }, (_, i) => inline(`${i},`.padEnd(62, "z"), 1, "1").id);
    await store.putUpdateIndex(scope, 2000, long, 0);
    expect(await store.getUpdateIndex(scope, 0, 3000)).toEqual([...ids, ...long]);
    const undo = new Map(ids.map((id, i) => [id, i % 2 === 0 ? { time: 500 } : { time: 500, value: `v${i}` }] as const));
    expect(await store.putUndo(scope, 1000, undo, 1, 99_000)).toBe(true);
    expect(await store.getUndo(scope, 1000)).toEqual(undo);
  });

  it("fails if an id or scope cannot be part of a storage key", async () => {
    const { store } = make();
    await expect(store.getItems(scope, ["a#b"])).rejects.toThrow(/state id "a#b" must be 1 to 64 characters/);
    await expect(store.scanItems({ nodeId: "a/b", partition: 0 })).rejects.toThrow(/nodeId "a\/b" must be non-empty/);
    await expect(store.putItems({ nodeId: "n", partition: -1 }, [], 1, 0)).rejects.toThrow(/partition -1 must be a non-negative integer/);
    await expect(store.putUndo(scope, 1000, new Map([["a/b", { time: 1 }]]), 1, 0)).rejects.toThrow(/state id "a\/b" must be 1 to 64 characters/);
  });
});

/**
 * A spilled value is one object per (key, batch); the batch that replaces or removes the key deletes it once its
 * own item is written (the version before lives on in that batch's undo record). DynamoDB, with an in-memory
 * object store that can crash at each of its calls.
 */
describe("DynamoDbKeyedStateStore: replaced spilled values", () => {
  const big = () => randomBytes(3_000).toString("base64"); // does not compress: past the 2 KB threshold, spilled
  const make = (objects: ObjectStore) => {
    const pipeline = `kst-${++n}`;
    const store = new DynamoDbKeyedStateStore({ client: ddb!, tableName: TABLE, pipeline, objects, spillBytes: 2_000 });
    return { store, spilled: () => objects.list(`spill/${pipeline}/kst/`) };
  };

  it.each<[keyof ObjectStore, "before" | "after"]>([
    ["put", "before"],
    ["put", "after"],
    ["delete", "before"],
    ["delete", "after"],
  ])("are gone after the next batch and the one after, with a crash at objects.%s (%s) leaving no dangling pointer and no lost state", async (method, when) => {
    const objects = new MemoryObjectStore();
    const { store, spilled } = make(objects);
    const v1 = inline("a/b", 1000, big());
    expect(await store.putItems(scope, [v1], 1, 0)).toBe(true);
    const [o1] = await spilled();

    // Batch 2000 replaces the key with another large value: undo record first, then the item, and a crash.
    const v2 = inline("a/b", 2000, big());
    const undo2 = new Map([[v1.id, v1.current]]);
    expect(await store.putUndo(scope, 2000, undo2, 1, 99_000)).toBe(true);
    objects.failNext(method, when);
    await expect(store.putItems(scope, [v2], 1, 0, undo2)).rejects.toThrow(/simulated crash/);
    // Whatever was written, the item reads (its value is where it points), and the state before 2000 is there.
    const [after] = await store.getItems(scope, [v1.id]);
    if (after!.current.time === 1000) expect(after).toEqual(v1);
    else {
      expect(after).toEqual(v2);
      expect((await store.getUndo(scope, 2000))!.get(v1.id)).toEqual(v1.current);
    }
    // The re-run writes the same and deletes what the first run did not.
    expect(await store.putItems(scope, [v2], 1, 0, undo2)).toBe(true);
    expect(await store.getItems(scope, [v1.id])).toEqual([v2]);
    const [o2] = await spilled();
    expect(await spilled()).toEqual([o2]);
    expect(o2).not.toBe(o1);

    // Batch 3000 removes the key: the last spilled value goes too.
    const gone = inline("a/b", 3000, undefined);
    const undo3 = new Map([[v2.id, v2.current]]);
    expect(await store.putUndo(scope, 3000, undo3, 1, 99_000)).toBe(true);
    expect(await store.putItems(scope, [gone], 1, 99_000, undo3)).toBe(true);
    expect(await spilled()).toEqual([]);
    expect(await store.getItems(scope, [v1.id])).toEqual([gone]);
    expect((await store.getUndo(scope, 3000))!.get(v1.id)).toEqual(v2.current);
  });

  it("keeps a spilled value whose item a stale writer failed to replace", async () => {
    const objects = new MemoryObjectStore();
    const { store, spilled } = make(objects);
    const v2 = item("hashedkey", 2000, big());
    expect(await store.putItems(scope, [v2], 5, 0)).toBe(true);
    const before = await spilled();
    // A finalizer behind by a batch tries to write over it: refused, and the newer value's object stays.
    const stale = item("hashedkey", 1000, "small");
    expect(await store.putItems(scope, [stale], 5, 0, new Map([["hashedkey", v2.current]]))).toBe(false);
    expect(await spilled()).toEqual(before);
    expect(await store.getItems(scope, ["hashedkey"])).toEqual([v2]);
  });

  it("gives a reader that read an item before a later batch replaced it and deleted its value the item as it is now", async () => {
    const objects = new MemoryObjectStore();
    let interleave: (() => Promise<void>) | undefined;
    // The reader's read of the spilled value waits for the writer to finish first.
    const racing: ObjectStore = {
      put: (key, body) => objects.put(key, body),
      list: (prefix) => objects.list(prefix),
      delete: (keys) => objects.delete(keys),
      get: async (key) => {
        const writer = interleave;
        interleave = undefined;
        await writer?.();
        return objects.get(key);
      },
    };
    const { store } = make(racing);
    const v1 = inline(7, 1000, big());
    expect(await store.putItems(scope, [v1], 1, 0)).toBe(true);
    const v2 = inline(7, 2000, big());
    interleave = async () => {
      expect(await store.putItems(scope, [v2], 1, 0, new Map([[v1.id, v1.current]]))).toBe(true);
    };
    expect(await store.getItems(scope, [v1.id])).toEqual([v2]);
  });
});

describe("mapWithState through the finalizer, its state spilled to the object store", () => {
  /** A state that does not compress (sha-256 chained), 3.5 KB: past the 2 KB threshold, spilled. */
  const spillText = (key: string, n: number) => {
    let h = `${key}:${n}`;
    const parts: string[] = [];
    for (let i = 0; i < 80; i++) parts.push((h = createHash("sha256").update(h).digest("base64")));
    return parts.join("");
  };

  it("keeps one object per live key after each batch, a crash before the delete of a replaced one included", async () => {
    type Rec = { k: string };
    const B = 1000;
    const pipeline = definePipeline<Rec>("kst-spill", { batchInterval: Milliseconds(B), decoder: (bytes) => JSON.parse(Buffer.from(bytes).toString("utf8")) as Rec, idleAfter: Seconds(1) }, (input: DStream<Rec>) => {
      input
        .map((r) => [r.k, 1] as [string, number])
        .mapWithState(
          StateSpec.function((key: string, _one: number | undefined, state: State<{ n: number; text: string }>) => {
            const n = (state.getOption()?.n ?? 0) + 1;
            state.update({ n, text: spillText(key, n) });
            return undefined;
          }).name("sessions"),
        )
        .print(1);
    });
    const kstObjects = new MemoryObjectStore();
    const pipe = `kst-spill-${++n}`;
    const state = new DynamoDbKeyedStateStore({ client: ddb!, tableName: TABLE, pipeline: pipe, objects: kstObjects, spillBytes: 2_000 });
    // The state's values (the undo records spill elsewhere, expired by a lifecycle rule).
    const spilled = () => kstObjects.list(`spill/${pipe}/kst/`);
    const shardId = "shardId-000000000000";
    const base = 1_700_000_000_000;
    // "a" gets data in three batches, "b" in the first only.
    const keys = [["a", "b"], ["a"], ["a"]];
    const records: SimRecord[] = keys.flatMap((ks, b) => ks.map((k) => ({ k, arrival: base + (b + 1) * B + 100 }))).map((r, i) => ({ shardId, seq: sequenceNumber(0, i), arrival: r.arrival, partitionKey: r.k, data: Buffer.from(JSON.stringify({ k: r.k })).toString("base64") }));
    const store = new MemoryPipelineStore();
    let now = base;
    let attempt = 0;
    const deps: RuntimeDeps = { store, objects: new MemoryObjectStore(), keyedState: state, shards: new SimShards(new Map([[shardId, records]]), [{ shardId, closed: false }]), now: () => now, log: () => undefined, newAttemptId: () => `a${attempt++}` };
    const runtime = new PipelineRuntime(pipeline, deps);
    await runtime.tick();
    now = records.at(-1)!.arrival + 1;
    await runtime.handleShardEvent(kinesisEvent(records), lambdaContext(8_000));
    now = base + 10 * B;
    for (let i = 0; i < 3; i++) await new PipelineRuntime(pipeline, deps).tick(lambdaContext(8_000)); // the shard goes idle
    const zero = (await store.getStatus())!.zeroTime;
    const finalized = async () => (await store.getStatus())!.lastFinalized ?? 0;
    const finalizeUpTo = async (time: number) => {
      for (let i = 0; (await finalized()) < time; i++) {
        if (i > 5) throw new Error(`batch ${time} did not finalize`);
        // A crashed finalizer's lease runs out before another takes over.
        now += 61_000;
        await survives(finalizeReady(pipeline, deps, { maxBatches: 1 }));
      }
    };
    const stateAt = async (time: number) => Object.fromEntries(((await readKeyedState(state, { nodeId: "sessions", partition: 0 }, time)) ?? []).map((e) => [e.key, e.state]));

    // The records' batches start at zero + B: batch b of `keys` is at zero + (b + 2) * B once the first, empty, is done.
    await finalizeUpTo(zero + 2 * B);
    expect(await stateAt(zero + 2 * B)).toEqual({ a: { n: 1, text: spillText("a", 1) }, b: { n: 1, text: spillText("b", 1) } });
    expect(await spilled()).toHaveLength(2);

    // The second batch crashes after writing "a" and before deleting the object "a" had: the re-run deletes it.
    kstObjects.failNext("delete", "before");
    await finalizeUpTo(zero + 3 * B);
    expect(await stateAt(zero + 3 * B)).toEqual({ a: { n: 2, text: spillText("a", 2) }, b: { n: 1, text: spillText("b", 1) } });
    expect(await spilled()).toHaveLength(2);

    await finalizeUpTo(zero + 4 * B);
    expect(await stateAt(zero + 4 * B)).toEqual({ a: { n: 3, text: spillText("a", 3) }, b: { n: 1, text: spillText("b", 1) } });
    // One object per live key: "a"'s third value and "b"'s first; "a"'s first two are gone.
    const objects = await spilled();
    expect(objects).toHaveLength(2);
    for (const key of objects) expect(await kstObjects.get(key)).toMatch(new RegExp(`^\\[\\{"n":(3|1),"text":"(${escape(spillText("a", 3))}|${escape(spillText("b", 1))})"`));
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/**
 * One suite, two implementations of KeyedStateStore (mapWithState's per-key state): in memory, and DynamoDB
 * (dynalite) spilling to S3 (s3rver). The per-item conditions — never back to an older batch, never under an
 * older lease token — and the undo record's are semantics, so they are checked against the emulator. Each test has a pipeline of its
 * own on one shared table.
 */
import { randomBytes } from "node:crypto";
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

/**
 * mapWithState's per-key state on the pipeline's DynamoDB table (the layout rows `state` and `state index` of
 * dynamodb-pipeline-store.ts's table), values too large for an item spilled to the object store.
 *
 * - A state item: pk `<pipe>#kst#<nodeId>#p<p>#<c>`, sk `<id>`, where `<c>` is one of 65 characters — a hash
 *   id's first (`[A-Za-z0-9_-]`, or `~` for reserved ids), an inline id's (`"k1"`, `=42`: the key is the id)
 *   from a hash of the id ({@link bucketOf}) — so an operator's state spreads over 65 item collections
 *   (DynamoDB's throughput limit is per partition key: one collection per operator would cap a batch's writes
 *   at 1000 per second) and a full read queries each. Attributes: `key` (only for a hashed id: an inline id
 *   carries it), `ct` (the batch time that wrote it), `cv`/`cz`/`cs` (its value: text, gzip, or the spilled
 *   object's key; none: a tombstone), `fence` (the lease token that wrote it), `ttl` on tombstones only.
 * - A spilled value: `spill/<pipe>/kst/<nodeId>/p<p>/<id>/<time>` for a hashed or reserved id; an inline id
 *   may hold any character (`/` included), so its segment is `=/<hash of the id>` ({@link spillSegment}). The
 *   batch that replaces or removes the key deletes it once the new item is written (its undo record holds the
 *   value): `putItems`' `replaced`.
 * - An undo record: pk `<pipe>#kundo#<nodeId>#p<p>`, sk `<time>`, `z` (the record gzipped: packUndo) or `s`
 *   (the spilled object's key, under the spilled node memory's prefix, which a lifecycle rule expires after 30
 *   days), `fence`, `ttl`. One item a batch, read only by a re-run of that batch.
 * - A state index item: pk `<pipe>#kidx#<nodeId>#p<p>`, sk `<time>#<chunk>`, `ids` (a list of strings: an
 *   inline id may hold commas), `ttl`; a time's ids are cut into chunks of at most ~200 KB.
 *
 * Reads are BatchGetItem (100 keys a request). Writes are one conditional PutItem per changed key, not
 * BatchWriteItem: the condition (`ct <= T` and `fence <= token`) is what keeps an older finalizer from
 * overwriting a newer batch's value, and BatchWriteItem has none. DynamoDB bills a conditional put as it bills a
 * batched one (a write unit per KB), so the choice costs requests — sent 32 at a time — not money.
 */
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient, PutCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { SparklessError } from "../core/errors.js";
import type { ObjectStore } from "../io/object-store.js";
import { checkPipelineName } from "../contract/pipeline-name.js";
import { SPILL } from "../contract/bucket.js";
import { checkStateId, checkStateItem, checkStateScope, inlineIdKey, packUndo, unpackUndo, type KeyedStateStore, type StateItem, type StateScope, type StateVersion, type UndoRecord } from "./keyed-state-store.js";
import { checkTime, padTime } from "./store-keys.js";
import { mapLimit, queryAll } from "./dynamodb-calls.js";

export interface DynamoDbKeyedStateStoreProps {
  readonly client: DynamoDBClient;
  /** The pipeline's table (key `pk`, `sk`; TTL on `ttl`). */
  readonly tableName: string;
  readonly pipeline: string;
  /** Where values too large for an item go. */
  readonly objects: ObjectStore;
  /** A value or undo record longer than this, even gzipped, is spilled (well inside an item's 400 KB, the key beside it). @default 180_000 */
  readonly spillBytes?: number;
}

/** The first characters an id can have: base64url's and `~` (reserved ids). */
const ID_FIRST_CHARS = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~"];
const BATCH_GET_MAX = 100;
const BATCH_WRITE_MAX = 25;
const PUT_CONCURRENCY = 32;
const QUERY_CONCURRENCY = 16;
const UNPROCESSED_RETRIES = 8;
const COMPRESS_FROM_BYTES = 1024;
/**
 * An index item's ids, in bytes (each with DynamoDB's 1 byte of list-element overhead): half an item's 400 KB,
 * whatever the ids' lengths (~8,700 hash ids, ~3,000 of the longest inline ones), the rest to spare.
 */
const INDEX_CHUNK_BYTES = 200_000;

type Item = Record<string, unknown>;

/**
 * @example
 * const state = new DynamoDbKeyedStateStore({ client, tableName: "sparkless", pipeline: "sessions", objects });
 */
export class DynamoDbKeyedStateStore implements KeyedStateStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly pipe: string;
  private readonly objects: ObjectStore;
  private readonly spillBytes: number;

  constructor(props: DynamoDbKeyedStateStoreProps) {
    checkPipelineName(props.pipeline);
    this.doc = DynamoDBDocumentClient.from(props.client, { marshallOptions: { removeUndefinedValues: true } });
    this.table = props.tableName;
    this.pipe = props.pipeline;
    this.objects = props.objects;
    this.spillBytes = props.spillBytes ?? 180_000;
  }

  private pk(scope: StateScope, id: string): string {
    return this.bucketPk(scope, bucketOf(id));
  }

  private bucketPk(scope: StateScope, bucket: string): string {
    return `${this.pipe}#kst#${scope.nodeId}#p${scope.partition}#${bucket}`;
  }

  private undoPk(scope: StateScope): string {
    return `${this.pipe}#kundo#${scope.nodeId}#p${scope.partition}`;
  }

  private indexPk(scope: StateScope): string {
    return `${this.pipe}#kidx#${scope.nodeId}#p${scope.partition}`;
  }

  async getItems(scope: StateScope, ids: readonly string[]): Promise<StateItem[]> {
    checkStateScope(scope);
    ids.forEach(checkStateId);
    const keys = [...new Set(ids)].map((id) => ({ pk: this.pk(scope, id), sk: id }));
    const chunks: Array<typeof keys> = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_MAX) chunks.push(keys.slice(i, i + BATCH_GET_MAX));
    const found = (await mapLimit(chunks, QUERY_CONCURRENCY, (chunk) => this.batchGet(chunk))).flat();
    return mapLimit(found, QUERY_CONCURRENCY, (item) => this.toStateItem(item));
  }

  async scanItems(scope: StateScope): Promise<StateItem[]> {
    checkStateScope(scope);
    const found = (
      await mapLimit(ID_FIRST_CHARS, QUERY_CONCURRENCY, (c) =>
        this.queryAll({
          TableName: this.table,
          KeyConditionExpression: "#pk = :pk",
          ExpressionAttributeNames: { "#pk": "pk" },
          ExpressionAttributeValues: { ":pk": this.bucketPk(scope, c) },
          ConsistentRead: true,
        }),
      )
    ).flat();
    return mapLimit(found, QUERY_CONCURRENCY, (item) => this.toStateItem(item));
  }

  async putItems(scope: StateScope, items: readonly StateItem[], token: number, tombstoneExpiresAt: number, replaced?: UndoRecord): Promise<boolean> {
    checkStateScope(scope);
    items.forEach((item) => {
      checkStateItem(item);
      checkTime(item.current.time);
    });
    const results = await mapLimit(items, PUT_CONCURRENCY, async (item) => {
      const current = await this.stored(scope, item.id, item.current);
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.table,
            Item: {
              pk: this.pk(scope, item.id),
              sk: item.id,
              ...(inlineIdKey(item.id) === undefined ? { key: item.key } : {}),
              ...current,
              fence: token,
              ...(item.current.value === undefined ? { ttl: Math.ceil(tombstoneExpiresAt / 1000) } : {}),
            },
            ConditionExpression: "attribute_not_exists(#pk) OR (#ct <= :t AND #fence <= :token)",
            ExpressionAttributeNames: { "#pk": "pk", "#ct": "ct", "#fence": "fence" },
            ExpressionAttributeValues: { ":t": item.current.time, ":token": token },
          }),
        );
        return true;
      } catch (err) {
        if ((err as { name?: string }).name === "ConditionalCheckFailedException") return false;
        throw err;
      }
    });
    // Only after the items that pointed at them are written: an item never points at a deleted object.
    const orphans = items.flatMap((item, i) => {
      const was = replaced?.get(item.id);
      return results[i] && was?.value !== undefined && was.time !== item.current.time && this.mayHaveSpilled(was.value) ? [this.spillKey(scope, item.id, was.time)] : [];
    });
    if (orphans.length > 0) await this.objects.delete(orphans);
    return results.every(Boolean);
  }

  async putUndo(scope: StateScope, time: number, undo: UndoRecord, token: number, expiresAt: number): Promise<boolean> {
    checkStateScope(scope);
    checkTime(time);
    [...undo.keys()].forEach(checkStateId);
    const packed = packUndo(undo);
    let body: Item = { z: packed };
    if (packed.length > this.spillBytes) {
      // One object per (scope, batch): a re-run writes the same bytes; the item is written after it, never pointing at nothing.
      const key = `${SPILL.memoryPrefix(this.pipe)}kst-undo/${scope.nodeId}/p${scope.partition}/${padTime(time)}`;
      await this.objects.put(key, gunzipSync(packed).toString("utf8"));
      body = { s: key };
    }
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: this.undoPk(scope), sk: padTime(time), ...body, fence: token, ttl: Math.ceil(expiresAt / 1000) },
          ConditionExpression: "attribute_not_exists(#pk) OR #fence <= :token",
          ExpressionAttributeNames: { "#pk": "pk", "#fence": "fence" },
          ExpressionAttributeValues: { ":token": token },
        }),
      );
      return true;
    } catch (err) {
      if ((err as { name?: string }).name === "ConditionalCheckFailedException") return false;
      throw err;
    }
  }

  async getUndo(scope: StateScope, time: number): Promise<UndoRecord | undefined> {
    checkStateScope(scope);
    checkTime(time);
    const [item] = await this.batchGet([{ pk: this.undoPk(scope), sk: padTime(time) }]);
    if (!item) return undefined;
    if (item.z instanceof Uint8Array) return unpackUndo(item.z);
    const spill = item.s as string;
    const body = await this.objects.get(spill);
    if (body === undefined) {
      throw new SparklessError("SpilledPayloadMissing", `the undo record ${String(item.pk)} / ${String(item.sk)} points at ${spill}, which is not in the object store`, { pk: item.pk, sk: item.sk, key: spill });
    }
    return unpackUndo(body);
  }

  async putUpdateIndex(scope: StateScope, time: number, ids: readonly string[], expiresAt: number): Promise<void> {
    checkStateScope(scope);
    checkTime(time);
    ids.forEach(checkStateId);
    const items: Item[] = [];
    // Cut by bytes, not count, as inline ids vary in length; the same ids cut the same way on a re-run.
    for (let i = 0; i < ids.length; ) {
      const chunk: string[] = [];
      for (let bytes = 0; i < ids.length; i++) {
        const size = Buffer.byteLength(ids[i]!, "utf8") + 1;
        if (chunk.length > 0 && bytes + size > INDEX_CHUNK_BYTES) break;
        chunk.push(ids[i]!);
        bytes += size;
      }
      items.push({ pk: this.indexPk(scope), sk: `${padTime(time)}#${String(items.length).padStart(6, "0")}`, ids: chunk, ttl: Math.ceil(expiresAt / 1000) });
    }
    for (let i = 0; i < items.length; i += BATCH_WRITE_MAX) await this.batchPut(items.slice(i, i + BATCH_WRITE_MAX));
  }

  async getUpdateIndex(scope: StateScope, from: number, to: number): Promise<string[]> {
    checkStateScope(scope);
    if (to <= from || to <= 0) return [];
    const items = await this.queryAll({
      TableName: this.table,
      KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
      ExpressionAttributeNames: { "#pk": "pk", "#sk": "sk" },
      // Chunk numbers are digits, which sort before "~": the range ends after every chunk of `to - 1`.
      ExpressionAttributeValues: { ":pk": this.indexPk(scope), ":from": padTime(Math.max(0, from)), ":to": `${padTime(to - 1)}#~` },
      ConsistentRead: true,
    });
    // Items written before ids could hold commas kept them comma-joined.
    return items.flatMap((item) => (typeof item.ids === "string" ? (item.ids === "" ? [] : item.ids.split(",")) : (item.ids as string[])));
  }

  /** A version as attributes: its time `ct`, and its value inline (`cv`), gzipped (`cz`) or spilled (`cs`). */
  private async stored(scope: StateScope, id: string, version: StateVersion): Promise<Item> {
    const out: Item = { ct: version.time };
    const value = version.value;
    if (value === undefined) return out;
    const size = Buffer.byteLength(value, "utf8");
    if (size < COMPRESS_FROM_BYTES) return { ...out, cv: value };
    const packed = gzipSync(value, { level: 6 });
    if (packed.length <= this.spillBytes) return { ...out, cz: packed };
    // One object per (key, batch): a re-run writes the same bytes; the item is written after it, never pointing at nothing.
    const key = this.spillKey(scope, id, version.time);
    await this.objects.put(key, value);
    return { ...out, cs: key };
  }

  /** Where the value of `id`'s version of batch `time` is spilled, if it is: one object per (key, batch). */
  private spillKey(scope: StateScope, id: string, time: number): string {
    return `${SPILL.keyedStatePrefix(this.pipe)}${scope.nodeId}/p${scope.partition}/${spillSegment(id)}/${padTime(time)}`;
  }

  /**
   * Whether a value may have been spilled, without gzipping it again: deflate grows incompressible text by a few
   * bytes per 16 KB block at most, so a value this much under the threshold never was. One near it may not have
   * been either: deleting an object that is not there costs a request and changes nothing.
   */
  private mayHaveSpilled(value: string): boolean {
    const size = Buffer.byteLength(value, "utf8");
    return size >= COMPRESS_FROM_BYTES && size + Math.ceil(size / 1000) + 64 > this.spillBytes;
  }

  private async versionOf(item: Item): Promise<StateVersion> {
    const time = item.ct as number;
    const text = item.cv;
    if (typeof text === "string") return { time, value: text };
    const packed = item.cz;
    if (packed instanceof Uint8Array) return { time, value: gunzipSync(packed).toString("utf8") };
    const spill = item.cs;
    if (typeof spill === "string") {
      const body = await this.objects.get(spill);
      if (body === undefined) {
        throw new SparklessError("SpilledPayloadMissing", `the state item ${String(item.pk)} / ${String(item.sk)} points at the spilled value ${spill}, which is not in the object store`, {
          pk: item.pk,
          sk: item.sk,
          key: spill,
        });
      }
      return { time, value: body };
    }
    return { time };
  }

  private async toStateItem(item: Item, reread = true): Promise<StateItem> {
    const id = item.sk as string;
    let current: StateVersion;
    try {
      current = await this.versionOf(item);
    } catch (err) {
      if (!reread || !(err instanceof SparklessError && err.code === "SpilledPayloadMissing")) throw err;
      // A later batch replaced the item after it was read here, then deleted the value it pointed at (putItems):
      // the item as it is now is as consistent a read. The same pointer again means the object is really gone.
      const [fresh] = await this.batchGet([{ pk: item.pk as string, sk: id }]);
      if (fresh === undefined || fresh.cs === item.cs) throw err;
      return this.toStateItem(fresh, false);
    }
    return { id, key: inlineIdKey(id) ?? (item.key as string), current };
  }

  private async batchGet(keys: Array<{ pk: string; sk: string }>): Promise<Item[]> {
    const out: Item[] = [];
    let pending = keys;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > UNPROCESSED_RETRIES) {
        throw new SparklessError("UnprocessedItems", `DynamoDB left ${pending.length} state keys unread after ${UNPROCESSED_RETRIES} retries (table ${this.table})`, {
          table: this.table,
          unprocessed: pending.length,
        });
      }
      if (attempt > 0) await backoff(attempt);
      const res = await this.doc.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }));
      out.push(...(res.Responses?.[this.table] ?? []));
      pending = (res.UnprocessedKeys?.[this.table]?.Keys ?? []) as typeof pending;
    }
    return out;
  }

  private async batchPut(items: Item[]): Promise<void> {
    let pending = items.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > UNPROCESSED_RETRIES) {
        throw new SparklessError("UnprocessedItems", `DynamoDB left ${pending.length} state index items unwritten after ${UNPROCESSED_RETRIES} retries (table ${this.table})`, {
          table: this.table,
          unprocessed: pending.length,
        });
      }
      if (attempt > 0) await backoff(attempt);
      const res = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
      pending = (res.UnprocessedItems?.[this.table] ?? []) as typeof pending;
    }
  }

  private queryAll(input: QueryCommandInput): Promise<Item[]> {
    return queryAll(this.doc, input);
  }
}

/**
 * The item collection of an id: a hash or reserved id's first character; for an inline id (whose first
 * character is always the mark) FNV-1a of its UTF-16 code units into the same 65 characters — cheap, and
 * fixed forever, since the collection is where the item is looked for.
 */
function bucketOf(id: string): string {
  if (inlineIdKey(id) === undefined) return id[0]!;
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return ID_FIRST_CHARS[h % ID_FIRST_CHARS.length]!;
}

/**
 * The object key segment of an id's spilled values: a hash or reserved id as it is; an inline id may hold `/`
 * and anything else, so `=/` and a hash of it (22 base64url characters): one segment more than a plain id's,
 * so the two never meet.
 */
function spillSegment(id: string): string {
  if (inlineIdKey(id) === undefined) return id;
  return `=/${createHash("sha256").update(id).digest("base64url").slice(0, 22)}`;
}

/** Full jitter, 50 ms doubling to 3.2 s. */
function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 50 * 2 ** Math.min(attempt, 6)));
}

/**
 * The pipeline store on one DynamoDB table (`pk` S, `sk` S, TTL attribute `ttl` in epoch seconds), with payloads
 * too large for an item spilled to the pipeline's object store.
 *
 * Key layout (every pk starts with the pipeline name, so pipelines can share a table; times in keys are padded to
 * 15 digits so string order is time order; `<p>` is the finalizer partition — parts split by key hash across
 * `#p0 … #p<P-1>` item collections, one per finalizer partition; with P = 1 only `#p0` exists and nothing else
 * below names a partition):
 *
 * | what     | pk                              | sk                                   | attributes                                                        |
 * |----------|---------------------------------|--------------------------------------|-------------------------------------------------------------------|
 * | status   | `<pipe>#status`                 | `-`                                  | zeroTime, lastFinalized, graphHash, partitions? (P > 1), leaseOwner, leaseToken, leaseExpiresAt (ms) |
 * | partition status (P > 1) | `<pipe>#status` | `p<p>`                             | lastFinalized?, leaseOwner, leaseToken, leaseExpiresAt (ms)       |
 * | progress | `<pipe>#progress`               | `<shardId>`                          | seq?, watermark, drained, lastAttempt?, lastTimes? (list of N)    |
 * | commits  | `<pipe>#commits#<time>`         | `<shardId>#<attemptId>`              | shardId, attemptId, time, ttl                                     |
 * | parts    | `<pipe>#parts#<time>#p<p>`      | `<nodeId>#<shardId>#<attemptId>`     | time, nodeId, shardId, attemptId, firstSeq, payload/packed/spill, ttl |
 * | memory   | `<pipe>#mem#<nodeId>`           | `<time>`                             | payload/packed/spill, expiresAt (ms), fence (lease token), ttl    |
 * | partition memory (P > 1) | `<pipe>#mem#<nodeId>#p<p>` | `<time>`                 | as memory; `fence` is partition p's lease token                   |
 * | state    | `<pipe>#kst#<nodeId>#p<p>#<c>`  | `<id>` (a key's hash; `<c>` its first character) | key, ct, cv/cz/cs, fence, ttl (tombstones) |
 * | state undo | `<pipe>#kundo#<nodeId>#p<p>`  | `<time>`                             | z (gzipped) or s (spilled key), fence, ttl                        |
 * | state index | `<pipe>#kidx#<nodeId>#p<p>`  | `<time>#<chunk>`                     | ids (comma-joined), ttl                                           |
 *
 * State, state undo and state index: mapWithState's per-key state, its batches' undo records and its update-time
 * index, written by {@link DynamoDbKeyedStateStore} (dynamodb-keyed-state-store.ts says why they look as they do).
 *
 * A payload is `payload` (text) under 1 KB, `packed` (gzip, binary) above, and spilled when even gzipped it is
 * larger than `spillBytes`: an object named by the item's `spill` attribute:
 * `spill/<pipe>/parts/<time>/p<p>/<nodeId>/<shardId>/<attemptId>` and `spill/<pipe>/mem/<nodeId>/<time>`
 * (`spill/<pipe>/mem/<nodeId>/p<p>/<time>` for a partition's memory). The
 * object is written before the item, so an item never points at nothing; an object whose item was never written
 * (a crash in between) is garbage that an S3 lifecycle rule on `spill/` collects.
 *
 * Why the writes look the way they do:
 * - commit and advanceWatermark are ONE conditional UpdateItem each: a single-item condition is what makes the
 *   protocol exactly-once, and it runs on every emulator (dynalite has no transactions);
 * - the progress item keeps only the shard's latest commit (`lastAttempt`, `lastTimes`), so it stays a few hundred
 *   bytes however long finalization stalls; earlier commits are marker items, one per (time, shard, attempt),
 *   written by the shard's next invocation in the batch write of its parts, before its commit replaces them;
 * - the lease lives on the status item, so `advanceStatus` checks the fencing token in the same conditional write;
 *   its token only grows (ADD), and a release only ends its expiry; a finalizer partition's lease and progress
 *   live on its own item beside it (same pk, so one Query lists every partition for `sparkless status`);
 * - node memory carries the token that wrote it (`fence`) and refuses an older one;
 * - every read is strongly consistent: the finalizer must see the parts and progress a commit just wrote.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type QueryCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { SparklessError, ValidationError } from "../core/errors.js";
import type { ObjectStore } from "../io/object-store.js";
import type { CommitMarker, CommitRequest, Lease, Part, PartitionStatus, PipelineStatus, PipelineStore, ShardProgress } from "./pipeline-store.js";
import { checkPipelineName } from "../contract/pipeline-name.js";
import { checkPartition, checkSegment, checkTime, padTime } from "./store-keys.js";
import { mapLimit, queryAll } from "./dynamodb-calls.js";
import { DynamoDbKeyedStateStore } from "./dynamodb-keyed-state-store.js";
import type { KeyedStateStore } from "./keyed-state-store.js";

export interface DynamoDbPipelineStoreProps {
  readonly client: DynamoDBClient;
  /** A table with key `pk` (S, hash) and `sk` (S, range), TTL on the attribute `ttl`. */
  readonly tableName: string;
  /** Starts every key of this pipeline; the contract's pipeline-name rule (lib/contract/pipeline-name.ts). */
  readonly pipeline: string;
  /** Where payloads too large for an item go. */
  readonly objects: ObjectStore;
  /**
   * A payload longer than this many UTF-8 bytes is spilled to `objects`. An item is capped at 400 KB including
   * keys and attribute names, so at most 390 000.
   * @default 350_000
   */
  readonly spillBytes?: number;
  /**
   * How long parts are kept (the `ttl` of part items): long enough for every batch time they belong to to be
   * finalized, even after an outage.
   * @default 604_800 (7 days)
   */
  readonly partsTtlSeconds?: number;
}

/** Largest spill threshold: what remains of DynamoDB's 400 KB item limit leaves room for keys and attributes. */
const MAX_SPILL_BYTES = 390_000;
/** BatchWriteItem takes at most 25 requests. */
const BATCH_WRITE_MAX = 25;
/** Retries of UnprocessedItems (throttling) before putParts gives up and lets the invocation fail. */
const UNPROCESSED_RETRIES = 8;
/** Payloads from this size on are stored gzipped (below it, compression gains less than a write unit). */
const COMPRESS_FROM_BYTES = 1024;

/** Object store calls in flight at once when spilling or reading spills. */
const SPILL_CONCURRENCY = 8;

type Item = Record<string, unknown>;
type Expected = { readonly seq?: string; readonly watermark: number };

/**
 * The serverless runtime's {@link PipelineStore} on DynamoDB (+ S3 for large payloads).
 *
 * @example
 * const store = new DynamoDbPipelineStore({
 *   client: dynamoDbClient(), tableName: "sparkless", pipeline: "wordcount",
 *   objects: new S3ObjectStore({ client: s3Client(), bucket: "sparkless-data" }),
 * });
 */
export class DynamoDbPipelineStore implements PipelineStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly pipe: string;
  private readonly objects: ObjectStore;
  private readonly spillBytes: number;
  private readonly partsTtlSeconds: number;
  private readonly perKey: KeyedStateStore;

  constructor(props: DynamoDbPipelineStoreProps) {
    checkPipelineName(props.pipeline);
    const spillBytes = props.spillBytes ?? 350_000;
    if (!Number.isInteger(spillBytes) || spillBytes < 0 || spillBytes > MAX_SPILL_BYTES) {
      throw new ValidationError(
        "BadSpillBytes",
        `spillBytes (${spillBytes}) must be an integer from 0 to ${MAX_SPILL_BYTES}: a DynamoDB item is capped at 400 KB`,
        { spillBytes },
      );
    }
    const partsTtlSeconds = props.partsTtlSeconds ?? 7 * 24 * 3600;
    if (!Number.isInteger(partsTtlSeconds) || partsTtlSeconds <= 0) {
      throw new ValidationError("BadPartsTtl", `partsTtlSeconds (${partsTtlSeconds}) must be a positive integer`, {
        partsTtlSeconds,
      });
    }
    this.doc = DynamoDBDocumentClient.from(props.client, { marshallOptions: { removeUndefinedValues: true } });
    this.table = props.tableName;
    this.pipe = props.pipeline;
    this.objects = props.objects;
    this.spillBytes = spillBytes;
    this.partsTtlSeconds = partsTtlSeconds;
    this.perKey = new DynamoDbKeyedStateStore({ client: props.client, tableName: props.tableName, pipeline: props.pipeline, objects: props.objects });
  }

  keyedState(): KeyedStateStore {
    return this.perKey;
  }

  // ---- status ----

  private get statusKey() {
    return { pk: `${this.pipe}#status`, sk: "-" };
  }

  async getStatus(): Promise<PipelineStatus | undefined> {
    const res = await this.doc.send(new GetCommand({ TableName: this.table, Key: this.statusKey, ConsistentRead: true }));
    if (!res.Item) return undefined;
    const { zeroTime, lastFinalized, graphHash, partitions } = res.Item as { zeroTime: number; lastFinalized: number; graphHash: string; partitions?: number };
    return { zeroTime, lastFinalized, graphHash, ...(partitions !== undefined ? { partitions } : {}) };
  }

  async createStatus(status: PipelineStatus): Promise<boolean> {
    return this.conditional(
      new PutCommand({
        TableName: this.table,
        Item: { ...this.statusKey, zeroTime: status.zeroTime, lastFinalized: status.lastFinalized, graphHash: status.graphHash, partitions: status.partitions },
        ConditionExpression: "attribute_not_exists(#pk)",
        ExpressionAttributeNames: { "#pk": "pk" },
      }),
    );
  }

  async advanceStatus(from: number, to: number, token: number, partition?: number): Promise<boolean> {
    if (partition !== undefined) {
      return this.conditional(
        new UpdateCommand({
          TableName: this.table,
          Key: this.partitionKey(partition),
          UpdateExpression: "SET #lf = :to",
          ConditionExpression: "(#lf = :from OR attribute_not_exists(#lf)) AND #lt = :token",
          ExpressionAttributeNames: { "#lf": "lastFinalized", "#lt": "leaseToken" },
          ExpressionAttributeValues: { ":to": to, ":from": from, ":token": token },
        }),
      );
    }
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: this.statusKey,
        UpdateExpression: "SET #lf = :to",
        ConditionExpression: "#lf = :from AND #lt = :token",
        ExpressionAttributeNames: { "#lf": "lastFinalized", "#lt": "leaseToken" },
        ExpressionAttributeValues: { ":to": to, ":from": from, ":token": token },
      }),
    );
  }

  private partitionKey(partition: number) {
    checkPartition(partition);
    return { pk: `${this.pipe}#status`, sk: `p${partition}` };
  }

  async getPartitionFinalized(partition: number): Promise<number | undefined> {
    const res = await this.doc.send(new GetCommand({ TableName: this.table, Key: this.partitionKey(partition), ConsistentRead: true }));
    return res.Item?.lastFinalized as number | undefined;
  }

  async listPartitionStatus(): Promise<PartitionStatus[]> {
    const items = await this.queryAll({
      TableName: this.table,
      KeyConditionExpression: "#pk = :pk",
      ExpressionAttributeNames: { "#pk": "pk" },
      ExpressionAttributeValues: { ":pk": `${this.pipe}#status` },
      ConsistentRead: true,
    });
    const status = items.find((i) => i.sk === "-");
    if (!status) return [];
    const leased = (i: Item) => (i.leaseOwner !== undefined ? { leaseOwner: i.leaseOwner as string, leaseExpiresAt: i.leaseExpiresAt as number } : {});
    const partitions = items.filter((i) => i.sk !== "-");
    if (partitions.length === 0) return [{ partition: 0, lastFinalized: status.lastFinalized as number, ...leased(status) }];
    return partitions
      .map((i) => ({ partition: Number((i.sk as string).slice(1)), lastFinalized: (i.lastFinalized ?? status.zeroTime) as number, ...leased(i) }))
      .sort((a, b) => a.partition - b.partition);
  }

  async replaceGraphHash(from: string, to: string): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: this.statusKey,
        UpdateExpression: "SET #gh = :to",
        ConditionExpression: "#gh = :from",
        ExpressionAttributeNames: { "#gh": "graphHash" },
        ExpressionAttributeValues: { ":to": to, ":from": from },
      }),
    );
  }

  // ---- shard progress ----

  private get progressPk() {
    return `${this.pipe}#progress`;
  }

  async getProgress(shardId: string): Promise<ShardProgress | undefined> {
    const res = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { pk: this.progressPk, sk: shardId }, ConsistentRead: true }),
    );
    return res.Item ? toProgress(res.Item) : undefined;
  }

  async listProgress(): Promise<ShardProgress[]> {
    const items = await this.queryAll({
      TableName: this.table,
      KeyConditionExpression: "#pk = :pk",
      ExpressionAttributeNames: { "#pk": "pk" },
      ExpressionAttributeValues: { ":pk": this.progressPk },
      ConsistentRead: true,
    });
    return items.map(toProgress);
  }

  async commit(request: CommitRequest): Promise<boolean> {
    checkSegment("shardId", request.shardId);
    checkSegment("attemptId", request.attemptId);
    request.times.forEach(checkTime);
    const cond = expectedCondition(request.expected);
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: this.progressPk, sk: request.shardId },
        UpdateExpression: "SET #seq = :seq, #wm = :wm, #dr = if_not_exists(#dr, :false), #la = :attempt, #lts = :times",
        ConditionExpression: cond.expression,
        ExpressionAttributeNames: { ...cond.names, "#dr": "drained", "#la": "lastAttempt", "#lts": "lastTimes" },
        ExpressionAttributeValues: {
          ...cond.values,
          ":seq": request.seq,
          ":wm": Math.max(request.expected.watermark, request.watermark),
          ":false": false,
          ":attempt": request.attemptId,
          ":times": [...new Set(request.times)].sort((a, b) => a - b),
        },
      }),
    );
  }

  async advanceWatermark(shardId: string, expected: Expected, watermark: number, drained: boolean): Promise<boolean> {
    checkSegment("shardId", shardId);
    const cond = expectedCondition(expected);
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: this.progressPk, sk: shardId },
        // Never un-drains: `false` only fills in the attribute of an item this call creates.
        UpdateExpression: drained ? "SET #wm = :wm, #dr = :true" : "SET #wm = :wm, #dr = if_not_exists(#dr, :false)",
        ConditionExpression: cond.expression,
        ExpressionAttributeNames: { ...cond.names, "#dr": "drained" },
        ExpressionAttributeValues: {
          ...cond.values,
          ":wm": Math.max(expected.watermark, watermark),
          ...(drained ? { ":true": true } : { ":false": false }),
        },
      }),
    );
  }

  // ---- parts ----

  private partsPk(time: number, partition = 0): string {
    return `${this.pipe}#parts#${padTime(time)}#p${partition}`;
  }

  private commitsPk(time: number): string {
    return `${this.pipe}#commits#${padTime(time)}`;
  }

  async putParts(parts: readonly Part[], markers: readonly CommitMarker[] = []): Promise<void> {
    for (const part of parts) {
      checkTime(part.time);
      if (part.partition !== undefined) checkPartition(part.partition);
      checkSegment("nodeId", part.nodeId);
      checkSegment("shardId", part.shardId);
      checkSegment("attemptId", part.attemptId);
    }
    for (const m of markers) {
      checkTime(m.time);
      checkSegment("shardId", m.shardId);
      checkSegment("attemptId", m.attemptId);
    }
    // BatchWriteItem refuses a request naming one key twice; the last part for a key wins, as sequential puts would.
    const byKey = new Map<string, Part>();
    for (const part of parts) byKey.set(`${this.partsPk(part.time, part.partition)}\u0000${partSk(part)}`, part);
    const ttl = Math.floor(Date.now() / 1000) + this.partsTtlSeconds;
    const items = await mapLimit([...byKey.values()], SPILL_CONCURRENCY, async (part): Promise<Item> => {
      const payload = await this.inlineOrSpill(
        `spill/${this.pipe}/parts/${padTime(part.time)}/p${part.partition ?? 0}/${part.nodeId}/${part.shardId}/${part.attemptId}`,
        part.payload,
      );
      return {
        pk: this.partsPk(part.time, part.partition),
        partition: part.partition,
        sk: partSk(part),
        time: part.time,
        nodeId: part.nodeId,
        shardId: part.shardId,
        attemptId: part.attemptId,
        firstSeq: part.firstSeq,
        ...payload,
        ttl,
      };
    });
    const markerItems = new Map<string, Item>();
    for (const m of markers) {
      const item = { pk: this.commitsPk(m.time), sk: `${m.shardId}#${m.attemptId}`, shardId: m.shardId, attemptId: m.attemptId, time: m.time, ttl };
      markerItems.set(`${item.pk}\u0000${item.sk}`, item);
    }
    items.push(...markerItems.values());
    for (let i = 0; i < items.length; i += BATCH_WRITE_MAX) {
      await this.batchPut(items.slice(i, i + BATCH_WRITE_MAX));
    }
  }

  async getParts(time: number, partition = 0): Promise<Part[]> {
    checkTime(time);
    checkPartition(partition);
    const items = await this.queryAll({
      TableName: this.table,
      KeyConditionExpression: "#pk = :pk",
      ExpressionAttributeNames: { "#pk": "pk" },
      ExpressionAttributeValues: { ":pk": this.partsPk(time, partition) },
      ConsistentRead: true,
    });
    return mapLimit(items, SPILL_CONCURRENCY, async (item): Promise<Part> => ({
      time: item.time as number,
      nodeId: item.nodeId as string,
      shardId: item.shardId as string,
      attemptId: item.attemptId as string,
      firstSeq: item.firstSeq as string,
      payload: await this.payloadOf(item),
      ...(item.partition !== undefined ? { partition: item.partition as number } : {}),
    }));
  }

  async getCommitMarkers(time: number): Promise<CommitMarker[]> {
    checkTime(time);
    const items = await this.queryAll({
      TableName: this.table,
      KeyConditionExpression: "#pk = :pk",
      ExpressionAttributeNames: { "#pk": "pk" },
      ExpressionAttributeValues: { ":pk": this.commitsPk(time) },
      ConsistentRead: true,
    });
    return items.map((item) => ({ shardId: item.shardId as string, time: item.time as number, attemptId: item.attemptId as string }));
  }

  // ---- node memory ----

  /** A node's memory: the pipeline's, or a finalizer partition's own (P > 1). */
  private memoryPk(nodeId: string, partition: number | undefined): string {
    checkSegment("nodeId", nodeId);
    if (partition === undefined) return `${this.pipe}#mem#${nodeId}`;
    checkPartition(partition);
    return `${this.pipe}#mem#${nodeId}#p${partition}`;
  }

  async putMemory(nodeId: string, time: number, payload: string, expiresAt: number, token: number, partition?: number): Promise<boolean> {
    const pk = this.memoryPk(nodeId, partition);
    checkTime(time);
    // A spilled payload of a refused write overwrites the object with the same bytes: the same (node, time)
    // from the same inputs.
    const scope = partition === undefined ? "" : `p${partition}/`;
    const stored = await this.inlineOrSpill(`spill/${this.pipe}/mem/${nodeId}/${scope}${padTime(time)}`, payload);
    return this.conditional(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk,
          sk: padTime(time),
          ...stored,
          expiresAt,
          fence: token,
          ttl: Math.ceil(expiresAt / 1000),
        },
        ConditionExpression: "attribute_not_exists(#pk) OR #fence <= :token",
        ExpressionAttributeNames: { "#pk": "pk", "#fence": "fence" },
        ExpressionAttributeValues: { ":token": token },
      }),
    );
  }

  async getMemory(nodeId: string, time: number, partition?: number): Promise<string | undefined> {
    const pk = this.memoryPk(nodeId, partition);
    checkTime(time);
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk, sk: padTime(time) },
        ConsistentRead: true,
      }),
    );
    return res.Item ? this.payloadOf(res.Item) : undefined;
  }

  // ---- lease (on the status item) ----

  async acquireLease(owner: string, now: number, ttlMs: number): Promise<Lease | undefined> {
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.statusKey,
          UpdateExpression: "SET #lo = :owner, #lexp = :exp ADD #lt :one",
          // Free (never taken, released, or expired: a lease covers [taken, expiresAt)) on an existing status.
          ConditionExpression: "attribute_exists(#pk) AND (attribute_not_exists(#lexp) OR #lexp <= :now)",
          ExpressionAttributeNames: { "#pk": "pk", "#lo": "leaseOwner", "#lexp": "leaseExpiresAt", "#lt": "leaseToken" },
          ExpressionAttributeValues: { ":owner": owner, ":exp": now + ttlMs, ":now": now, ":one": 1 },
          ReturnValues: "ALL_NEW",
        }),
      );
      return { owner, token: res.Attributes!.leaseToken as number, expiresAt: now + ttlMs };
    } catch (err) {
      if ((err as { name?: string }).name === "ConditionalCheckFailedException") return undefined;
      throw err;
    }
  }

  async acquirePartitionLease(partition: number, owner: string, now: number, ttlMs: number): Promise<Lease | undefined> {
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.partitionKey(partition),
          UpdateExpression: "SET #lo = :owner, #lexp = :exp ADD #lt :one",
          // The item is created by its first lease; free as the pipeline's lease is free.
          ConditionExpression: "attribute_not_exists(#lexp) OR #lexp <= :now",
          ExpressionAttributeNames: { "#lo": "leaseOwner", "#lexp": "leaseExpiresAt", "#lt": "leaseToken" },
          ExpressionAttributeValues: { ":owner": owner, ":exp": now + ttlMs, ":now": now, ":one": 1 },
          ReturnValues: "ALL_NEW",
        }),
      );
      return { owner, token: res.Attributes!.leaseToken as number, expiresAt: now + ttlMs, partition };
    } catch (err) {
      if ((err as { name?: string }).name === "ConditionalCheckFailedException") return undefined;
      throw err;
    }
  }

  /** The item a lease lives on: the status, or its finalizer partition's. */
  private leaseKey(lease: Lease) {
    return lease.partition === undefined ? this.statusKey : this.partitionKey(lease.partition);
  }

  async renewLease(lease: Lease, now: number, ttlMs: number): Promise<Lease | undefined> {
    const renewed = await this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: this.leaseKey(lease),
        UpdateExpression: "SET #lexp = :exp",
        ConditionExpression: "#lt = :token",
        ExpressionAttributeNames: { "#lexp": "leaseExpiresAt", "#lt": "leaseToken" },
        ExpressionAttributeValues: { ":exp": now + ttlMs, ":token": lease.token },
      }),
    );
    return renewed ? { ...lease, expiresAt: now + ttlMs } : undefined;
  }

  async releaseLease(lease: Lease): Promise<void> {
    // Not ours any more: nothing to release. The token stays, so the next holder's is larger.
    await this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: this.leaseKey(lease),
        UpdateExpression: "SET #lexp = :zero",
        ConditionExpression: "#lt = :token",
        ExpressionAttributeNames: { "#lexp": "leaseExpiresAt", "#lt": "leaseToken" },
        ExpressionAttributeValues: { ":zero": 0, ":token": lease.token },
      }),
    );
  }

  // ---- helpers ----

  /** Sends a conditional write: false if its condition failed, any other error thrown (so Lambda retries). */
  private async conditional(command: PutCommand | UpdateCommand | DeleteCommand): Promise<boolean> {
    try {
      // The union of command types does not narrow `send`'s overloads; each is a valid command of `doc`.
      await this.doc.send(command as UpdateCommand);
      return true;
    } catch (err) {
      if ((err as { name?: string }).name === "ConditionalCheckFailedException") return false;
      throw err;
    }
  }

  private queryAll(input: QueryCommandInput): Promise<Item[]> {
    return queryAll(this.doc, input);
  }

  /** Writes up to 25 items, retrying what DynamoDB leaves unprocessed (throttling) with capped backoff. */
  private async batchPut(items: Item[]): Promise<void> {
    let pending = items.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; ; attempt++) {
      const res = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
      pending = (res.UnprocessedItems?.[this.table] ?? []) as typeof pending;
      if (pending.length === 0) return;
      if (attempt === UNPROCESSED_RETRIES) {
        throw new SparklessError(
          "UnprocessedItems",
          `DynamoDB left ${pending.length} part items of ${items.length} unprocessed after ${UNPROCESSED_RETRIES} retries (table ${this.table})`,
          { table: this.table, unprocessed: pending.length },
        );
      }
      // Full jitter, 50 ms doubling to 3.2 s.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 50 * 2 ** Math.min(attempt, 6)));
    }
  }

  /**
   * Small payloads inline as text; larger ones gzipped into a binary attribute (JSON of keys and counts shrinks
   * 3-5x, and DynamoDB bills writes per KB); what is still over `spillBytes` goes to the object store.
   */
  private async inlineOrSpill(objectKey: string, payload: string): Promise<{ payload: string } | { packed: Uint8Array } | { spill: string }> {
    const size = Buffer.byteLength(payload, "utf8");
    if (size < COMPRESS_FROM_BYTES && size <= this.spillBytes) return { payload };
    const packed = gzipSync(payload, { level: 6 });
    if (packed.length <= this.spillBytes) return { packed };
    await this.objects.put(objectKey, payload);
    return { spill: objectKey };
  }

  private async payloadOf(item: Item): Promise<string> {
    if (typeof item.payload === "string") return item.payload;
    if (item.packed instanceof Uint8Array) return gunzipSync(item.packed).toString("utf8");
    const key = item.spill as string;
    const body = await this.objects.get(key);
    if (body === undefined) {
      throw new SparklessError(
        "SpilledPayloadMissing",
        `the item ${String(item.pk)} / ${String(item.sk)} points at the spilled payload ${key}, which is not in the object store`,
        { pk: item.pk, sk: item.sk, key },
      );
    }
    return body;
  }
}

/**
 * The contract's condition on the stored progress: the same seq (none when `expected.seq` is undefined — no item,
 * or one a probe created) and the same watermark (a missing item counts as watermark 0).
 */
function expectedCondition(expected: Expected): {
  expression: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
} {
  const names: Record<string, string> = { "#seq": "seq", "#wm": "watermark" };
  const values: Record<string, unknown> = { ":ewm": expected.watermark };
  if (expected.seq !== undefined) {
    return { expression: "#seq = :eseq AND #wm = :ewm", names, values: { ...values, ":eseq": expected.seq } };
  }
  const probed = "attribute_not_exists(#seq) AND #wm = :ewm";
  if (expected.watermark !== 0) return { expression: probed, names, values };
  return { expression: `attribute_not_exists(#pk) OR (${probed})`, names: { ...names, "#pk": "pk" }, values };
}

function partSk(part: Part): string {
  return `${part.nodeId}#${part.shardId}#${part.attemptId}`;
}

function toProgress(item: Item): ShardProgress {
  return {
    shardId: item.sk as string,
    ...(typeof item.seq === "string" ? { seq: item.seq } : {}),
    watermark: typeof item.watermark === "number" ? item.watermark : 0,
    drained: item.drained === true,
    ...(typeof item.lastAttempt === "string" ? { lastCommit: { attemptId: item.lastAttempt, times: (item.lastTimes as number[] | undefined) ?? [] } } : {}),
  };
}

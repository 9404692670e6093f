/**
 * The serverless runtime's own cost, on the memory stores (no network: what is timed is CPU):
 *
 * (a) the shard handler on one synthetic Kinesis event of 10,000 JSON records of ~100 bytes (word count and a
 *     windowed count) against a hand-written handler doing the same decode and count, with the same store
 *     calls (read the progress, write the counts, one conditional commit): per-record µs and the ratio;
 * (b) DynamoDB and S3 requests per shard invocation for 100, 1,000 and 10,000 records, counted by stores
 *     that wrap the memory stores and price each call as the DynamoDB/S3 implementations issue it;
 * (c) the finalizer's time per batch for 1k, 10k and 100k distinct keys;
 * (d) the processor's cost per million records at on-demand prices, from the counts and times of a
 *     steady-state run (1,000 records/s on one shard, several batches, windows full), for a few batch sizes and
 *     batch intervals. Kinesis itself (shard hours, PUT payload units) is not the processor's and is left out.
 *
 * Only printed; nothing asserts on time or money.
 */
import { mulberry32 } from "../../examples/support.js";
import { gzipSync } from "node:zlib";
import { Seconds, Milliseconds } from "../../lib/core/duration.js";
import { decodeValue } from "../../lib/core/codec.js";
import type { ObjectStore } from "../../lib/io/object-store.js";
import { MemoryObjectStore } from "../../lib/testing/memory-object-store.js";
import { definePipeline, type Pipeline } from "../../lib/api/define-pipeline.js";
import { finalizeReady } from "../../lib/serverless/finalizer.js";
import type { KinesisEventLike, KinesisRecordLike } from "../../lib/serverless/kinesis-event.js";
import type { ProbeResult, RuntimeDeps, ShardDirectory, ShardInfo } from "../../lib/serverless/runtime-deps.js";
import { PipelineRuntime } from "../../lib/serverless/runtime.js";
import { MemoryPipelineStore } from "../../lib/testing/memory-pipeline-store.js";
import type { CommitMarker, CommitRequest, Lease, Part, PartitionStatus, PipelineStatus, PipelineStore, ShardProgress } from "../../lib/pipeline-store/pipeline-store.js";
import { type Benchmark, type BenchmarkFactory, type Measurement, median } from "./harness.js";

// ---- prices (us-east-1, on-demand; as assumed here) ----
const PRICE = {
  lambdaGbSecond: 0.0000133334, // arm64
  lambdaRequest: 0.2 / 1e6,
  dynamoWru: 0.625 / 1e6,
  dynamoRru: 0.125 / 1e6,
  s3Put: 0.005 / 1000, // PUT, COPY, POST, LIST
  s3Get: 0.0004 / 1000,
};
/** Lambda: memory, and the request latencies a real invocation waits for (the memory stores answer at once). */
const LAMBDA = { memoryMb: 1024, fullCpuMb: 1769, dynamoMs: 5, s3PutMs: 20, s3GetMs: 10 };

const SHARD = "shardId-000000000000";
const VOCABULARY = 1000;
const T0 = 1_700_000_000_000;
const add = (a: number, b: number) => a + b;
const sub = (a: number, b: number) => a - b;

type Rec = { id: number; user: string; text: string; ts: number };

/** Word count per batch and over a window of six batches (incremental, with the inverse function). */
function benchPipeline(batchMs: number): Pipeline<Rec> {
  return definePipeline<Rec>(
    "bench",
    { batchInterval: Milliseconds(batchMs), decoder: (bytes) => JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")) as Rec, idleAfter: Seconds(1) },
    (input) => {
      const words = input.flatMap((r) => r.text.split(" ")).map((w) => [w, 1] as [string, number]);
      words.reduceByKey(add).saveAsTextFiles("out/counts");
      words.reduceByKeyAndWindow(add, sub, Milliseconds(6 * batchMs), Milliseconds(batchMs), { name: "window" }).saveAsTextFiles("out/window");
    },
  );
}


const WORDS = (() => {
  const random = mulberry32(7);
  const set = new Set<string>();
  while (set.size < VOCABULARY) {
    let w = "";
    for (let i = 0, n = 3 + Math.floor(random() * 5); i < n; i++) w += "abcdefghijklmnopqrstuvwxyz"[Math.floor(random() * 26)];
    set.add(w);
  }
  return [...set];
})();

/**
 * `n` Kinesis records of ~100-byte JSON (six words from the vocabulary, or `textOf(i)`), arriving `gapMs` apart
 * from `start`, numbered from `firstIndex` (which also orders their sequence numbers).
 */
function records(n: number, opts: { start?: number; gapMs?: number; firstIndex?: number; textOf?: (i: number) => string } = {}): KinesisRecordLike[] {
  const { start = T0 + 1, gapMs = 0, firstIndex = 0 } = opts;
  const random = mulberry32(1 + firstIndex);
  const textOf = opts.textOf ?? (() => Array.from({ length: 6 }, () => WORDS[Math.floor(random() * WORDS.length)]!).join(" "));
  const out: KinesisRecordLike[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const id = firstIndex + i;
    const ts = start + i * gapMs;
    const json = JSON.stringify({ id, user: `u${String(id % 10_000).padStart(4, "0")}`, text: textOf(i), ts });
    // Padded to about 100 bytes.
    const data = json.length < 100 ? json.slice(0, -1) + `,"p":"${"x".repeat(Math.max(0, 100 - json.length - 7))}"}` : json;
    const seq = `4959${String(id + 1).padStart(52, "0")}`;
    out[i] = {
      kinesis: { partitionKey: `u${id % 10_000}`, sequenceNumber: seq, data: Buffer.from(data).toString("base64"), approximateArrivalTimestamp: ts / 1000 },
      eventID: `${SHARD}:${seq}`,
    };
  }
  return out;
}

// ---- instrumented stores: calls, DynamoDB requests and capacity units, S3 requests ----

interface Usage {
  ddbRequests: number;
  wru: number;
  rru: number;
  s3Put: number;
  s3Get: number;
  kinesisCalls: number;
  /** Per method: calls. */
  calls: Record<string, number>;
}

const newUsage = (): Usage => ({ ddbRequests: 0, wru: 0, rru: 0, s3Put: 0, s3Get: 0, kinesisCalls: 0, calls: {} });
const diff = (a: Usage, b: Usage): Usage => ({
  ddbRequests: a.ddbRequests - b.ddbRequests,
  wru: a.wru - b.wru,
  rru: a.rru - b.rru,
  s3Put: a.s3Put - b.s3Put,
  s3Get: a.s3Get - b.s3Get,
  kinesisCalls: a.kinesisCalls - b.kinesisCalls,
  calls: Object.fromEntries(Object.keys(a.calls).map((k) => [k, a.calls[k]! - (b.calls[k] ?? 0)])),
});
const copy = (u: Usage): Usage => ({ ...u, calls: { ...u.calls } });

/** An item's size as DynamoDB counts it, roughly: the payload plus keys and the other attributes (~150 bytes). */
const ITEM_OVERHEAD = 150;
const SPILL_BYTES = 350_000;
const wruOf = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));
/** What DynamoDbPipelineStore stores for a payload: the text under 1 KB, gzipped from 1 KB on. */
const storedBytes = (payload: string) => {
  const bytes = Buffer.byteLength(payload);
  return bytes < 1024 ? bytes : gzipSync(payload).length;
};
const rruOf = (bytes: number) => Math.max(1, Math.ceil(bytes / 4096)); // strongly consistent reads

function progressBytes(p: ShardProgress | undefined): number {
  if (!p) return 0;
  return ITEM_OVERHEAD + (p.lastCommit ? 24 + p.lastCommit.attemptId.length + 8 * p.lastCommit.times.length : 0);
}

/**
 * A {@link PipelineStore} that counts what {@link DynamoDbPipelineStore} would send for each call: one request
 * per get/put/update (BatchWriteItem per 25 parts, one Query per MB), WRU per started KB written (a failed
 * conditional write too), RRU per started 4 KB read strongly, and an S3 PUT/GET per spilled payload (> 350 KB).
 */
class CountingStore implements PipelineStore {
  constructor(
    private readonly inner: PipelineStore,
    readonly usage: Usage,
  ) {}

  private count(method: string, requests: number, wru = 0, rru = 0, s3Put = 0, s3Get = 0): void {
    const u = this.usage;
    u.calls[method] = (u.calls[method] ?? 0) + 1;
    u.ddbRequests += requests;
    u.wru += wru;
    u.rru += rru;
    u.s3Put += s3Put;
    u.s3Get += s3Get;
  }

  async getStatus(): Promise<PipelineStatus | undefined> {
    this.count("getStatus", 1, 0, 1);
    return this.inner.getStatus();
  }
  async createStatus(status: PipelineStatus): Promise<boolean> {
    this.count("createStatus", 1, 1);
    return this.inner.createStatus(status);
  }
  async advanceStatus(from: number, to: number, token: number, partition?: number): Promise<boolean> {
    this.count("advanceStatus", 1, 1);
    return this.inner.advanceStatus(from, to, token, partition);
  }
  async getPartitionFinalized(partition: number): Promise<number | undefined> {
    this.count("getPartitionFinalized", 1, 0, 1);
    return this.inner.getPartitionFinalized(partition);
  }
  async listPartitionStatus(): Promise<PartitionStatus[]> {
    const list = await this.inner.listPartitionStatus();
    this.count("listPartitionStatus", 1, 0, rruOf(list.length * ITEM_OVERHEAD));
    return list;
  }
  async replaceGraphHash(from: string, to: string): Promise<boolean> {
    this.count("replaceGraphHash", 1, 1);
    return this.inner.replaceGraphHash(from, to);
  }
  async getProgress(shardId: string): Promise<ShardProgress | undefined> {
    const p = await this.inner.getProgress(shardId);
    this.count("getProgress", 1, 0, rruOf(progressBytes(p)));
    return p;
  }
  async listProgress(): Promise<ShardProgress[]> {
    const ps = await this.inner.listProgress();
    this.count("listProgress", 1, 0, rruOf(ps.reduce((n, p) => n + progressBytes(p), 0)));
    return ps;
  }
  async commit(request: CommitRequest): Promise<boolean> {
    const before = progressBytes(await this.inner.getProgress(request.shardId));
    const ok = await this.inner.commit(request);
    const after = progressBytes(await this.inner.getProgress(request.shardId));
    this.count("commit", 1, wruOf(Math.max(before, after, ITEM_OVERHEAD)));
    return ok;
  }
  async advanceWatermark(shardId: string, expected: { seq?: string; watermark: number }, watermark: number, drained: boolean): Promise<boolean> {
    this.count("advanceWatermark", 1, wruOf(progressBytes(await this.inner.getProgress(shardId)) || ITEM_OVERHEAD));
    return this.inner.advanceWatermark(shardId, expected, watermark, drained);
  }
  async putParts(parts: readonly Part[], markers: readonly CommitMarker[] = []): Promise<void> {
    let wru = markers.length; // a marker is a few dozen bytes: one WRU each
    let spills = 0;
    for (const p of parts) {
      const bytes = storedBytes(p.payload);
      if (bytes > SPILL_BYTES) spills++;
      wru += wruOf(ITEM_OVERHEAD + (bytes > SPILL_BYTES ? 100 : bytes));
    }
    this.count("putParts", Math.ceil((parts.length + markers.length) / 25), wru, 0, spills);
    return this.inner.putParts(parts, markers);
  }
  async getCommitMarkers(time: number): Promise<CommitMarker[]> {
    const markers = await this.inner.getCommitMarkers(time);
    this.count("getCommitMarkers", 1, 0, rruOf(markers.length * ITEM_OVERHEAD));
    return markers;
  }
  async getParts(time: number, partition?: number): Promise<Part[]> {
    const parts = await this.inner.getParts(time, partition);
    let bytes = 0;
    let spills = 0;
    for (const p of parts) {
      const b = storedBytes(p.payload);
      if (b > SPILL_BYTES) spills++;
      bytes += ITEM_OVERHEAD + (b > SPILL_BYTES ? 100 : b);
    }
    this.count("getParts", Math.max(1, Math.ceil(bytes / 1_000_000)), 0, rruOf(bytes), 0, spills);
    return parts;
  }
  async putMemory(nodeId: string, time: number, payload: string, expiresAt: number, token: number, partition?: number): Promise<boolean> {
    const bytes = storedBytes(payload);
    this.count("putMemory", 1, wruOf(ITEM_OVERHEAD + (bytes > SPILL_BYTES ? 100 : bytes)), 0, bytes > SPILL_BYTES ? 1 : 0);
    return this.inner.putMemory(nodeId, time, payload, expiresAt, token, partition);
  }
  async getMemory(nodeId: string, time: number, partition?: number): Promise<string | undefined> {
    const payload = await this.inner.getMemory(nodeId, time, partition);
    const bytes = payload === undefined ? 0 : storedBytes(payload);
    this.count("getMemory", 1, 0, rruOf(ITEM_OVERHEAD + (bytes > SPILL_BYTES ? 100 : bytes)), 0, bytes > SPILL_BYTES ? 1 : 0);
    return payload;
  }
  async acquireLease(owner: string, now: number, ttlMs: number): Promise<Lease | undefined> {
    this.count("acquireLease", 1, 1);
    return this.inner.acquireLease(owner, now, ttlMs);
  }
  async acquirePartitionLease(partition: number, owner: string, now: number, ttlMs: number): Promise<Lease | undefined> {
    this.count("acquirePartitionLease", 1, 1);
    return this.inner.acquirePartitionLease(partition, owner, now, ttlMs);
  }
  async renewLease(lease: Lease, now: number, ttlMs: number): Promise<Lease | undefined> {
    this.count("renewLease", 1, 1);
    return this.inner.renewLease(lease, now, ttlMs);
  }
  async releaseLease(lease: Lease): Promise<void> {
    this.count("releaseLease", 1, 1);
    return this.inner.releaseLease(lease);
  }
}

class CountingObjects implements ObjectStore {
  constructor(
    private readonly inner: ObjectStore,
    readonly usage: Usage,
  ) {}
  async put(key: string, body: string | Uint8Array): Promise<void> {
    // The pipeline's own outputs (saveAsTextFiles) are the user's, not the processor's: not counted.
    if (!key.startsWith("output/")) this.usage.s3Put++;
    this.usage.calls["s3.put"] = (this.usage.calls["s3.put"] ?? 0) + 1;
    return this.inner.put(key, body);
  }
  async get(key: string): Promise<string | undefined> {
    this.usage.s3Get++;
    return this.inner.get(key);
  }
  async list(prefix: string): Promise<string[]> {
    const keys = await this.inner.list(prefix);
    this.usage.s3Put += Math.max(1, Math.ceil(keys.length / 1000)); // LIST is billed as a PUT-tier request
    return keys;
  }
  async delete(keys: readonly string[]): Promise<void> {
    this.usage.s3Put += Math.ceil(keys.length / 1000); // DeleteObjects is a POST
    return this.inner.delete(keys);
  }
}

/** One open shard; a probe finds nothing new (the stream is quiet when asked). ListShards/GetRecords are free. */
class OneShard implements ShardDirectory {
  constructor(readonly usage: Usage) {}
  async list(): Promise<ShardInfo[]> {
    this.usage.kinesisCalls++;
    return [{ shardId: SHARD, closed: false }];
  }
  async probe(): Promise<ProbeResult> {
    this.usage.kinesisCalls += 2;
    return { hasRecords: false, ended: false };
  }
}

function countingDeps(now: () => number): { deps: RuntimeDeps; usage: Usage; memory: MemoryPipelineStore; objects: MemoryObjectStore } {
  const usage = newUsage();
  const memory = new MemoryPipelineStore();
  const objects = new MemoryObjectStore();
  let attempt = 0;
  return {
    usage,
    memory,
    objects,
    deps: {
      store: new CountingStore(memory, usage),
      objects: new CountingObjects(objects, usage),
      shards: new OneShard(usage),
      now,
      log: () => undefined,
      newAttemptId: () => `attempt-${attempt++}`,
    },
  };
}

const context = { getRemainingTimeInMillis: () => 900_000 };

// ---- (a) the shard handler against a hand-written one ----

/**
 * What one would write by hand for the same job: skip committed records, decode, split, count in a Map, write
 * the counts as one part (the batch count and the window's pane are the same numbers) and commit.
 */
async function handHandler(event: KinesisEventLike, store: PipelineStore, batchMs: number): Promise<Map<string, number>> {
  const first = event.Records[0]!;
  const shardId = first.eventID.slice(0, first.eventID.indexOf(":"));
  const progress = await store.getProgress(shardId);
  const committed = progress?.seq === undefined ? -1n : BigInt(progress.seq);
  const counts = new Map<string, number>();
  let last: string | undefined;
  let watermark = progress?.watermark ?? 0;
  let firstSeq: string | undefined;
  for (const r of event.Records) {
    const k = r.kinesis;
    if (BigInt(k.sequenceNumber) <= committed) continue;
    let rec: Rec;
    try {
      rec = JSON.parse(Buffer.from(k.data, "base64").toString("utf8")) as Rec;
    } catch {
      continue;
    }
    const words = rec.text.split(" ");
    for (let i = 0; i < words.length; i++) counts.set(words[i]!, (counts.get(words[i]!) ?? 0) + 1);
    firstSeq ??= k.sequenceNumber;
    last = k.sequenceNumber;
    watermark = Math.max(watermark, k.approximateArrivalTimestamp * 1000);
  }
  if (last === undefined) return counts;
  const time = Math.floor(watermark / batchMs) * batchMs + batchMs;
  await store.putParts([{ time, nodeId: "counts", shardId, attemptId: "hand", firstSeq: firstSeq!, payload: JSON.stringify([...counts]) }]);
  await store.commit({ shardId, expected: { seq: progress?.seq, watermark: progress?.watermark ?? 0 }, seq: last, watermark, times: [time], attemptId: "hand" });
  return counts;
}

/**
 * A warm container of a running pipeline: the plan is built once and the pipeline's status exists; each run
 * gets fresh stores holding only that status (a shard's first batch, every time).
 */
function warmRuntime(pipeline: Pipeline<Rec>, batchMs: number) {
  const zeroTime = Math.floor(T0 / batchMs) * batchMs;
  const status = { zeroTime, lastFinalized: zeroTime, graphHash: pipeline.instantiate(zeroTime).ssc.graph.hash() };
  const stores = () => {
    const store = new MemoryPipelineStore();
    void store.createStatus(status);
    return { store, objects: new MemoryObjectStore() };
  };
  let current = stores();
  const deps: RuntimeDeps = {
    get store() {
      return current.store;
    },
    get objects() {
      return current.objects;
    },
    shards: new OneShard(newUsage()),
    now: () => T0 + 500,
    log: () => undefined,
  };
  const runtime = new PipelineRuntime(pipeline, deps);
  return {
    runtime,
    fresh: () => void (current = stores()),
    store: () => current.store,
  };
}

// ---- (c) the finalizer per batch ----

async function finalizerPerBatch(keys: number, batches: number): Promise<{ msPerBatch: number; usage: Usage }> {
  const batchMs = 10_000;
  const pipeline = benchPipeline(batchMs);
  let now = T0;
  const { deps, usage } = countingDeps(() => now);
  const runtime = new PipelineRuntime(pipeline, deps);
  const vocabulary = Array.from({ length: keys }, (_, i) => `key${i}`);
  // Records that carry every key once per batch (six words each), all in the batch's first second.
  const perBatch = Math.ceil(keys / 6);
  const times: number[] = [];
  let before = copy(usage);
  for (let b = 0; b < batches; b++) {
    const start = T0 + b * batchMs + 1;
    const recs = records(perBatch, { start, firstIndex: b * perBatch, textOf: (i) => vocabulary.slice(i * 6, i * 6 + 6).join(" ") });
    now = start;
    await runtime.handleShardEvent({ Records: recs }, context);
    // The batch is complete once the stream is quiet: the probe moves the watermark, the finalizer runs.
    now = T0 + (b + 1) * batchMs + 1_000 + 1;
    await deps.store.advanceWatermark(SHARD, (await deps.store.getProgress(SHARD))!, T0 + (b + 1) * batchMs, false);
    if (b === batches - 1) before = copy(usage);
    const t0 = performance.now();
    const r = await finalizeReady(pipeline, deps, { maxBatches: 1 });
    times.push(performance.now() - t0);
    if (r.finalized.length !== 1) throw new Error(`finalizer did not finalize batch ${b}: ${r.stopped}`);
  }
  // The window holds six batches: measure once it is full.
  return { msPerBatch: median(times.slice(6)), usage: diff(usage, before) };
}

// ---- (d) steady state: cost per million records ----

interface Scenario {
  readonly label: string;
  /** Records per shard invocation (ESM BatchSize, reached within MaximumBatchingWindow at this rate). */
  readonly batchSize: number;
  readonly batchMs: number;
}

async function steadyState(s: Scenario, ratePerSecond: number, batches: number) {
  const pipeline = benchPipeline(s.batchMs);
  let now = T0;
  const { deps, usage } = countingDeps(() => now);
  const runtime = new PipelineRuntime(pipeline, deps);
  const total = Math.round((batches * s.batchMs * ratePerSecond) / 1000);
  const gapMs = 1000 / ratePerSecond;
  // Steady state: after the window (six batches) has filled.
  const warm = Math.round((7 * s.batchMs * ratePerSecond) / 1000);
  let mark: Usage | undefined;
  let cpuMs = 0;
  let invocations = 0;
  let measured = 0;
  for (let from = 0; from < total; from += s.batchSize) {
    const recs = records(Math.min(s.batchSize, total - from), { start: T0 + 1 + from * gapMs, gapMs, firstIndex: from });
    now = recs.at(-1)!.kinesis.approximateArrivalTimestamp * 1000 + 1;
    if (from >= warm && !mark) mark = copy(usage);
    const t0 = performance.now();
    await runtime.handleShardEvent({ Records: recs }, context);
    if (mark) {
      cpuMs += performance.now() - t0;
      invocations++;
      measured += recs.length;
    }
  }
  const u = diff(usage, mark!);
  // One tick (the EventBridge schedule, once a minute): what it costs when there is nothing to do.
  const beforeTick = copy(usage);
  const t1 = performance.now();
  await runtime.tick();
  const tickCpu = performance.now() - t1;
  const tick = diff(usage, beforeTick);
  return { u, cpuMs, invocations, measured, tick, tickCpu };
}

function lambdaSeconds(cpuMs: number, u: Usage): number {
  // CPU runs at full speed from 1769 MB; below, proportionally slower. Requests are waited for one by one.
  const cpu = (cpuMs / 1000) * Math.max(1, LAMBDA.fullCpuMb / LAMBDA.memoryMb);
  const io = (u.ddbRequests * LAMBDA.dynamoMs + u.s3Put * LAMBDA.s3PutMs + u.s3Get * LAMBDA.s3GetMs) / 1000;
  return cpu + io;
}

// ---- tables ----

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
const usd = (v: number) => (v >= 0.01 ? `$${v.toFixed(4)}` : `$${v.toFixed(6)}`);
const fmt = (v: number, digits = 1) => v.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: digits });

export interface BenchmarkWithNotes extends Benchmark {
  /** More tables, printed after the timing table (run.ts prints them). */
  notes(measurements: readonly Measurement[]): Promise<string>;
}

export const serverless: BenchmarkFactory = ({ scale }): BenchmarkWithNotes => {
  const n = Math.max(100, Math.round(10_000 * scale));
  const batchMs = 10_000;
  const event: KinesisEventLike = { Records: records(n) };
  const bytes = event.Records.reduce((s, r) => s + Buffer.from(r.kinesis.data, "base64").length, 0);
  const pipeline = benchPipeline(batchMs);
  const warm = warmRuntime(pipeline, batchMs);
  let handStore = new MemoryPipelineStore();

  return {
    name: "serverless",
    title: `shard handler on one Kinesis event of ${n.toLocaleString("en")} JSON records (${(bytes / n).toFixed(0)} bytes avg, 6 words from ${VOCABULARY}), word count + windowed count, memory stores`,
    units: { records: n },
    variants: [
      {
        name: "hand-written handler",
        run: async () => {
          handStore = new MemoryPipelineStore();
          const t0 = performance.now();
          const result = await handHandler(event, handStore, batchMs);
          return { ms: performance.now() - t0, result };
        },
      },
      {
        name: "sparkless shard handler",
        run: async () => {
          warm.fresh();
          const t0 = performance.now();
          await warm.runtime.handleShardEvent(event, context);
          const ms = performance.now() - t0;
          const parts = await warm.store().getParts(T0 + batchMs);
          const counts = parts.find((p) => p.nodeId === pipeline.instantiate(T0).plan.boundaries[0]!.node.id)!;
          return { ms, result: new Map(decodeValue<Array<[string, number]>>(counts.payload)) };
        },
      },
    ],
    check: (results) => {
      const [hand, engine] = results as Array<Map<string, number>>;
      if (hand!.size !== engine!.size || [...hand!].some(([w, c]) => engine!.get(w) !== c)) throw new Error("serverless: the shard handler's counts differ from the hand-written handler's");
    },
    async notes(measurements) {
      const out: string[] = [];
      const [hand, engine] = measurements;
      out.push(
        `(a) per record: hand-written ${fmt((hand!.median * 1000) / n, 2)} µs, sparkless ${fmt((engine!.median * 1000) / n, 2)} µs — ratio ${(engine!.median / hand!.median).toFixed(2)}x (target within 1.5x)`,
      );

      // (b) requests per shard invocation do not grow with its records.
      const rowsB: string[][] = [];
      for (const size of [100, 1_000, 10_000]) {
        const { deps, usage } = countingDeps(() => T0 + 500);
        const runtime = new PipelineRuntime(benchPipeline(batchMs), deps);
        // The first invocation creates the pipeline's status; count one after it, in the same batch time.
        await runtime.handleShardEvent({ Records: records(1) }, context);
        const before = copy(usage);
        await runtime.handleShardEvent({ Records: records(size, { firstIndex: 1 }) }, context);
        const u = diff(usage, before);
        const calls = Object.entries(u.calls).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(", ");
        rowsB.push([size.toLocaleString("en"), String(u.ddbRequests), String(u.wru), String(u.rru), String(u.s3Put), String(u.s3Get), calls]);
      }
      out.push(
        "\n(b) one shard invocation (its records in one batch time, nothing to finalize): requests are per invocation, not per record;\n    WRU follow the distinct keys of the partial aggregates (at most the vocabulary), not the records",
        table(["records", "DynamoDB req", "WRU", "RRU", "S3 PUT", "S3 GET", "store calls"], rowsB),
      );

      // (c) the finalizer per batch, by distinct keys.
      const rowsC: string[][] = [];
      for (const keys of [1_000, 10_000, 100_000].map((k) => Math.max(100, Math.round(k * Math.min(1, scale * 10))))) {
        const { msPerBatch, usage } = await finalizerPerBatch(keys, 9);
        rowsC.push([keys.toLocaleString("en"), fmt(msPerBatch), fmt((msPerBatch * 1000) / keys, 2), String(usage.ddbRequests), String(usage.wru), String(usage.rru), String(usage.s3Put), String(usage.s3Get)]);
      }
      out.push(
        "\n(c) finalizer, one batch of word count + 6-batch window with inverse (window full), one shard, memory stores (median of 3)",
        table(["distinct keys", "ms/batch", "µs/key", "DynamoDB req", "WRU", "RRU", "S3 PUT", "S3 GET"], rowsC),
      );

      // (d) cost per million records.
      const rate = 1000;
      const scenarios: Scenario[] = [
        { label: "BatchSize 1,000 (window 1 s), batch 10 s", batchSize: 1_000, batchMs: 10_000 },
        { label: "construct defaults: window 5 s (5,000 records), batch 10 s", batchSize: 5_000, batchMs: 10_000 },
        { label: "BatchSize 10,000 (window 10 s), batch 10 s", batchSize: 10_000, batchMs: 10_000 },
        { label: "BatchSize 10,000 (window 10 s), batch 60 s", batchSize: 10_000, batchMs: 60_000 },
      ];
      const rowsD: string[][] = [];
      for (const s of scenarios) {
        const r = await steadyState(s, rate, Math.max(9, Math.round(9 * scale)));
        const perM = 1e6 / r.measured;
        const ticksPerM = 1e6 / rate / 60; // one tick a minute
        const gbs = (lambdaSeconds(r.cpuMs, r.u) * perM + lambdaSeconds(r.tickCpu, r.tick) * ticksPerM) * (LAMBDA.memoryMb / 1024);
        const lambdaReq = (r.invocations * perM + ticksPerM) * PRICE.lambdaRequest;
        const lambdaCompute = gbs * PRICE.lambdaGbSecond;
        const wru = r.u.wru * perM + r.tick.wru * ticksPerM;
        const rru = r.u.rru * perM + r.tick.rru * ticksPerM;
        const dynamo = wru * PRICE.dynamoWru + rru * PRICE.dynamoRru;
        const puts = r.u.s3Put * perM + r.tick.s3Put * ticksPerM;
        const gets = r.u.s3Get * perM + r.tick.s3Get * ticksPerM;
        const s3 = puts * PRICE.s3Put + gets * PRICE.s3Get;
        const total = lambdaReq + lambdaCompute + dynamo + s3;
        rowsD.push([
          s.label,
          fmt(r.invocations * perM, 0),
          fmt(gbs, 1),
          usd(lambdaReq + lambdaCompute),
          fmt(wru, 0),
          fmt(rru, 0),
          usd(dynamo),
          fmt(puts, 0),
          usd(s3),
          usd(total),
          total < 0.005 ? "yes" : "no",
        ]);
      }
      out.push(
        `\n(d) processor cost per million records, 1 shard at ${rate.toLocaleString("en")} records/s, steady state (window full), from the counted requests and the measured CPU`,
        table(["scenario", "invocations", "GB-s", "Lambda", "WRU", "RRU", "DynamoDB", "S3 PUT", "S3", "total/M", "< $0.005"], rowsD),
        [
          "    prices assumed (us-east-1 on-demand): Lambda arm64 $0.0000133334/GB-s, $0.20/M requests; DynamoDB $0.625/M WRU, $0.125/M RRU",
          "    (strongly consistent reads: 1 RRU per 4 KB; writes 1 WRU per KB, failed conditional writes included); S3 PUT/LIST $0.005/1,000, GET $0.0004/1,000",
          `    Lambda ${LAMBDA.memoryMb} MB (CPU time measured here x ${(LAMBDA.fullCpuMb / LAMBDA.memoryMb).toFixed(2)}, full speed at ${LAMBDA.fullCpuMb} MB), plus waiting ${LAMBDA.dynamoMs} ms per DynamoDB request,`,
          `    ${LAMBDA.s3PutMs} ms per S3 PUT, ${LAMBDA.s3GetMs} ms per GET, one after the other (an overestimate: parts, outputs and memory are written in parallel);`,
          "    the finalizer runs inline in the shard invocation that completes a batch; the ticker runs once a minute; item sizes are payload + 150 bytes;",
          "    payloads of 1 KB and more are counted gzipped, as DynamoDbPipelineStore stores them; the pipeline's own outputs (saveAsTextFiles under output/)\n    are the user's and not counted; Kinesis (shard hours, PUT payload units), CloudWatch Logs and data transfer are not counted either",
        ].join("\n"),
      );
      return out.join("\n") + "\n";
    },
  };
};

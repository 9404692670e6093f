/**
 * A simulated Kinesis stream and Lambda for the serverless runtime: records per shard, events as Lambda
 * builds them, a shard directory that answers as ListShards/GetRecords would, and a manual clock.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mulberry32 } from "../../examples/support.js";
import { Seconds } from "../../lib/core/duration.js";
import { ManualClock } from "../../lib/exec/clock.js";
import type { ObjectStore } from "../../lib/io/object-store.js";
import { QueueSource } from "../../lib/io/queue-source.js";
import type { Pipeline } from "../../lib/serverless/define-pipeline.js";
import type { KinesisEventLike, KinesisRecordLike } from "../../lib/serverless/kinesis-event.js";
import type { ProbeResult, ShardDirectory, ShardInfo } from "../../lib/serverless/runtime-deps.js";

export interface SimRecord {
  readonly shardId: string;
  readonly seq: string;
  readonly arrival: number;
  readonly data: string;
  readonly partitionKey: string;
}

/** Kinesis-like sequence numbers: long decimal strings, ordered as BigInts, never as Numbers. */
export function sequenceNumber(shardIndex: number, i: number): string {
  return `4959${String(shardIndex).padStart(4, "0")}${String(i + 1).padStart(48, "0")}`;
}

export function kinesisEvent(records: readonly SimRecord[]): KinesisEventLike {
  return {
    Records: records.map(
      (r): KinesisRecordLike => ({
        kinesis: { partitionKey: r.partitionKey, sequenceNumber: r.seq, data: r.data, approximateArrivalTimestamp: r.arrival / 1000 },
        eventID: `${r.shardId}:${r.seq}`,
      }),
    ),
  };
}

export const lambdaContext = (remainingMs = 60_000) => ({ getRemainingTimeInMillis: () => remainingMs, awsRequestId: "test" });

/** The stream's shards as the test's model says; `visible` decides which ListShards shows (resharding). */
export class SimShards implements ShardDirectory {
  visible: ShardInfo[];
  constructor(
    readonly records: Map<string, SimRecord[]>,
    visible: ShardInfo[],
  ) {
    this.visible = visible;
  }

  async list(): Promise<ShardInfo[]> {
    return this.visible.slice();
  }

  async probe(shardId: string, afterSeq: string | undefined): Promise<ProbeResult> {
    const after = afterSeq === undefined ? -1n : BigInt(afterSeq);
    const rest = (this.records.get(shardId) ?? []).filter((r) => BigInt(r.seq) > after);
    const info = this.visible.find((s) => s.shardId === shardId);
    return { hasRecords: rest.length > 0, ended: rest.length === 0 && (info?.closed ?? false) };
  }
}

export const IDLE_AFTER = Seconds(1);

/** Base64 of a string or bytes, as Lambda hands a record's data. */
export function b64(data: string | Uint8Array): string {
  return Buffer.from(data).toString("base64");
}

/**
 * One shard's records, sequence numbers from {@link sequenceNumber}. `data` is encoded to base64; `base64` is
 * passed through as Lambda's `data` field unchanged (for corrupt input). Partition key "pk" unless given.
 */
export function shardRecords(
  shardIndex: number,
  shardId: string,
  items: ReadonlyArray<{ arrival: number; partitionKey?: string } & ({ data: string | Uint8Array } | { base64: string })>,
): SimRecord[] {
  return items.map((r, i) => ({
    shardId,
    seq: sequenceNumber(shardIndex, i),
    arrival: r.arrival,
    data: "base64" in r ? r.base64 : b64(r.data),
    partitionKey: r.partitionKey ?? "pk",
  }));
}

/** A Lambda context whose remaining time is read from a function on every call (deadline tests). */
export const timedContext = (remainingMs: () => number) => ({ getRemainingTimeInMillis: remainingMs, awsRequestId: "timed" });

/** `shardId-00000000000N`, as Kinesis names shards. */
export const shardName = (i: number) => `shardId-${String(i).padStart(12, "0")}`;

/**
 * The local engine on the same input, batch by batch from `zero + B` to `end`: the files saveAsTextFiles
 * writes (path -> text, parts joined) and the printed blocks. The reference the serverless path must equal.
 */
export async function runLocal<T>(
  pipeline: Pipeline<T>,
  batches: T[][],
  zero: number,
  end: number,
  checkpointDir = join(tmpdir(), `sparkless-${pipeline.name}-${process.pid}`),
): Promise<{ files: Map<string, string>; printed: string[] }> {
  const clock = new ManualClock(zero);
  const printed: string[] = [];
  const ssc = pipeline.on(new QueueSource(batches.map((b) => b.slice())), { clock, out: (t) => printed.push(t), checkpointDir });
  const files = new Map<string, string>();
  ssc.graph.writeBatch = async (path, partitions) => void files.set(path, partitions.map((p) => p.map((l) => l + "\n").join("")).join(""));
  await ssc.start();
  await clock.advance(end - zero);
  await ssc.stop();
  return { files, printed };
}

/** Every saveAsTextFiles directory the serverless run wrote up to batch time `end`: path -> parts joined. */
export async function serverlessFiles(objects: ObjectStore, pipeline: string, end: number): Promise<Map<string, string>> {
  const root = `output/${pipeline}/`;
  const keys = await objects.list(root);
  const dirs = new Set(keys.map((k) => k.slice(root.length, k.lastIndexOf("/"))).filter((p) => Number(p.split("-").at(-1)) <= end));
  const files = new Map<string, string>();
  for (const dir of [...dirs].sort()) {
    const mine = keys.filter((k) => k.startsWith(`${root}${dir}/`));
    if (!mine.includes(`${root}${dir}/_SUCCESS`)) throw new Error(`${root}${dir} has no _SUCCESS`);
    const parts = mine.filter((k) => /part-\d{5}$/.test(k));
    files.set(dir, (await Promise.all(parts.map((k) => objects.get(k)))).join(""));
  }
  return files;
}

/** Printed Spark blocks by batch time (`Time: <ms> ms`), up to `end`; other log lines are left out. */
export function printedBlocks(texts: readonly string[], end = Number.MAX_SAFE_INTEGER): Map<number, string[]> {
  const byTime = new Map<number, string[]>();
  for (const t of texts.filter((t) => t.startsWith("---"))) {
    const time = Number(/Time: (\d+) ms/.exec(t)![1]);
    if (time <= end) byTime.set(time, [...(byTime.get(time) ?? []), t]);
  }
  return byTime;
}

/** The EMF lines of a log (see shard-stage.ts metricLine). */
export function metricLines(logs: readonly string[]): Array<{ Pipeline: string; DeadLetterRecords: number; LateRecords: number; _aws: { CloudWatchMetrics: Array<{ Namespace: string; Metrics: Array<{ Name: string }> }> } }> {
  return logs.filter((l) => l.startsWith('{"_aws"') && l.includes('"DeadLetterRecords"')).map((l) => JSON.parse(l));
}

/** The finalization backlog a tick reports (see ticker.ts pendingBatchesLine), in log order. */
export function pendingBatchesOf(logs: readonly string[]): number[] {
  return logs.filter((l) => l.startsWith('{"_aws"') && l.includes('"PendingBatches"')).map((l) => (JSON.parse(l) as { PendingBatches: number }).PendingBatches);
}

/**
 * An item's size as DynamoDB counts it against its 400 KB limit: per attribute, the UTF-8 length of its name
 * plus its value — a string's UTF-8 bytes, a number's (significant digits / 2 + 1), 1 for a boolean, 3 plus
 * one per element and the elements for a list, the members for a string set.
 */
export function dynamoItemSize(item: Record<string, unknown>): number {
  const valueSize = (v: unknown): number => {
    if (typeof v === "string") return Buffer.byteLength(v, "utf8");
    if (typeof v === "number") return Math.ceil(String(Math.abs(v)).replace(/^0+|\.|0+$/g, "").length / 2) + 1;
    if (typeof v === "boolean") return 1;
    if (Array.isArray(v)) return 3 + v.reduce((n: number, e) => n + 1 + valueSize(e), 0);
    if (v instanceof Set) return [...v].reduce((n: number, e) => n + valueSize(e), 0);
    throw new Error(`no DynamoDB size for ${String(v)}`);
  };
  return Object.entries(item).reduce((n, [name, v]) => n + Buffer.byteLength(name, "utf8") + valueSize(v), 0);
}

/** Bodies of the JSON objects under a prefix, by key. */
export async function jsonObjects<V = Record<string, unknown>>(objects: ObjectStore, prefix: string): Promise<Map<string, V>> {
  const out = new Map<string, V>();
  for (const k of await objects.list(prefix)) out.set(k, JSON.parse((await objects.get(k))!) as V);
  return out;
}

/** Whole numbers below n from a seed: one fast-check seed drives a whole delivery schedule. */
export function prng(seed: number): (n: number) => number {
  const random = mulberry32(seed);
  return (n) => Math.floor(random() * n);
}

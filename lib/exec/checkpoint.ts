import { createHash, randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, open, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { Duration, type Time } from "../core/duration.js";
import { RDD } from "../core/rdd.js";
import { CheckpointError, ValidationError } from "../core/errors.js";
import { InputNode } from "../graph/ops/input.js";
import type { Evaluation } from "../graph/evaluation.js";
import type { GraphDescription, StreamGraph } from "../graph/stream-graph.js";
import { decodeValue, encodeValue, type Json } from "./checkpoint-codec.js";

/*
 * Checkpoints of the local engine (Spark's Checkpoint + CheckpointWriter, metadata and data in one file).
 *
 * WHEN. A checkpoint is written after batch T has completed (its jobs ran and old RDDs were forgotten) when
 * T - zeroTime is a multiple of the graph's checkpoint interval: the smallest `checkpointDuration` of any
 * node in the graph (stateful nodes get Spark's defaults — ceil(10 s / slide) × slide, mapWithState
 * 10 × slide — and `dstream.checkpoint(d)` sets it), or the batch interval when no node has one (a graph of
 * windows and stateless operators: as Spark writes its metadata checkpoint every batch). So every node's data
 * is saved at least as often as its interval asks. A batch that failed is not checkpointed (the previous
 * checkpoint stays the newest until a later checkpoint time completes), and neither is anything after
 * `stop({ simulateCrash: true })`.
 *
 * WHAT. Each checkpoint is a consistent snapshot taken synchronously (nothing else runs while it is taken;
 * writing it to disk happens after, so batches submitted meanwhile are simply not in it):
 *   - metadata: the graph description and hash, the batch interval, the zero time, the time T of the last
 *     completed batch, the batches generated but not completed (`pendingTimes`), each input node's
 *     `source.position()` keyed by node id (sources without positions, such as sockets, are left out), and
 *     each node's checkpoint interval;
 *   - data: for every persisted node (window parents, reduced windows, updateStateByKey, mapWithState, and
 *     anything the user persisted) the RDDs it still remembers — what later batches read back — and for every
 *     input node the RDDs it holds, which include the input of the pending batches (the source's position is
 *     already past them, so recovery must not ask the source again). RDDs keep their partitions; an entry for a
 *     time with no RDD (Spark's None) is kept as `null`.
 * Unlike Spark we store the data itself rather than RDD lineage to a checkpointed RDD, so nothing before the
 * snapshot is ever recomputed from a source. The cost: a node remembers more than the next batches read (Spark's
 * rule keeps 2 × the checkpoint interval for stateful nodes, so a 10 s interval at 1 s batches stores 20 state
 * RDDs). Storing only what later batches read needs a per-node look-back in graph/ — a possible follow-up.
 *
 * FORMAT. `<dir>/checkpoint-<T>`: one header line, then the body (JSON, see `CheckpointBody`):
 *
 *     sparkless-checkpoint 1 <sha256 of the body, hex> <body length in bytes>\n
 *     {"version":1,"time":8000,"zeroTime":0,...,"nodes":{"map-1":{"kind":"map","rdds":[[7000,[[1,2]]],...]}}}
 *
 * Element values are JSON with tags for undefined, NaN, bigint, Date, Map, Set and KeyMap (checkpoint-codec.ts);
 * mapWithState's StateRecord `{states: KeyMap<K, {state, updatedAt}>, mapped}` goes through the KeyMap tag, so
 * object keys and the keys' insertion order survive.
 *
 * ATOMICITY. A checkpoint is written to `.checkpoint-<T>.tmp-<uuid>`, fsynced, renamed to `checkpoint-<T>`,
 * and the directory is fsynced: a crash leaves the previous checkpoints intact and at worst a temp file,
 * which readers ignore and the next writer removes. The newest `keep` (3) checkpoints are kept. A reader takes
 * the newest file whose header, length and checksum agree; a truncated or corrupt newest file falls back to
 * the previous one (reported in `skipped`). A directory whose checkpoints are all unreadable is an error,
 * never a silent fresh start.
 */

export const CHECKPOINT_VERSION = 1;
const MAGIC = "sparkless-checkpoint";
const FILE_RE = /^checkpoint-(\d+)$/;
const TEMP_RE = /^\.checkpoint-\d+\.tmp-/;

/** One RDD of a node: `[time ms, partitions of encoded elements]`, or `[time ms, null]` for no RDD. */
export type StoredRDD = [number, Json[][] | null];

export interface StoredNode {
  readonly kind: string;
  readonly rdds: StoredRDD[];
}

export interface CheckpointBody {
  readonly version: number;
  /** The batch after which the checkpoint was written: the last completed batch (ms). */
  readonly time: number;
  readonly zeroTime: number;
  readonly batchIntervalMs: number;
  /** The interval between checkpoints (see above). */
  readonly checkpointIntervalMs: number;
  readonly graphHash: string;
  readonly graph: GraphDescription;
  /** Each node's checkpoint interval (only nodes that have one). */
  readonly checkpointIntervals: Record<string, number>;
  /** Batches generated (input taken) but not completed when the checkpoint was taken, oldest first. */
  readonly pendingTimes: number[];
  /** `source.position()` of each input node that has positions, by node id (encoded as element values are). */
  readonly sources: Record<string, Json>;
  readonly nodes: Record<string, StoredNode>;
  /** Wall-clock time of writing (for people reading the directory). */
  readonly writtenAt: string;
}

// ---- when ----

/**
 * The interval between checkpoints of a started graph: the smallest node checkpoint interval, else the
 * batch interval. Validates every node's interval (positive; the multiple-of-slide rule is the node's).
 */
export function checkpointInterval(graph: StreamGraph): Duration {
  let min: Duration | undefined;
  for (const node of graph.reachable()) {
    const d = node.checkpointDuration;
    if (d === undefined) continue;
    if (!(d instanceof Duration) || d.milliseconds <= 0) {
      throw new ValidationError(
        "CheckpointIntervalNotPositive",
        `checkpoint interval (${String(d)}) of ${node.label} must be a positive multiple of its slide duration (${node.slideDuration})`,
        { operator: node.kind, intervalMs: d instanceof Duration ? d.milliseconds : d },
      );
    }
    if (min === undefined || d.lessThan(min)) min = d;
  }
  return min ?? graph.batchDuration;
}

export function isCheckpointTime(time: Time, zeroTime: Time, interval: Duration): boolean {
  return (time.milliseconds - zeroTime.milliseconds) % interval.milliseconds === 0;
}

/** Each reachable node's checkpoint interval in ms (nodes without one left out). */
export function checkpointIntervals(graph: StreamGraph): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of graph.reachable()) if (n.checkpointDuration !== undefined) out[n.id] = n.checkpointDuration.milliseconds;
  return out;
}

// ---- what ----

/**
 * Takes the snapshot after batch `time` completed. Synchronous on purpose: it must see one state of the
 * graph and the sources, so it runs to the end before any other batch work can interleave.
 */
export function takeSnapshot(
  ev: Evaluation,
  time: Time,
  pendingTimes: ReadonlyArray<Time>,
  now: number = Date.now(),
  unwritable?: (element: { node: string; label: string; time: number; value: unknown; error: CheckpointError }) => void,
): CheckpointBody {
  const graph = ev.graph;
  const zero = graph.zeroTime;
  if (zero === undefined) throw new CheckpointError("NotStarted", "a checkpoint can only be taken of a started graph");
  const sources: Record<string, Json> = {};
  const nodes: Record<string, StoredNode> = {};
  for (const node of graph.reachable()) {
    const input = node instanceof InputNode;
    if (input) {
      const source = (node as InputNode<unknown>).source;
      if (source.position) sources[node.id] = encodeValue(source.position());
    }
    if (!input && !node.persisted) continue;
    const rdds: StoredRDD[] = [];
    for (const [t, rdd] of ev.remembered(node)) {
      try {
        rdds.push([t, rdd === undefined ? null : rdd.partitions().map((p) => encodePartition(p, unwritable && ((value, error) => unwritable({ node: node.id, label: node.label, time: t, value, error }))))]);
      } catch (e) {
        if (e instanceof CheckpointError) {
          throw new CheckpointError(e.code, `cannot checkpoint the RDD of ${node.label} at ${t} ms: ${e.message}`, { ...e.details, node: node.id, time: t }, { cause: e });
        }
        throw e;
      }
    }
    nodes[node.id] = { kind: node.kind, rdds };
  }
  return {
    version: CHECKPOINT_VERSION,
    time: time.milliseconds,
    zeroTime: zero.milliseconds,
    batchIntervalMs: graph.batchDuration.milliseconds,
    checkpointIntervalMs: checkpointInterval(graph).milliseconds,
    graphHash: graph.hash(),
    graph: graph.describe(),
    checkpointIntervals: checkpointIntervals(graph),
    pendingTimes: pendingTimes.map((t) => t.milliseconds),
    sources,
    nodes,
    writtenAt: new Date(now).toISOString(),
  };
}

/**
 * A partition's elements, encoded. With `unwritable`, an element that cannot be written is left out and
 * handed to it (the context dead-letters it), so one bad element does not fail every checkpoint after it;
 * without, it throws.
 */
function encodePartition(elements: readonly unknown[], unwritable?: (value: unknown, error: CheckpointError) => void): Json[] {
  if (!unwritable) return elements.map(encodeValue);
  const out: Json[] = [];
  for (const value of elements) {
    try {
      out.push(encodeValue(value));
    } catch (e) {
      if (!(e instanceof CheckpointError) || e.code !== "ValueNotCheckpointable") throw e;
      unwritable(value, e);
    }
  }
  return out;
}

/** The RDDs of a stored node, decoded. */
export function decodeRDDs(stored: StoredNode): Array<[number, RDD<unknown> | undefined]> {
  return stored.rdds.map(([t, parts]) => [t, parts === null ? undefined : RDD.fromPartitions(parts.map((p) => p.map(decodeValue)))]);
}

// ---- format ----

export function encodeCheckpoint(body: CheckpointBody): string {
  const json = JSON.stringify(body);
  const bytes = Buffer.byteLength(json);
  return `${MAGIC} ${CHECKPOINT_VERSION} ${sha256(json)} ${bytes}\n${json}`;
}

/** Parses and verifies a checkpoint file's text; throws CheckpointError saying what is wrong with it. */
export function decodeCheckpoint(text: string): CheckpointBody {
  const nl = text.indexOf("\n");
  if (nl < 0) throw corrupt("no header line (empty or truncated file)");
  const [magic, version, hash, length] = text.slice(0, nl).split(" ");
  if (magic !== MAGIC) throw corrupt("not a sparkless checkpoint");
  if (Number(version) !== CHECKPOINT_VERSION) {
    throw new CheckpointError("CheckpointVersionUnsupported", `checkpoint format version ${version} is not supported (this sparkless reads version ${CHECKPOINT_VERSION})`, { version });
  }
  const json = text.slice(nl + 1);
  const bytes = Buffer.byteLength(json);
  if (String(bytes) !== length) throw corrupt(`body is ${bytes} bytes, the header says ${length} (truncated?)`);
  if (sha256(json) !== hash) throw corrupt("checksum mismatch");
  let body: CheckpointBody;
  try {
    body = JSON.parse(json) as CheckpointBody;
  } catch (e) {
    throw corrupt(`body is not JSON: ${(e as Error).message}`);
  }
  if (typeof body !== "object" || body === null || typeof body.time !== "number" || typeof body.zeroTime !== "number" || typeof body.nodes !== "object") {
    throw corrupt("body lacks the checkpoint fields");
  }
  return body;
}

function corrupt(why: string): CheckpointError {
  return new CheckpointError("CheckpointCorrupt", `checkpoint is corrupt: ${why}`);
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export function checkpointFileName(time: number): string {
  return `checkpoint-${time}`;
}

// ---- writing ----

export interface CheckpointWriterOptions {
  /** How many checkpoint files to keep. @default 3 */
  readonly keep?: number;
}

/** Writes checkpoint files atomically into one directory and prunes old ones. */
export class CheckpointWriter {
  readonly keep: number;
  /**
   * @internal For tests: called after the temp file is written and fsynced, before the rename. Throwing from
   * it simulates a crash in the middle of a checkpoint write.
   */
  onTempWritten: ((tempPath: string, time: number) => void) | undefined;

  constructor(
    readonly directory: string,
    options: CheckpointWriterOptions = {},
  ) {
    this.keep = Math.max(1, options.keep ?? 3);
  }

  /** Creates the directory and removes temp files a crashed writer left behind. */
  async prepare(): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    for (const name of await readdir(this.directory)) {
      if (TEMP_RE.test(name)) await rm(join(this.directory, name), { force: true });
    }
  }

  /** Writes `checkpoint-<time>` atomically (temp file + fsync + rename + directory fsync), then prunes. */
  async write(time: number, text: string): Promise<string> {
    const target = join(this.directory, checkpointFileName(time));
    const temp = join(this.directory, `.checkpoint-${time}.tmp-${randomUUID()}`);
    const handle = await open(temp, "w");
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.onTempWritten?.(temp, time);
    await rename(temp, target);
    await syncDirectory(this.directory);
    await this.prune();
    return target;
  }

  private async prune(): Promise<void> {
    const times = listCheckpointTimes(await readdir(this.directory));
    for (const t of times.slice(this.keep)) await rm(join(this.directory, checkpointFileName(t)), { force: true });
  }
}

async function syncDirectory(directory: string): Promise<void> {
  // Makes the rename durable. Some platforms (Windows) cannot open a directory: the rename is still atomic there.
  try {
    const dir = await open(directory, "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // best effort
  }
}

/** Checkpoint times found among file names, newest first. */
function listCheckpointTimes(names: ReadonlyArray<string>): number[] {
  const times: number[] = [];
  for (const n of names) {
    const m = FILE_RE.exec(n);
    if (m) times.push(Number(m[1]));
  }
  return times.sort((a, b) => b - a);
}

// ---- reading ----

export interface ReadCheckpoint {
  readonly body: CheckpointBody;
  readonly file: string;
  /** Newer checkpoint files that could not be read, with why. */
  readonly skipped: ReadonlyArray<{ file: string; reason: string }>;
}

/**
 * The newest readable checkpoint in `directory`, or `undefined` when it holds none (or does not exist).
 * Synchronous, as it runs once before a context exists (Spark's `getOrCreate` is synchronous too).
 */
export function readLatestCheckpoint(directory: string): ReadCheckpoint | undefined {
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CheckpointError("CheckpointDirectoryUnreadable", `cannot list checkpoint directory ${directory}: ${(e as Error).message}`, { directory }, { cause: e });
  }
  const times = listCheckpointTimes(names);
  const skipped: Array<{ file: string; reason: string }> = [];
  for (const t of times) {
    const file = join(directory, checkpointFileName(t));
    try {
      const body = decodeCheckpoint(readFileSync(file, "utf8"));
      if (body.time !== t) throw corrupt(`file name says ${t} ms, the content ${body.time} ms`);
      return { body, file, skipped };
    } catch (e) {
      if (e instanceof CheckpointError && e.code === "CheckpointVersionUnsupported") throw e;
      skipped.push({ file, reason: (e as Error).message });
    }
  }
  if (skipped.length > 0) {
    throw new CheckpointError(
      "CheckpointUnreadable",
      `no checkpoint in ${directory} can be read (${skipped.map((s) => `${s.file}: ${s.reason}`).join("; ")}); to start fresh, use a new checkpoint directory or delete this one`,
      { directory, skipped },
    );
  }
  return undefined;
}

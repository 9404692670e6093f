/**
 * What a stateful operator holds after a batch: the keys and values of an updateStateByKey, a mapWithState or
 * an incremental window (reduceByKeyAndWindow), read from where the pipeline keeps them — the pipeline store
 * (DynamoDB on AWS and on the embedded stack, the memory store in tests) or a local engine's checkpoint
 * directory. For tests ("after batch T the totals are …") and incidents ("what does the state say for key K").
 * `sparkless state` prints it.
 *
 * Read-only: it never takes the lease nor writes anything. On the serverless path each batch's state is a node
 * memory item (`<pipe>#mem#<operator>`, written by the finalizer before the batch is marked done), except
 * mapWithState's, which is kept per key (the last finalized batch's, read whole); locally it
 * is in the checkpoint files, which hold the RDDs the stateful nodes still remember as of each checkpoint.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeValue, encodeValue } from "../core/codec.js";
import { NoSuchElementError, ValidationError } from "../core/errors.js";
import { canonicalKey, KeyMap } from "../core/keys.js";
import { graphRecordKey } from "../contract/bucket.js";
import { checkpointFileName, decodeCheckpoint, decodeRDDs, type CheckpointBody } from "../exec/checkpoint.js";
import type { GraphDescription, NodeDescription } from "../graph/stream-graph.js";
import type { ObjectStore } from "../io/object-store.js";
import type { PipelineStore } from "../pipeline-store/pipeline-store.js";
import { readKeyedState } from "../serverless/keyed-state.js";

/** Where a pipeline keeps its state. */
export type StateLocation =
  /** The serverless path: the pipeline's store and bucket (`pipeline` names the graph record in the bucket). */
  | { readonly store: PipelineStore; readonly objects: ObjectStore; readonly pipeline: string }
  /** The local engine: its checkpoint directory (`StreamingContext.checkpoint(dir)`, `sparkless run --checkpoint`). */
  | { readonly checkpointDir: string };

/** The operator kinds that hold keyed state from one batch to the next. */
export const STATEFUL_KINDS = ["updateStateByKey", "mapWithState", "reduceByKeyAndWindow"] as const;

export interface StatefulOperator {
  /** The node id: the operator's `name` when it was given one (`updateStateByKey(fn, { name: "totals" })`). */
  readonly id: string;
  readonly kind: string;
}

export interface StateEntry {
  readonly key: unknown;
  readonly value: unknown;
  /** mapWithState: the batch time (ms) the key was last updated (its timeout counts from it). */
  readonly updatedAt?: number;
}

export interface OperatorState {
  readonly operator: string;
  readonly kind: string;
  /** The batch after which the operator held this (ms). */
  readonly batchTime: number;
  /** Every key, in the order the operator holds them (or the one asked for). */
  readonly entries: readonly StateEntry[];
  /** Keys the operator holds in all (also when `key` picked one). */
  readonly keys: number;
  /** The stored size of the operator's state for that batch, in bytes (encoded, before any compression). */
  readonly bytes: number;
}

export interface ReadStateOptions {
  /** Only this key (compared by value, as keyed operators compare keys). @default - every key */
  readonly key?: unknown;
  /**
   * The batch time (ms) to read the state after. @default - the last finalized batch (serverless), the
   * newest checkpoint's batch (local)
   */
  readonly batch?: number;
}

/**
 * The keys and values `operator` holds after a batch.
 *
 * @example
 * const totals = await readOperatorState({ store, objects, pipeline: "word-count" }, "totals");
 * // { operator: "totals", kind: "updateStateByKey", batchTime: 1700000015000, entries: [{ key: "spark", value: 3 }, …], … }
 * const local = await readOperatorState({ checkpointDir: ".sparkless/checkpoint" }, "totals", { key: "spark" });
 */
export async function readOperatorState(location: StateLocation, operator: string, options: ReadStateOptions = {}): Promise<OperatorState> {
  const found = "checkpointDir" in location ? await fromCheckpoint(location.checkpointDir, operator, options.batch) : await fromStore(location, operator, options.batch);
  const all = entriesOf(found.kind, found.elements);
  const wanted = options.key === undefined ? all : all.filter((e) => sameKey(e.key, options.key));
  return { operator, kind: found.kind, batchTime: found.batchTime, entries: wanted, keys: all.length, bytes: found.bytes };
}

/** The operators of the pipeline's current graph that hold keyed state, in graph order. */
export async function listStatefulOperators(location: StateLocation): Promise<StatefulOperator[]> {
  const graph = "checkpointDir" in location ? newestCheckpoint(location.checkpointDir).graph : (await storeGraph(location)).graph;
  return statefulIn(graph);
}

function statefulIn(graph: GraphDescription): StatefulOperator[] {
  return graph.nodes.filter((n) => isStateful(n)).map((n) => ({ id: n.id, kind: n.kind }));
}

/** A window without an inverse function is reduced afresh each time: it keeps batches, not state. */
function isStateful(n: NodeDescription): boolean {
  return n.kind === "updateStateByKey" || n.kind === "mapWithState" || (n.kind === "reduceByKeyAndWindow" && n.inverse === true);
}

function chooseOperator(graph: GraphDescription, operator: string, where: string): NodeDescription {
  const node = graph.nodes.find((n) => n.id === operator);
  const stateful = statefulIn(graph).map((o) => `${o.id} (${o.kind})`).join(", ") || "none";
  if (!node) throw new ValidationError("NoSuchOperator", `${where} has no operator "${operator}"; its stateful operators: ${stateful}`, { operator });
  if (!isStateful(node)) {
    throw new ValidationError("NotStateful", `operator "${operator}" is a ${node.kind}, which keeps no keyed state between batches; the stateful operators of ${where}: ${stateful}`, {
      operator,
      kind: node.kind,
    });
  }
  return node;
}

interface Found {
  readonly kind: string;
  readonly batchTime: number;
  readonly elements: unknown[];
  readonly bytes: number;
}

// ---- the serverless path ----

async function storeGraph(location: Extract<StateLocation, { store: PipelineStore }>): Promise<{ graph: GraphDescription; lastFinalized: number; zeroTime: number; partitions: number }> {
  const status = await location.store.getStatus();
  if (!status) throw new NoSuchElementError("NoPipelineStatus", `pipeline "${location.pipeline}" has not started: its table holds no status (no record or tick has reached it yet)`, { pipeline: location.pipeline });
  const key = graphRecordKey(location.pipeline, status.graphHash);
  const text = await location.objects.get(key);
  if (text === undefined) throw new NoSuchElementError("NoGraphRecord", `pipeline "${location.pipeline}" runs graph ${status.graphHash}, whose record ${key} is not in its bucket`, { key });
  return { graph: (JSON.parse(text) as { graph: GraphDescription }).graph, lastFinalized: status.lastFinalized, zeroTime: status.zeroTime, partitions: status.partitions ?? 1 };
}

async function fromStore(location: Extract<StateLocation, { store: PipelineStore }>, operator: string, batch: number | undefined): Promise<Found> {
  const { graph, lastFinalized, zeroTime, partitions } = await storeGraph(location);
  const node = chooseOperator(graph, operator, `pipeline "${location.pipeline}"`);
  if (lastFinalized === zeroTime) throw new NoSuchElementError("NoFinalizedBatch", `pipeline "${location.pipeline}" has finalized no batch yet: there is no state to read`, { operator });
  const time = batch ?? lastFinalized;
  if (time > lastFinalized) {
    throw new NoSuchElementError("BatchNotFinalized", `batch ${time} of pipeline "${location.pipeline}" is not finalized (the last is ${lastFinalized}): its state is not final`, { operator, batch: time, lastFinalized });
  }
  const perKey = node.kind === "mapWithState" ? location.store.keyedState?.() : undefined;
  if (perKey) {
    // Kept per key (docs/serverless.md "Keyed state per key"), by each finalizer partition: theirs in partition order.
    const shares = await Promise.all(Array.from({ length: partitions }, (_, partition) => readKeyedState(perKey, { nodeId: node.id, partition }, time)));
    const entries = shares.every((e) => e === undefined) ? undefined : shares.flatMap((e) => e ?? []);
    if (entries === undefined) {
      throw new NoSuchElementError("NoStateAtBatch", `operator "${operator}" has no state stored for batch ${time}: it has not run a batch yet`, { operator, batch: time });
    }
    const states = new KeyMap<unknown, { state: unknown; updatedAt: number }>();
    for (const e of entries) states.set(e.key, { state: e.state, updatedAt: e.updatedAt });
    const elements = [{ states, mapped: [] }];
    return { kind: node.kind, batchTime: time, elements, bytes: Buffer.byteLength(encodeValue(elements)) };
  }
  // With P > 1 a partition-local operator's memory is each partition's (in partition order), a tail's the pipeline's own.
  const shares = partitions > 1 ? await Promise.all(Array.from({ length: partitions }, (_, p) => location.store.getMemory(node.id, time, p))) : [];
  if (shares.some((x) => x !== undefined)) {
    const elements = shares.flatMap((x) => (x === undefined ? [] : (decodeValue<unknown[][] | null>(x) ?? []).flat()));
    return { kind: node.kind, batchTime: time, elements, bytes: shares.reduce((n, x) => n + (x === undefined ? 0 : Buffer.byteLength(x)), 0) };
  }
  const payload = await location.store.getMemory(node.id, time);
  if (payload === undefined) {
    throw new NoSuchElementError(
      "NoStateAtBatch",
      `operator "${operator}" has no state stored for batch ${time}: not a batch time of its slide, or expired (state is kept while later batches may read it)`,
      { operator, batch: time },
    );
  }
  const rdd = decodeValue<unknown[][] | null>(payload);
  return { kind: node.kind, batchTime: time, elements: (rdd ?? []).flat(), bytes: Buffer.byteLength(payload) };
}

// ---- the local engine ----

const FILE_RE = /^checkpoint-(\d+)$/;

function checkpointTimes(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new NoSuchElementError("NoCheckpoint", `cannot read checkpoint directory ${dir}: ${(e as Error).message}`, { dir }, { cause: e });
  }
  return names.flatMap((n) => (FILE_RE.test(n) ? [Number(FILE_RE.exec(n)![1])] : [])).sort((a, b) => b - a);
}

/** Readable checkpoints, newest first (a torn newest file is passed over, as recovery does). */
function* checkpoints(dir: string): Generator<CheckpointBody> {
  for (const t of checkpointTimes(dir)) {
    try {
      yield decodeCheckpoint(readFileSync(join(dir, checkpointFileName(t)), "utf8"));
    } catch {
      // unreadable: an older one may serve
    }
  }
}

function newestCheckpoint(dir: string): CheckpointBody {
  for (const body of checkpoints(dir)) return body;
  throw new NoSuchElementError("NoCheckpoint", `${dir} holds no readable checkpoint: run the program with this checkpoint directory first`, { dir });
}

async function fromCheckpoint(dir: string, operator: string, batch: number | undefined): Promise<Found> {
  const newest = newestCheckpoint(dir);
  const node = chooseOperator(newest.graph, operator, `the checkpoint in ${dir}`);
  const time = batch ?? newest.time;
  // The newest checkpoint that still remembers the batch: later ones may have forgotten it.
  for (const body of checkpoints(dir)) {
    const stored = body.nodes[node.id];
    const at = stored?.rdds.findIndex(([t]) => t === time) ?? -1;
    if (!stored || at < 0) continue;
    const rdd = decodeRDDs({ kind: stored.kind, rdds: [stored.rdds[at]!] })[0]![1];
    return { kind: node.kind, batchTime: time, elements: rdd ? rdd.collect() : [], bytes: Buffer.byteLength(JSON.stringify(stored.rdds[at]![1])) };
  }
  const kept = [...new Set([...checkpoints(dir)].flatMap((b) => b.nodes[node.id]?.rdds.map(([t]) => t) ?? []))].sort((a, b) => a - b);
  throw new NoSuchElementError("NoStateAtBatch", `no checkpoint in ${dir} holds the state of "${operator}" after batch ${time}; batches it holds: ${kept.join(", ") || "none"}`, {
    operator,
    batch: time,
  });
}

// ---- elements to entries ----

function entriesOf(kind: string, elements: unknown[]): StateEntry[] {
  if (kind !== "mapWithState") return elements.map((e) => ({ key: (e as [unknown, unknown])[0], value: (e as [unknown, unknown])[1] }));
  // mapWithState's RDD holds one StateRecord per partition: every key's state after the batch.
  const out: StateEntry[] = [];
  for (const record of elements as Array<{ states: KeyMap<unknown, { state: unknown; updatedAt: number }> }>) {
    for (const [key, s] of record.states.entries()) out.push({ key, value: s.state, updatedAt: s.updatedAt });
  }
  return out;
}

function sameKey(a: unknown, b: unknown): boolean {
  return canonicalKey(a) === canonicalKey(b);
}

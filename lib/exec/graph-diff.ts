import { CheckpointError } from "../core/errors.js";
import type { GraphDescription, NodeDescription } from "../graph/stream-graph.js";

/** What a checkpoint knows of the program that wrote it: the graph and each node's checkpoint interval. */
export interface GraphShape {
  readonly graph: GraphDescription;
  readonly checkpointIntervals: Record<string, number>;
}

/** How a parameter of `describe()` reads in a message. */
const PARAMETER_NAMES: Record<string, string> = {
  slideMs: "slide duration",
  windowMs: "window duration",
  timeoutMs: "timeout",
  inverse: "inverse function",
  filter: "filter function",
  numPartitions: "number of partitions",
  initialState: "initial state",
  prefix: "output prefix",
  suffix: "output suffix",
};

function formatParameter(key: string, value: unknown): string {
  if (value === undefined) return "not set";
  if (key.endsWith("Ms")) return value === null ? "none" : `${String(value)} ms`;
  if (typeof value === "boolean") return value ? "present" : "absent";
  return JSON.stringify(value);
}

/**
 * The differences between the graph a checkpoint was written by and the one the factory built, one
 * sentence each ("window duration of reduceByKeyAndWindow-1 changed from 4000 ms to 6000 ms"). Empty when
 * they match. Nodes are matched by id; the order nodes were created in does not matter beyond their ids.
 * `sharedOnly` leaves out added and removed nodes: what changed in the nodes both graphs have.
 */
export function describeChanges(before: GraphShape, after: GraphShape, options: { sharedOnly?: boolean } = {}): string[] {
  const changes: string[] = [];
  if (before.graph.batchDurationMs !== after.graph.batchDurationMs) {
    changes.push(`batch interval changed from ${before.graph.batchDurationMs} ms to ${after.graph.batchDurationMs} ms`);
  }
  const old = new Map(before.graph.nodes.map((n) => [n.id, n]));
  const now = new Map(after.graph.nodes.map((n) => [n.id, n]));
  for (const [id, n] of old) {
    if (!now.has(id) && !options.sharedOnly) changes.push(`${id} (${n.kind}) was removed`);
  }
  for (const [id, n] of now) {
    const o = old.get(id);
    if (!o) {
      if (!options.sharedOnly) changes.push(`${id} (${n.kind}${n.parents.length ? ` of ${n.parents.join(", ")}` : ""}) was added`);
      continue;
    }
    changes.push(...nodeChanges(o, n));
    const ci = before.checkpointIntervals[id];
    const cn = after.checkpointIntervals[id];
    if (ci !== cn) {
      changes.push(`checkpoint interval of ${id} changed from ${ci === undefined ? "none" : `${ci} ms`} to ${cn === undefined ? "none" : `${cn} ms`}`);
    }
  }
  return changes;
}

function nodeChanges(o: NodeDescription, n: NodeDescription): string[] {
  const out: string[] = [];
  const id = n.id;
  if (o.kind !== n.kind) out.push(`${id} changed from ${o.kind} to ${n.kind}`);
  if (JSON.stringify(o.parents) !== JSON.stringify(n.parents)) {
    out.push(`parents of ${id} changed from [${o.parents.join(", ")}] to [${n.parents.join(", ")}]`);
  }
  const keys = new Set([...Object.keys(o), ...Object.keys(n)]);
  for (const k of ["id", "kind", "parents"]) keys.delete(k);
  for (const k of keys) {
    if (JSON.stringify(o[k]) === JSON.stringify(n[k])) continue;
    const name = PARAMETER_NAMES[k] ?? `parameter "${k}"`;
    out.push(`${name} of ${id} changed from ${formatParameter(k, o[k])} to ${formatParameter(k, n[k])}`);
  }
  return out;
}

/**
 * Throws a CheckpointError when the program differs from the checkpointed one: recovering would give the
 * stored state and window contents another meaning, so nothing is reset or reinterpreted silently.
 */
export function verifySameGraph(stored: GraphShape, current: GraphShape, directory: string, checkpointTime: number): void {
  const changes = describeChanges(stored, current);
  if (changes.length === 0) return;
  throw new CheckpointError(
    "GraphChanged",
    `the pipeline differs from the one that wrote the checkpoint of ${checkpointTime} ms in ${directory}: ` +
      `${changes.join("; ")}. ` +
      `Its state and window contents belong to the old pipeline, so it is not recovered. ` +
      `To start fresh, use a new checkpoint directory or delete ${directory}; to recover, run the pipeline as it was. ` +
      `(Operators without a name are identified by kind and creation order: name stateful operators to keep their ids stable.)`,
    { directory, checkpointTime, changes },
  );
}

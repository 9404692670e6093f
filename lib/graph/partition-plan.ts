import type { Node } from "./node.js";
import type { Plan } from "./stage-split.js";

/**
 * How a plan's finalizer work divides over P finalizer partitions (docs/serverless.md "Finalizer partitions").
 *
 * The shard stage splits every boundary's data by `partitionOf(key)`, so right after the boundary each key's data
 * is in exactly one partition. An operator is **partition-local** when running it on each partition's data and
 * concatenating the results gives what running it on all the data gives: narrow steps, unions and plain windows
 * of local streams, and every per-key operator (aggregations, keyed windows, joins and cogroups, keyed state)
 * whose inputs are still split by the key it groups on — co-partitioned, since both sides went through the same
 * hash. A `map` or `flatMap` may change the key, so a per-key operator after one is not local (a second shuffle
 * on another key). A file output (`saveAsTextFiles`, `saveAsObjectFiles`) over a local stream is written by the
 * partitions, each its `part-0000p`, the completion step adding `_SUCCESS` (partitionOutputs). Everything else —
 * the other outputs, `transform`, partition-shaped steps (`glom`, `mapPartitions`,
 * `repartition`), and whatever reads a non-local stream — is the **tail**: it needs every partition's data and
 * runs once per batch in the completion step, over the RDDs the partitions stored for it (the frontier).
 *
 * Why a tail never reads a local node's past: windows and keyed state over local streams are themselves local
 * (a window of a split stream is the split window), so memory across batches is either per partition or the
 * tail's own — the frontier is needed for the batch that produced it only.
 */
export interface PartitionPlan {
  /** Nodes each partition computes over its own keys (boundary nodes included). */
  readonly local: ReadonlySet<Node>;
  /**
   * File outputs (`saveAsTextFiles`, `saveAsObjectFiles`) whose input is local: each partition writes its own
   * `part-0000p` of the batch's directory, and the completion step writes only `_SUCCESS`, once every
   * partition's part is there — so an output's data never goes through one invocation.
   */
  readonly partitionOutputs: readonly Node[];
  /** Local nodes the rest of the tail reads: each partition stores their RDD of the batch for the completion step. */
  readonly frontier: readonly Node[];
  /**
   * Frontier nodes read only by `print(n)`: a partition stores their first n + 1 elements (what the largest
   * print shows, and whether there are more), not the whole RDD.
   */
  readonly printOnly: ReadonlyMap<Node, number>;
  /** The plan's remembered nodes that are local: kept per partition. */
  readonly localRemembered: readonly Node[];
  /** The plan's remembered nodes in the tail: kept by the completion step, as with one partition. */
  readonly tailRemembered: readonly Node[];
}

/** Narrow kinds that keep each element's key where it was, so a stream split by key stays split by key. */
const KEY_PRESERVING: ReadonlySet<string> = new Set(["filter", "mapValues", "flatMapValues", "stateSnapshots"]);
/** Narrow kinds that may change the key: still local (element-wise), but no longer split by key. */
const ELEMENT_WISE: ReadonlySet<string> = new Set(["map", "flatMap", "mappedData"]);
/** Neither grouping nor per element, but a split input gives a split output: local if every input is. */
const PASS_THROUGH: ReadonlySet<string> = new Set(["union", "window"]);
/** Per-key operators: local when every input is split by key; their output is split by key. */
const PER_KEY: ReadonlySet<string> = new Set([
  "reduceByKey",
  "combineByKey",
  "groupByKey",
  "reduceByKeyAndWindow",
  "updateStateByKey",
  "mapWithState",
  "join",
  "leftOuterJoin",
  "rightOuterJoin",
  "fullOuterJoin",
  "cogroup",
]);

/** Outputs that write a batch directory of part files: each partition can write its own part. */
const FILE_OUTPUTS: ReadonlySet<string> = new Set(["saveAsTextFiles", "saveAsObjectFiles"]);

const cache = new WeakMap<Plan, PartitionPlan>();

/**
 * The plan's division over finalizer partitions (the same for every P > 1; with one partition the finalizer
 * does not divide). Every shape divides: an initial state is seeded per partition, with the pairs of its keys.
 */
export function partitionPlan(plan: Plan, nodes: readonly Node[]): PartitionPlan {
  const divided = cache.get(plan) ?? divide(plan, nodes);
  cache.set(plan, divided);
  return divided;
}

function divide(plan: Plan, nodes: readonly Node[]): PartitionPlan {
  // Whether a node is local, and if so whether its output is still split by key.
  const state = new Map<Node, "keyed" | "local" | "tail">();
  for (const b of plan.boundaries) {
    // A chunk is split by key when its elements are pairs (the shard stage routes a pair by its key).
    state.set(b.node, "keyed");
    if (b.kind === "partial") for (const a of b.aliases) state.set(a, "keyed");
  }
  const classify = (n: Node): "keyed" | "local" | "tail" => {
    const known = state.get(n);
    if (known) return known;
    if (plan.stage1.has(n)) return "tail"; // never read past the boundary: a consumer reads the chunk instead
    const inputs = n.dependencies.map(classify);
    let result: "keyed" | "local" | "tail" = "tail";
    if (inputs.length > 0 && inputs.every((s) => s !== "tail")) {
      const allKeyed = inputs.every((s) => s === "keyed");
      if (KEY_PRESERVING.has(n.kind)) result = inputs[0]!;
      else if (ELEMENT_WISE.has(n.kind)) result = "local";
      else if (PASS_THROUGH.has(n.kind)) result = allKeyed ? "keyed" : "local";
      else if (PER_KEY.has(n.kind) && allKeyed) result = "keyed";
    }
    state.set(n, result);
    return result;
  };
  for (const n of nodes) classify(n);

  const local = new Set([...state].filter(([, s]) => s !== "tail").map(([n]) => n));
  const partitionOutputs = nodes.filter((n) => FILE_OUTPUTS.has(n.kind) && n.dependencies.length === 1 && local.has(n.dependencies[0]!));
  // The tail's readers of local nodes: what the completion step runs, so what the frontier must feed.
  const tail = nodes.filter((c) => !local.has(c) && !plan.stage1.has(c) && !partitionOutputs.includes(c));
  const frontier = [...local].filter((n) => tail.some((c) => c.dependencies.includes(n)));
  const printOnly = new Map<Node, number>();
  for (const n of frontier) {
    const readers = tail.filter((c) => c.dependencies.includes(n));
    const nums = readers.map((c) => (c.kind === "print" ? c.describe().num : undefined));
    if (nums.every((x) => typeof x === "number")) printOnly.set(n, Math.max(...(nums as number[])) + 1);
  }
  return {
    local,
    partitionOutputs,
    frontier,
    printOnly,
    localRemembered: plan.remembered.filter((n) => local.has(n)),
    tailRemembered: plan.remembered.filter((n) => !local.has(n)),
  };
}

import { Node } from "../graph/node.js";
import { InputNode } from "../graph/ops/input.js";
import { MapWithStateNode } from "../graph/ops/map-with-state.js";
import { NarrowNode } from "../graph/ops/narrow.js";
import { ReducedWindowNode } from "../graph/ops/reduced-window.js";
import { CombineByKeyNode } from "../graph/ops/shuffle.js";
import { UpdateStateNode } from "../graph/ops/update-state.js";
import { WindowNode } from "../graph/ops/window.js";
import type { StreamGraph } from "../graph/stream-graph.js";
import { ValidationError } from "../core/errors.js";

/**
 * Where a stage-1 result crosses to the finalizer (Spark's stage split at shuffle boundaries):
 * - `partial`: a per-key aggregation right after a narrow chain — shards fold records into combiners with
 *   `createCombiner`/`mergeValue` and the finalizer merges them with `mergeCombiners`;
 * - `chunk`: any other consumer of a narrow chain (window, join, transform, an output) — shards hand over
 *   the chain's elements.
 */
export type Boundary =
  | {
      readonly kind: "partial";
      readonly node: CombineByKeyNode<unknown, unknown, unknown>;
      readonly from: Node;
      /** Other aggregations of `from` that compute exactly what `node` does (same reduce function): supplied from its parts. */
      readonly aliases: Array<CombineByKeyNode<unknown, unknown, unknown>>;
    }
  | { readonly kind: "chunk"; readonly node: Node };

export interface Plan {
  readonly input: InputNode<unknown>;
  /** Nodes computed per record in the shard handler: the input and the narrow chains below it. */
  readonly stage1: ReadonlySet<Node>;
  readonly boundaries: readonly Boundary[];
  /** Nodes whose RDDs later batches read (window parents, incremental windows, keyed state): the finalizer stores them per batch. */
  readonly remembered: readonly Node[];
  /** Whether anything keeps state across batches (windows, keyed state): decides ParallelizationFactor rules. */
  readonly stateful: boolean;
}

/** Splits a started graph (zero time set, durations known) into the shard stage and the finalizer's part. */
export function planGraph(graph: StreamGraph): Plan {
  const reachable = graph.reachable();
  const inputs = reachable.filter((n): n is InputNode<unknown> => n instanceof InputNode);
  if (inputs.length !== 1) {
    throw new ValidationError("PipelineInputCount", `a serverless pipeline reads exactly one Kinesis stream; this graph has ${inputs.length} inputs`);
  }
  const children = new Map<Node, Node[]>();
  for (const n of reachable) for (const d of n.dependencies) children.set(d, [...(children.get(d) ?? []), n]);

  const stage1 = new Set<Node>();
  const boundaries: Boundary[] = [];
  // reduceByKey(add) per batch and reduceByKeyAndWindow(add, …) over the same pairs fold the same partials:
  // one boundary serves both (half the folding in the shard, half the items written).
  const addPartial = (from: Node, node: CombineByKeyNode<unknown, unknown, unknown>) => {
    const twin = boundaries.find(
      (b): b is Extract<Boundary, { kind: "partial" }> =>
        b.kind === "partial" && b.from === from && node.reduceFn !== undefined && b.node.reduceFn === node.reduceFn && b.node.numPartitions === node.numPartitions,
    );
    if (twin) twin.aliases.push(node);
    else boundaries.push({ kind: "partial", node, from, aliases: [] });
  };
  const visit = (n: Node) => {
    stage1.add(n);
    let chunk = false;
    for (const c of children.get(n) ?? []) {
      if (c instanceof NarrowNode) visit(c);
      else if (c instanceof CombineByKeyNode) addPartial(n, c as CombineByKeyNode<unknown, unknown, unknown>);
      else chunk = true;
    }
    if (chunk) boundaries.push({ kind: "chunk", node: n });
  };
  visit(inputs[0]);

  const remembered = new Set<Node>();
  for (const n of reachable) {
    if (n instanceof WindowNode) remembered.add(n.parent);
    if (n instanceof ReducedWindowNode) {
      remembered.add(n.parent);
      if (n.incremental) remembered.add(n);
    }
    if (n instanceof UpdateStateNode || n instanceof MapWithStateNode) remembered.add(n);
  }
  const stateful = reachable.some(
    (n) => n instanceof WindowNode || n instanceof ReducedWindowNode || n instanceof UpdateStateNode || n instanceof MapWithStateNode,
  );
  return { input: inputs[0], stage1, boundaries, remembered: [...remembered], stateful };
}

/** The id a boundary's parts are stored under. */
export function boundaryId(b: Boundary): string {
  return b.node.id;
}

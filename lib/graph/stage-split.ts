import { Node } from "./node.js";
import { InputNode } from "./ops/input.js";
import { MapWithStateNode } from "./ops/map-with-state.js";
import { NarrowNode } from "./ops/narrow.js";
import { ReducedWindowNode } from "./ops/reduced-window.js";
import { CombineByKeyNode } from "./ops/shuffle.js";
import { UpdateStateNode } from "./ops/update-state.js";
import { WindowNode } from "./ops/window.js";
import type { GraphDescription, NodeDescription, StreamGraph } from "./stream-graph.js";
import { IllegalStateError, ValidationError } from "../core/errors.js";

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

/**
 * THE stage-split rule, written once: an operator of a narrow kind runs per record in the shard handler when
 * its parent does; a per-key aggregation of a narrow chain is where shards fold partials; anything else that
 * reads a narrow chain takes its elements (a chunk). The planner applies it to a started graph, graph-compat
 * to a stored graph's description (to refuse a deploy that would cross stages where the running one did not),
 * so both read it from here by kind.
 */
const NARROW_KINDS: ReadonlySet<string> = new Set(["map", "flatMap", "filter", "mapValues", "flatMapValues"]);
const AGGREGATION_KINDS: ReadonlySet<string> = new Set(["reduceByKey", "combineByKey", "groupByKey"]);

/** Where the rule puts the stage boundaries of a graph of any shape, from its inputs down. */
function splitStages<N>(inputs: readonly N[], childrenOf: (n: N) => readonly N[], kindOf: (n: N) => string) {
  const stage1 = new Set<N>();
  const crossings: Array<{ readonly kind: "partial"; readonly node: N; readonly from: N } | { readonly kind: "chunk"; readonly node: N }> = [];
  const visit = (n: N) => {
    stage1.add(n);
    let chunk = false;
    for (const c of childrenOf(n)) {
      const kind = kindOf(c);
      if (NARROW_KINDS.has(kind)) visit(c);
      else if (AGGREGATION_KINDS.has(kind)) crossings.push({ kind: "partial", node: c, from: n });
      else chunk = true;
    }
    if (chunk) crossings.push({ kind: "chunk", node: n });
  };
  for (const i of inputs) visit(i);
  return { stage1, crossings };
}

/** The ids of the nodes whose parts shards write, in a described graph (what graph-compat compares across deploys). */
export function boundaryIdsOf(graph: GraphDescription): Set<string> {
  const children = new Map<string, NodeDescription[]>();
  for (const n of graph.nodes) for (const p of n.parents) children.set(p, [...(children.get(p) ?? []), n]);
  const inputs = graph.nodes.filter((n) => n.parents.length === 0);
  const { crossings } = splitStages<NodeDescription>(inputs, (n) => children.get(n.id) ?? [], (n) => n.kind);
  return new Set(crossings.map((c) => c.node.id));
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
  const { stage1, crossings } = splitStages<Node>(inputs, (n) => children.get(n) ?? [], (n) => n.kind);

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
  for (const c of crossings) {
    if (c.kind === "chunk") boundaries.push(c);
    else if (c.node instanceof CombineByKeyNode) addPartial(c.from, c.node as CombineByKeyNode<unknown, unknown, unknown>);
    else throw new IllegalStateError("NotAnAggregation", `${c.node.label} is of kind ${c.node.kind} but does not fold per key: the stage split cannot cut there`);
  }
  for (const n of stage1) {
    if (n !== inputs[0] && !(n instanceof NarrowNode)) {
      throw new IllegalStateError("NotNarrow", `${n.label} is of kind ${n.kind} but is not a per-element step: the shard stage cannot run it`);
    }
  }

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

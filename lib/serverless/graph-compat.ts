import { CheckpointError } from "../core/errors.js";
import { describeChanges, type GraphShape } from "../exec/graph-diff.js";
import { boundaryIdsOf } from "../graph/stage-split.js";
import type { GraphDescription, StreamGraph } from "../graph/stream-graph.js";
import type { PipelineStatus } from "../pipeline-store/pipeline-store.js";
import type { Pipeline } from "../api/define-pipeline.js";
import { PREFIXES, type RuntimeDeps } from "./runtime-deps.js";

/**
 * Which deploys a running pipeline accepts. Stored windows, state and in-flight parts are keyed by operator
 * ids, so a new graph is compatible when every id it shares with the running one still means the same thing
 * (same kind, parents and parameters). Added operators start empty, removed ones leave their state behind;
 * an operator whose id now names another computation — an unnamed one shifted by an edit above it, a changed
 * window — is refused with the list of what changed. Naming stateful operators keeps their ids, and so their
 * state, across unrelated edits (Kafka Streams' rule for store names).
 *
 * One more condition keeps results exact: the new graph may not cross from the shard stage to the finalizer
 * where the running one did not. Records already committed by the running code wrote no part for such a
 * boundary, so the batches around the deploy would be counted short there. New operators on the finalizer's
 * side (an output, a transform of an existing aggregation, a new window or state, which start empty as in a
 * fresh Spark context) are fine.
 */
export function graphShape(graph: StreamGraph): GraphShape {
  const checkpointIntervals: Record<string, number> = {};
  for (const n of graph.reachable()) if (n.checkpointDuration) checkpointIntervals[n.id] = n.checkpointDuration.milliseconds;
  return { graph: graph.describe(), checkpointIntervals };
}

function shapeKey(pipeline: string, hash: string): string {
  return `${PREFIXES.checkpoint}${pipeline}/graphs/${hash}.json`;
}

/** Keeps the graph a status names, so a later deploy can be compared with it. */
export async function recordGraph(pipeline: Pipeline<unknown>, graph: StreamGraph, deps: RuntimeDeps): Promise<void> {
  await deps.objects.put(shapeKey(pipeline.name, graph.hash()), JSON.stringify(graphShape(graph)));
}

/**
 * The status, switched to this deployment's graph when it is compatible with the running one; a CheckpointError
 * naming each conflicting change otherwise (before anything is committed or finalized with the new code).
 */
export async function adoptGraph<T>(pipeline: Pipeline<T>, graph: StreamGraph, status: PipelineStatus, deps: RuntimeDeps): Promise<PipelineStatus> {
  const hash = graph.hash();
  if (status.graphHash === hash) return status;
  const storedText = await deps.objects.get(shapeKey(pipeline.name, status.graphHash));
  const current = graphShape(graph);
  const stored = storedText === undefined ? undefined : (JSON.parse(storedText) as GraphShape);
  const conflicts = stored === undefined
    ? [`the graph it was started with (${status.graphHash}) is not in ${shapeKey(pipeline.name, status.graphHash)}, so the change cannot be checked`]
    : [...describeChanges(stored, current, { sharedOnly: true }), ...newBoundaries(stored.graph, current.graph)];
  if (conflicts.length > 0) {
    throw new CheckpointError(
      "GraphChanged",
      `pipeline "${pipeline.name}" runs graph ${status.graphHash} and this deployment's graph ${hash} changes what its stored windows and state mean: ` +
        `${conflicts.join("; ")}. Deploy the pipeline as it was, name the stateful operators so that unrelated edits do not move their ids ` +
        `(reduceByKeyAndWindow({ name }), updateStateByKey({ name }), StateSpec.name()), or deploy under a new pipeline name to start fresh.`,
      { stored: status.graphHash, current: hash, conflicts },
    );
  }
  await deps.objects.put(shapeKey(pipeline.name, hash), JSON.stringify(current));
  if (!(await deps.store.replaceGraphHash(status.graphHash, hash))) {
    // Another function of the same deployment switched it first, or the deploy was rolled back meanwhile.
    const again = (await deps.store.getStatus())!;
    return again.graphHash === hash ? again : adoptGraph(pipeline, graph, again, deps);
  }
  deps.log(`sparkless: pipeline "${pipeline.name}" now runs graph ${hash} (was ${status.graphHash}; the operators both have are unchanged)`);
  return { ...status, graphHash: hash };
}

function newBoundaries(before: GraphDescription, after: GraphDescription): string[] {
  const old = boundaryIdsOf(before);
  return [...boundaryIdsOf(after)]
    .filter((id) => !old.has(id))
    .map((id) => `${id} would be a new crossing from the shard stage to the finalizer, for which records already committed wrote nothing`);
}

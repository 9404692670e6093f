import { Evaluation, type BatchOutputs, type Supplier } from "../graph/evaluation.js";
import { RDD } from "../core/rdd.js";
import { partitionOf } from "../core/partitioner.js";
import { UpdateStateNode } from "../graph/ops/update-state.js";
import { MapWithStateNode } from "../graph/ops/map-with-state.js";
import { Time } from "../core/duration.js";
import { partitionPlan } from "../graph/partition-plan.js";
import { IllegalStateError } from "../core/errors.js";
import type { BuiltPipeline, Pipeline } from "../api/define-pipeline.js";
import type { ShardProgress } from "../pipeline-store/pipeline-store.js";
import type { RuntimeDeps } from "./runtime-deps.js";
import type { Node } from "../graph/node.js";
import type { ForEachNode } from "../graph/ops/output.js";
import { outputDirectory } from "../contract/bucket.js";
import { partFileName } from "../io/text-file-sink.js";
import {
  batchFailure,
  boundaryRDDs,
  type FinalizeOptions,
  type FinalizeResult,
  keyedStateBatch,
  type Fence,
  LEASE_MS,
  loadMemory,
  runFinalizer,
  storeMemory,
  storeOutputWritten,
  supplierOf,
} from "./finalizer.js";

/**
 * One finalizer partition's share of the batches (docs/serverless.md "Finalizer partitions"): under partition
 * p's own lease and lastFinalized, batch after batch in order, it merges the parts the shards wrote for its keys,
 * runs the partition-local part of the graph (shuffles, keyed windows, joins, state) over them with its own node
 * memory, writes its part file of each file output over local data, and stores the frontier RDDs the
 * completion step reads. Every other output needs every partition and runs once per batch in the completion
 * step (finalizeReady with P > 1), which also writes the file outputs' `_SUCCESS`.
 *
 * The exactly-once argument is the single finalizer's, per partition: T's inputs (committed parts of p, p's
 * memory of earlier batches) never change once T is complete, every write is fenced by p's token, and p's
 * lastFinalized advances only after everything of T is stored — a crash re-runs T to the same values.
 */
export async function finalizePartition<T>(pipeline: Pipeline<T>, deps: RuntimeDeps, partition: number, options: FinalizeOptions = {}): Promise<FinalizeResult> {
  if (!Number.isInteger(partition) || partition < 0 || partition >= pipeline.partitions) {
    throw new IllegalStateError(
      "NoSuchPartition",
      `finalizer partition ${partition} does not exist: pipeline ${pipeline.name} has finalizerPartitions: ${pipeline.partitions} (partitions 0 to ${pipeline.partitions - 1})`,
      { partition, partitions: pipeline.partitions },
    );
  }
  return runFinalizer(pipeline, deps, options, {
    acquire: (owner) => deps.store.acquirePartitionLease(partition, owner, deps.now(), LEASE_MS),
    lastFinalized: async (status) => (await deps.store.getPartitionFinalized(partition)) ?? status.zeroTime,
    batch: (built, fence, time, progress) => finalizePartitionBatch(pipeline, built, deps, fence, time, progress, partition),
    advance: (from, to, token) => deps.store.advanceStatus(from, to, token, partition),
  });
}

/**
 * A partition's outputs: its part file of each file output whose input is local (the plan's partitionOutputs),
 * `part-0000p` holding the partition's elements in order — the bytes the completion step would have written for
 * partition p from the frontier, so a re-run or a racing finalizer writes the same object. `written` records the
 * directory. Any other output reaching here means the partition plan put it in the local part.
 */
function partitionOutputs(pipeline: Pipeline<unknown>, deps: RuntimeDeps, fence: Fence, partition: number, written: { path?: string }): BatchOutputs {
  return {
    print: () => {
      throw new IllegalStateError("OutputInPartition", "print ran in a finalizer partition: it runs in the completion step");
    },
    writeBatch: async (path, parts) => {
      await fence.check();
      const lines = parts.flat();
      await deps.objects.put(`${outputDirectory(pipeline.name, path)}/${partFileName(partition)}`, lines.length ? lines.join("\n") + "\n" : "");
      written.path = path;
    },
  };
}

/**
 * `supply`, with the local state operators that start from an initial state (updateStateByKey's `initialRDD`,
 * mapWithState's `StateSpec.initialState` kept as a snapshot) seeded with this partition's keys only — the
 * pairs whose key `owns` — in the batch the local engine seeds them in: the first with no previous state. The
 * partitions together hold each initial pair exactly once, where its key's data goes. (mapWithState kept per
 * key filters its initial state in KeyedStateBatch.)
 */
function seededWithOwnKeys(supply: Supplier, local: ReadonlySet<Node>, ev: () => Evaluation, owns: (key: unknown) => boolean): Supplier {
  return (node, at) => {
    const given = supply(node, at);
    if (given || !local.has(node) || !node.isTimeValid(at)) return given;
    if (node instanceof UpdateStateNode && node.initialRDD !== undefined) {
      const previous = ev().getOrCompute(node, at.minus(node.slideDuration));
      const data = ev().getOrCompute(node.parent, at);
      if (previous !== undefined || data === undefined) return undefined; // as the node computes it
      const initial = node.initialRDD.filter((pair) => owns((pair as [unknown, unknown])[0]));
      return { rdd: RDD.of(node.apply(at, initial, data)) };
    }
    if (node instanceof MapWithStateNode && node.spec.getInitialStateRDD() !== undefined) {
      if (ev().getOrCompute(node, at.minus(node.slideDuration)) !== undefined) return undefined;
      return { rdd: RDD.of([node.applyPartial(at, undefined, ev().getOrCompute(node.parent, at), owns).record]) };
    }
    return undefined;
  };
}

async function finalizePartitionBatch<T>(
  pipeline: Pipeline<T>,
  built: BuiltPipeline<T>,
  deps: RuntimeDeps,
  fence: Fence,
  time: number,
  progress: readonly ShardProgress[],
  partition: number,
): Promise<Array<{ time: number; error: string }>> {
  const { ssc, plan } = built;
  const divided = partitionPlan(plan, ssc.graph.reachable());
  const supplied = await boundaryRDDs(plan, deps, time, progress, partition);
  // mapWithState's state per key, of this partition's keys only.
  const keyed = keyedStateBatch(divided.localRemembered, deps, partition, pipeline.partitions);
  const memory = await loadMemory(keyed.others(divided.localRemembered), time, deps, partition);
  const batchTime = new Time(time);
  const written: { path?: string } = {};
  const outputs = partitionOutputs(pipeline as Pipeline<unknown>, deps, fence, partition, written);
  const owns = (key: unknown) => partitionOf(key, pipeline.partitions) === partition;
  const ev: Evaluation = new Evaluation(
    ssc.graph,
    outputs,
    keyed.around(seededWithOwnKeys(supplierOf(plan, divided.localRemembered, supplied, memory, time), divided.local, () => ev, owns), batchTime),
  );
  await keyed.prepare(ev, batchTime);
  const failures: Array<{ time: number; error: string }> = [];
  const fail = batchFailure(pipeline, deps, fence, time, failures, partition);
  // Each file output over local data writes this partition's part, then says so (the directory, or null when
  // the output had nothing at this time) for the completion step, which writes `_SUCCESS` once every
  // partition said so. A job that failed says nothing: the directory never gets its `_SUCCESS`.
  const done: Array<{ node: Node; path: string | null }> = [];
  for (const output of divided.partitionOutputs) {
    if (!output.isTimeValid(batchTime)) continue;
    written.path = undefined;
    try {
      await (output as ForEachNode<unknown>).generateJob(batchTime, ev)?.run();
      done.push({ node: output, path: written.path ?? null });
    } catch (e) {
      await fail(e);
    }
  }
  // Computing the frontier computes everything local the tail needs; the remembered nodes are what later
  // batches of this partition need. A frontier node that fails is not stored: the completion step fails the
  // jobs that read it, as one finalizer would.
  await keyed.commit(() => fence.check(), fence.token, fail);
  await storeMemory(ev, keyed.others(divided.localRemembered), time, deps, fence, fail, partition, divided.frontier, divided.printOnly);
  await Promise.all(done.map((d) => storeOutputWritten(deps, fence, d.node, time, partition, d.path)));
  return failures;
}

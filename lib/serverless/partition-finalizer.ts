import { Evaluation, type BatchOutputs } from "../graph/evaluation.js";
import { Time } from "../core/duration.js";
import { partitionPlan } from "../graph/partition-plan.js";
import { IllegalStateError } from "../core/errors.js";
import type { BuiltPipeline, Pipeline } from "../api/define-pipeline.js";
import type { ShardProgress } from "../pipeline-store/pipeline-store.js";
import type { RuntimeDeps } from "./runtime-deps.js";
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
  supplierOf,
} from "./finalizer.js";

/**
 * One finalizer partition's share of the batches (docs/serverless.md "Finalizer partitions"): under partition
 * p's own lease and lastFinalized, batch after batch in order, it merges the parts the shards wrote for its keys,
 * runs the partition-local part of the graph (shuffles, keyed windows, joins, state) over them with its own node
 * memory, and stores the frontier RDDs the completion step reads. It runs no output: outputs need every
 * partition and run once per batch in the completion step (finalizeReady with P > 1).
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

/** Outputs never run in a partition; reaching one means the partition plan put an output in the local part. */
const NO_OUTPUTS: BatchOutputs = {
  print: () => {
    throw new IllegalStateError("OutputInPartition", "an output ran in a finalizer partition: outputs run in the completion step");
  },
  writeBatch: async () => {
    throw new IllegalStateError("OutputInPartition", "an output ran in a finalizer partition: outputs run in the completion step");
  },
};

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
  const divided = partitionPlan(plan, ssc.graph.reachable(), pipeline.partitions);
  const supplied = await boundaryRDDs(plan, deps, time, progress, partition);
  // mapWithState's state per key, of this partition's keys only.
  const keyed = keyedStateBatch(divided.localRemembered, deps, partition, pipeline.partitions);
  const memory = await loadMemory(keyed.others(divided.localRemembered), time, deps, partition);
  const batchTime = new Time(time);
  const ev = new Evaluation(ssc.graph, NO_OUTPUTS, keyed.around(supplierOf(plan, divided.localRemembered, supplied, memory, time), batchTime));
  await keyed.prepare(ev, batchTime);
  const failures: Array<{ time: number; error: string }> = [];
  const fail = batchFailure(pipeline, deps, fence, time, failures, partition);
  // Computing the frontier computes everything local the tail needs; the remembered nodes are what later
  // batches of this partition need. A frontier node that fails is not stored: the completion step fails the
  // jobs that read it, as one finalizer would.
  await keyed.commit(() => fence.check(), fence.token, fail);
  await storeMemory(ev, keyed.others(divided.localRemembered), time, deps, fence, fail, partition, divided.frontier, divided.printOnly);
  return failures;
}

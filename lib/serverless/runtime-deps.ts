import type { ObjectStore } from "../io/object-store.js";
import type { PartitionDirectory as ShardDirectory } from "../io/ordered-log.js";
import type { KeyedStateStore } from "../pipeline-store/keyed-state-store.js";
import type { PipelineStore } from "../pipeline-store/pipeline-store.js";

/** The log's partitions, as the runtime sees them (Kinesis shards today; see io/ordered-log.ts). */
export type { LogPartition as ShardInfo, PartitionDirectory as ShardDirectory, ProbeResult } from "../io/ordered-log.js";

/** Everything the serverless runtime talks to, injected (Lambda builds them once per container). */
export interface RuntimeDeps {
  readonly store: PipelineStore;
  readonly objects: ObjectStore;
  readonly shards: ShardDirectory;
  /** Epoch ms. */
  readonly now: () => number;
  /** A line to the function's log (CloudWatch): printed batches, EMF metrics. */
  readonly log: (text: string) => void;
  /**
   * Where mapWithState keeps its state per key (docs/serverless.md, "Keyed state per key").
   * @default - the pipeline store's own (`store.keyedState()`); with neither, mapWithState's state is node memory, one snapshot per batch
   */
  readonly keyedState?: KeyedStateStore;
  /** A fresh id for each invocation's writes. @default - a random UUID */
  readonly newAttemptId?: () => string;
  /**
   * Asks the finalizer function to run for finalizer partition `partition`, asynchronously (Lambda `Invoke` with
   * `InvocationType: "Event"`): resolves once the request is accepted, not when the partition is done. Used with
   * `finalizerPartitions` > 1 by the ticker and by a commit that completed a batch.
   * @default - none: the calling invocation finalizes every partition itself, one after the other
   */
  readonly invokeFinalizer?: (partition: number) => Promise<void>;
}

/** The bucket's prefixes, from the contract (the construct grants by them); each is followed by the pipeline name. */
export { BUCKET_PREFIXES as PREFIXES } from "../contract/index.js";

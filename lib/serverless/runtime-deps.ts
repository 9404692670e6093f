import type { ObjectStore } from "../io/object-store.js";
import type { PipelineStore } from "../state/pipeline-store.js";

/** A shard as the stream lists it. */
export interface ShardInfo {
  readonly shardId: string;
  readonly parentShardId?: string;
  readonly adjacentParentShardId?: string;
  /** The shard no longer takes new records (it was split or merged). */
  readonly closed: boolean;
}

/** What a probe after the committed sequence number found. */
export interface ProbeResult {
  readonly hasRecords: boolean;
  /** No next iterator: the shard is closed and read to its end. */
  readonly ended: boolean;
}

/** The stream's shards, for the finalizer (is every shard accounted for?) and the ticker (probes). */
export interface ShardDirectory {
  list(): Promise<ShardInfo[]>;
  /** Looks for records after `afterSeq` (from the start when undefined). */
  probe(shardId: string, afterSeq: string | undefined): Promise<ProbeResult>;
}

/** Everything the serverless runtime talks to, injected (Lambda builds them once per container). */
export interface RuntimeDeps {
  readonly store: PipelineStore;
  readonly objects: ObjectStore;
  readonly shards: ShardDirectory;
  /** Epoch ms. */
  readonly now: () => number;
  /** A line to the function's log (CloudWatch): printed batches, EMF metrics. */
  readonly log: (text: string) => void;
  /** A fresh id for each invocation's writes. @default - a random UUID */
  readonly newAttemptId?: () => string;
}

/** S3 prefixes (docs/architecture.md "Storage"); each is followed by the pipeline name. */
export const PREFIXES = {
  output: "output/",
  checkpoint: "checkpoint/",
  deadLetter: "dead-letter/",
  late: "late/",
} as const;

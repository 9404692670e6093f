/**
 * What the serverless runtime keeps, as the commit protocol needs it (docs/architecture.md "How a pipeline runs on
 * AWS"). Two implementations share one contract test: DynamoDB (spilling large payloads to S3) and an
 * in-memory one for fast property tests. Every method that says "conditional" must be a single-item conditional write
 * in DynamoDB: that, and nothing else, is what makes the protocol exactly-once.
 */

import type { KeyedStateStore } from "./keyed-state-store.js";

/** One shard's progress: how far its records are committed and what they say about time. */
export interface ShardProgress {
  readonly shardId: string;
  /** Sequence number of the last committed record (a decimal string; compare as BigInt). */
  readonly seq?: string;
  /** Every future record of this shard belongs to a batch ending after this time (epoch ms). */
  readonly watermark: number;
  /** The shard is closed and every record of it is committed (SHARD_END was reached). */
  readonly drained: boolean;
  /**
   * The shard's latest commit: its attempt and the batch times it wrote parts for. Only the latest is kept here
   * (the item stays small however long finalization stalls); the next invocation of the shard writes its
   * {@link CommitMarker}s before its own commit replaces it. A batch's committed attempts are the markers of
   * its time plus this one when it names the time.
   */
  readonly lastCommit?: { readonly attemptId: string; readonly times: readonly number[] };
}

/** That attempt `attemptId` of shard `shardId` committed parts for batch `time` (an item per marker). */
export interface CommitMarker {
  readonly shardId: string;
  readonly time: number;
  readonly attemptId: string;
}

/**
 * The finalizer's lease. `token` grows with every acquisition (never with a renewal, never reset by a release):
 * the store refuses a write fenced with a token older than the current one.
 */
export interface Lease {
  readonly owner: string;
  readonly token: number;
  /** Epoch ms. The holder stops writing before this, less a margin, unless it renewed. */
  readonly expiresAt: number;
  /** The finalizer partition whose lease this is; absent: the pipeline's own (docs/serverless.md "Finalizer partitions"). */
  readonly partition?: number;
}

/** The pipeline's own record: when it started and how far it has finalized. */
export interface PipelineStatus {
  /** The time before the first batch (Spark's zero time). */
  readonly zeroTime: number;
  /** The last batch time whose outputs are complete; `zeroTime` before the first. */
  readonly lastFinalized: number;
  /** The graph hash the pipeline runs with (a deploy that changes it is refused). */
  readonly graphHash: string;
  /** The finalizer partitions the pipeline was started with; absent: 1 (a change is refused until repartitioning exists). */
  readonly partitions?: number;
}

/**
 * One finalizer partition's progress (P > 1): how far it finalized its keys, and who holds its lease. With one
 * partition, `listPartitionStatus` lists partition 0 from the pipeline's own status and lease.
 */
export interface PartitionStatus {
  readonly partition: number;
  /** The last batch time this partition finalized; the pipeline's zero time before its first. */
  readonly lastFinalized: number;
  readonly leaseOwner?: string;
  /** Epoch ms; at or before now, the lease is free. */
  readonly leaseExpiresAt?: number;
}

/** What one invocation wrote for one (boundary node, batch time): partial aggregates or elements. */
export interface Part {
  readonly time: number;
  readonly nodeId: string;
  readonly shardId: string;
  readonly attemptId: string;
  /** Sequence number of the first record that contributed (orders chunks of a shard). */
  readonly firstSeq: string;
  /** The encoded payload (see codec.ts). */
  readonly payload: string;
  /** The finalizer partition whose keys it holds (`partitionOf`). @default 0 */
  readonly partition?: number;
}

export interface CommitRequest {
  readonly shardId: string;
  /** The progress this invocation started from: the commit succeeds only if it is still the stored one. */
  readonly expected: { readonly seq?: string; readonly watermark: number };
  readonly seq: string;
  readonly watermark: number;
  /** Batch times this invocation wrote parts for. */
  readonly times: readonly number[];
  readonly attemptId: string;
}

export interface PipelineStore {
  getStatus(): Promise<PipelineStatus | undefined>;
  /** Conditional: only if there is no status yet. False if there was. */
  createStatus(status: PipelineStatus): Promise<boolean>;
  /**
   * Conditional: only if `lastFinalized` is still `from` and the lease's token is still `token` (no other
   * finalizer took the lease since). False otherwise. With `partition`, that finalizer partition's own status
   * (its `lastFinalized` is the zero time until first advanced, so the first advance is conditional on the token only).
   */
  advanceStatus(from: number, to: number, token: number, partition?: number): Promise<boolean>;
  /** How far finalizer partition `partition` has finalized; undefined before its first batch. */
  getPartitionFinalized(partition: number): Promise<number | undefined>;
  /** Every finalizer partition's progress and lease, by partition (for `sparkless status`); [] before the status exists. */
  listPartitionStatus(): Promise<PartitionStatus[]>;
  /** Conditional: only if the status's `graphHash` is still `from` (a deploy whose graph is compatible). */
  replaceGraphHash(from: string, to: string): Promise<boolean>;

  getProgress(shardId: string): Promise<ShardProgress | undefined>;
  listProgress(): Promise<ShardProgress[]>;
  /**
   * The commit point of an invocation. Conditional: the stored progress still equals `expected` — the same
   * seq (or, when `expected.seq` is undefined, no seq: no item at all, or one a probe created) and the same
   * watermark (absent item = watermark 0). Sets the new seq and watermark, and `lastCommit` to this attempt
   * and `times` (replacing the previous one, whose markers the caller wrote first). Returns false, changing
   * nothing, if the condition failed.
   */
  commit(request: CommitRequest): Promise<boolean>;
  /**
   * A probe's finding about an idle or ended shard: raises the watermark and/or marks it drained.
   * Conditional on `expected` exactly as `commit` (so a probe never overtakes a commit); creates the item
   * when there is none and `expected` says so.
   */
  advanceWatermark(shardId: string, expected: { seq?: string; watermark: number }, watermark: number, drained: boolean): Promise<boolean>;

  /**
   * Unconditional puts, in one batch: parts (a part's key includes its attempt id, so retries never overwrite
   * committed parts) and commit markers (idempotent: one key per marker).
   */
  putParts(parts: readonly Part[], markers?: readonly CommitMarker[]): Promise<void>;
  /** Every part written for `time` and finalizer partition `partition` (default 0), committed or not (the caller keeps those of committed attempts). */
  getParts(time: number, partition?: number): Promise<Part[]>;
  /** Every commit marker of `time`. Read after the progress: a marker is written before its commit leaves it. */
  getCommitMarkers(time: number): Promise<CommitMarker[]>;

  /**
   * A node's remembered RDD for a batch time, encoded, written by the finalizer holding lease `token`.
   * Conditional: refused (false) if a holder of a later token wrote this (node, time) already. A re-run by the
   * same holder overwrites with the same value. With `partition`, that finalizer partition's memory, fenced by
   * its own lease's tokens.
   */
  putMemory(nodeId: string, time: number, payload: string, expiresAt: number, token: number, partition?: number): Promise<boolean>;
  getMemory(nodeId: string, time: number, partition?: number): Promise<string | undefined>;

  /**
   * Conditional: takes the lease if it is free or expired at `now`, with the next token; undefined if another
   * holds it or there is no status yet (the lease lives on the status item, where `advanceStatus` checks it).
   */
  acquireLease(owner: string, now: number, ttlMs: number): Promise<Lease | undefined>;
  /**
   * Conditional: finalizer partition `partition`'s own lease (its own item and token sequence), taken if free or
   * expired at `now`. Renewed and released with `renewLease`/`releaseLease`, which read `lease.partition`.
   */
  acquirePartitionLease(partition: number, owner: string, now: number, ttlMs: number): Promise<Lease | undefined>;
  /** Conditional: extends `lease` to `now + ttlMs` if its token is still the current one; undefined otherwise. */
  renewLease(lease: Lease, now: number, ttlMs: number): Promise<Lease | undefined>;
  /** Conditional: frees the lease if its token is still `lease.token` (never another holder's). Keeps the token. */
  releaseLease(lease: Lease): Promise<void>;

  /**
   * The per-key state store beside this one (same table, same pipeline): where mapWithState keeps its state.
   * Optional so that a store without one keeps mapWithState's state as node memory snapshots.
   */
  keyedState?(): KeyedStateStore;
}

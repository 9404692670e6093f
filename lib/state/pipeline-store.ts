/**
 * What the serverless runtime keeps, as the commit protocol needs it (docs/architecture.md "How a pipeline runs on
 * AWS"). Two implementations share one contract test: DynamoDB (spilling large payloads to S3) and an
 * in-memory one for fast property tests. Every method that says "conditional" must be a single-item conditional write
 * in DynamoDB: that, and nothing else, is what makes the protocol exactly-once.
 */

/** One shard's progress: how far its records are committed and what they say about time. */
export interface ShardProgress {
  readonly shardId: string;
  /** Sequence number of the last committed record (a decimal string; compare as BigInt). */
  readonly seq?: string;
  /** Every future record of this shard belongs to a batch ending after this time (epoch ms). */
  readonly watermark: number;
  /** The shard is closed and every record of it is committed (SHARD_END was reached). */
  readonly drained: boolean;
  /** Per batch time (ms), the attempt ids whose parts are committed for it. */
  readonly committed: Readonly<Record<number, readonly string[]>>;
}

/** The pipeline's own record: when it started and how far it has finalized. */
export interface PipelineStatus {
  /** The time before the first batch (Spark's zero time). */
  readonly zeroTime: number;
  /** The last batch time whose outputs are complete; `zeroTime` before the first. */
  readonly lastFinalized: number;
  /** The graph hash the pipeline runs with (a deploy that changes it is refused). */
  readonly graphHash: string;
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
  /** Conditional: only if `lastFinalized` is still `from`. False otherwise. */
  advanceStatus(from: number, to: number): Promise<boolean>;
  /** Conditional: only if the status's `graphHash` is still `from` (a deploy whose graph is compatible). */
  replaceGraphHash(from: string, to: string): Promise<boolean>;

  getProgress(shardId: string): Promise<ShardProgress | undefined>;
  listProgress(): Promise<ShardProgress[]>;
  /**
   * The commit point of an invocation. Conditional: the stored progress still equals `expected` — the same
   * seq (or, when `expected.seq` is undefined, no seq: no item at all, or one a probe created) and the same
   * watermark (absent item = watermark 0). Sets the new seq and watermark and adds `attemptId` to
   * `committed[t]` for each of `times`. Returns false, changing nothing, if the condition failed.
   */
  commit(request: CommitRequest): Promise<boolean>;
  /**
   * A probe's finding about an idle or ended shard: raises the watermark and/or marks it drained.
   * Conditional on `expected` exactly as `commit` (so a probe never overtakes a commit); creates the item
   * when there is none and `expected` says so.
   */
  advanceWatermark(shardId: string, expected: { seq?: string; watermark: number }, watermark: number, drained: boolean): Promise<boolean>;
  /** Drops `committed[time]` once `time` is finalized (idempotent). */
  forgetCommitted(shardId: string, time: number): Promise<void>;

  /** Unconditional put: a part's key includes its attempt id, so retries never overwrite committed parts. */
  putParts(parts: readonly Part[]): Promise<void>;
  /** Every part written for `time`, committed or not (the caller filters by `committed`). */
  getParts(time: number): Promise<Part[]>;

  /** A node's remembered RDD for a batch time, encoded. Deterministic key: a re-run overwrites with the same. */
  putMemory(nodeId: string, time: number, payload: string, expiresAt: number): Promise<void>;
  getMemory(nodeId: string, time: number): Promise<string | undefined>;

  /** Conditional: takes the lease if free or expired. */
  acquireLease(owner: string, now: number, ttlMs: number): Promise<boolean>;
  releaseLease(owner: string): Promise<void>;
}

import { SparklessError } from "../core/errors.js";
import type { CommitRequest, Part, ShardProgress } from "../pipeline-store/pipeline-store.js";
import type { RuntimeDeps } from "./runtime-deps.js";
import type { Fold } from "./shard-folds.js";

/**
 * The shard stage's commit (docs/architecture.md "Commit protocol", steps 1 and 2): the folds as parts under an
 * attempt id unique to the invocation, in one batch write with the previous commit's markers; dead letters and
 * late records beside them; then one conditional update of the partition's progress item.
 */

/**
 * The invocation's commit lost a race (a duplicate delivery committed first, or a probe moved the watermark).
 * Thrown so Lambda retries the batch: the retry skips what the winner committed.
 */
export class CommitConflictError extends SparklessError {
  constructor(shardId: string) {
    super(
      "CommitConflict",
      `shard ${shardId}: progress changed while this batch ran (a duplicate delivery or an idle probe); failing so Lambda retries — committed records are skipped on retry`,
      { shardId },
    );
  }
}

/** What one partition's invocation commits. */
export interface ShardCommit {
  readonly shardId: string;
  /** The progress the invocation started from (undefined: the partition's first commit). */
  readonly progress: ShardProgress | undefined;
  readonly attemptId: string;
  readonly folds: readonly Fold[];
  /** Each fold's encoded payload, in the order of `folds`. */
  readonly payloads: readonly string[];
  readonly objects: ReadonlyArray<{ key: string; body: string }>;
  /** The last record taken, and the watermark after it. */
  readonly seq: string;
  readonly watermark: number;
}

/** Writes parts, markers and objects, then commits conditionally; throws {@link CommitConflictError} on a lost race. */
export async function commitShard(deps: RuntimeDeps, c: ShardCommit): Promise<void> {
  const { shardId, attemptId, progress } = c;
  const parts: Part[] = c.folds.map((f, i) => ({
    time: f.time,
    nodeId: f.nodeId,
    shardId,
    attemptId,
    firstSeq: f.firstSeq,
    payload: c.payloads[i]!,
    ...(f.partition !== undefined ? { partition: f.partition } : {}),
  }));
  // The previous commit's markers, in the same batch write as this invocation's parts: once this commit
  // replaces it as the shard's latest, the markers are what says that its parts count.
  const last = progress?.lastCommit;
  const markers = last ? last.times.map((time) => ({ shardId, time, attemptId: last.attemptId })) : [];
  if (parts.length || markers.length) await deps.store.putParts(parts, markers);
  await Promise.all(c.objects.map((o) => deps.objects.put(o.key, o.body)));
  const request: CommitRequest = {
    shardId,
    expected: { seq: progress?.seq, watermark: progress?.watermark ?? 0 },
    seq: c.seq,
    watermark: c.watermark,
    times: [...new Set(parts.map((p) => p.time))].sort((a, b) => a - b),
    attemptId,
  };
  if (!(await deps.store.commit(request))) throw new CommitConflictError(shardId);
}

/** CloudWatch Embedded Metric Format: the log line is the metric (no PutMetricData call, no extra latency). */
export function metricLine(pipeline: string, deadLetters: number, late: number): string {
  return JSON.stringify({
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [{ Namespace: "Sparkless", Dimensions: [["Pipeline"]], Metrics: [{ Name: "DeadLetterRecords", Unit: "Count" }, { Name: "LateRecords", Unit: "Count" }] }],
    },
    Pipeline: pipeline,
    DeadLetterRecords: deadLetters,
    LateRecords: late,
  });
}

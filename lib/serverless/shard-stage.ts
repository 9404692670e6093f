import { randomUUID } from "node:crypto";
import { EncodingError } from "../core/errors.js";
import type { LogBatch } from "../io/ordered-log.js";
import type { PipelineStatus } from "../pipeline-store/pipeline-store.js";
import type { Pipeline } from "../api/define-pipeline.js";
import type { InvocationContextLike } from "./kinesis-event.js";
import type { Plan } from "../graph/stage-split.js";
import type { RuntimeDeps } from "./runtime-deps.js";
import { commitShard, metricLine } from "./shard-commit.js";
import { encodeFolds } from "./shard-folds.js";
import { type Ingested, ingest } from "./shard-ingest.js";

export { CommitConflictError, metricLine } from "./shard-commit.js";

export interface ShardStageResult {
  readonly processed: number;
  readonly deadLetters: number;
  readonly late: number;
  /** Batch times this invocation's commit may have completed (its watermark passed them). */
  readonly watermark: number;
  readonly committed: boolean;
  /** The first record not committed, where the event source should resume (the deadline came); none: all done. */
  readonly resumeAt: string | undefined;
}

/** The result of a batch with nothing to do. */
export const NOTHING_DONE: ShardStageResult = { processed: 0, deadLetters: 0, late: 0, watermark: 0, committed: false, resumeAt: undefined };

/**
 * Stage 1 (docs/architecture.md): one partition's batch of records — a Kinesis shard's invocation, or one
 * topic-partition of a Kafka invocation. Ingest (shard-ingest.ts: decode, batch times, the narrow chains),
 * fold (shard-folds.ts: partial aggregates per boundary and batch time), commit (shard-commit.ts: parts under
 * this attempt, then one conditional update of the partition's progress). Records at or below the committed
 * offset are skipped, so retries, bisection and duplicates never double anything.
 */
export async function runShardStage<T>(
  pipeline: Pipeline<T>,
  plan: Plan,
  status: PipelineStatus,
  deps: RuntimeDeps,
  log: LogBatch,
  context: InvocationContextLike,
): Promise<ShardStageResult> {
  if (log.records.length === 0) return NOTHING_DONE;
  const shardId = log.shardId;
  const progress = await deps.store.getProgress(shardId);
  const expected = { seq: progress?.seq, watermark: progress?.watermark ?? 0 };

  // Encoding is checked per part, not per record: only when a part cannot be stored (or a key cannot be
  // compared) are the same records ingested again, checking each record's output, so the culprits are
  // dead-lettered and the rest commits.
  let ingested: Ingested | undefined;
  let payloads: string[] | undefined;
  try {
    ingested = ingest(pipeline, plan, status, log, expected, context, undefined);
    payloads = encodeFolds(ingested.folds);
  } catch (e) {
    if (!(e instanceof EncodingError)) throw e;
  }
  if (payloads === undefined) {
    ingested = ingest(pipeline, plan, status, log, expected, context, { stopAt: ingested?.stopAt });
    payloads = encodeFolds(ingested.folds, true)!;
  }
  const { lastSeq, stopAt, watermark, processed, deadLetters, late } = ingested!;
  if (lastSeq === undefined) return { ...NOTHING_DONE, watermark, resumeAt: stopAt };

  await commitShard(deps, {
    shardId,
    progress,
    attemptId: (deps.newAttemptId ?? randomUUID)(),
    folds: ingested!.folds.all(),
    payloads,
    objects: ingested!.objects,
    seq: lastSeq,
    watermark,
  });
  if (deadLetters || late) deps.log(metricLine(pipeline.name, deadLetters, late));
  return { processed, deadLetters, late, watermark, committed: true, resumeAt: stopAt };
}

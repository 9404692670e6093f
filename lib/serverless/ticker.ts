import type { Pipeline } from "../api/define-pipeline.js";
import type { RuntimeDeps } from "./runtime-deps.js";
import { METRICS } from "../contract/index.js";

export interface TickResult {
  readonly shards: number;
  /** Shards found idle (nothing after their committed record), whose watermark now follows the clock. */
  readonly idle: string[];
  /** Closed shards found read to their end. */
  readonly drained: string[];
}

/**
 * The ticker's probe (docs/architecture.md "Ticker"): follows the stream's shards (resharding included), and for each
 * shard not drained asks Kinesis for a record after the committed one. None and no next iterator: the
 * shard is drained. None but still open: the shard is idle, so its watermark may follow the clock (less
 * `idleAfter`, the time a record needs to become readable) — that is what lets batch times of a quiet
 * stream complete and print, empty, as Spark prints them. Each finding is a conditional write against the
 * progress the probe read, so it never overtakes a commit.
 */
export async function probeShards<T>(pipeline: Pipeline<T>, deps: RuntimeDeps): Promise<TickResult> {
  const idleAfter = pipeline.props.idleAfter?.milliseconds ?? 2_000;
  const shards = await deps.shards.list();
  const progress = new Map((await deps.store.listProgress()).map((p) => [p.shardId, p]));
  const idle: string[] = [];
  const drained: string[] = [];
  await Promise.all(
    shards.map(async (shard) => {
      const p = progress.get(shard.shardId);
      if (p?.drained) return;
      const probe = await deps.shards.probe(shard.shardId, p?.seq);
      if (probe.hasRecords) return;
      const expected = { seq: p?.seq, watermark: p?.watermark ?? 0 };
      const watermark = Math.max(expected.watermark, deps.now() - idleAfter);
      if (probe.ended) {
        if (await deps.store.advanceWatermark(shard.shardId, expected, watermark, true)) drained.push(shard.shardId);
      } else if (watermark > expected.watermark || p === undefined) {
        if (await deps.store.advanceWatermark(shard.shardId, expected, watermark, false)) idle.push(shard.shardId);
      }
    }),
  );
  return { shards: shards.length, idle, drained };
}

/**
 * Batch times that are due (at or before `now`) and not finalized: the finalization backlog. Near 0 while the
 * pipeline keeps up (a batch completes once every shard has passed it); it grows by one per batch interval
 * while finalization is stalled — a shard that stopped committing, a failing finalizer — whatever the record
 * rate. An alarm on it fires long before any store limit matters.
 */
export function pendingBatches(now: number, lastFinalized: number, batchMs: number): number {
  return Math.max(0, Math.floor((now - lastFinalized) / batchMs));
}

/** The backlog as a CloudWatch Embedded Metric Format line (`Sparkless` / `PendingBatches`, by `Pipeline`). */
export function pendingBatchesLine(pipeline: string, pending: number, now: number): string {
  return JSON.stringify({
    _aws: { Timestamp: now, CloudWatchMetrics: [{ Namespace: METRICS.namespace, Dimensions: [[METRICS.dimension]], Metrics: [{ Name: METRICS.pendingBatches, Unit: "Count" }] }] },
    [METRICS.dimension]: pipeline,
    [METRICS.pendingBatches]: pending,
  });
}

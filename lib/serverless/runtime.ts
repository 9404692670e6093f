import type { InvocationContextLike, KinesisEventLike, BatchResponse } from "./kinesis-event.js";
import { shardIdOf } from "./kinesis-event.js";
import { builtPlan } from "./built-plans.js";
import type { Pipeline } from "../api/define-pipeline.js";
import { finalizeReady, type FinalizeResult } from "./finalizer.js";
import { adoptGraph, recordGraph } from "./graph-compat.js";
import type { RuntimeDeps } from "./runtime-deps.js";
import { runShardStage, type ShardStageResult } from "./shard-stage.js";
import { pendingBatches, pendingBatchesLine, probeShards, type TickResult } from "./ticker.js";
import type { PipelineStatus } from "../pipeline-store/pipeline-store.js";
import type { Plan } from "../graph/stage-split.js";

/** Leave this much of an invocation for the finalizer's last batch to finish. */
const FINALIZE_MARGIN_MS = 10_000;

/**
 * A pipeline's three entry points over injected stores: what the Lambda handlers in functions/ call, and
 * what tests drive directly. One instance per container; the plan is built once per container (built-plans.ts).
 */
export class PipelineRuntime<T> {
  constructor(
    readonly pipeline: Pipeline<T>,
    readonly deps: RuntimeDeps,
  ) {}

  /** Stage 1 for one Kinesis event; then finalizes inline what this commit completed. */
  async handleShardEvent(event: KinesisEventLike, context: InvocationContextLike): Promise<BatchResponse & { stage: ShardStageResult; finalized?: FinalizeResult }> {
    if (event.Records.length === 0) return { batchItemFailures: [], stage: { batchItemFailures: [], processed: 0, deadLetters: 0, late: 0, watermark: 0, committed: false } };
    const status = await this.status(event);
    const stage = await runShardStage(this.pipeline, await this.plan(status), status, this.deps, event, context);
    let finalized: FinalizeResult | undefined;
    if (stage.committed && stage.watermark >= status.lastFinalized + this.pipeline.props.batchInterval.milliseconds) {
      // The records are committed: a failing finalization must not fail this invocation (Lambda would retry a
      // batch with nothing left to do, and discard it after its retries). The ticker finalizes again.
      try {
        finalized = await this.finalize(context);
      } catch (e) {
        this.deps.log(`sparkless: finalizing after a commit failed, the ticker will retry: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return { batchItemFailures: stage.batchItemFailures, stage, ...(finalized ? { finalized } : {}) };
  }

  /** The schedule: probe quiet and ended shards, then finalize what became complete. */
  async tick(context?: InvocationContextLike): Promise<{ probe: TickResult; finalized: FinalizeResult }> {
    // A pipeline starts at its first tick or its first record, whichever comes first (as a Spark context starts
    // on start()); `startTime` sets it instead, e.g. to replay old data in event time.
    const current = (await this.deps.store.getStatus()) ?? (await this.createStatus(this.deps.now()));
    // A deploy whose graph the running pipeline cannot take is refused here, whether or not a batch is due.
    await this.plan(current);
    const probe = await probeShards(this.pipeline, this.deps);
    const finalized = await this.finalize(context);
    // Once per tick (a minute): the backlog an alarm watches, whatever the finalizer managed.
    const status = await this.deps.store.getStatus();
    if (status) {
      const now = this.deps.now();
      this.deps.log(pendingBatchesLine(this.pipeline.name, pendingBatches(now, status.lastFinalized, this.pipeline.props.batchInterval.milliseconds), now));
    }
    return { probe, finalized };
  }

  async finalize(context?: InvocationContextLike): Promise<FinalizeResult> {
    const remaining = context?.getRemainingTimeInMillis();
    // Within the margin already: a batch started now could outlive the invocation, with the lease held for
    // nothing. The next invocation or the ticker finalizes instead.
    if (remaining !== undefined && remaining <= FINALIZE_MARGIN_MS) return { finalized: [], stopped: "deadline", failures: [] };
    const deadline = remaining === undefined ? undefined : this.deps.now() + remaining - FINALIZE_MARGIN_MS;
    return finalizeReady(this.pipeline, this.deps, deadline === undefined ? {} : { deadline });
  }

  /**
   * The plan for the pipeline's zero time, refusing a graph other than the one the pipeline was started with:
   * the shard stage must not commit records computed by changed functions that the finalizer will refuse to merge.
   */
  private async plan(status: PipelineStatus): Promise<Plan> {
    const built = builtPlan(this.pipeline, status.zeroTime);
    if (built.graphHash !== status.graphHash) await adoptGraph(this.pipeline, built.ssc.graph, status, this.deps);
    return built.plan;
  }

  /**
   * The pipeline's status, created on first contact: the zero time is just before the batch of the
   * earliest record seen (or of now, for the ticker), so a stream read from TRIM_HORIZON starts with its data.
   */
  private async status(event: KinesisEventLike): Promise<PipelineStatus> {
    const existing = await this.deps.store.getStatus();
    if (existing) return existing;
    return this.createStatus(Math.min(...event.Records.map((r) => this.recordTime(r))));
  }

  /** A record's time for choosing the zero time: its event time when it has a readable one, else arrival. */
  private recordTime(r: KinesisEventLike["Records"][number]): number {
    const arrival = Math.round(r.kinesis.approximateArrivalTimestamp * 1000);
    const { decoder, timestampExtractor } = this.pipeline.props;
    if (!timestampExtractor) return arrival;
    try {
      const bytes = Buffer.from(r.kinesis.data, "base64");
      const meta = { shardId: shardIdOf(r), sequenceNumber: r.kinesis.sequenceNumber, partitionKey: r.kinesis.partitionKey, arrivalTime: arrival };
      const value = decoder ? decoder(bytes, meta) : (bytes.toString("utf8") as unknown as T);
      const t = timestampExtractor(value, meta);
      return Number.isFinite(t) ? t : arrival;
    } catch {
      return arrival; // an unreadable record is dead-lettered by the shard stage; it does not pick the zero time
    }
  }

  private async createStatus(earliest: number): Promise<PipelineStatus> {
    const { batchInterval, timestampExtractor, allowedLateness } = this.pipeline.props;
    const batch = batchInterval.milliseconds;
    // In event time a record up to allowedLateness older than the earliest one seen is on time (the watermark
    // starts there): the first batch must leave room for it, or whether it is late would depend on whether
    // Lambda happened to deliver it in the first invocation.
    const slack = timestampExtractor ? (allowedLateness?.milliseconds ?? 0) : 0;
    // Aligned to every slide of the graph (their least common multiple), so window ends and slide boundaries
    // fall on multiples of their slide since the epoch, as docs/architecture.md's Time says — not on the first record.
    const align = builtPlan(this.pipeline, 0)
      .ssc.graph.reachable()
      .reduce((l, n) => lcm(l, n.slideDuration.milliseconds), batch);
    const zeroTime = Math.floor((this.pipeline.props.startTime ?? earliest - slack) / align) * align;
    const graph = builtPlan(this.pipeline, zeroTime).ssc.graph;
    const status = { zeroTime, lastFinalized: zeroTime, graphHash: graph.hash() };
    await recordGraph(this.pipeline as Pipeline<unknown>, graph, this.deps);
    if (await this.deps.store.createStatus(status)) return status;
    return (await this.deps.store.getStatus())!;
  }
}

function lcm(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return (a / x) * b;
}

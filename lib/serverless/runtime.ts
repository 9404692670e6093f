import type { InvocationContextLike, KinesisEventLike, BatchResponse } from "./kinesis-event.js";
import { builtPlan } from "./built-plans.js";
import { kinesisLogBatch } from "../io/kinesis/records.js";
import { type KafkaBatchResponse, kafkaItemFailure, kafkaLogBatches, type LambdaKafkaEvent } from "../io/kafka/lambda-event.js";
import type { LogBatch } from "../io/ordered-log.js";
import type { Pipeline } from "../api/define-pipeline.js";
import { checkPartitions, finalizeReady, isComplete, type FinalizeResult } from "./finalizer.js";
import { finalizePartition } from "./partition-finalizer.js";
import { adoptGraph, recordGraph } from "./graph-compat.js";
import type { RuntimeDeps } from "./runtime-deps.js";
import { NOTHING_DONE, runShardStage, type ShardStageResult } from "./shard-stage.js";
import { DEADLINE_MARGIN_MS, recordMeta } from "./shard-ingest.js";
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

  /** Stage 1 for one Kinesis event (one shard's batch); then finalizes inline what this commit completed. */
  async handleShardEvent(event: KinesisEventLike, context: InvocationContextLike): Promise<BatchResponse & { stage: ShardStageResult; finalized?: FinalizeResult }> {
    if (event.Records.length === 0) return { batchItemFailures: [], stage: NOTHING_DONE };
    const log = kinesisLogBatch(event.Records);
    const { stages, finalized } = await this.handleLogBatches([log], context);
    const stage = stages[0]!;
    return { batchItemFailures: stage.resumeAt ? [{ itemIdentifier: stage.resumeAt }] : [], stage, ...(finalized ? { finalized } : {}) };
  }

  /**
   * Stage 1 for one Kafka event: each topic-partition is its own batch with its own commit, one after the other;
   * then finalizes inline what the commits completed. A partition that stopped early (the deadline), or lost its
   * commit to a duplicate delivery, is named in the partial-batch response at its first record not committed, so
   * Lambda resumes it there while the partitions that committed move on. Any other failure fails the invocation:
   * Lambda retries it, and partitions committed meanwhile skip what they committed.
   */
  async handleKafkaEvent(event: LambdaKafkaEvent, context: InvocationContextLike): Promise<KafkaBatchResponse & { stages: ShardStageResult[]; finalized?: FinalizeResult }> {
    const logs = kafkaLogBatches(event);
    if (logs.length === 0) return { batchItemFailures: [], stages: [] };
    const { stages, finalized } = await this.handleLogBatches(logs, context, true);
    const batchItemFailures = stages.flatMap((stage, i) => (stage.resumeAt === undefined ? [] : [kafkaItemFailure(logs[i]!.shardId, stage.resumeAt)]));
    return { batchItemFailures, stages, ...(finalized ? { finalized } : {}) };
  }

  /**
   * Stage 1 for each partition's batch in turn, then inline finalization if a commit may have completed a batch.
   * `conflictsResume`: a lost commit race resumes that partition at its first record (a partial-batch response)
   * instead of failing the invocation, so the other partitions' commits stand without a retry.
   */
  private async handleLogBatches(logs: readonly LogBatch[], context: InvocationContextLike, conflictsResume = false): Promise<{ stages: ShardStageResult[]; finalized?: FinalizeResult }> {
    const status = await this.status(logs);
    const plan = await this.plan(status);
    const stages: ShardStageResult[] = [];
    for (const log of logs) {
      // A partition not started before the deadline is left whole for the next invocation.
      if (stages.length > 0 && context.getRemainingTimeInMillis() < DEADLINE_MARGIN_MS) {
        stages.push({ ...NOTHING_DONE, resumeAt: log.records[0]!.offset });
        continue;
      }
      try {
        stages.push(await runShardStage(this.pipeline, plan, status, this.deps, log, context));
      } catch (e) {
        if (!conflictsResume || (e as { code?: string }).code !== "CommitConflict") throw e;
        stages.push({ ...NOTHING_DONE, resumeAt: log.records[0]!.offset });
      }
    }
    let finalized: FinalizeResult | undefined;
    const batch = this.pipeline.props.batchInterval.milliseconds;
    if (stages.some((stage) => stage.committed && stage.watermark >= status.lastFinalized + batch)) {
      // The records are committed: a failing finalization must not fail this invocation (Lambda would retry a
      // batch with nothing left to do, and discard it after its retries). The ticker finalizes again.
      try {
        // Fanned out, P invocations per call: only from the commit that completed the next batch.
        if (this.fansOut && !(await this.nextBatchComplete(status.lastFinalized + batch))) return { stages };
        finalized = await this.finalize(context);
      } catch (e) {
        this.deps.log(`sparkless: finalizing after a commit failed, the ticker will retry: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return { stages, ...(finalized ? { finalized } : {}) };
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

  /**
   * Finalizes what is complete. With one partition, whole batches here (the finalizer function's invocation,
   * or inline after a commit). With P > 1 (docs/serverless.md "Finalizer partitions"):
   * - `{ partition: p }` (the finalizer function invoked for p): p's share of the batches, then the completion
   *   step for the batches every partition has now finalized — so the last partition to finish T completes T;
   * - no partition (the ticker, or a commit that completed a batch): asks for every partition's invocation
   *   through `deps.invokeFinalizer` (asynchronous, so P partitions run side by side), then runs the completion
   *   step, which finishes batches whose partitions finished before a crash; without `invokeFinalizer` (tests,
   *   a host that cannot invoke) it runs every partition here, one after the other, then the completion step.
   */
  async finalize(context?: InvocationContextLike, options: { partition?: number } = {}): Promise<FinalizeResult> {
    const remaining = context?.getRemainingTimeInMillis();
    // Within the margin already: a batch started now could outlive the invocation, with the lease held for
    // nothing. The next invocation or the ticker finalizes instead.
    if (remaining !== undefined && remaining <= FINALIZE_MARGIN_MS) return { finalized: [], stopped: "deadline", failures: [] };
    const deadline = remaining === undefined ? undefined : this.deps.now() + remaining - FINALIZE_MARGIN_MS;
    const limits = deadline === undefined ? {} : { deadline };
    const partitions = this.pipeline.partitions;
    if (partitions === 1) {
      if (options.partition !== undefined && options.partition !== 0) await finalizePartition(this.pipeline, this.deps, options.partition, limits); // refuses it
      return finalizeReady(this.pipeline, this.deps, limits);
    }
    if (options.partition !== undefined) {
      const own = await finalizePartition(this.pipeline, this.deps, options.partition, limits);
      const completion = await this.complete(limits);
      return { ...own, completed: completion.finalized, failures: [...own.failures, ...completion.failures] };
    }
    const invoke = this.deps.invokeFinalizer;
    const shares: FinalizeResult[] = [];
    if (invoke) {
      await Promise.all(Array.from({ length: partitions }, (_, p) => invoke(p)));
    } else {
      for (let p = 0; p < partitions; p++) shares.push(await finalizePartition(this.pipeline, this.deps, p, limits));
    }
    const completion = await this.complete(limits);
    return { ...completion, completed: completion.finalized, failures: [...shares.flatMap((r) => r.failures), ...completion.failures] };
  }

  /**
   * The completion step (P > 1). Two partitions finishing T together could each miss completing it: one's
   * completion holds the lease and sees the other not done yet, the other's is refused the lease — and T would
   * wait for the ticker. So a completion that found its next batch incomplete looks again after releasing the
   * lease: a partition that advanced before it looked is seen, and one that advanced after will find the lease
   * free. No waiting, no retries against a lease a crashed holder left.
   */
  private async complete(limits: { deadline?: number }): Promise<FinalizeResult> {
    const batch = this.pipeline.props.batchInterval.milliseconds;
    const finalized: number[] = [];
    const failures: FinalizeResult["failures"] = [];
    for (;;) {
      const result = await finalizeReady(this.pipeline, this.deps, limits);
      finalized.push(...result.finalized);
      failures.push(...result.failures);
      if (result.stopped !== "incomplete") return { ...result, finalized, failures };
      const [status, list] = await Promise.all([this.deps.store.getStatus(), this.deps.store.listPartitionStatus()]);
      const next = (status?.lastFinalized ?? Infinity) + batch;
      if (list.filter((s) => s.lastFinalized >= next).length < this.pipeline.partitions) return { ...result, finalized, failures };
    }
  }

  /** Whether this host hands partitions to other invocations (P > 1 and an invoker). */
  private get fansOut(): boolean {
    return this.pipeline.partitions > 1 && this.deps.invokeFinalizer !== undefined;
  }

  /** Every shard has passed `time` (two reads): whether fanning out P invocations can finalize anything. */
  private async nextBatchComplete(time: number): Promise<boolean> {
    const [shards, progress] = await Promise.all([this.deps.shards.list(), this.deps.store.listProgress()]);
    return isComplete(time, shards, progress);
  }

  /**
   * The plan for the pipeline's zero time, refusing a graph other than the one the pipeline was started with:
   * the shard stage must not commit records computed by changed functions that the finalizer will refuse to merge.
   */
  private async plan(status: PipelineStatus): Promise<Plan> {
    // Before anything is written: parts split another number of ways would be finalized by the wrong partitions.
    checkPartitions(this.pipeline, status);
    const built = builtPlan(this.pipeline, status.zeroTime);
    if (built.graphHash !== status.graphHash) await adoptGraph(this.pipeline, built.ssc.graph, status, this.deps);
    return built.plan;
  }

  /**
   * The pipeline's status, created on first contact: the zero time is just before the batch of the
   * earliest record seen (or of now, for the ticker), so a log read from its start starts with its data.
   */
  private async status(logs: readonly LogBatch[]): Promise<PipelineStatus> {
    const existing = await this.deps.store.getStatus();
    if (existing) return existing;
    let earliest = Infinity;
    for (const log of logs) for (const r of log.records) earliest = Math.min(earliest, this.recordTime(log, r));
    return this.createStatus(earliest);
  }

  /** A record's time for choosing the zero time: its event time when it has a readable one, else arrival. */
  private recordTime(log: LogBatch, r: LogBatch["records"][number]): number {
    const arrival = r.arrivalTime;
    const { decoder, timestampExtractor } = this.pipeline.props;
    if (!timestampExtractor) return arrival;
    try {
      const bytes = Buffer.from(r.data, "base64");
      const meta = recordMeta(log.shardId, r, r.key, undefined);
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
    const partitions = this.pipeline.partitions;
    const status = { zeroTime, lastFinalized: zeroTime, graphHash: graph.hash(), ...(partitions > 1 ? { partitions } : {}) };
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

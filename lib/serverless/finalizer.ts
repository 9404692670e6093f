import { randomUUID } from "node:crypto";
import { decodeValue, encodeValue } from "../core/codec.js";
import { Time } from "../core/duration.js";
import { KeyMap } from "../core/keys.js";
import { RDD } from "../core/rdd.js";
import { IllegalStateError, UserFunctionError, ValidationError } from "../core/errors.js";
import { Evaluation, type BatchOutputs, type Supplier } from "../graph/evaluation.js";
import type { Node } from "../graph/node.js";
import type { Lease, Part, PipelineStatus, ShardProgress } from "../pipeline-store/pipeline-store.js";
import type { BuiltPipeline, Pipeline } from "../api/define-pipeline.js";
import { builtPlan } from "./built-plans.js";
import { adoptGraph } from "./graph-compat.js";
import { KeyedStateBatch } from "./keyed-state.js";
import { PREFIXES, type RuntimeDeps, type ShardInfo } from "./runtime-deps.js";

/** A lease lasts this long from its last renewal; the finalizer renews it before each batch and each write. */
export const LEASE_MS = 60_000;
/**
 * A finalizer writes nothing once its lease has less than this left without renewing it first: the margin
 * covers one store call's latency and the clock difference between two Lambda hosts.
 */
export const LEASE_MARGIN_MS = 15_000;
const METADATA_EVERY_MS = 60_000;
/**
 * Node memory outlives the last batch that can read it by this much: a pipeline whose functions are paused
 * (no ticks, no batches) for less than this resumes with its windows and state intact.
 */
const MEMORY_SLACK_MS = 14 * 24 * 3600_000;

export interface FinalizeOptions {
  /** Stop starting new batches after this epoch ms (the invocation's deadline). @default - no limit */
  readonly deadline?: number;
  /** Who holds the lease. @default - a random id */
  readonly owner?: string;
  /** At most this many batches in one call. @default - no limit */
  readonly maxBatches?: number;
}

export interface FinalizeResult {
  readonly finalized: number[];
  /** Why it stopped: nothing complete, another finalizer holds (or took) the lease, or time ran out. */
  readonly stopped: "incomplete" | "leased" | "deadline" | "max" | "no-status";
  readonly failures: Array<{ time: number; error: string }>;
}

/**
 * The lease a finalizer holds, renewed before any write that it would otherwise make with less than
 * {@link LEASE_MARGIN_MS} left. Losing it (a renewal refused: another finalizer took over) ends the run.
 */
class Fence {
  constructor(
    private lease: Lease,
    private readonly deps: RuntimeDeps,
  ) {}

  get token(): number {
    return this.lease.token;
  }

  /** Call before a write: returns once the lease is ours for at least the margin, throws LeaseLost if it is not. */
  async check(): Promise<void> {
    if (this.deps.now() < this.lease.expiresAt - LEASE_MARGIN_MS) return;
    const renewed = await this.deps.store.renewLease(this.lease, this.deps.now(), LEASE_MS);
    if (!renewed) throw leaseLost(this.lease.token);
    this.lease = renewed;
  }

  release(): Promise<void> {
    return this.deps.store.releaseLease(this.lease);
  }
}

function leaseLost(token: number): IllegalStateError {
  return new IllegalStateError("LeaseLost", `another finalizer took over from the lease with token ${token}: this one stops writing`, { token });
}

const isLeaseLost = (e: unknown) => e instanceof IllegalStateError && e.code === "LeaseLost";

/**
 * Stage 2 (docs/serverless.md, docs/architecture.md "Invariants of the commit protocol"): finalizes batch times strictly in order under a lease.
 * Batch T is complete when every shard of the stream has committed a watermark at or past T, or is closed and
 * drained. Finalizing T merges the committed parts into the boundary nodes' RDDs, supplies the RDDs earlier
 * batches left (windows, state), evaluates the rest of the graph with the local engine's code, runs the outputs
 * (S3 files under deterministic keys, print to the log, foreachRDD at least once), stores what later batches
 * will read, writes the metadata checkpoint and only then marks T done.
 *
 * Fencing: the lease carries a token that grows with every acquisition. The status is read after the lease is
 * held, advancing it is conditional on the token, node memory refuses an older token, and every write happens
 * with at least LEASE_MARGIN_MS of the lease left (renewing it first if need be). T's inputs (committed parts
 * and markers, earlier node memory) never change once T is complete, so a finalizer that lost its lease
 * mid-batch writes T's outputs with the same bytes, if at all. A crash anywhere re-runs T to the same result.
 */
export async function finalizeReady<T>(pipeline: Pipeline<T>, deps: RuntimeDeps, options: FinalizeOptions = {}): Promise<FinalizeResult> {
  const owner = options.owner ?? randomUUID();
  const finalized: number[] = [];
  const failures: FinalizeResult["failures"] = [];
  const lease = await deps.store.acquireLease(owner, deps.now(), LEASE_MS);
  if (!lease) return { finalized, stopped: (await deps.store.getStatus()) ? "leased" : "no-status", failures };
  const fence = new Fence(lease, deps);
  try {
    // Read under the lease: a status read before it may be from before another finalizer's run.
    const read = await deps.store.getStatus();
    if (!read) return { finalized, stopped: "no-status", failures };
    let status: PipelineStatus = read;
    // The plan is needed once a batch is complete: most inline calls (a shard's commit that completed nothing
    // yet, since another shard lags) stop before that. It is built once per container (built-plans.ts).
    let built: BuiltPipeline<T> | undefined;
    const batch = pipeline.props.batchInterval.milliseconds;
    let shards = await deps.shards.list();
    for (;;) {
      if (options.maxBatches !== undefined && finalized.length >= options.maxBatches) return { finalized, stopped: "max", failures };
      if (options.deadline !== undefined && deps.now() > options.deadline) return { finalized, stopped: "deadline", failures };
      const time: number = status.lastFinalized + batch;
      const progress = await deps.store.listProgress();
      // A shard listed open that is now drained was split or merged after the listing: its children exist
      // and may hold records of this batch, so look again before calling the batch complete.
      if (progress.some((p) => p.drained && shards.some((s) => s.shardId === p.shardId && !s.closed))) shards = await deps.shards.list();
      if (!isComplete(time, shards, progress)) return { finalized, stopped: "incomplete", failures };
      // Every shard drained (a stream that was merged away or deleted) completes every batch: not past the clock.
      if (time > deps.now() && !progress.some((p) => !p.drained && p.watermark >= time)) return { finalized, stopped: "incomplete", failures };
      if (!built) {
        built = builtPlan(pipeline, status.zeroTime);
        // Only the graph hash can change meanwhile: lastFinalized moves only under the lease, which is ours.
        status = await adoptGraph(pipeline, built.ssc.graph, status, deps);
      }
      failures.push(...(await finalizeBatch(pipeline, built, deps, fence, time, progress)));
      await fence.check();
      // Conditional on the token: a finalizer that lost the lease since its last check cannot mark T done.
      if (!(await deps.store.advanceStatus(status.lastFinalized, time, fence.token))) return { finalized, stopped: "leased", failures };
      status = { ...status, lastFinalized: time };
      finalized.push(time);
    }
  } catch (e) {
    if (isLeaseLost(e)) return { finalized, stopped: "leased", failures };
    throw e;
  } finally {
    // Conditional on the token: never frees a lease another finalizer holds now.
    await fence.release();
  }
}

/** Every listed shard has passed `time`, or is closed and drained; a shard never seen blocks. */
export function isComplete(time: number, shards: readonly ShardInfo[], progress: readonly ShardProgress[]): boolean {
  const byId = new Map(progress.map((p) => [p.shardId, p]));
  return shards.every((s) => {
    const p = byId.get(s.shardId);
    return p !== undefined && (p.drained || p.watermark >= time);
  });
}

async function finalizeBatch<T>(
  pipeline: Pipeline<T>,
  built: BuiltPipeline<T>,
  deps: RuntimeDeps,
  fence: Fence,
  time: number,
  progress: readonly ShardProgress[],
): Promise<Array<{ time: number; error: string }>> {
  const { ssc, plan } = built;
  const graph = ssc.graph;
  const batchTime = new Time(time);

  // The attempts committed for this batch: the markers, and each shard's latest commit. Markers are read after
  // the progress, so a commit that the progress no longer shows as latest has its marker written already.
  const committed = new Set((await deps.store.getCommitMarkers(time)).map((m) => `${m.shardId}#${m.attemptId}`));
  for (const p of progress) if (p.lastCommit?.times.includes(time)) committed.add(`${p.shardId}#${p.lastCommit.attemptId}`);
  // Boundary RDDs of this batch from the committed parts, in a deterministic order: shard, then sequence.
  const parts = (await deps.store.getParts(time))
    .filter((p) => committed.has(`${p.shardId}#${p.attemptId}`))
    .sort(comparePartOrder);
  const supplied = new Map<Node, RDD<unknown>>();
  for (const b of plan.boundaries) {
    const mine = parts.filter((p) => p.nodeId === b.node.id);
    if (b.kind === "partial") {
      const merged = new KeyMap<unknown, unknown>();
      const mergeCombiners = b.node.mergeCombiners;
      for (const p of mine) {
        for (const [k, c] of decodeValue<Array<[unknown, unknown]>>(p.payload)) merged.upsert(k, c, (x) => x, mergeCombiners);
      }
      const rdd = RDD.of([...merged.entries()]);
      for (const node of [b.node, ...b.aliases]) supplied.set(node, rdd);
    } else {
      supplied.set(b.node, RDD.of(mine.flatMap((p) => decodeValue<unknown[]>(p.payload))));
    }
  }

  // mapWithState's state is kept per key (keyed-state.ts); the rest of what earlier batches left for this one
  // is remembered RDDs within each node's remember duration.
  const keyed = new KeyedStateBatch(plan.remembered, () => deps.keyedState ?? deps.store.keyedState?.(), /* partition */ 0, /* of */ 1);
  const memory = new Map<string, RDD<unknown> | undefined>();
  await Promise.all(
    keyed.others(plan.remembered).flatMap((node) =>
      rememberedTimes(node, time).map(async (t) => {
        const payload = await deps.store.getMemory(node.id, t);
        if (payload !== undefined) memory.set(`${node.id}@${t}`, decodeRDD(payload));
      }),
    ),
  );

  // This batch's run of the plan: inputs from the parts and the stored memory, outputs to S3 and the log.
  const supply: Supplier = (node, at) => {
    if (at.milliseconds === time) {
      const rdd = supplied.get(node);
      return rdd ? { rdd } : plan.stage1.has(node) ? { rdd: undefined } : undefined;
    }
    const key = `${node.id}@${at.milliseconds}`;
    if (memory.has(key)) return { rdd: memory.get(key) };
    // Anything else from the past is not kept: the graph never needs it (the planner remembers what it reads).
    return plan.stage1.has(node) || plan.remembered.includes(node) ? { rdd: undefined } : undefined;
  };
  const outputs: BatchOutputs = {
    print: deps.log,
    writeBatch: async (path, partitions) => {
      await fence.check();
      const dir = `${PREFIXES.output}${pipeline.name}/${path.replace(/^(\.\/|\/)+/, "")}`;
      await Promise.all(partitions.map((lines, i) => deps.objects.put(`${dir}/part-${String(i).padStart(5, "0")}`, lines.length ? lines.join("\n") + "\n" : "")));
      await deps.objects.put(`${dir}/_SUCCESS`, "");
    },
  };
  const ev = new Evaluation(graph, outputs, keyed.around(supply, batchTime));
  await keyed.prepare(ev, batchTime);

  const failures: Array<{ time: number; error: string }> = [];
  const fail = async (e: unknown) => {
    // A user function that throws on the merged data would fail this batch on every retry and stop the
    // pipeline; Spark reports the failed job and goes on, so do we — with the error kept in S3. Anything
    // else (S3, DynamoDB) fails the finalization, and the batch runs again.
    if (!(e instanceof UserFunctionError || e instanceof ValidationError)) throw e;
    const error = e.message;
    failures.push({ time, error });
    deps.log(`sparkless: batch ${time} ms: ${error}`);
    await fence.check();
    await deps.objects.put(`${PREFIXES.deadLetter}${pipeline.name}/batches/${time}.json`, JSON.stringify({ batchTime: time, error }));
  };
  try {
    for (const job of ev.generateJobs(batchTime)) {
      try {
        await job.run();
      } catch (e) {
        await fail(e);
      }
    }
  } catch (e) {
    await fail(e);
  }

  // Store what later batches read; a re-run writes the same values under the same keys.
  await keyed.commit(() => fence.check(), fence.token, fail);
  await Promise.all(
    keyed.others(plan.remembered).map(async (node) => {
      if (!node.isTimeValid(batchTime)) return;
      let rdd: RDD<unknown> | undefined;
      try {
        rdd = ev.getOrCompute(node, batchTime);
      } catch (e) {
        await fail(e);
        return;
      }
      const expiresAt = time + node.rememberDuration!.milliseconds + MEMORY_SLACK_MS;
      await fence.check();
      // Refused when a later holder of the lease wrote it: this finalizer is behind, and stops.
      if (!(await deps.store.putMemory(node.id, time, encodeValue(rdd ? rdd.partitions() : null), expiresAt, fence.token))) throw leaseLost(fence.token);
    }),
  );

  // The metadata checkpoint is for people and tools (the truth is in the table): once a minute of batch time,
  // not every batch — an S3 PUT per 10 s batch would be most of the pipeline's own cost.
  const every = Math.ceil(METADATA_EVERY_MS / graph.batchDuration.milliseconds) * graph.batchDuration.milliseconds;
  if ((time - graph.zeroTime!.milliseconds) % every !== 0) return failures;
  await fence.check();
  await deps.objects.put(
    `${PREFIXES.checkpoint}${pipeline.name}/metadata.json`,
    JSON.stringify({
      pipeline: pipeline.name,
      graphHash: graph.hash(),
      graph: graph.describe(),
      batchIntervalMs: graph.batchDuration.milliseconds,
      lastFinalized: time,
      shards: progress.map((p) => ({ shardId: p.shardId, seq: p.seq, watermark: p.watermark, drained: p.drained })),
    }),
  );
  return failures;
}

/** Batch times before `time` whose RDDs of `node` a batch at `time` may read. */
function rememberedTimes(node: Node, time: number): number[] {
  const zero = node.zeroTime!.milliseconds;
  const slide = node.slideDuration.milliseconds;
  const from = Math.max(zero + slide, time - node.rememberDuration!.milliseconds);
  const out: number[] = [];
  for (let t = zero + Math.ceil((from - zero) / slide) * slide; t < time; t += slide) out.push(t);
  return out;
}

function decodeRDD(payload: string): RDD<unknown> | undefined {
  const partitions = decodeValue<unknown[][] | null>(payload);
  return partitions === null ? undefined : RDD.fromPartitions(partitions);
}

function comparePartOrder(a: Part, b: Part): number {
  if (a.shardId !== b.shardId) return a.shardId < b.shardId ? -1 : 1;
  const x = BigInt(a.firstSeq);
  const y = BigInt(b.firstSeq);
  return x < y ? -1 : x > y ? 1 : 0;
}

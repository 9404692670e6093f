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
import { partitionPlan } from "../graph/partition-plan.js";
import type { Plan } from "../graph/stage-split.js";
import { adoptGraph } from "./graph-compat.js";
import { outputDirectory } from "../contract/bucket.js";
import { partFileName } from "../io/text-file-sink.js";
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
  /** Batch times finalized: whole batches (P = 1, or the completion step), or one partition's share of them. */
  readonly finalized: number[];
  /** With P > 1: the batch times the completion step completed in the same call. */
  readonly completed?: number[];
  /** Why it stopped: nothing complete, another finalizer holds (or took) the lease, or time ran out. */
  readonly stopped: "incomplete" | "leased" | "deadline" | "max" | "no-status";
  readonly failures: Array<{ time: number; error: string }>;
}

/**
 * The lease a finalizer holds, renewed before any write that it would otherwise make with less than
 * {@link LEASE_MARGIN_MS} left. Losing it (a renewal refused: another finalizer took over) ends the run.
 */
export class Fence {
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
  const partitions = pipeline.partitions;
  return runFinalizer(pipeline, deps, options, {
    acquire: (owner) => deps.store.acquireLease(owner, deps.now(), LEASE_MS),
    lastFinalized: async (status) => status.lastFinalized,
    // With P > 1 this is the completion step: a batch is complete when every partition finalized it.
    ready: partitions > 1 ? (time) => partitionsReached(deps, partitions, time) : undefined,
    batch: (built, fence, time, progress) => finalizeBatch(pipeline, built, deps, fence, time, progress),
    advance: (from, to, token) => deps.store.advanceStatus(from, to, token),
  });
}

/** What differs between finalizing whole batches (the pipeline's scope) and one finalizer partition's share. */
export interface FinalizerScope<T> {
  acquire(owner: string): Promise<Lease | undefined>;
  /** This scope's last finalized batch, read under its lease. */
  lastFinalized(status: PipelineStatus): Promise<number>;
  /** Whether `time` can be finalized now, instead of the shards' progress saying it is complete. */
  ready?: (time: number) => Promise<boolean>;
  batch(built: BuiltPipeline<T>, fence: Fence, time: number, progress: readonly ShardProgress[]): Promise<Array<{ time: number; error: string }>>;
  advance(from: number, to: number, token: number): Promise<boolean>;
}

/** The finalizer's loop: under the scope's lease, batch after batch in order while complete and time allows. */
export async function runFinalizer<T>(pipeline: Pipeline<T>, deps: RuntimeDeps, options: FinalizeOptions, scope: FinalizerScope<T>): Promise<FinalizeResult> {
  const owner = options.owner ?? randomUUID();
  const finalized: number[] = [];
  const failures: FinalizeResult["failures"] = [];
  const lease = await scope.acquire(owner);
  if (!lease) return { finalized, stopped: (await deps.store.getStatus()) ? "leased" : "no-status", failures };
  const fence = new Fence(lease, deps);
  try {
    // Read under the lease: a status read before it may be from before another finalizer's run.
    const read = await deps.store.getStatus();
    if (!read) return { finalized, stopped: "no-status", failures };
    checkPartitions(pipeline, read);
    let status: PipelineStatus = read;
    let lastFinalized = await scope.lastFinalized(read);
    // The plan is needed once a batch is complete: most inline calls (a shard's commit that completed nothing
    // yet, since another shard lags) stop before that. It is built once per container (built-plans.ts).
    let built: BuiltPipeline<T> | undefined;
    const batch = pipeline.props.batchInterval.milliseconds;
    let shards = scope.ready ? [] : await deps.shards.list();
    for (;;) {
      if (options.maxBatches !== undefined && finalized.length >= options.maxBatches) return { finalized, stopped: "max", failures };
      if (options.deadline !== undefined && deps.now() > options.deadline) return { finalized, stopped: "deadline", failures };
      const time: number = lastFinalized + batch;
      const progress = await deps.store.listProgress();
      if (scope.ready) {
        if (!(await scope.ready(time))) return { finalized, stopped: "incomplete", failures };
      } else {
        // A shard listed open that is now drained was split or merged after the listing: its children exist
        // and may hold records of this batch, so look again before calling the batch complete.
        if (progress.some((p) => p.drained && shards.some((s) => s.shardId === p.shardId && !s.closed))) shards = await deps.shards.list();
        if (!isComplete(time, shards, progress)) return { finalized, stopped: "incomplete", failures };
        // Every shard drained (a stream that was merged away or deleted) completes every batch: not past the clock.
        if (time > deps.now() && !progress.some((p) => !p.drained && p.watermark >= time)) return { finalized, stopped: "incomplete", failures };
      }
      if (!built) {
        built = builtPlan(pipeline, status.zeroTime);
        // Only the graph hash can change meanwhile: lastFinalized moves only under the lease, which is ours.
        status = await adoptGraph(pipeline, built.ssc.graph, status, deps);
      }
      failures.push(...(await scope.batch(built, fence, time, progress)));
      await fence.check();
      // Conditional on the token: a finalizer that lost the lease since its last check cannot mark T done.
      if (!(await scope.advance(lastFinalized, time, fence.token))) return { finalized, stopped: "leased", failures };
      lastFinalized = time;
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

/** Every one of the P partitions has finalized `time` (a partition that never ran has no status yet). */
async function partitionsReached(deps: RuntimeDeps, partitions: number, time: number): Promise<boolean> {
  const list = await deps.store.listPartitionStatus();
  return list.filter((s) => s.partition < partitions && s.lastFinalized >= time).length === partitions;
}

/**
 * Refuses to run with another partition count than the pipeline was started with: its parts, state and memory
 * are split by the old count, so every key would be looked for in the wrong partition. Checked before writing.
 */
export function checkPartitions<T>(pipeline: Pipeline<T>, status: PipelineStatus): void {
  const stored = status.partitions ?? 1;
  if (stored === pipeline.partitions) return;
  throw new ValidationError(
    "FinalizerPartitionsChanged",
    `pipeline ${pipeline.name} was started with finalizerPartitions: ${stored} and is now deployed with ${pipeline.partitions}: ` +
      `its keyed data and state are split ${stored} ways, and repartitioning a running pipeline is not supported yet. ` +
      `Deploy it again with finalizerPartitions: ${stored}, or start it afresh under a new name`,
    { pipeline: pipeline.name, started: stored, deployed: pipeline.partitions },
  );
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
  const partitions = pipeline.partitions;
  // One partition: the boundaries' RDDs from the parts, and all memory. Several: this is the completion step,
  // which reads what every partition stored for the tail, and keeps only the tail's memory.
  const divided = partitions > 1 ? partitionPlan(plan, graph.reachable()) : undefined;
  const supplied = divided ? await frontierRDDs(divided.frontier, deps, time, partitions) : await boundaryRDDs(plan, deps, time, progress);
  const remembered = divided ? divided.tailRemembered : plan.remembered;
  // mapWithState's state is kept per key (keyed-state.ts); the rest of what earlier batches left is node memory.
  const keyed = keyedStateBatch(remembered, deps);
  const memory = await loadMemory(keyed.others(remembered), time, deps);
  const supply = keyed.around(supplierOf(plan, remembered, supplied, memory, time), batchTime);
  const outputs: BatchOutputs = {
    print: deps.log,
    writeBatch: async (path, parts) => {
      await fence.check();
      const dir = outputDirectory(pipeline.name, path);
      await Promise.all(parts.map((lines, i) => deps.objects.put(`${dir}/${partFileName(i)}`, lines.length ? lines.join("\n") + "\n" : "")));
      // Only once every part is there: with P > 1 the RDD has a partition per finalizer partition.
      await deps.objects.put(`${dir}/_SUCCESS`, "");
    },
  };
  const ev = new Evaluation(graph, outputs, supply);
  await keyed.prepare(ev, batchTime);
  const failures: Array<{ time: number; error: string }> = [];
  const fail = batchFailure(pipeline, deps, fence, time, failures);
  try {
    const jobs = divided ? completionJobs(pipeline, ev, divided.partitionOutputs, deps, fence, time, partitions) : ev.generateJobs(batchTime);
    for (const job of jobs) {
      try {
        await job.run();
      } catch (e) {
        await fail(e);
      }
    }
  } catch (e) {
    await fail(e);
  }
  await keyed.commit(() => fence.check(), fence.token, fail);
  await storeMemory(ev, keyed.others(remembered), time, deps, fence, fail);

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
      ...(partitions > 1 ? { finalizerPartitions: partitions } : {}),
      shards: progress.map((p) => ({ shardId: p.shardId, seq: p.seq, watermark: p.watermark, drained: p.drained })),
    }),
  );
  return failures;
}

/**
 * The completion step's jobs, in output order: the tail's outputs as one finalizer runs them, except the file
 * outputs the partitions wrote (`partitionOutputs`), whose job is only their `_SUCCESS` — written once every
 * partition said its part is there. A partition that failed its part's job said nothing (its error is in its
 * dead letter): the directory stays without `_SUCCESS` and the batch's failure names the partition.
 */
function completionJobs<T>(pipeline: Pipeline<T>, ev: Evaluation, partitionOutputs: readonly Node[], deps: RuntimeDeps, fence: Fence, time: number, partitions: number): Array<{ run(): void | Promise<void> }> {
  const batchTime = new Time(time);
  return ev.graph.outputs.flatMap((output): Array<{ run(): void | Promise<void> }> => {
    const node: Node = output;
    if (!partitionOutputs.includes(node)) {
      const job = output.generateJob(batchTime, ev);
      return job ? [job] : [];
    }
    if (!node.isTimeValid(batchTime)) return [];
    return [
      {
        run: async () => {
          const said = await Promise.all(Array.from({ length: partitions }, (_, p) => deps.store.getMemory(node.id, time, p)));
          const missing = said.findIndex((x) => x === undefined);
          if (missing >= 0) throw new UserFunctionError(node.label, new Error(`finalizer partition ${missing} did not write its part (see its dead letter)`), time);
          const path = said.map((x) => decodeValue<string | null>(x!)).find((x) => x !== null);
          if (path === undefined) return;
          await fence.check();
          await deps.objects.put(`${outputDirectory(pipeline.name, path)}/_SUCCESS`, "");
        },
      },
    ];
  });
}

/** Partition `partition` wrote its part of file output `node` at `time` (in `path`; null: nothing to write). */
export async function storeOutputWritten(deps: RuntimeDeps, fence: Fence, node: Node, time: number, partition: number, path: string | null): Promise<void> {
  await fence.check();
  if (!(await deps.store.putMemory(node.id, time, encodeValue(path), time + MEMORY_SLACK_MS, fence.token, partition))) throw leaseLost(fence.token);
}

/** The per-key state of one batch of finalizer partition `partition` of `partitions` (the pipeline's own: 0 of 1). */
export function keyedStateBatch(remembered: readonly Node[], deps: RuntimeDeps, partition = 0, partitions = 1): KeyedStateBatch {
  return new KeyedStateBatch(remembered, () => deps.keyedState ?? deps.store.keyedState?.(), partition, partitions);
}

/**
 * How a batch fails without stopping the pipeline: a user function that throws on the merged data would fail
 * this batch on every retry; Spark reports the failed job and goes on, so do we — with the error kept in S3.
 * Anything else (S3, DynamoDB) fails the finalization, and the batch runs again.
 */
export function batchFailure<T>(pipeline: Pipeline<T>, deps: RuntimeDeps, fence: Fence, time: number, failures: Array<{ time: number; error: string }>, partition?: number) {
  return async (e: unknown): Promise<void> => {
    if (!(e instanceof UserFunctionError || e instanceof ValidationError)) throw e;
    const error = e.message;
    failures.push({ time, error });
    const where = partition === undefined ? "" : ` (finalizer partition ${partition})`;
    deps.log(`sparkless: batch ${time} ms${where}: ${error}`);
    await fence.check();
    const name = partition === undefined ? `${time}` : `${time}-p${partition}`;
    await deps.objects.put(`${PREFIXES.deadLetter}${pipeline.name}/batches/${name}.json`, JSON.stringify({ batchTime: time, error, ...(partition === undefined ? {} : { partition }) }));
  };
}

/**
 * The boundary nodes' RDDs of batch `time` from the committed parts (of finalizer partition `partition`), in a
 * deterministic order: shard, then sequence. Partial aggregates are merged per key.
 */
export async function boundaryRDDs(plan: Plan, deps: RuntimeDeps, time: number, progress: readonly ShardProgress[], partition?: number): Promise<Map<Node, RDD<unknown>>> {
  // The attempts committed for this batch: the markers, and each shard's latest commit. Markers are read after
  // the progress, so a commit that the progress no longer shows as latest has its marker written already.
  const committed = new Set((await deps.store.getCommitMarkers(time)).map((m) => `${m.shardId}#${m.attemptId}`));
  for (const p of progress) if (p.lastCommit?.times.includes(time)) committed.add(`${p.shardId}#${p.lastCommit.attemptId}`);
  const parts = (await (partition === undefined ? deps.store.getParts(time) : deps.store.getParts(time, partition)))
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
  return supplied;
}

/**
 * What the completion step reads instead of parts: each frontier node's RDD of `time` as every partition stored
 * it, one RDD partition per finalizer partition in partition order (so `print` shows the first elements in
 * partition order, as Spark's does; file outputs over local streams never come here: the partitions write them). A partition that
 * stored nothing for a node failed computing it (its error is in the dead letters): the tail's jobs that read
 * it fail too, as they would have on one partition.
 */
async function frontierRDDs(frontier: readonly Node[], deps: RuntimeDeps, time: number, partitions: number): Promise<Map<Node, RDD<unknown> | Error | undefined>> {
  const out = new Map<Node, RDD<unknown> | Error | undefined>();
  await Promise.all(
    frontier.map(async (node) => {
      const payloads = await Promise.all(Array.from({ length: partitions }, (_, p) => deps.store.getMemory(node.id, time, p)));
      const missing = payloads.findIndex((x) => x === undefined);
      if (missing >= 0) {
        out.set(node, new UserFunctionError(node.label, new Error(`finalizer partition ${missing} could not compute it (see its dead letter)`), time));
        return;
      }
      const decoded = payloads.map((x) => decodeValue<unknown[][] | null>(x!));
      // Every partition agrees whether the node has an RDD at this time (it depends on time only).
      out.set(node, decoded.every((x) => x === null) ? undefined : RDD.fromPartitions(decoded.map((x) => (x ?? []).flat())));
    }),
  );
  return out;
}

/**
 * What earlier batches left for this one: `nodes`' remembered RDDs within each node's remember duration (of
 * finalizer partition `partition`, or the pipeline's own). The one place a finalizer reads node memory.
 */
export async function loadMemory(nodes: readonly Node[], time: number, deps: RuntimeDeps, partition?: number): Promise<Map<string, RDD<unknown> | undefined>> {
  const memory = new Map<string, RDD<unknown> | undefined>();
  await Promise.all(
    nodes.flatMap((node) =>
      rememberedTimes(node, time).map(async (t) => {
        const payload = await (partition === undefined ? deps.store.getMemory(node.id, t) : deps.store.getMemory(node.id, t, partition));
        if (payload !== undefined) memory.set(`${node.id}@${t}`, decodeRDD(payload));
      }),
    ),
  );
  return memory;
}

/** The supplier of one batch's run: this batch's inputs, what earlier batches stored, nothing else from the past. */
export function supplierOf(
  plan: Plan,
  remembered: readonly Node[],
  supplied: ReadonlyMap<Node, RDD<unknown> | Error | undefined>,
  memory: ReadonlyMap<string, RDD<unknown> | undefined>,
  time: number,
): Supplier {
  return (node, at) => {
    if (at.milliseconds === time) {
      if (supplied.has(node)) {
        const rdd = supplied.get(node);
        if (rdd instanceof Error) throw rdd;
        return { rdd };
      }
      return plan.stage1.has(node) ? { rdd: undefined } : undefined;
    }
    const key = `${node.id}@${at.milliseconds}`;
    if (memory.has(key)) return { rdd: memory.get(key) };
    // Anything else from the past is not kept: the graph never needs it (the planner remembers what it reads).
    return plan.stage1.has(node) || remembered.includes(node) ? { rdd: undefined } : undefined;
  };
}

/**
 * Stores what later batches read (and, with `frontier`, what the completion step reads of this batch); a re-run
 * writes the same values under the same keys. Refused when a later holder of the lease wrote it: this finalizer
 * is behind, and stops.
 */
export async function storeMemory(
  ev: Evaluation,
  nodes: readonly Node[],
  time: number,
  deps: RuntimeDeps,
  fence: Fence,
  fail: (e: unknown) => Promise<void>,
  partition?: number,
  frontier: readonly Node[] = [],
  printOnly: ReadonlyMap<Node, number> = new Map(),
): Promise<void> {
  const batchTime = new Time(time);
  const all = [...new Set([...nodes, ...frontier])];
  await Promise.all(
    all.map(async (node) => {
      if (!node.isTimeValid(batchTime)) return;
      let rdd: RDD<unknown> | undefined;
      try {
        rdd = ev.getOrCompute(node, batchTime);
      } catch (e) {
        await fail(e);
        return;
      }
      // The frontier is read once, by the completion step, which may lag behind: kept as long as memory is.
      const remember = nodes.includes(node) ? node.rememberDuration!.milliseconds : 0;
      const expiresAt = time + remember + MEMORY_SLACK_MS;
      await fence.check();
      // Read only by print(n): the first n + 1 elements are all the completion step shows of this partition.
      const limit = nodes.includes(node) ? undefined : printOnly.get(node);
      const payload = encodeValue(rdd ? (limit === undefined ? rdd.partitions() : [rdd.take(limit)]) : null);
      const ok = partition === undefined ? await deps.store.putMemory(node.id, time, payload, expiresAt, fence.token) : await deps.store.putMemory(node.id, time, payload, expiresAt, fence.token, partition);
      if (!ok) throw leaseLost(fence.token);
    }),
  );
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

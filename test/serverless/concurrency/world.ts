/**
 * One pipeline on shared stores, driven by many actors at once under a {@link Scheduler}: Lambda's event source
 * mapping delivering each shard's records in order (with retries, bisection and duplicate deliveries running
 * beside the original), shard handlers finalizing inline, ticks and on-demand finalizers. A seed picks every
 * interleaving, delay, failure, kill and lease expiry; `check` then compares every batch with the local engine.
 */
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Milliseconds, Seconds } from "../../../lib/core/duration.js";
import type { DStream } from "../../../lib/api/dstream.js";
import { MemoryObjectStore } from "../../../lib/testing/memory-object-store.js";
import type { ObjectStore } from "../../../lib/io/object-store.js";
import { definePipeline } from "../../../lib/api/define-pipeline.js";
import { StateSpec } from "../../../lib/core/state-spec.js";
import type { State } from "../../../lib/core/state.js";
import type { RuntimeDeps } from "../../../lib/serverless/runtime-deps.js";
import { PipelineRuntime } from "../../../lib/serverless/runtime.js";
import { MemoryPipelineStore } from "../../../lib/testing/memory-pipeline-store.js";
import type { PipelineStore } from "../../../lib/pipeline-store/pipeline-store.js";
import { kinesisEvent, printedBlocks, prng, runLocal, sequenceNumber, serverlessFiles, SimShards, type SimRecord } from "../support.js";
import { type Actor, type Gate, Scheduler } from "./scheduler.js";

/** Ten-second batches: a jump of the clock past the lease (60 s) completes a handful of batches, not sixty. */
export const B = 10_000;
const add = (a: number, b: number) => a + b;
const sub = (a: number, b: number) => a - b;
type Rec = { w: string; n: number };

/**
 * The local engine fsyncs a checkpoint per batch: on a RAM disk when there is one, so that hundreds of
 * reference runs take seconds, not minutes.
 */
const LOCAL_CHECKPOINTS = join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), `sparkless-race-${process.pid}`);

/** Lambda's limits as the construct sets them (infra/sparkless-pipeline.ts): what a lease must outlast. */
export const SHARD_TIMEOUT_MS = 60_000;
export const TICKER_TIMEOUT_MS = 60_000;
export const FINALIZER_TIMEOUT_MS = 300_000;

/** The race pipeline, with `partitions` finalizer partitions. */
function racePipeline(partitions: number) {
  return definePipeline<Rec>(
    "race",
    { batchInterval: Milliseconds(B), decoder: (bytes) => JSON.parse(Buffer.from(bytes).toString("utf8")) as Rec, idleAfter: Seconds(1), finalizerPartitions: partitions },
    (input: DStream<Rec>) => {
      const pairs = input.map((r) => [r.w, r.n] as [string, number]);
      pairs.reduceByKey(add).saveAsTextFiles("out/sum");
      pairs.updateStateByKey((vs: number[], s: number | undefined) => (s ?? 0) + vs.reduce(add, 0), { name: "totals" }).saveAsTextFiles("out/totals");
      pairs.reduceByKeyAndWindow(add, sub, Seconds(30), Seconds(10), { name: "win" }).saveAsTextFiles("out/win");
      input.map((r) => `${r.w}${r.n}`).print(4);
      // Per-key state (lib/serverless/keyed-state.ts): conditional item writes racing with the rest.
      pairs.mapWithState(StateSpec.function((w: string, n: number | undefined, s: State<number>) => (s.update((s.getOption() ?? 0) + (n ?? 0)), [w, s.get()])).name("sessions")).saveAsTextFiles("out/sessions");
    },
  );
}

export const pipeline = racePipeline(1);
const partitioned = new Map<number, ReturnType<typeof racePipeline>>([[1, pipeline]]);

export interface WorldOptions {
  /** The stores under test. @default - in-memory ones */
  readonly stores?: () => { store: PipelineStore; objects: ObjectStore };
  /** Scheduler steps before the world is left to finish quietly. @default 600 */
  readonly maxSteps?: number;
  /** Batches of data (one shard's records span them). @default 3 to 10 */
  readonly batches?: number;
  /** Records per shard, as ms after the start and the record's word and number. @default - random */
  readonly shards?: ReadonlyArray<ReadonlyArray<{ at: number; w: string; n: number }>>;
  /**
   * Finalizer partitions. With more than one, the schedule also runs partition finalizers (several of one
   * partition at once), and files compare as sorted lines (an RDD's elements come in partition order). @default 1
   */
  readonly partitions?: number;
}

/** Everything one schedule did, for a failure message. */
export interface Outcome {
  readonly seed: number;
  readonly trace: string[];
  readonly problems: string[];
}

export class World {
  readonly clock = { now: 0 };
  readonly sched = new Scheduler(this.clock);
  readonly records = new Map<string, SimRecord[]>();
  readonly store: PipelineStore;
  readonly objects: ObjectStore;
  readonly shards: SimShards;
  readonly rnd: (n: number) => number;
  readonly pipeline: ReturnType<typeof racePipeline>;
  private attempts = 0;
  /** What each shard handler returned: its batchItemFailures tell Lambda where to resume. */
  private readonly responses = new Map<Actor, { batchItemFailures: ReadonlyArray<{ itemIdentifier: string }> }>();
  private readonly base = 1_700_000_000_000;
  private zero = 0;
  private end = 0;

  constructor(
    readonly seed: number,
    readonly options: WorldOptions = {},
  ) {
    this.rnd = prng(seed);
    const partitions = options.partitions ?? 1;
    this.pipeline = partitioned.get(partitions) ?? partitioned.set(partitions, racePipeline(partitions)).get(partitions)!;
    const made = options.stores?.() ?? { store: new MemoryPipelineStore(), objects: new MemoryObjectStore() };
    this.store = made.store;
    this.objects = made.objects;
    const batches = options.batches ?? 3 + this.rnd(8);
    const words = ["a", "b", "c", "d"];
    const shards = options.shards ?? Array.from({ length: 1 + this.rnd(3) }, () =>
      Array.from({ length: this.rnd(3 * batches + 1) }, () => ({ at: this.rnd(batches * B), w: words[this.rnd(words.length)]!, n: 1 + this.rnd(5) })).sort((a, b) => a.at - b.at),
    );
    shards.forEach((recs, s) => {
      const id = `shardId-${String(s).padStart(12, "0")}`;
      this.records.set(
        id,
        recs.map(({ at, w, n }, i) => ({ shardId: id, seq: sequenceNumber(s, i), arrival: this.base + at, partitionKey: w, data: Buffer.from(JSON.stringify({ w, n })).toString("base64") })),
      );
    });
    this.shards = new SimShards(this.records, [...this.records.keys()].map((shardId) => ({ shardId, closed: false })));
  }

  /** Deps as one actor sees them: every call gated by the scheduler, its log lines kept apart. */
  depsOf(actor: Actor): RuntimeDeps {
    return {
      store: this.sched.wrap(this.store, actor, "store"),
      ...(this.store.keyedState ? { keyedState: this.sched.wrap(this.store.keyedState(), actor, "state") } : {}),
      objects: this.sched.wrap(this.objects, actor, "objects"),
      shards: this.sched.wrap(this.shards, actor, "shards"),
      now: () => this.clock.now,
      log: (t) => void (actor.dead ? undefined : actor.logs.push(t)),
      newAttemptId: () => `${actor.name.replace("#", "_")}-${this.attempts++}`,
    };
  }

  private direct(): RuntimeDeps {
    return { store: this.store, objects: this.objects, shards: this.shards, now: () => this.clock.now, log: () => undefined, newAttemptId: () => `quiet-${this.attempts++}` };
  }

  /** The pipeline starts at its first tick, before any record (its zero time is set then). */
  async start(): Promise<void> {
    this.clock.now = this.base;
    await new PipelineRuntime(this.pipeline, this.direct()).tick();
    this.zero = (await this.store.getStatus())!.zeroTime;
    const last = Math.max(this.base, ...[...this.records.values()].flat().map((r) => r.arrival));
    this.end = Math.floor(last / B) * B + 3 * B;
    this.clock.now = last + 1;
  }

  /** A context whose remaining time follows the manual clock. */
  context(actor: Actor) {
    return { getRemainingTimeInMillis: () => actor.deadline - this.clock.now, awsRequestId: actor.name };
  }

  /** A shard invocation for these records (of one shard), ended by Lambda after `timeoutMs`. */
  shardHandler(name: string, records: readonly SimRecord[], timeoutMs = SHARD_TIMEOUT_MS): Actor {
    const event = kinesisEvent(records);
    return this.sched.spawn(name, timeoutMs, async (actor) => {
      this.responses.set(actor, await new PipelineRuntime(this.pipeline, this.depsOf(actor)).handleShardEvent(event, this.context(actor)));
    });
  }

  ticker(name: string): Actor {
    return this.sched.spawn(name, TICKER_TIMEOUT_MS, (actor) => new PipelineRuntime(this.pipeline, this.depsOf(actor)).tick(this.context(actor)));
  }

  finalizer(name: string): Actor {
    return this.sched.spawn(name, FINALIZER_TIMEOUT_MS, (actor) => new PipelineRuntime(this.pipeline, this.depsOf(actor)).finalize(this.context(actor)));
  }

  /** The finalizer function invoked for one partition (P > 1), as the fan-out asks for it. */
  partitionFinalizer(name: string, partition: number): Actor {
    return this.sched.spawn(name, FINALIZER_TIMEOUT_MS, (actor) => new PipelineRuntime(this.pipeline, this.depsOf(actor)).finalize(this.context(actor), { partition }));
  }

  /**
   * A random schedule: Lambda's event source mapping per shard (one batch in flight, retried with bisection
   * until it succeeds; sometimes a duplicate delivery of the same batch beside it), ticks, and up to four
   * finalizers at once; every step releases one call (run, fail before or after it took effect), delays an
   * actor, kills one, or moves the clock past the lease and Lambda's timeouts.
   */
  async runRandom(): Promise<void> {
    const { sched, rnd } = this;
    const position = new Map([...this.records.keys()].map((id) => [id, 0]));
    const inFlight = new Map<string, { actor: Actor; size: number }>();
    const nextSize = new Map<string, number>();
    const uniform = rnd(2) === 0;
    const priority = new Map<Actor, number>();
    let n = 0;
    const maxSteps = this.options.maxSteps ?? 600;
    for (let step = 0; step < maxSteps; step++) {
      // Lambda's event source mapping: the next batch of a shard once the last one has ended.
      for (const [id, flight] of inFlight) {
        if (!flight.actor.done) continue;
        inFlight.delete(id);
        const response = flight.actor.error || flight.actor.dead ? undefined : this.responses.get(flight.actor);
        if (!response) {
          if (flight.size > 1 && rnd(2) === 0) nextSize.set(id, Math.ceil(flight.size / 2)); // BisectBatchOnFunctionError
          continue;
        }
        const recs = this.records.get(id)!;
        const failed = response.batchItemFailures[0]?.itemIdentifier;
        position.set(id, failed ? recs.findIndex((r) => r.seq === failed) : position.get(id)! + flight.size);
      }
      for (const [id, recs] of this.records) {
        if (inFlight.has(id) || position.get(id)! >= recs.length || rnd(3) !== 0) continue;
        const size = nextSize.get(id) ?? 1 + rnd(5);
        nextSize.delete(id);
        const event = recs.slice(position.get(id)!, position.get(id)! + size);
        const actor = this.shardHandler(`shard${id.slice(-1)}#${n++}`, event);
        inFlight.set(id, { actor, size: Math.min(size, recs.length - position.get(id)!) });
        if (rnd(6) === 0) this.shardHandler(`dup${id.slice(-1)}#${n++}`, event); // a duplicate delivery beside it
      }
      const live = sched.actors.filter((a) => !a.done && !a.dead);
      if (rnd(12) === 0 && live.filter((a) => a.name.startsWith("tick")).length < 2) this.ticker(`tick#${n++}`);
      if (rnd(8) === 0 && live.filter((a) => a.name.startsWith("fin")).length < 4) this.finalizer(`fin#${n++}`);
      const partitions = this.pipeline.partitions;
      // Partition finalizers, up to three at once and often of the same partition: they race for its lease.
      if (partitions > 1 && rnd(4) === 0 && live.filter((a) => a.name.startsWith("pfin")).length < 3) this.partitionFinalizer(`pfin${n++}#`, rnd(2) === 0 ? 0 : rnd(partitions));
      await sched.settle();

      const consumed = [...this.records.keys()].every((id) => position.get(id)! >= this.records.get(id)!.length);
      if (sched.pending.length === 0) {
        if (consumed && inFlight.size === 0) break;
        continue;
      }

      const roll = rnd(100);
      if (roll < 2) {
        // Time passes beyond the lease: a paused finalizer's lease expires, and Lambda ends whatever outlived
        // its timeout (a request it had already sent may still land).
        this.clock.now += 61_000 + rnd(60_000);
        sched.trace.push(`${this.clock.now} clock jumps`);
      } else if (roll < 4) {
        const victim = sched.pending[rnd(sched.pending.length)]!.actor;
        sched.kill(victim, () => rnd(2) === 0);
      } else {
        // Half the schedules pick any pending call; the other half run the actor of highest priority and now and
        // then demote it (PCT), which makes the long runs of one actor that deep races need while others wait.
        let gate: Gate;
        if (uniform) {
          gate = sched.pending[rnd(sched.pending.length)]!;
        } else {
          const priorityOf = (a: Actor) => priority.get(a) ?? priority.set(a, 1 + rnd(1_000_000)).get(a)!;
          const top = sched.pending.reduce((best, g) => (priorityOf(g.actor) > priorityOf(best.actor) ? g : best));
          const mine = sched.gatesOf(top.actor);
          gate = mine[rnd(mine.length)]!;
          if (rnd(25) === 0) priority.set(top.actor, -rnd(1_000_000));
        }
        const r = rnd(100);
        await sched.release(gate, r < 4 ? "fail-after" : r < 7 ? "fail-before" : "run");
      }
      this.clock.now += rnd(300);
      for (const a of sched.actors) if (!a.dead && !a.done && a.deadline <= this.clock.now) sched.kill(a, () => rnd(2) === 0);
    }
    // Whatever is still waiting: calls of the dead land or are lost, the living run to their end.
    while (sched.pending.length > 0) {
      const gate = sched.pending[0]!;
      await sched.release(gate, gate.actor.dead && rnd(2) === 0 ? "fail-before" : "run");
    }
  }

  /**
   * After the schedule, the stream is read to its end and ticks finalize every batch (no faults, one at a time,
   * past any lease a dead finalizer left). Then each batch's files and printed blocks must equal the local
   * engine's for the same records, and the status must have reached the end.
   */
  async check(): Promise<string[]> {
    const deps = this.direct();
    const runtime = new PipelineRuntime(this.pipeline, deps);
    for (const [, recs] of this.records) {
      // Anything left: delivered once more from the start (committed records are skipped).
      if (recs.length) await runtime.handleShardEvent(kinesisEvent(recs), { getRemainingTimeInMillis: () => 60_000 });
    }
    this.clock.now = Math.max(this.clock.now, this.end + 2 * B);
    for (let i = 0; i < 5 && (await this.store.getStatus())!.lastFinalized < this.end; i++) {
      const { finalized } = await runtime.tick({ getRemainingTimeInMillis: () => 60_000 });
      // A dead finalizer's lease (with P > 1 a partition's, which leaves the completion step "incomplete").
      if (finalized.stopped === "leased" || this.pipeline.partitions > 1) this.clock.now += 61_000;
    }
    const problems: string[] = [];
    for (const a of this.sched.actors) {
      // What an actor may die of: a store call that failed, or a commit that lost to a duplicate or a probe.
      const e = a.error as { name?: string; code?: string } | undefined;
      if (e && e.name !== "SimulatedCrash" && e.code !== "CommitConflict") problems.push(`${a.name} failed: ${String(e)}`);
    }
    const status = (await this.store.getStatus())!;
    if (status.lastFinalized < this.end) problems.push(`finalized only to ${status.lastFinalized}, not ${this.end}`);

    const batches: Rec[][] = [];
    const all = [...this.records.values()].flat();
    for (let t = this.zero + B; t <= this.end; t += B) {
      batches.push(all.filter((r) => Math.max(Math.floor(r.arrival / B) * B + B, this.zero + B) === t).map((r) => JSON.parse(Buffer.from(r.data, "base64").toString()) as Rec));
    }
    const local = await runLocal(pipeline, batches, this.zero, this.end, LOCAL_CHECKPOINTS);
    const remote = await serverlessFiles(this.objects, pipeline.name, this.end);
    // With P > 1 an RDD lists its elements in partition order: the same lines, in another order.
    const partitioned = this.pipeline.partitions > 1;
    const same = (text: string | undefined) => (partitioned && text !== undefined ? text.split("\n").sort().join("\n") : text);
    for (const [path, text] of local.files) {
      if (same(remote.get(path)) !== same(text)) problems.push(`${path}: expected ${JSON.stringify(text)}, found ${JSON.stringify(remote.get(path))}`);
    }
    for (const path of remote.keys()) if (!local.files.has(path)) problems.push(`${path} should not exist`);

    // Printing is at least once: every block printed for a batch, by any actor, is the local engine's.
    const block = (text: string) => {
      const [header, ...lines] = text.split("\n");
      return !partitioned ? text : lines.includes("...") ? `${header} ${lines.length}` : [header, ...lines.sort()].join("\n");
    };
    const normal = (blocks: Map<number, string[]>) => new Map([...blocks].map(([t, bs]) => [t, bs.map(block)]));
    const expected = normal(printedBlocks(local.printed, this.end));
    const printed = normal(printedBlocks(this.sched.actors.flatMap((a) => a.logs), this.end));
    for (const [time, blocks] of printed) {
      const want = expected.get(time) ?? [];
      for (const block of blocks) if (!want.includes(block)) problems.push(`printed at ${time}: ${JSON.stringify(block)} is not one of ${JSON.stringify(want)}`);
    }
    return problems;
  }
}

/** One random schedule, checked. */
export async function runSchedule(seed: number, options: WorldOptions = {}): Promise<Outcome> {
  // Each operator notes where the user's code created it, from a stack trace: under vitest's source maps that
  // is most of a graph's construction time, and the harness builds a graph per actor.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    const world = new World(seed, options);
    await world.start();
    await world.runRandom();
    const problems = await world.check();
    return { seed, trace: world.sched.trace, problems };
  } finally {
    Error.stackTraceLimit = limit;
  }
}

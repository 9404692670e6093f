import { Duration, Time } from "../core/duration.js";
import type { RDD } from "../core/rdd.js";
import { IllegalStateError, UserFunctionError, ValidationError } from "../core/errors.js";
import type { StreamGraph } from "./stream-graph.js";

/**
 * An operator in the plan (Spark's DStream, minus the public API). A node needs only its parents, its slide
 * duration and how to compute its batch for a time; generating, caching, remembering and forgetting RDDs
 * live here once. The public `DStream` wraps a node; nodes never know the public class.
 */
export abstract class Node<T = unknown> {
  readonly id: string;
  /** Set by `initialize` when the context starts: the time before the first batch. */
  zeroTime: Time | undefined;
  /** How long generated RDDs are kept (what later batches read back: windows, state). */
  rememberDuration: Duration | undefined;
  /** How often this node's data is checkpointed; set by `dstream.checkpoint(d)` or by default for stateful nodes. */
  checkpointDuration: Duration | undefined;
  /** Keep computed RDDs materialized, because later batches read them again (window parents, state). */
  persisted = false;
  /** Where the user created the operator (a stack frame), for messages. */
  readonly callSite: string | undefined;

  private readonly generated = new Map<number, RDD<T> | undefined>();

  constructor(
    readonly graph: StreamGraph,
    /** The operator's Spark name: "map", "reduceByKeyAndWindow", "queueStream" … */
    readonly kind: string,
    /** A user-given name that keeps the node's id (and so its stored state) stable across edits. */
    readonly name?: string,
  ) {
    this.callSite = userCallSite();
    this.id = graph.register(this);
  }

  abstract get dependencies(): ReadonlyArray<Node>;
  abstract get slideDuration(): Duration;
  abstract compute(time: Time): RDD<T> | undefined;

  /** Stateful nodes (state, inverse windows) need a checkpoint directory, as in Spark. */
  get mustCheckpoint(): boolean {
    return false;
  }

  /** How far back this node reads its parents, beyond its own remember duration. */
  get parentRememberDuration(): Duration {
    return this.rememberDuration!;
  }

  /** The parameters that define what this node computes (durations, options): part of the graph hash. */
  describe(): Record<string, unknown> {
    return {};
  }

  /** "map at wordcount.ts:12" — how messages name this operator. */
  get label(): string {
    return this.callSite ? `${this.kind} at ${this.callSite}` : this.kind;
  }

  // ---- lifecycle (Spark's initialize / remember / validateAtStart) ----

  initialize(zeroTime: Time): void {
    if (this.zeroTime !== undefined && !this.zeroTime.equals(zeroTime)) {
      throw new IllegalStateError("ZeroTimeChanged", `${this.label} was initialized with zero time ${this.zeroTime}, cannot initialize it again with ${zeroTime}`);
    }
    this.zeroTime = zeroTime;
    if (this.mustCheckpoint && this.checkpointDuration === undefined) {
      // Spark: max(10 s, slide) rounded up to a multiple of the slide.
      const slide = this.slideDuration.milliseconds;
      this.checkpointDuration = new Duration(slide * Math.ceil(10_000 / slide));
    }
    const min =
      this.checkpointDuration !== undefined ? this.checkpointDuration.times(2).max(this.slideDuration) : this.slideDuration;
    if (this.rememberDuration === undefined || this.rememberDuration.lessThan(min)) this.rememberDuration = min;
    for (const d of this.dependencies) d.initialize(zeroTime);
  }

  remember(duration: Duration | undefined): void {
    if (duration !== undefined && (this.rememberDuration === undefined || this.rememberDuration.lessThan(duration))) {
      this.rememberDuration = duration;
    }
    for (const d of this.dependencies) d.remember(this.parentRememberDuration);
  }

  validateAtStart(): void {
    if (this.mustCheckpoint && this.graph.checkpointDir === undefined) {
      throw new ValidationError(
        "CheckpointDirectoryNotSet",
        `${this.label} keeps state across batches, so it needs a checkpoint directory: call ssc.checkpoint(dir) before start() (Spark: "The checkpoint directory has not been set")`,
        { operator: this.kind },
      );
    }
    if (this.checkpointDuration !== undefined && !this.checkpointDuration.isMultipleOf(this.slideDuration)) {
      throw new ValidationError(
        "CheckpointIntervalNotMultipleOfSlide",
        `checkpoint interval (${this.checkpointDuration}) of ${this.label} must be a multiple of its slide duration (${this.slideDuration})`,
      );
    }
    for (const d of this.dependencies) d.validateAtStart();
  }

  // ---- generating RDDs ----

  isTimeValid(time: Time): boolean {
    const zero = this.zeroTime;
    if (zero === undefined) {
      throw new IllegalStateError("NotInitialized", `${this.label} has not been initialized: start the context first`);
    }
    return time.milliseconds > zero.milliseconds && (time.milliseconds - zero.milliseconds) % this.slideDuration.milliseconds === 0;
  }

  /** The RDD of this node for `time`, computing it once; `undefined` where the node has no RDD then (Spark's None). */
  getOrCompute(time: Time): RDD<T> | undefined {
    const ms = time.milliseconds;
    if (this.generated.has(ms)) return this.generated.get(ms);
    if (!this.isTimeValid(time)) return undefined;
    const supplied = this.graph.supply<T>(this, time);
    let rdd: RDD<T> | undefined;
    if (supplied.supplied) {
      rdd = supplied.rdd;
    } else {
      try {
        rdd = this.compute(time);
      } catch (e) {
        throw e instanceof UserFunctionError || !(e instanceof Error) || isSparklessError(e)
          ? e
          : new UserFunctionError(this.label, e);
      }
    }
    if (rdd && this.persisted) rdd.cache();
    this.generated.set(ms, rdd);
    return rdd;
  }

  /** RDDs of the times in [from, to] (aligned to this node's slide), skipping times with no RDD. */
  slice(from: Time, to: Time): RDD<T>[] {
    const zero = this.zeroTime;
    if (zero === undefined) throw new IllegalStateError("NotInitialized", `${this.label} has not been initialized: start the context first`);
    const slide = this.slideDuration.milliseconds;
    // Spark aligns both ends down to the slide grid (DStream.slice).
    const align = (t: number) => zero.milliseconds + Math.floor((t - zero.milliseconds) / slide) * slide;
    const out: RDD<T>[] = [];
    for (let t = align(from.milliseconds); t <= align(to.milliseconds); t += slide) {
      if (t < zero.milliseconds) continue;
      const rdd = this.getOrCompute(new Time(t));
      if (rdd) out.push(rdd);
    }
    return out;
  }

  /** Forgets RDDs no later batch can read. */
  clearMetadata(time: Time): void {
    const keepAfter = time.milliseconds - this.rememberDuration!.milliseconds;
    for (const t of this.generated.keys()) if (t <= keepAfter) this.generated.delete(t);
    for (const d of this.dependencies) d.clearMetadata(time);
  }

  /** The RDDs this node currently remembers, oldest first (for checkpoints). */
  remembered(): Array<[number, RDD<T> | undefined]> {
    return [...this.generated.entries()].sort((a, b) => a[0] - b[0]);
  }

  /** Puts back an RDD from a checkpoint. */
  restoreGenerated(time: number, rdd: RDD<T> | undefined): void {
    this.generated.set(time, rdd);
  }

  /** Drops what was computed for `time` (a batch that failed part-way is computed afresh on retry). */
  forget(time: Time): void {
    this.generated.delete(time.milliseconds);
  }
}

function isSparklessError(e: Error): boolean {
  return typeof (e as { code?: unknown }).code === "string" && "details" in e;
}

/** The first stack frame outside sparkless's own lib/, as "file.ts:12". */
function userCallSite(): string | undefined {
  const stack = new Error().stack?.split("\n").slice(1) ?? [];
  for (const line of stack) {
    if (/[\\/]lib[\\/](graph|api|core|exec|state|io)[\\/]/.test(line) || line.includes("node:internal") || line.includes("node_modules")) continue;
    const m = /([^\s(\\/]+):(\d+):\d+\)?$/.exec(line.trim());
    if (m) return `${m[1]}:${m[2]}`;
  }
  return undefined;
}

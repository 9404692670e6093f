import { Duration, Time } from "../core/duration.js";
import type { RDD } from "../core/rdd.js";
import { IllegalStateError, ValidationError } from "../core/errors.js";
import type { Evaluation } from "./evaluation.js";
import type { StreamGraph } from "./stream-graph.js";

/**
 * An operator in the plan (Spark's DStream, minus the public API). A node needs only its parents, its slide
 * duration and how to compute its batch for a time. Generating, caching, remembering and forgetting RDDs
 * live once in an {@link Evaluation}, which whoever runs the plan brings: once started, a node is plain,
 * unchanging data. The public `DStream` wraps a node; nodes never know the public class.
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
  /** This node's batch for `time`, reading its parents' through `ev` (which caches, supplies and remembers). */
  abstract compute(time: Time, ev: Evaluation): RDD<T> | undefined;

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

  // ---- generating RDDs (an Evaluation holds what was generated; the node only says how) ----

  isTimeValid(time: Time): boolean {
    const zero = this.zeroTime;
    if (zero === undefined) {
      throw new IllegalStateError("NotInitialized", `${this.label} has not been initialized: start the context first`);
    }
    return time.milliseconds > zero.milliseconds && (time.milliseconds - zero.milliseconds) % this.slideDuration.milliseconds === 0;
  }
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

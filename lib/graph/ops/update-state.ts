import type { Duration, Time } from "../../core/duration.js";
import { KeyMap } from "../../core/keys.js";
import { requirePair } from "../../core/pairs.js";
import { RDD } from "../../core/rdd.js";
import { guarded } from "../../core/steps.js";
import type { Evaluation } from "../evaluation.js";
import { Node } from "../node.js";

/** The normalized update function: Spark's `(Time, K, Seq[V], Option[S]) => Option[S]`, None as undefined. */
export type UpdateFn<K, V, S> = (time: Time, key: K, values: V[], state: S | undefined) => S | undefined;

/**
 * updateStateByKey (Spark's StateDStream): every batch, the function is called for every key that has a
 * state or new values, and the stream is the whole state. A key whose function returns `undefined` is removed.
 * The state of the previous batch is this node's own previous RDD.
 */
export class UpdateStateNode<K, V, S> extends Node<[K, S]> {
  private readonly update: UpdateFn<K, V, S>;

  constructor(
    readonly parent: Node<[K, V]>,
    updateFn: UpdateFn<K, V, S>,
    readonly initialRDD: RDD<[K, S]> | undefined,
    name?: string,
  ) {
    super(parent.graph, "updateStateByKey", name);
    this.update = guarded(this.label, updateFn);
    this.persisted = true;
  }

  get updateFn(): UpdateFn<K, V, S> {
    return this.update;
  }

  get dependencies(): ReadonlyArray<Node> {
    return [this.parent];
  }

  get slideDuration(): Duration {
    return this.parent.slideDuration;
  }

  override get mustCheckpoint(): boolean {
    return true;
  }

  override describe(): Record<string, unknown> {
    return { initialState: this.initialRDD !== undefined };
  }

  compute(time: Time, ev: Evaluation): RDD<[K, S]> | undefined {
    const previous = ev.getOrCompute(this, time.minus(this.slideDuration));
    const data = ev.getOrCompute(this.parent, time);
    // Spark: with no previous state and no parent RDD there is nothing to do (the initial RDD waits for the
    // first batch that has input); with a previous state and no parent RDD, every key is called with [].
    if (previous === undefined && data === undefined) return undefined;
    return RDD.of(this.apply(time, previous ?? this.initialRDD, data));
  }

  /** One batch of state updates: shared with the serverless finalizer, which supplies the previous state. */
  apply(time: Time, previous: RDD<[K, S]> | undefined, data: RDD<[K, V]> | undefined): Array<[K, S]> {
    const groups = new KeyMap<K, { values: V[]; state: S | undefined; had: boolean }>();
    previous?.forEachElement((p) => {
      requirePair<K, S>(p, this.label);
      groups.set(p[0], { values: [], state: p[1], had: true });
    });
    data?.forEachElement((p) => {
      requirePair<K, V>(p, this.label);
      groups.upsert(p[0], p[1], (first) => ({ values: [first], state: undefined, had: false }), (g, next) => (g.values.push(next), g));
    });
    const out: Array<[K, S]> = [];
    groups.forEach((g, k) => {
      const next = this.update(time, k, g.values, g.had ? g.state : undefined);
      if (next !== undefined) out.push([k, next]);
    });
    return out;
  }
}

import { Duration, Time } from "../../core/duration.js";
import { KeyMap } from "../../core/keys.js";
import { requirePair } from "../../core/pairs.js";
import { RDD } from "../../core/rdd.js";
import { guarded } from "../../core/steps.js";
import { State } from "../../core/state.js";
import type { MappingFunction, StateSpec, TimedMappingFunction } from "../../core/state-spec.js";
import type { Evaluation } from "../evaluation.js";
import { Node } from "../node.js";

export interface KeyState<S> {
  readonly state: S;
  /** Batch time (ms) the key was last touched; timeouts count from it. */
  readonly updatedAt: number;
}

/** One batch of mapWithState: every key's state after the batch, and what the function returned (its `undefined`s left out). */
export interface StateRecord<K, S, E> {
  readonly states: KeyMap<K, KeyState<S>>;
  readonly mapped: E[];
}

/**
 * mapWithState (Spark's InternalMapWithStateDStream): the function runs once per record, in order, with the
 * key's state. Timeouts follow Spark exactly: a key is timed out when its last update is older than
 * `batchTime - timeout`, and Spark looks for such keys only in batches where the state is checkpointed
 * (every 10 batches unless `.checkpoint(interval)` says otherwise) — so a timeout fires up to one checkpoint
 * interval late, in the same batch Spark would fire it.
 */
export class MapWithStateNode<K, V, S, E> extends Node<StateRecord<K, S, E>> {
  private readonly fn: TimedMappingFunction<K, V, S, E>;

  constructor(readonly parent: Node<[K, V]>, readonly spec: StateSpec<K, V, S, E>) {
    super(parent.graph, "mapWithState", spec.getName());
    // Spark tells its two StateSpec.function overloads apart by type; JS can only count parameters.
    const f = spec.mappingFunction;
    this.fn = guarded(
      this.label,
      f.length >= 4 ? (f as TimedMappingFunction<K, V, S, E>) : (_time: Time, key: K, value: V | undefined, state: State<S>) => (f as MappingFunction<K, V, S, E>)(key, value, state),
    );
    this.persisted = true;
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

  override initialize(zeroTime: Time): void {
    // Spark's mapWithState checkpoints every 10 batches by default (not every 10 s like other stateful streams).
    if (this.checkpointDuration === undefined) this.checkpointDuration = this.slideDuration.times(10);
    super.initialize(zeroTime);
  }

  override describe(): Record<string, unknown> {
    return {
      timeoutMs: this.spec.getTimeoutInterval()?.milliseconds ?? null,
      initialState: this.spec.getInitialStateRDD() !== undefined,
    };
  }

  /** Whether this batch scans for timed-out keys (Spark: only batches whose state RDD is checkpointed). */
  scansTimeouts(time: Time): boolean {
    const every = this.checkpointDuration;
    return every !== undefined && (time.milliseconds - this.zeroTime!.milliseconds) % every.milliseconds === 0;
  }

  compute(time: Time, ev: Evaluation): RDD<StateRecord<K, S, E>> {
    const previous = ev.getOrCompute(this, time.minus(this.slideDuration))?.first().states;
    const data = ev.getOrCompute(this.parent, time);
    return RDD.of([this.apply(time, previous, data)]);
  }

  /** One batch: shared with the serverless finalizer, which supplies the previous states. */
  apply(time: Time, previous: KeyMap<K, KeyState<S>> | undefined, data: RDD<[K, V]> | undefined): StateRecord<K, S, E> {
    const batch = time.milliseconds;
    const states = previous ? previous.clone() : this.initialStates(batch);
    const timeout = this.spec.getTimeoutInterval();
    const state = new State<S>();
    const mapped: E[] = [];
    // Spark's function returns Option[E]: None emits nothing. `undefined` is JS's None (also what a function
    // without a return statement gives); `null` is a value and is emitted.
    const emit = (out: E | undefined) => {
      if (out !== undefined) mapped.push(out);
    };
    data?.forEachElement((pair) => {
      requirePair<K, V>(pair, this.label);
      const [key, value] = pair;
      const current = states.get(key);
      state.wrap(current !== undefined, current?.state);
      emit(this.fn(time, key, value, state));
      if (state.isRemoved()) states.delete(key);
      else if (state.isUpdated() || (state.exists() && timeout !== undefined)) states.set(key, { state: state.get(), updatedAt: batch });
    });
    if (timeout !== undefined && this.scansTimeouts(time)) {
      const threshold = batch - timeout.milliseconds;
      const expired: Array<[K, KeyState<S>]> = [];
      states.forEach((s, k) => {
        if (s.updatedAt < threshold) expired.push([k, s]);
      });
      for (const [key, s] of expired) {
        state.wrapTimingOut(s.state);
        emit(this.fn(time, key, undefined, state));
        states.delete(key);
      }
    }
    return { states, mapped };
  }

  private initialStates(batch: number): KeyMap<K, KeyState<S>> {
    const states = new KeyMap<K, KeyState<S>>();
    this.spec.getInitialStateRDD()?.forEachElement((p) => {
      requirePair<K, S>(p, this.label);
      states.set(p[0], { state: p[1], updatedAt: batch });
    });
    return states;
  }
}

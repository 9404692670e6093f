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

/** A key a batch changed: its state after the batch, or `undefined` when the batch removed it. */
export interface StateChange<K, S> {
  readonly key: K;
  readonly state: KeyState<S> | undefined;
  /** The key's insertion index within the batch, when the batch (re)inserted it (it then follows every older key). */
  readonly inserted?: number;
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

  /** One batch over the whole state (the local engine, and the serverless finalizer when it keeps the state as one snapshot). */
  apply(time: Time, previous: KeyMap<K, KeyState<S>> | undefined, data: RDD<[K, V]> | undefined): StateRecord<K, S, E> {
    const states = previous ? previous.clone() : this.initialStates(time.milliseconds);
    return this.step(time, states, data);
  }

  /**
   * One batch over PART of the state, for a store that keeps each key apart (the serverless finalizer's
   * per-key state, lib/serverless/keyed-state.ts). `previous` must hold every key this batch can change —
   * the keys with data in it, and on a timeout-scanning batch every key that may have timed out — in the
   * state's order (the order the local engine's KeyMap has them in); `undefined` before the node's first batch
   * (the initial state applies, the keys `owns` accepts). Keys left out are not changed by the batch, so the
   * function calls and their order, `mapped`, and the states of the keys given come out exactly as
   * {@link apply} gives them over the whole state.
   *
   * Returns the record (its `states` are the keys given, after the batch) and what changed, in state order:
   * each changed key with its new state (`undefined`: removed), and `inserted`, its insertion index within
   * this batch when the batch (re)inserted it — the local KeyMap puts such a key after every older one, in
   * that order, which is how the store keeps the state's order without reading it.
   */
  applyPartial(
    time: Time,
    previous: KeyMap<K, KeyState<S>> | undefined,
    data: RDD<[K, V]> | undefined,
    owns: (key: K) => boolean = () => true,
  ): { record: StateRecord<K, S, E>; changes: Array<StateChange<K, S>> } {
    const before = previous ?? new KeyMap<K, KeyState<S>>();
    const inserted = new KeyMap<K, number>();
    let states: KeyMap<K, KeyState<S>>;
    if (previous) states = previous.clone();
    else {
      states = new KeyMap<K, KeyState<S>>();
      this.initialStates(time.milliseconds).forEach((s, k) => {
        if (!owns(k)) return;
        if (!states.has(k)) inserted.set(k, inserted.size);
        states.set(k, s);
      });
    }
    const record = this.step(time, states, data, inserted);
    const changes: Array<StateChange<K, S>> = [];
    before.forEach((_s, k) => {
      if (!record.states.has(k)) changes.push({ key: k, state: undefined });
    });
    record.states.forEach((s, k) => {
      if (before.get(k) !== s) changes.push({ key: k, state: s, inserted: inserted.get(k) });
    });
    return { record, changes };
  }

  /** The batch's function calls on `states` (changed in place); `inserted` records each (re)insertion's index. */
  private step(time: Time, states: KeyMap<K, KeyState<S>>, data: RDD<[K, V]> | undefined, inserted?: KeyMap<K, number>): StateRecord<K, S, E> {
    const batch = time.milliseconds;
    const timeout = this.spec.getTimeoutInterval();
    const state = new State<S>();
    const mapped: E[] = [];
    // Spark's function returns Option[E]: None emits nothing. `undefined` is JS's None (also what a function
    // without a return statement gives); `null` is a value and is emitted.
    const emit = (out: E | undefined) => {
      if (out !== undefined) mapped.push(out);
    };
    let insertions = inserted?.size ?? 0;
    data?.forEachElement((pair) => {
      requirePair<K, V>(pair, this.label);
      const [key, value] = pair;
      const current = states.get(key);
      state.wrap(current !== undefined, current?.state);
      emit(this.fn(time, key, value, state));
      if (state.isRemoved()) states.delete(key);
      else if (state.isUpdated() || (state.exists() && timeout !== undefined)) {
        if (inserted && !states.has(key)) inserted.set(key, insertions++);
        states.set(key, { state: state.get(), updatedAt: batch });
      }
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

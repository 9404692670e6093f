import type { Duration, Time } from "./duration.js";
import { RDD } from "./rdd.js";
import { State } from "./state.js";

/**
 * A `mapWithState` function: called once per record, and once more for a key whose state timed out (value
 * `undefined`). Returning `undefined` emits nothing (a function that only updates state has no output).
 */
export type MappingFunction<K, V, S, E> = (key: K, value: V | undefined, state: State<S>) => E | undefined;
/** The batch-time form, Spark's `(Time, K, Option[V], State[S]) => Option[E]`: `undefined` is None. Told apart by arity. */
export type TimedMappingFunction<K, V, S, E> = (time: Time, key: K, value: V | undefined, state: State<S>) => E | undefined;

/**
 * What `mapWithState` does (Spark's StateSpec): the function, and optionally an idle timeout, an initial
 * state and a name that keeps the stored state's identity across edits of the pipeline.
 *
 * @example
 * const spec = StateSpec.function((word: string, one: number | undefined, state: State<number>) => {
 *   const sum = (one ?? 0) + (state.getOption() ?? 0);
 *   state.update(sum);
 *   return [word, sum] as [string, number];
 * }).timeout(Seconds(30));
 * pairs.mapWithState(spec).print();
 */
export class StateSpec<K, V, S, E> {
  private timeoutDuration: Duration | undefined;
  private initial: RDD<[K, S]> | undefined;
  private partitions: number | undefined;
  private stateName: string | undefined;

  private constructor(readonly mappingFunction: MappingFunction<K, V, S, E> | TimedMappingFunction<K, V, S, E>) {}

  static function<K, V, S, E>(fn: MappingFunction<K, V, S, E>): StateSpec<K, V, S, E>;
  static function<K, V, S, E>(fn: TimedMappingFunction<K, V, S, E>): StateSpec<K, V, S, E>;
  static function<K, V, S, E>(fn: MappingFunction<K, V, S, E> | TimedMappingFunction<K, V, S, E>): StateSpec<K, V, S, E> {
    return new StateSpec(fn);
  }

  /** Keys idle longer than this are called once with `state.isTimingOut()` true, then removed. */
  timeout(idle: Duration): this {
    this.timeoutDuration = idle;
    return this;
  }

  /** State the keys start with, before the first batch. */
  initialState(rdd: RDD<[K, S]> | ReadonlyArray<[K, S]>): this {
    this.initial = rdd instanceof RDD ? rdd : RDD.of(rdd);
    return this;
  }

  numPartitions(n: number): this {
    this.partitions = n;
    return this;
  }

  /** Names the state so that its stored form survives unrelated edits (part of storage keys). */
  name(name: string): this {
    this.stateName = name;
    return this;
  }

  getTimeoutInterval(): Duration | undefined {
    return this.timeoutDuration;
  }

  getInitialStateRDD(): RDD<[K, S]> | undefined {
    return this.initial;
  }

  getNumPartitions(): number | undefined {
    return this.partitions;
  }

  getName(): string | undefined {
    return this.stateName;
  }
}

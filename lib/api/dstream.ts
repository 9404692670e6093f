import { Duration, Time } from "../core/duration.js";
import { formatElement } from "../core/format.js";
import { RDD } from "../core/rdd.js";
import { filterStep, flatMapStep, flatMapValuesStep, mapStep, mapValuesStep } from "../core/steps.js";
import { IllegalStateError, NotAPairError, UserFunctionError, ValidationError } from "../core/errors.js";
import type { BatchOutputs, Evaluation } from "../graph/evaluation.js";
import { Node } from "../graph/node.js";
import { MapWithStateNode, type StateRecord } from "../graph/ops/map-with-state.js";
import { NarrowNode, PartitionwiseNode } from "../graph/ops/narrow.js";
import { ForEachNode } from "../graph/ops/output.js";
import { ReducedWindowNode } from "../graph/ops/reduced-window.js";
import { CombineByKeyNode } from "../graph/ops/shuffle.js";
import { TransformNode } from "../graph/ops/transform.js";
import { UnionNode } from "../graph/ops/union.js";
import { UpdateStateNode, type UpdateFn } from "../graph/ops/update-state.js";
import { WindowNode } from "../graph/ops/window.js";
import { printBlock } from "../io/print.js";
import { batchOutputPath } from "../io/text-file-sink.js";
import type { StateSpec } from "../core/state-spec.js";
import { runInBatch, type BatchScope } from "../sql/batch-scope.js";
import type { StreamGraph } from "../graph/stream-graph.js";

/** The local engine's evaluation of each context's graph: what `slice` reads (the context registers it). */
const localEvaluations = new WeakMap<StreamGraph, Evaluation>();

/** @internal Called by the StreamingContext that owns `ev`. */
export function registerLocalEvaluation(ev: Evaluation): void {
  localEvaluations.set(ev.graph, ev);
}

/**
 * @internal Called for a graph the serverless runtime drives: its context's own evaluation computes nothing
 * (each batch's finalizer brings one), so `slice` must not read it — it would find no RDD where data was.
 */
export function forgetLocalEvaluation(graph: StreamGraph): void {
  localEvaluations.delete(graph);
}

/** Options of the keyed operators, in one trailing object (Spark's extra overload parameters). */
export interface PartitionOptions {
  /** Partitions of the shuffled result. @default 1 */
  readonly numPartitions?: number;
}

export interface ReduceByKeyAndWindowOptions<K, V> extends PartitionOptions {
  /** Keeps only the pairs for which it returns true (Spark's `filterFunc`), e.g. to drop zero counts. @default - keep all */
  readonly filterFunc?: (pair: [K, V]) => boolean;
  /** A stable name for the window's stored state (survives unrelated edits of the pipeline). @default - derived from its position */
  readonly name?: string;
}

export interface UpdateStateByKeyOptions<K, S> extends PartitionOptions {
  /** State the keys start with before the first batch (Spark's `initialRDD`). @default - no state */
  readonly initialRDD?: RDD<[K, S]> | ReadonlyArray<[K, S]>;
  /** A stable name for the stored state. @default - derived from its position */
  readonly name?: string;
}

/** `updateStateByKey`'s function: Spark's `(Seq[V], Option[S]) => Option[S]`, with `undefined` for None. */
export type StateUpdateFunction<V, S> = (values: V[], state: S | undefined) => S | undefined;
/** The batch-time form: Spark's `(Time, K, Seq[V], Option[S]) => Option[S]`. */
export type TimedStateUpdateFunction<K, V, S> = (time: Time, key: K, values: V[], state: S | undefined) => S | undefined;

const add = (a: number, b: number): number => a + b;

/** The batch as a DataFrame sees it: the outputs of the evaluation running it (local files, or S3 on AWS). */
const batchScope = (time: Time, outputs: BatchOutputs): BatchScope => ({
  time,
  writeBatch: (path, partitions) => outputs.writeBatch(path, partitions),
  out: (text) => outputs.print(text),
});
const subtract = (a: number, b: number): number => a - b;

/**
 * A discretized stream: one RDD per batch time (Spark's DStream). Built from a StreamingContext's sources
 * and transformed with the operators a Spark Streaming user knows; nothing runs until the context starts.
 *
 * Pair operations (reduceByKey, join, updateStateByKey …) exist on streams of `[key, value]` arrays only:
 * calling one on another stream does not compile.
 *
 * @example
 * ssc.socketTextStream("localhost", 9999)
 *   .flatMap((line) => line.split(" "))
 *   .map((word) => [word, 1] as [string, number])
 *   .reduceByKey((a, b) => a + b)
 *   .print();
 */
export class DStream<T> {
  /** @internal */
  constructor(readonly node: Node<T>) {}

  /** The node id: the operator's stable name in the plan, checkpoints and storage keys. */
  get id(): string {
    return this.node.id;
  }

  get slideDuration(): Duration {
    return this.node.slideDuration;
  }

  // ---- narrow transformations ----

  map<U>(fn: (value: T) => U): DStream<U> {
    return new DStream(new NarrowNode(this.node, (label) => mapStep(fn, label), "map"));
  }

  flatMap<U>(fn: (value: T) => Iterable<U>): DStream<U> {
    return new DStream(new NarrowNode(this.node, (label) => flatMapStep(fn, label), "flatMap"));
  }

  filter(fn: (value: T) => boolean): DStream<T> {
    return new DStream(new NarrowNode(this.node, (label) => filterStep(fn, label), "filter"));
  }

  /** `fn` gets each partition's elements as an array and returns the new partition's. */
  mapPartitions<U>(fn: (values: T[]) => Iterable<U>): DStream<U> {
    return new DStream(new PartitionwiseNode(this.node, (rdd: RDD<T>) => rdd.mapPartitions(fn, "mapPartitions"), "mapPartitions"));
  }

  /** Each partition as one array. */
  glom(): DStream<T[]> {
    return new DStream(new PartitionwiseNode(this.node, (rdd: RDD<T>) => rdd.glom(), "glom"));
  }

  repartition(numPartitions: number): DStream<T> {
    return new DStream(new PartitionwiseNode(this.node, (rdd: RDD<T>) => rdd.repartition(numPartitions), "repartition", { numPartitions }));
  }

  union(other: DStream<T>): DStream<T> {
    return new DStream(new UnionNode([this.node, other.node]));
  }

  /** Any RDD-to-RDD function, per batch (Spark's `transform`; the batch time is the second argument). */
  transform<U>(fn: (rdd: RDD<T>, time: Time) => RDD<U>): DStream<U> {
    return new DStream(new TransformNode<U>([this.node], (rdds, time, outputs) => runInBatch(batchScope(time, outputs), () => fn(rdds[0] as RDD<T>, time)), "transform"));
  }

  transformWith<U, W>(other: DStream<U>, fn: (rdd: RDD<T>, other: RDD<U>, time: Time) => RDD<W>): DStream<W> {
    return new DStream(
      new TransformNode<W>([this.node, other.node], (rdds, time) => fn(rdds[0] as RDD<T>, rdds[1] as RDD<U>, time), "transformWith"),
    );
  }

  // ---- aggregations (Spark builds these from reduceByKey; so do we) ----

  /** The number of elements of each batch; an empty batch counts 0. */
  count(): DStream<number> {
    return this.map(() => [null, 1] as [null, number])
      .transform((rdd) => rdd.union(RDD.of([[null, 0] as [null, number]])))
      .reduceByKey(add)
      .map((p) => p[1]);
  }

  /** `[value, count]` per distinct value of each batch. */
  countByValue(options?: PartitionOptions): DStream<[T, number]> {
    return this.map((v) => [v, 1] as [T, number]).reduceByKey(add, options);
  }

  /** One element per non-empty batch: all elements reduced; an empty batch gives nothing. */
  reduce(fn: (a: T, b: T) => T): DStream<T> {
    return this.map((v) => [null, v] as [null, T])
      .reduceByKey(fn)
      .map((p) => p[1]);
  }

  // ---- windows ----

  /** The batches of the last `windowDuration`, every `slideDuration` (default: this stream's slide). */
  window(windowDuration: Duration, slideDuration: Duration = this.slideDuration): DStream<T> {
    return new DStream(new WindowNode(this.node, windowDuration, slideDuration));
  }

  countByWindow(windowDuration: Duration, slideDuration: Duration): DStream<number> {
    return this.map(() => 1).reduceByWindow(add, subtract, windowDuration, slideDuration);
  }

  /**
   * The elements of each window reduced to one: `reduceByWindow(fn, window, slide)`, or with an inverse
   * function `reduceByWindow(fn, invFn, window, slide)` for Spark's incremental form.
   */
  reduceByWindow(fn: (a: T, b: T) => T, windowDuration: Duration, slideDuration: Duration): DStream<T>;
  reduceByWindow(fn: (a: T, b: T) => T, invFn: (a: T, b: T) => T, windowDuration: Duration, slideDuration: Duration): DStream<T>;
  reduceByWindow(
    fn: (a: T, b: T) => T,
    b: ((a: T, b: T) => T) | Duration,
    c: Duration,
    d?: Duration,
  ): DStream<T> {
    if (b instanceof Duration) return this.reduce(fn).window(b, c).reduce(fn);
    return this.map((v) => [1, v] as [number, T])
      .reduceByKeyAndWindow(fn, b, c, d ?? this.slideDuration)
      .map((p) => p[1]);
  }

  countByValueAndWindow(windowDuration: Duration, slideDuration: Duration, options?: PartitionOptions): DStream<[T, number]> {
    return this.map((v) => [v, 1] as [T, number]).reduceByKeyAndWindow(add, subtract, windowDuration, slideDuration, {
      ...options,
      filterFunc: (p) => p[1] !== 0,
    });
  }

  /** The RDDs of the batch times in [fromTime, toTime] that this stream still remembers. */
  slice(fromTime: Time, toTime: Time): RDD<T>[] {
    const ev = localEvaluations.get(this.node.graph);
    if (!ev) {
      // A pipeline run by the serverless runtime or the test driver keeps no RDDs between batches in memory: what
      // a later batch reads is stored per operator (windows, state), not per stream.
      throw new IllegalStateError(
        "SliceNeedsStreamingContext",
        `${this.node.label}.slice() reads the RDDs a running StreamingContext remembers, and this stream belongs to none (a definePipeline graph on AWS or in the test driver): keep the batches you need with window(), or run the pipeline locally`,
      );
    }
    return ev.slice(this.node, fromTime, toTime);
  }

  // ---- outputs ----

  /** Prints the first `num` elements of every batch, in Spark's format. */
  print(num = 10): void {
    new ForEachNode(this.node, (rdd, time, outputs) => outputs.print(printBlock(time, rdd.take(num + 1), num)), "print", { num });
  }

  /** Calls `fn` with every batch's RDD and time. Runs on the driver, at least once per batch on AWS. */
  foreachRDD(fn: (rdd: RDD<T>, time: Time) => unknown): void {
    const node: ForEachNode<T> = new ForEachNode(
      this.node,
      async (rdd, time, outputs) => {
        try {
          // The batch's scope lets a DataFrame built in `fn` write and show where this batch's outputs go.
          await runInBatch(batchScope(time, outputs), () => fn(rdd, time));
        } catch (e) {
          throw e instanceof UserFunctionError ? e : new UserFunctionError(node.label, e);
        }
      },
      "foreachRDD",
    );
  }

  /**
   * Writes each batch to `prefix-<time ms>[.suffix]/part-NNNNN` with a `_SUCCESS` marker, one line per
   * element (as `print` shows it), the directory appearing whole or not at all.
   */
  saveAsTextFiles(prefix: string, suffix?: string): void {
    new ForEachNode(
      this.node,
      (rdd, time, outputs) => outputs.writeBatch(batchOutputPath(prefix, suffix, time), rdd.partitions().map((p) => p.map(formatElement))),
      "saveAsTextFiles",
      { prefix, suffix: suffix ?? null },
    );
  }

  /** As saveAsTextFiles, one JSON value per line (Spark writes Java-serialized SequenceFiles). */
  saveAsObjectFiles(prefix: string, suffix?: string): void {
    new ForEachNode(
      this.node,
      (rdd, time, outputs) => outputs.writeBatch(batchOutputPath(prefix, suffix, time), rdd.partitions().map((p) => p.map((v) => JSON.stringify(v)))),
      "saveAsObjectFiles",
      { prefix, suffix: suffix ?? null },
    );
  }

  // ---- persistence ----

  /** Accepted for Spark compatibility: keeps computed RDDs materialized, nothing more. */
  persist(): this {
    this.node.persisted = true;
    return this;
  }

  cache(): this {
    return this.persist();
  }

  /** How often this stream's data is checkpointed (a multiple of its slide). */
  checkpoint(interval: Duration): this {
    this.node.checkpointDuration = interval;
    return this;
  }

  // ---- pair operations ----

  mapValues<K, V, W>(this: DStream<[K, V]>, fn: (value: V) => W): DStream<[K, W]> {
    return new DStream(new NarrowNode(this.node, (label) => mapValuesStep<K, V, W>(fn, label), "mapValues"));
  }

  flatMapValues<K, V, W>(this: DStream<[K, V]>, fn: (value: V) => Iterable<W>): DStream<[K, W]> {
    return new DStream(new NarrowNode(this.node, (label) => flatMapValuesStep<K, V, W>(fn, label), "flatMapValues"));
  }

  combineByKey<K, V, C>(
    this: DStream<[K, V]>,
    createCombiner: (value: V) => C,
    mergeValue: (combiner: C, value: V) => C,
    mergeCombiners: (a: C, b: C) => C,
    options?: PartitionOptions,
  ): DStream<[K, C]> {
    return new DStream(new CombineByKeyNode(this.node, createCombiner, mergeValue, mergeCombiners, "combineByKey", options?.numPartitions));
  }

  reduceByKey<K, V>(this: DStream<[K, V]>, fn: (a: V, b: V) => V, options?: PartitionOptions): DStream<[K, V]> {
    return new DStream(new CombineByKeyNode<K, V, V>(this.node, (v) => v, fn, fn, "reduceByKey", options?.numPartitions ?? 1, fn));
  }

  /** All values of each key, as an array (Spark's Iterable). */
  groupByKey<K, V>(this: DStream<[K, V]>, options?: PartitionOptions): DStream<[K, V[]]> {
    return new DStream(
      new CombineByKeyNode<K, V, V[]>(this.node, (v) => [v], (vs, v) => (vs.push(v), vs), (a, b) => a.concat(b), "groupByKey", options?.numPartitions),
    );
  }

  groupByKeyAndWindow<K, V>(
    this: DStream<[K, V]>,
    windowDuration: Duration,
    slideDuration: Duration = this.slideDuration,
    options?: PartitionOptions,
  ): DStream<[K, V[]]> {
    return this.groupByKey(options)
      .window(windowDuration, slideDuration)
      .combineByKey<K, V[], V[]>((vs) => vs.slice(), (acc, vs) => acc.concat(vs), (a, b) => a.concat(b), options);
  }

  /**
   * Per key, the values of each window reduced: `(fn, window, slide?)`, or Spark's incremental form
   * `(fn, invFn, window, slide, { filterFunc })` which subtracts the batches leaving the window instead
   * of reducing the whole window again (it needs a checkpoint directory, as in Spark).
   */
  reduceByKeyAndWindow<K, V>(
    this: DStream<[K, V]>,
    fn: (a: V, b: V) => V,
    windowDuration: Duration,
    slideDuration?: Duration,
    options?: ReduceByKeyAndWindowOptions<K, V>,
  ): DStream<[K, V]>;
  reduceByKeyAndWindow<K, V>(
    this: DStream<[K, V]>,
    fn: (a: V, b: V) => V,
    invFn: (a: V, b: V) => V,
    windowDuration: Duration,
    slideDuration?: Duration,
    options?: ReduceByKeyAndWindowOptions<K, V>,
  ): DStream<[K, V]>;
  reduceByKeyAndWindow<K, V>(
    this: DStream<[K, V]>,
    fn: (a: V, b: V) => V,
    b: ((a: V, b: V) => V) | Duration,
    c?: Duration | ReduceByKeyAndWindowOptions<K, V>,
    d?: Duration | ReduceByKeyAndWindowOptions<K, V>,
    e?: ReduceByKeyAndWindowOptions<K, V>,
  ): DStream<[K, V]> {
    // A named window names its per-batch side too, so both ids (and the parts and panes stored under them)
    // stay put when unrelated operators are added.
    const name = (d instanceof Duration ? e : d)?.name ?? (c instanceof Duration || c === undefined ? undefined : c.name);
    const reduced = new CombineByKeyNode<K, V, V>(this.node, (v) => v, fn, fn, "reduceByKey", 1, fn, name === undefined ? undefined : `${name}.batch`);
    if (b instanceof Duration) {
      const options = (d instanceof Duration ? e : d) ?? (c instanceof Duration ? undefined : c);
      const slide = c instanceof Duration ? c : this.slideDuration;
      return new DStream(new ReducedWindowNode(reduced, fn, b, slide, { ...options }));
    }
    if (!(c instanceof Duration)) {
      throw new ValidationError("MissingWindowDuration", "reduceByKeyAndWindow(fn, invFn, window, slide?): the window duration is missing");
    }
    const slide = d instanceof Duration ? d : this.slideDuration;
    const options = d instanceof Duration ? e : d;
    return new DStream(new ReducedWindowNode(reduced, fn, c, slide, { ...options, invReduceFn: b }));
  }

  /** Not in Spark (the seed's name): the number of values per key in each window; keys with none are left out. */
  countByKeyAndWindow<K, V>(this: DStream<[K, V]>, windowDuration: Duration, slideDuration?: Duration, options?: ReduceByKeyAndWindowOptions<K, number>): DStream<[K, number]> {
    return this.mapValues(() => 1).reduceByKeyAndWindow(add, windowDuration, slideDuration ?? this.slideDuration, options);
  }

  /**
   * Keeps a state per key across batches (Spark's updateStateByKey): every batch, `fn(values, state)` is
   * called for every key that has a state or new values, and the stream is the whole state. Returning
   * `undefined` removes the key. The four-argument form `(time, key, values, state)` is told apart by its
   * arity, as Spark's overloads are by type.
   */
  updateStateByKey<K, V, S>(this: DStream<[K, V]>, fn: StateUpdateFunction<V, S>, options?: UpdateStateByKeyOptions<K, S>): DStream<[K, S]>;
  updateStateByKey<K, V, S>(this: DStream<[K, V]>, fn: TimedStateUpdateFunction<K, V, S>, options?: UpdateStateByKeyOptions<K, S>): DStream<[K, S]>;
  updateStateByKey<K, V, S>(
    this: DStream<[K, V]>,
    fn: StateUpdateFunction<V, S> | TimedStateUpdateFunction<K, V, S>,
    options: UpdateStateByKeyOptions<K, S> = {},
  ): DStream<[K, S]> {
    const update: UpdateFn<K, V, S> =
      fn.length >= 3
        ? (fn as TimedStateUpdateFunction<K, V, S>)
        : (_time, _key, values, state) => (fn as StateUpdateFunction<V, S>)(values, state);
    const initial = options.initialRDD === undefined ? undefined : options.initialRDD instanceof RDD ? options.initialRDD : RDD.of(options.initialRDD);
    return new DStream(new UpdateStateNode(this.node, update, initial, options.name));
  }

  /**
   * Per record, the spec's function with the key's state; `.stateSnapshots()` gives the states. The function
   * is `(key, value, state)` or, told apart by arity, Spark's `(time, key, value, state)`; in both forms a
   * returned `undefined` emits nothing (Spark's None), so a function that only updates state has no output.
   */
  mapWithState<K, V, S, E>(this: DStream<[K, V]>, spec: StateSpec<K, V, S, E>): MapWithStateDStream<K, S, E> {
    return new MapWithStateDStream<K, S, E>(new MapWithStateNode(this.node, spec) as unknown as MapWithStateNode<K, unknown, S, E>);
  }

  cogroup<K, V, W>(this: DStream<[K, V]>, other: DStream<[K, W]>, options?: PartitionOptions): DStream<[K, [V[], W[]]]> {
    return this.joinNode(other, "cogroup", (a, b) => a.cogroup(b, options?.numPartitions));
  }

  join<K, V, W>(this: DStream<[K, V]>, other: DStream<[K, W]>, options?: PartitionOptions): DStream<[K, [V, W]]> {
    return this.joinNode(other, "join", (a, b) => a.join(b, options?.numPartitions));
  }

  /** A key missing on the right pairs with `null`. */
  leftOuterJoin<K, V, W>(this: DStream<[K, V]>, other: DStream<[K, W]>, options?: PartitionOptions): DStream<[K, [V, W | null]]> {
    return this.joinNode(other, "leftOuterJoin", (a, b) => a.leftOuterJoin(b, options?.numPartitions));
  }

  rightOuterJoin<K, V, W>(this: DStream<[K, V]>, other: DStream<[K, W]>, options?: PartitionOptions): DStream<[K, [V | null, W]]> {
    return this.joinNode(other, "rightOuterJoin", (a, b) => a.rightOuterJoin(b, options?.numPartitions));
  }

  fullOuterJoin<K, V, W>(this: DStream<[K, V]>, other: DStream<[K, W]>, options?: PartitionOptions): DStream<[K, [V | null, W | null]]> {
    return this.joinNode(other, "fullOuterJoin", (a, b) => a.fullOuterJoin(b, options?.numPartitions));
  }

  private joinNode<K, V, W, R>(
    this: DStream<[K, V]>,
    other: DStream<[K, W]>,
    kind: string,
    fn: (a: RDD<[K, V]>, b: RDD<[K, W]>) => RDD<R>,
  ): DStream<R> {
    const node: TransformNode<R> = new TransformNode<R>(
      [this.node, other.node],
      (rdds) => {
        try {
          return fn(rdds[0] as RDD<[K, V]>, rdds[1] as RDD<[K, W]>);
        } catch (e) {
          // The RDD join inside names itself ("RDD.join"); the user wrote the stream's join, so name that.
          throw e instanceof NotAPairError ? new NotAPairError(node.label, e.element) : e;
        }
      },
      kind,
    );
    return new DStream(node);
  }
}

/** What `mapWithState` returns: the function's results per batch, and the states on demand. */
export class MapWithStateDStream<K, S, E> extends DStream<E> {
  /** @internal */
  constructor(readonly stateNode: MapWithStateNode<K, unknown, S, E>) {
    super(new NarrowNode(stateNode, (label) => flatMapStep((r: StateRecord<K, S, E>) => r.mapped, label), "mappedData"));
  }

  /** Every key's state after each batch, as `[key, state]`. */
  stateSnapshots(): DStream<[K, S]> {
    return new DStream(
      new NarrowNode(
        this.stateNode,
        (label) =>
          flatMapStep((r: StateRecord<K, S, E>) => {
            const out: Array<[K, S]> = [];
            r.states.forEach((s, k) => out.push([k, s.state]));
            return out;
          }, label),
        "stateSnapshots",
      ),
    );
  }

  /** Checkpoints the state itself, which also sets how often timeouts are looked for (Spark). */
  override checkpoint(interval: Duration): this {
    this.stateNode.checkpointDuration = interval;
    return this;
  }
}

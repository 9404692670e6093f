import { Duration, Time } from "../../core/duration.js";
import { KeyMap } from "../../core/keys.js";
import { RDD, reduceByKey } from "../../core/rdd.js";
import { guarded } from "../../core/steps.js";
import type { Evaluation } from "../evaluation.js";
import { Node } from "../node.js";
import type { CombineByKeyNode } from "./shuffle.js";
import { validateWindow } from "./window.js";

export interface ReducedWindowOptions<K, V> {
  readonly invReduceFn?: (a: V, b: V) => V;
  readonly filterFunc?: (pair: [K, V]) => boolean;
  readonly numPartitions?: number;
  readonly name?: string;
}

/**
 * reduceByKeyAndWindow over a per-batch reduced parent (Spark's ReducedWindowedDStream, and its naive
 * `reduceByKey.window.reduceByKey` form when there is no inverse function).
 *
 * With an inverse function the window is updated from the previous one instead of reduced again:
 *
 *      _____________________________
 *     |  previous window   _________|___________________
 *     |___________________|       current window        |  --------------> time
 *                         |_____________________________|
 *     |________ _________|          |________ _________|
 *              |                             |
 *          old batches                   new batches
 *      (invReduce them out)          (reduce them in)
 *
 * Without a filter function a key whose value went back to "zero" stays in the output, as in Spark.
 * A tumbling window (slide = window) is updated too, as in Spark: the whole previous window is inverted out,
 * so its keys stay with value zero. When the slide is longer than the window there is nothing to update:
 * the window is reduced directly (Spark would fold batches outside the window in there).
 */
export class ReducedWindowNode<K, V> extends Node<[K, V]> {
  private readonly reduce: (a: V, b: V) => V;
  private readonly inverse: ((a: V, b: V) => V) | undefined;
  private readonly filter: ((pair: [K, V]) => boolean) | undefined;

  constructor(
    readonly parent: CombineByKeyNode<K, V, V>,
    reduceFn: (a: V, b: V) => V,
    readonly windowDuration: Duration,
    private readonly slide: Duration,
    readonly options: ReducedWindowOptions<K, V> = {},
    kind = "reduceByKeyAndWindow",
  ) {
    super(parent.graph, kind, options.name);
    validateWindow(parent, windowDuration, slide);
    this.reduce = guarded(this.label, reduceFn);
    this.inverse = options.invReduceFn && guarded(this.label, options.invReduceFn);
    this.filter = options.filterFunc && guarded(this.label, options.filterFunc);
    parent.persisted = true;
    this.persisted = true;
  }

  /** The function that folds two values (the shard stage folds pane partials with it). */
  get reduceFn(): (a: V, b: V) => V {
    return this.reduce;
  }

  get invReduceFn(): ((a: V, b: V) => V) | undefined {
    return this.inverse;
  }

  get filterFn(): ((pair: [K, V]) => boolean) | undefined {
    return this.filter;
  }

  get incremental(): boolean {
    return this.inverse !== undefined && !this.windowDuration.lessThan(this.slide);
  }

  get dependencies(): ReadonlyArray<Node> {
    return [this.parent];
  }

  get slideDuration(): Duration {
    return this.slide;
  }

  override get mustCheckpoint(): boolean {
    return this.inverse !== undefined;
  }

  override get parentRememberDuration(): Duration {
    return this.rememberDuration!.plus(this.windowDuration);
  }

  override describe(): Record<string, unknown> {
    return {
      windowMs: this.windowDuration.milliseconds,
      inverse: this.inverse !== undefined,
      filter: this.filter !== undefined,
      numPartitions: this.options.numPartitions ?? 1,
    };
  }

  compute(time: Time, ev: Evaluation): RDD<[K, V]> | undefined {
    const merged = this.incremental ? this.computeIncremental(time, ev) : this.computeNaive(time, ev);
    return this.filter ? RDD.of(merged.collect().filter(this.filter)) : merged;
  }

  private computeNaive(time: Time, ev: Evaluation): RDD<[K, V]> {
    const from = time.minus(this.windowDuration).plus(this.parent.slideDuration);
    const inWindow = RDD.union(ev.slice(this.parent, from, time).concat(RDD.empty<[K, V]>()));
    return reduceByKey(inWindow, this.reduce, this.label, this.options.numPartitions);
  }

  private computeIncremental(time: Time, ev: Evaluation): RDD<[K, V]> {
    const batch = this.parent.slideDuration;
    const currentBegin = time.minus(this.windowDuration).plus(batch);
    const previousEnd = time.minus(this.slide);
    const previousBegin = previousEnd.minus(this.windowDuration).plus(batch);

    const old = this.fold(ev.slice(this.parent, previousBegin, currentBegin.minus(batch)));
    const fresh = this.fold(ev.slice(this.parent, previousEnd.plus(batch), time));
    const previous = ev.getOrCompute(this, previousEnd);

    const out = new KeyMap<K, V>();
    previous?.forEachElement(([k, v]) => {
      let value = v;
      const gone = old.get(k);
      if (gone !== undefined || old.has(k)) value = this.inverse!(value, gone as V);
      const added = fresh.get(k);
      if (added !== undefined || fresh.has(k)) value = this.reduce(value, added as V);
      out.set(k, value);
    });
    // Keys new to the window. (A key with only old values and no previous value cannot occur when the
    // windows overlap; Spark throws there, we leave the key out.)
    fresh.forEach((v, k) => {
      if (!out.has(k)) out.set(k, v);
    });
    const pairs: Array<[K, V]> = [];
    out.forEach((v, k) => pairs.push([k, v]));
    return RDD.of(pairs);
  }

  /** Per key, the reduce of its values over the given per-batch RDDs, oldest first. */
  private fold(rdds: RDD<[K, V]>[]): KeyMap<K, V> {
    const acc = new KeyMap<K, V>();
    for (const rdd of rdds) rdd.forEachElement(([k, v]) => acc.upsert(k, v, (x) => x, this.reduce));
    return acc;
  }
}

import { NoSuchElementError, ValidationError } from "./errors.js";
import { formatElement } from "./format.js";
import { canonicalKey, KeyMap } from "./keys.js";
import { requirePair } from "./pairs.js";
import { filterStep, flatMapStep, guarded, mapStep, mapValuesStep, flatMapValuesStep, type Step } from "./steps.js";

type Feed<T> = (emit: (value: T) => void) => void;

/**
 * The data of one batch (Spark's RDD), as handed to `transform` and `foreachRDD`. Partitions are kept
 * (glom, repartition and mapPartitions see them); narrow operations are lazy and fuse into one pass; the
 * first action materializes the partitions and keeps them, so later actions do not run user functions again.
 *
 * Shuffles (reduceByKey, groupByKey, join …) produce one partition unless given `numPartitions`, with keys in
 * first-seen order. Keys compare by value (see `KeyMap`).
 *
 * @example
 * stream.foreachRDD((rdd, time) => console.log(time.milliseconds, rdd.count(), rdd.take(3)));
 */
export class RDD<T> {
  private materialized: T[][] | undefined;

  private constructor(private readonly feeds: ReadonlyArray<Feed<T>>, materialized?: T[][]) {
    this.materialized = materialized;
  }

  /** An RDD of the given values in `numSlices` partitions (Spark's `parallelize`). */
  static of<T>(values: Iterable<T>, numSlices = 1): RDD<T> {
    const all = Array.isArray(values) ? (values as T[]) : [...values];
    if (numSlices <= 1) return RDD.fromPartitions([all.slice()]);
    const parts: T[][] = [];
    for (let i = 0; i < numSlices; i++) {
      parts.push(all.slice(Math.floor((i * all.length) / numSlices), Math.floor(((i + 1) * all.length) / numSlices)));
    }
    return RDD.fromPartitions(parts);
  }

  static fromPartitions<T>(partitions: T[][]): RDD<T> {
    return new RDD(
      partitions.map((p) => (emit: (v: T) => void) => {
        for (let i = 0; i < p.length; i++) emit(p[i]);
      }),
      partitions,
    );
  }

  static empty<T>(): RDD<T> {
    return new RDD<T>([], []);
  }

  /** Several RDDs as one, partitions side by side (Spark's `sc.union`). */
  static union<T>(rdds: ReadonlyArray<RDD<T>>): RDD<T> {
    if (rdds.length === 1) return rdds[0];
    return new RDD(rdds.flatMap((r) => r.feedsOrCache()));
  }

  private feedsOrCache(): ReadonlyArray<Feed<T>> {
    const m = this.materialized;
    if (!m) return this.feeds;
    return m.map((p) => (emit: (v: T) => void) => {
      for (let i = 0; i < p.length; i++) emit(p[i]);
    });
  }

  get numPartitions(): number {
    return this.materialized ? this.materialized.length : this.feeds.length;
  }

  getNumPartitions(): number {
    return this.numPartitions;
  }

  /** The partitions as arrays; computed once and kept. */
  partitions(): T[][] {
    if (!this.materialized) {
      this.materialized = this.feeds.map((feed) => {
        const out: T[] = [];
        feed((v) => out.push(v));
        return out;
      });
    }
    return this.materialized;
  }

  /** Streams every element through `emit` without keeping an array (unless already materialized). */
  forEachElement(emit: (value: T) => void): void {
    if (this.materialized) {
      for (const p of this.materialized) for (let i = 0; i < p.length; i++) emit(p[i]);
    } else {
      for (const feed of this.feeds) feed(emit);
    }
  }

  /** Applies a narrow step lazily, partition by partition. */
  through<U>(step: Step<T, U>): RDD<U> {
    return new RDD<U>(this.feedsOrCache().map((feed) => (emit: (v: U) => void) => feed(step.pipe(emit))));
  }

  /** Spark's persist/cache: computes the partitions now and keeps them. */
  cache(): this {
    this.partitions();
    return this;
  }

  persist(): this {
    return this.cache();
  }

  // ---- actions ----

  collect(): T[] {
    const parts = this.partitions();
    return parts.length === 1 ? parts[0].slice() : parts.flat();
  }

  count(): number {
    let n = 0;
    if (this.materialized) for (const p of this.materialized) n += p.length;
    else this.forEachElement(() => n++);
    return n;
  }

  isEmpty(): boolean {
    return this.count() === 0;
  }

  /** The first `n` elements, in partition order. */
  take(n: number): T[] {
    const out: T[] = [];
    if (n <= 0) return out;
    for (const p of this.partitions()) {
      for (const v of p) {
        out.push(v);
        if (out.length >= n) return out;
      }
    }
    return out;
  }

  first(): T {
    const [head] = this.take(1);
    if (this.isEmpty()) throw new NoSuchElementError("EmptyRDD", "first() on an empty RDD: it has no elements");
    return head;
  }

  reduce(fn: (a: T, b: T) => T): T {
    const f = guarded("RDD.reduce", fn);
    let acc: T | undefined;
    let seen = false;
    this.forEachElement((v) => {
      acc = seen ? f(acc as T, v) : v;
      seen = true;
    });
    if (!seen) throw new ValidationError("EmptyCollection", "reduce() on an empty RDD: there is nothing to reduce (Spark: UnsupportedOperationException: empty collection)");
    return acc as T;
  }

  fold(zero: T, fn: (a: T, b: T) => T): T {
    const f = guarded("RDD.fold", fn);
    let acc = zero;
    this.forEachElement((v) => (acc = f(acc, v)));
    return acc;
  }

  foreach(fn: (value: T) => void): void {
    this.forEachElement(guarded("RDD.foreach", fn));
  }

  foreachPartition(fn: (values: T[]) => void): void {
    const f = guarded("RDD.foreachPartition", fn);
    for (const p of this.partitions()) f(p);
  }

  /** Spark returns a Map of value to count; here, `[value, count]` pairs in first-seen order (keys by value). */
  countByValue(): Array<[T, number]> {
    const counts = new KeyMap<T, number>();
    this.forEachElement((v) => counts.upsert(v, 1, one, add));
    return [...counts.entries()];
  }

  toString(): string {
    return `RDD[${this.numPartitions} partitions]`;
  }

  // ---- narrow transformations ----

  map<U>(fn: (value: T) => U): RDD<U> {
    return this.through(mapStep(fn, "RDD.map"));
  }

  flatMap<U>(fn: (value: T) => Iterable<U>): RDD<U> {
    return this.through(flatMapStep(fn, "RDD.flatMap"));
  }

  filter(fn: (value: T) => boolean): RDD<T> {
    return this.through(filterStep(fn, "RDD.filter"));
  }

  /** `fn` gets one partition's elements and returns the new partition's. */
  mapPartitions<U>(fn: (values: T[]) => Iterable<U>, label = "RDD.mapPartitions"): RDD<U> {
    const f = guarded(label, fn);
    return new RDD<U>(
      this.feedsOrCache().map((feed) => (emit: (v: U) => void) => {
        const values: T[] = [];
        feed((v) => values.push(v));
        for (const u of f(values)) emit(u);
      }),
    );
  }

  /** Each partition as one array element. */
  glom(): RDD<T[]> {
    return RDD.fromPartitions(this.partitions().map((p) => [p.slice()]));
  }

  union(other: RDD<T>): RDD<T> {
    return RDD.union([this, other]);
  }

  /** Round-robin into `n` partitions. */
  repartition(n: number): RDD<T> {
    if (!Number.isInteger(n) || n < 1) throw new ValidationError("BadPartitionCount", `number of partitions must be a positive integer, got ${n}`);
    const parts: T[][] = Array.from({ length: n }, () => []);
    let i = 0;
    this.forEachElement((v) => parts[i++ % n].push(v));
    return RDD.fromPartitions(parts);
  }

  coalesce(n: number): RDD<T> {
    return n >= this.numPartitions ? this : this.repartition(n);
  }

  distinct(): RDD<T> {
    const seen = new KeyMap<T, true>();
    this.forEachElement((v) => seen.set(v, true));
    return RDD.of(seen.keys());
  }

  sortBy<S>(fn: (value: T) => S, ascending = true): RDD<T> {
    const f = guarded("RDD.sortBy", fn);
    const keyed = this.collect().map((v, i) => ({ v, k: f(v), i }));
    keyed.sort((a, b) => compareValues(a.k, b.k) * (ascending ? 1 : -1) || a.i - b.i);
    return RDD.of(keyed.map((e) => e.v));
  }

  zipWithIndex(): RDD<[T, number]> {
    let i = 0;
    return RDD.fromPartitions(this.partitions().map((p) => p.map((v) => [v, i++] as [T, number])));
  }

  keyBy<K>(fn: (value: T) => K): RDD<[K, T]> {
    return this.map((v) => [fn(v), v] as [K, T]);
  }

  // ---- pair operations (typed `this`: they do not compile on an RDD of non-pairs) ----

  keys<K, V>(this: RDD<[K, V]>): RDD<K> {
    return this.through(mapStep((p: [K, V]) => (requirePair(p, "RDD.keys"), p[0]), "RDD.keys"));
  }

  values<K, V>(this: RDD<[K, V]>): RDD<V> {
    return this.through(mapStep((p: [K, V]) => (requirePair(p, "RDD.values"), p[1]), "RDD.values"));
  }

  mapValues<K, V, W>(this: RDD<[K, V]>, fn: (value: V) => W): RDD<[K, W]> {
    return this.through(mapValuesStep<K, V, W>(fn, "RDD.mapValues"));
  }

  flatMapValues<K, V, W>(this: RDD<[K, V]>, fn: (value: V) => Iterable<W>): RDD<[K, W]> {
    return this.through(flatMapValuesStep<K, V, W>(fn, "RDD.flatMapValues"));
  }

  combineByKey<K, V, C>(
    this: RDD<[K, V]>,
    createCombiner: (value: V) => C,
    mergeValue: (combiner: C, value: V) => C,
    _mergeCombiners?: (a: C, b: C) => C,
    numPartitions = 1,
  ): RDD<[K, C]> {
    return combineByKey(this, createCombiner, mergeValue, "RDD.combineByKey", numPartitions);
  }

  reduceByKey<K, V>(this: RDD<[K, V]>, fn: (a: V, b: V) => V, numPartitions = 1): RDD<[K, V]> {
    return reduceByKey(this, fn, "RDD.reduceByKey", numPartitions);
  }

  foldByKey<K, V>(this: RDD<[K, V]>, zero: V, fn: (a: V, b: V) => V, numPartitions = 1): RDD<[K, V]> {
    const f = guarded("RDD.foldByKey", fn);
    return combineByKey(this, (v: V) => f(zero, v), f, "RDD.foldByKey", numPartitions);
  }

  groupByKey<K, V>(this: RDD<[K, V]>, numPartitions = 1): RDD<[K, V[]]> {
    return groupByKey(this, numPartitions, "RDD.groupByKey");
  }

  countByKey<K, V>(this: RDD<[K, V]>): Array<[K, number]> {
    return reduceByKey(this.mapValues(() => 1), add, "RDD.countByKey").collect();
  }

  lookup<K, V>(this: RDD<[K, V]>, key: K): V[] {
    const id = canonicalKey(key);
    return this.filter((p) => p[0] === key || canonicalKey(p[0]) === id).values().collect();
  }

  sortByKey<K, V>(this: RDD<[K, V]>, ascending = true): RDD<[K, V]> {
    return this.sortBy((p) => p[0], ascending);
  }

  subtractByKey<K, V, W>(this: RDD<[K, V]>, other: RDD<[K, W]>): RDD<[K, V]> {
    const drop = new KeyMap<K, true>();
    other.forEachElement((p) => drop.set(p[0], true));
    return this.filter((p) => !drop.has(p[0]));
  }

  /** Per key, the values of this RDD and of `other` (Spark's `cogroup`). */
  cogroup<K, V, W>(this: RDD<[K, V]>, other: RDD<[K, W]>, numPartitions = 1): RDD<[K, [V[], W[]]]> {
    return cogroupPair(this, other, numPartitions, "RDD.cogroup");
  }

  join<K, V, W>(this: RDD<[K, V]>, other: RDD<[K, W]>, numPartitions = 1): RDD<[K, [V, W]]> {
    return cogroupPair(this, other, numPartitions, "RDD.join").flatMap(([k, [vs, ws]]) => {
      const out: Array<[K, [V, W]]> = [];
      for (const v of vs) for (const w of ws) out.push([k, [v, w]]);
      return out;
    });
  }

  /** A key missing from `other` pairs with `null` (Spark's `None`). */
  leftOuterJoin<K, V, W>(this: RDD<[K, V]>, other: RDD<[K, W]>, numPartitions = 1): RDD<[K, [V, W | null]]> {
    return cogroupPair(this, other, numPartitions, "RDD.leftOuterJoin").flatMap(([k, [vs, ws]]) => {
      const out: Array<[K, [V, W | null]]> = [];
      for (const v of vs) {
        if (ws.length === 0) out.push([k, [v, null]]);
        else for (const w of ws) out.push([k, [v, w]]);
      }
      return out;
    });
  }

  rightOuterJoin<K, V, W>(this: RDD<[K, V]>, other: RDD<[K, W]>, numPartitions = 1): RDD<[K, [V | null, W]]> {
    return cogroupPair(this, other, numPartitions, "RDD.rightOuterJoin").flatMap(([k, [vs, ws]]) => {
      const out: Array<[K, [V | null, W]]> = [];
      for (const w of ws) {
        if (vs.length === 0) out.push([k, [null, w]]);
        else for (const v of vs) out.push([k, [v, w]]);
      }
      return out;
    });
  }

  fullOuterJoin<K, V, W>(this: RDD<[K, V]>, other: RDD<[K, W]>, numPartitions = 1): RDD<[K, [V | null, W | null]]> {
    return cogroupPair(this, other, numPartitions, "RDD.fullOuterJoin").flatMap(([k, [vs, ws]]) => {
      const out: Array<[K, [V | null, W | null]]> = [];
      if (vs.length === 0) for (const w of ws) out.push([k, [null, w]]);
      else if (ws.length === 0) for (const v of vs) out.push([k, [v, null]]);
      else for (const v of vs) for (const w of ws) out.push([k, [v, w]]);
      return out;
    });
  }

  /** Lines as `saveAsTextFiles` writes them. */
  toLines(): string[] {
    return this.collect().map(formatElement);
  }
}

const one = (): number => 1;
const add = (a: number, b: number): number => a + b;

/** Spreads keyed entries over `n` partitions by a hash of the key (one partition: as they come). */
function partitionByKey<K, C>(entries: KeyMap<K, C>, n: number): RDD<[K, C]> {
  const pairs: Array<[K, C]> = [];
  entries.forEach((v, k) => pairs.push([k, v]));
  if (n <= 1) return RDD.fromPartitions([pairs]);
  const parts: Array<Array<[K, C]>> = Array.from({ length: n }, () => []);
  for (const p of pairs) parts[hashKey(p[0]) % n].push(p);
  return RDD.fromPartitions(parts);
}

/** A stable, non-negative hash of a key's canonical form (FNV-1a). */
export function hashKey(key: unknown): number {
  const s = typeof key === "string" ? key : canonicalKey(key);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

// Shuffle primitives, shared by the RDD methods above and the graph's operator nodes (which pass their own
// operator name so an error says "reduceByKey threw", not "RDD.reduceByKey threw").

export function combineByKey<K, V, C>(
  rdd: RDD<[K, V]>,
  createCombiner: (value: V) => C,
  mergeValue: (combiner: C, value: V) => C,
  label: string,
  numPartitions = 1,
): RDD<[K, C]> {
  const create = guarded(label, createCombiner);
  const merge = guarded(label, mergeValue);
  const acc = new KeyMap<K, C>();
  rdd.forEachElement((p) => {
    requirePair(p, label);
    acc.upsert(p[0], p[1], create, merge);
  });
  return partitionByKey(acc, numPartitions);
}

export function reduceByKey<K, V>(rdd: RDD<[K, V]>, fn: (a: V, b: V) => V, label: string, numPartitions = 1): RDD<[K, V]> {
  return combineByKey(rdd, identity, fn, label, numPartitions);
}

export function groupByKey<K, V>(rdd: RDD<[K, V]>, numPartitions = 1, label = "groupByKey"): RDD<[K, V[]]> {
  const acc = new KeyMap<K, V[]>();
  rdd.forEachElement((p) => {
    requirePair(p, label);
    acc.upsert(p[0], p[1], (v) => [v], (vs, v) => (vs.push(v), vs));
  });
  return partitionByKey(acc, numPartitions);
}

/** Per key, one array of values per input RDD, in input order. */
export function cogroup<K, Vs extends readonly unknown[]>(
  rdds: { readonly [I in keyof Vs]: RDD<[K, Vs[I]]> },
  numPartitions = 1,
  label = "cogroup",
): RDD<[K, unknown[][]]> {
  const acc = new KeyMap<K, unknown[][]>();
  const n = rdds.length;
  (rdds as ReadonlyArray<RDD<[K, unknown]>>).forEach((rdd, i) => {
    rdd.forEachElement((p) => {
      requirePair(p, label);
      let groups = acc.get(p[0]);
      if (!groups) {
        groups = Array.from({ length: n }, () => []);
        acc.set(p[0], groups);
      }
      groups[i].push(p[1]);
    });
  });
  return partitionByKey(acc, numPartitions);
}

function cogroupPair<K, V, W>(a: RDD<[K, V]>, b: RDD<[K, W]>, numPartitions: number, label: string): RDD<[K, [V[], W[]]]> {
  return cogroup<K, [V, W]>([a, b] as const, numPartitions, label) as unknown as RDD<[K, [V[], W[]]]>;
}

function identity<V>(v: V): V {
  return v;
}

/** Orders numbers, strings, booleans and arrays (element-wise) the way a Spark user would expect. */
export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = compareValues(a[i], b[i]);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  const sa = canonicalKey(a);
  const sb = canonicalKey(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

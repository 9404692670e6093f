import { EncodingError } from "./errors.js";

/**
 * Keys compare by value, never by identity: `1` and `"1"` are different keys, `["a", 1]` equals `["a", 1]`,
 * and `{ b: 1, a: 2 }` equals `{ a: 2, b: 1 }`. Primitives are used as Map keys directly (SameValueZero
 * already tells `1` from `"1"`); arrays and objects go through a canonical JSON encoding with sorted object
 * keys; a `Map` or `Set` compares by its entries, whatever their order. Iteration follows first insertion,
 * so a shuffled batch lists its keys in the order they were first seen (Spark's order follows hash partitions
 * and is not defined; ours is, and tests may rely on it).
 */
export function canonicalKey(value: unknown): string {
  try {
    return JSON.stringify(canonicalize(value));
  } catch (e) {
    // A circular key recurses until the stack runs out; catching that costs nothing on the way there.
    if (!(e instanceof RangeError)) throw e;
    throw new EncodingError("KeyNotComparable", "a key cannot be compared by value: it is circular or nested too deeply", {}, { cause: e });
  }
}

function canonicalize(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(canonicalize);
  if (value instanceof Date) return value.toISOString();
  // Tagged (a JSON object has no way to say "Map"), entries sorted so that insertion order does not matter.
  if (value instanceof Map) return { "$sparkless:map": sortedByText([...value].map(([k, v]) => [canonicalize(k), canonicalize(v)])) };
  if (value instanceof Set) return { "$sparkless:set": sortedByText([...value].map(canonicalize)) };
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) out[k] = canonicalize((value as Record<string, unknown>)[k]);
  return out;
}

function sortedByText(items: unknown[]): unknown[] {
  const texts = items.map((x) => JSON.stringify(x));
  return items.map((x, i) => [texts[i]!, x] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, x]) => x);
}

/** The JSON text a key is stored under outside the process (DynamoDB sort keys, checkpoint files). */
export function encodeKey(value: unknown): string {
  return value === undefined ? "null" : canonicalKey(value);
}

interface Entry<K, V> {
  key: K;
  value: V;
  seq: number;
}

/** A map keyed by value (see above), iterating in first-insertion order. */
export class KeyMap<K, V> {
  private readonly primitives = new Map<unknown, Entry<K, V>>();
  private readonly objects = new Map<string, Entry<K, V>>();
  private seq = 0;

  get size(): number {
    return this.primitives.size + this.objects.size;
  }

  private entry(key: K): Entry<K, V> | undefined {
    return key !== null && typeof key === "object" ? this.objects.get(canonicalKey(key)) : this.primitives.get(key);
  }

  has(key: K): boolean {
    return this.entry(key) !== undefined;
  }

  get(key: K): V | undefined {
    return this.entry(key)?.value;
  }

  set(key: K, value: V): void {
    if (key !== null && typeof key === "object") {
      const id = canonicalKey(key);
      const e = this.objects.get(id);
      if (e) e.value = value;
      else this.objects.set(id, { key, value, seq: this.seq++ });
    } else {
      const e = this.primitives.get(key);
      if (e) e.value = value;
      else this.primitives.set(key, { key, value, seq: this.seq++ });
    }
  }

  /** Folds `value` into the key's entry: `init(value)` for a new key, `merge(old, value)` otherwise. */
  upsert<X>(key: K, value: X, init: (value: X) => V, merge: (acc: V, value: X) => V): void {
    if (key !== null && typeof key === "object") {
      const id = canonicalKey(key);
      const e = this.objects.get(id);
      if (e) e.value = merge(e.value, value);
      else this.objects.set(id, { key, value: init(value), seq: this.seq++ });
    } else {
      const e = this.primitives.get(key);
      if (e) e.value = merge(e.value, value);
      else this.primitives.set(key, { key, value: init(value), seq: this.seq++ });
    }
  }

  delete(key: K): boolean {
    return key !== null && typeof key === "object"
      ? this.objects.delete(canonicalKey(key))
      : this.primitives.delete(key);
  }

  *entries(): IterableIterator<[K, V]> {
    if (this.objects.size === 0) {
      for (const e of this.primitives.values()) yield [e.key, e.value];
    } else if (this.primitives.size === 0) {
      for (const e of this.objects.values()) yield [e.key, e.value];
    } else {
      const all = [...this.primitives.values(), ...this.objects.values()].sort((a, b) => a.seq - b.seq);
      for (const e of all) yield [e.key, e.value];
    }
  }

  /** Calls `fn` for every entry, in insertion order, without building tuples where it can avoid it. */
  forEach(fn: (value: V, key: K) => void): void {
    if (this.objects.size === 0) {
      for (const e of this.primitives.values()) fn(e.value, e.key);
    } else {
      for (const [k, v] of this.entries()) fn(v, k);
    }
  }

  keys(): K[] {
    return [...this.entries()].map(([k]) => k);
  }

  clone(): KeyMap<K, V> {
    const copy = new KeyMap<K, V>();
    for (const [k, v] of this.entries()) copy.set(k, v);
    return copy;
  }
}

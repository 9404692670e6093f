import { encodeValue } from "./codec.js";
import { encodeKey } from "./keys.js";

/**
 * Which of `partitions` finalizer partitions owns `key`: a hash of the key's canonical encoding — the text
 * {@link encodeKey} gives, under which KeyMap compares keys and the store keeps them — modulo the count.
 *
 * The shard stage splits its partial aggregates by this number, the finalizer of partition p finalizes the
 * keys that land on p, and keyed state is kept per partition, so every host (each Lambda, the local driver) on
 * every Node version must compute the same number for the same key, forever: a key that moved would have its
 * state in one partition and its new data in another. Hence a hash written here over a canonical text, never
 * anything that varies by process: not object identity, not `Map` iteration order, not a seeded or
 * engine-provided hash. The text is the canonical JSON (object keys sorted, Map/Set entries sorted), and the
 * hash reads its UTF-16 code units, which the language defines, so the number depends on the key's value only.
 *
 * The hash is FNV-1a (32 bits) finished with MurmurHash3's fmix32 so that the low bits (what a small modulus
 * reads) depend on every character; keys equal by value (`{a:1,b:2}` and `{b:2,a:1}`) land on the same
 * partition, as they must. Changing this function is changing where every key lives: it is a stored format.
 */
export function partitionOf(key: unknown, partitions: number): number {
  if (partitions <= 1) return 0;
  return hashText(keyText(key)) % partitions;
}

/**
 * The canonical text, or for the few values JSON cannot write (a bigint, within a key or as one) the value codec's
 * tagged text: such a key must land somewhere stable rather than fail the shard stage.
 */
function keyText(key: unknown): string {
  try {
    return encodeKey(key) ?? "null";
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    return encodeValue(key) ?? "null";
  }
}

/** The 32-bit unsigned hash {@link partitionOf} reads: FNV-1a over UTF-16 code units, then fmix32. */
export function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The most finalizer partitions a pipeline may have (each is one Lambda invocation per batch). */
export const MAX_FINALIZER_PARTITIONS = 256;

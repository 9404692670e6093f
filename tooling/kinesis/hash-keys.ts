import { createHash } from "node:crypto";

/** Kinesis hash keys are unsigned 128-bit integers: a partition key's is the MD5 of its UTF-8 bytes. */
export const MAX_HASH_KEY = (1n << 128n) - 1n;

export function hashKeyOf(partitionKey: string): bigint {
  return BigInt(`0x${createHash("md5").update(partitionKey, "utf8").digest("hex")}`);
}

/**
 * Splits `[from, to]` into `count` contiguous ranges of equal size, the last one taking the remainder — how
 * CreateStream lays out its shards over the whole key space.
 */
export function evenRanges(count: number, from = 0n, to = MAX_HASH_KEY): { start: bigint; end: bigint }[] {
  const size = (to - from + 1n) / BigInt(count);
  return Array.from({ length: count }, (_, i) => ({
    start: from + size * BigInt(i),
    end: i === count - 1 ? to : from + size * BigInt(i + 1) - 1n,
  }));
}

/** A decimal hash key as a client sends it (ExplicitHashKey, NewStartingHashKey), or undefined if it is not one. */
export function parseHashKey(text: unknown): bigint | undefined {
  if (typeof text !== "string" || !/^\d{1,39}$/.test(text)) return undefined;
  const value = BigInt(text);
  return value <= MAX_HASH_KEY ? value : undefined;
}

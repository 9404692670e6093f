import { NotAPairError } from "./errors.js";

/**
 * The element check of every pair operation. Compiled TypeScript never needs it (the pair operations take a
 * typed `this`); plain JavaScript does: without it, `reduceByKey` over strings keys each string by its first
 * letter and prints `(a, )`. One `Array.isArray` per element.
 */
export function requirePair<K, V>(value: unknown, operator: string): asserts value is [K, V] {
  if (!Array.isArray(value) || value.length !== 2) throw new NotAPairError(operator, value);
}

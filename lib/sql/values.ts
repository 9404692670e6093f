import { canonicalKey } from "../core/keys.js";
import type { DataType } from "./data-types.js";
import { compareDecimals } from "./decimal.js";

/**
 * Orders two non-null values of one type as Spark does: numbers numerically with NaN above everything,
 * strings by code point (Spark compares UTF-8 bytes, which orders the same), false before true, arrays and
 * structs element by element, timestamps by instant, decimals by value (their digit strings, or an integer
 * compared with one, at the type's scale).
 */
export function compareNonNull(a: unknown, b: unknown, type: DataType): number {
  switch (type.kind) {
    case "integer":
    case "long":
    case "double": {
      if (typeof a === "bigint" || typeof b === "bigint") return BigInt(a as number) < BigInt(b as number) ? -1 : BigInt(a as number) > BigInt(b as number) ? 1 : 0;
      const x = a as number;
      const y = b as number;
      if (x < y) return -1;
      if (x > y) return 1;
      if (x === y) return 0;
      return Number.isNaN(x) ? (Number.isNaN(y) ? 0 : 1) : -1;
    }
    case "decimal":
      return compareDecimals(a, b, type.scale);
    case "string":
    case "date":
      return compareStrings(a as string, b as string);
    case "boolean":
      return a === b ? 0 : a ? 1 : -1;
    case "timestamp":
      return (a as Date).getTime() - (b as Date).getTime();
    case "array": {
      const x = a as unknown[];
      const y = b as unknown[];
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = compareNullable(x[i], y[i], type.elementType, true);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    case "struct": {
      const x = a as unknown[];
      const y = b as unknown[];
      for (const [i, f] of type.fields.entries()) {
        const c = compareNullable(x[i], y[i], f.dataType, true);
        if (c !== 0) return c;
      }
      return 0;
    }
    default: {
      const x = canonicalKey(a);
      const y = canonicalKey(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
  }
}

export function compareNullable(a: unknown, b: unknown, type: DataType, nullsFirst: boolean): number {
  const an = a === null || a === undefined;
  const bn = b === null || b === undefined;
  if (an || bn) return an && bn ? 0 : an === nullsFirst ? -1 : 1;
  return compareNonNull(a, b, type);
}

/** By code point: UTF-16 order differs from it only where a surrogate pair meets a character above U+D7FF. */
function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const surrogate = (c: number) => c >= 0xd800 && c <= 0xdfff;
    if (surrogate(x) !== surrogate(y) && (x >= 0xe000 || y >= 0xe000)) return surrogate(x) ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * A key under which equal rows (or values) meet: grouping, distinct, joins. A decimal's digits are one string
 * per value at its column's scale (every way in makes them so), so equal decimals meet as equal strings.
 */
export function valueKey(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  const t = typeof v;
  if (t === "string" || t === "number" || t === "boolean") return v;
  if (t === "bigint") return `\u0000${v}n`;
  return `\u0000${canonicalKey(v)}`;
}

/** The key a tuple of values (several grouping columns, countDistinct of several) meets equal tuples under. */
export function tupleKey(values: readonly unknown[]): string {
  return values.map((v) => String(valueKey(v)) + (v === null || v === undefined ? "\u0002" : typeof v)).join("\u0001");
}

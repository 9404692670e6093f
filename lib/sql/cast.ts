import { AnalysisError } from "../core/errors.js";
import type { DataType } from "./data-types.js";
import { doubleToBigDecimal, parseBigDecimal, pow10, toDecimalValue, unscaledAt, type BigDecimal } from "./decimal.js";
import { simpleString, sqlTypeName } from "./types.js";

/**
 * Java's `Double.toString`, which Spark uses to print a double: `55.0` (never `55`), `0.001`, `1.0E7`,
 * `1.234E-5`, `NaN`, `Infinity`. Decimal notation for magnitudes in [10^-3, 10^7), computerized scientific
 * notation outside it; the digits are the shortest that tell the double apart, as JavaScript's (and JDK 19+'s).
 */
export function javaDouble(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const abs = Math.abs(x);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(x);
    return s.includes(".") ? s : `${s}.0`;
  }
  const [mantissa, exponent] = x.toExponential().split("e");
  return `${mantissa!.includes(".") ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
}

/** A timestamp as Spark prints one in UTC: `2024-01-02 03:04:05`, with the fraction only when there is one. */
export function formatTimestamp(d: Date): string {
  const iso = d.toISOString(); // 2024-01-02T03:04:05.678Z
  const ms = iso.slice(20, 23);
  const frac = ms === "000" ? "" : `.${ms.replace(/0+$/, "")}`;
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac}`;
}

/**
 * A value as Spark's `Cast(value AS STRING)` writes it (`nullText` "null"), or as `show()`'s ToPrettyString
 * does (Spark 3.5+: `nullText` "NULL"). Structs are `{a, 1}`, arrays `[1, 2]`, maps `{k -> v}`.
 */
export function valueToString(value: unknown, type: DataType, nullText: string): string {
  if (value === null || value === undefined) return nullText;
  switch (type.kind) {
    case "double":
      return typeof value === "number" ? javaDouble(value) : String(value);
    case "timestamp":
      return value instanceof Date ? formatTimestamp(value) : String(value);
    case "array": {
      const items = value as readonly unknown[];
      return `[${items.map((v) => valueToString(v, type.elementType, nullText)).join(", ")}]`;
    }
    case "struct": {
      const items = value as readonly unknown[];
      return `{${type.fields.map((f, i) => valueToString(items[i], f.dataType, nullText)).join(", ")}}`;
    }
    case "map": {
      const entries = [...(value as Map<unknown, unknown>)];
      return `{${entries.map(([k, v]) => `${valueToString(k, type.keyType, nullText)} -> ${valueToString(v, type.valueType, nullText)}`).join(", ")}}`;
    }
    default:
      return String(value);
  }
}

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

/** Spark's `UTF8String.toLong`: optional sign, digits, an ignored fraction; anything else is null. */
function parseIntegral(s: string): number | null {
  const m = /^[+-]?\d+(\.\d*)?$/.exec(s.trim());
  if (!m) return null;
  return Math.trunc(Number(s.trim()));
}

function parseDouble(s: string): number | null {
  const t = s.trim();
  if (/^[+-]?(NaN|Infinity)$/.test(t)) return Number(t);
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[dDfF]?$/.test(t)) return null;
  return Number(t.replace(/[dDfF]$/, ""));
}

/** A long as data-types.ts holds one: a number when a double holds it exactly, else a bigint. */
function longValue(n: bigint): number | bigint {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

const TRUE = new Set(["t", "true", "y", "yes", "1"]);
const FALSE = new Set(["f", "false", "n", "no", "0"]);

/**
 * A function converting values of `from` to `to`, as Spark's non-ANSI cast (Spark 3.5's default): a string
 * that does not parse is null, a double beyond an int saturates, an int overflow wraps. A cast Spark refuses
 * (a struct to an int, say) is an AnalysisError.
 */
export function caster(from: DataType, to: DataType, what: string): (v: unknown) => unknown {
  if (simpleString(from) === simpleString(to) || from.kind === "null") return (v) => v;
  const refuse = () =>
    new AnalysisError("DatatypeMismatch", `[DATATYPE_MISMATCH.CAST_WITHOUT_SUGGESTION] Cannot resolve "${what}" due to data type mismatch: cannot cast ${sqlTypeName(from)} to ${sqlTypeName(to)}.`, {
      errorClass: "DATATYPE_MISMATCH.CAST_WITHOUT_SUGGESTION",
    });
  const nullSafe = (f: (v: never) => unknown) => (v: unknown) => (v === null || v === undefined ? null : f(v as never));
  switch (to.kind) {
    case "string":
      return nullSafe((v) => valueToString(v, from, "null"));
    case "decimal": {
      const target = to;
      const fromDigits = (d: BigDecimal | undefined) => (d ? toDecimalValue(d.unscaled, d.scale, target) : null);
      if (from.kind === "decimal") {
        const scale = from.scale;
        return nullSafe((v: string) => toDecimalValue(unscaledAt(v, scale), scale, target));
      }
      if (from.kind === "integer" || from.kind === "long") return nullSafe((n: number | bigint) => toDecimalValue(BigInt(n), 0, target));
      if (from.kind === "boolean") return nullSafe((b: boolean) => toDecimalValue(b ? 1n : 0n, 0, target));
      // Spark's Decimal(double) reads Double.toString's digits; NaN and the infinities are null.
      if (from.kind === "double") return nullSafe((d: number) => fromDigits(doubleToBigDecimal(d)));
      // Decimal.fromString: Java's BigDecimal syntax around spaces, an exponent allowed; anything else is null.
      if (from.kind === "string") return nullSafe((s: string) => fromDigits(parseBigDecimal(s.trim())));
      throw refuse();
    }
    case "integer":
    case "long": {
      if (from.kind === "decimal") {
        // Decimal.toInt/toLong: the fraction truncated, then the low 32 or 64 bits, as Java's longValue and toInt wrap.
        const { scale } = from;
        const bits = to.kind === "integer" ? 32 : 64;
        return nullSafe((v: string) => longValue(BigInt.asIntN(bits, unscaledAt(v, scale) / pow10(scale))));
      }
      const wrap = to.kind === "integer" ? (n: number) => n | 0 : (n: number) => n;
      if (from.kind === "string") return nullSafe((s: string) => {
        const n = parseIntegral(s);
        return n === null || (to.kind === "integer" && (n < INT_MIN || n > INT_MAX)) ? null : n;
      });
      if (from.kind === "boolean") return nullSafe((b: boolean) => (b ? 1 : 0));
      if (from.kind === "double") {
        const [lo, hi] = to.kind === "integer" ? [INT_MIN, INT_MAX] : [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
        return nullSafe((d: number) => (Number.isNaN(d) ? 0 : Math.min(hi, Math.max(lo, Math.trunc(d)))));
      }
      if (from.kind === "integer" || from.kind === "long") return nullSafe((n: number) => wrap(Number(n)));
      throw refuse();
    }
    case "double":
      if (from.kind === "string") return nullSafe(parseDouble);
      if (from.kind === "boolean") return nullSafe((b: boolean) => (b ? 1 : 0));
      if (from.kind === "integer" || from.kind === "long") return nullSafe((n: number) => Number(n));
      if (from.kind === "decimal") return nullSafe((v: string) => Number(v));
      throw refuse();
    case "boolean":
      if (from.kind === "string") return nullSafe((s: string) => {
        const t = s.trim().toLowerCase();
        return TRUE.has(t) ? true : FALSE.has(t) ? false : null;
      });
      if (from.kind === "integer" || from.kind === "long" || from.kind === "double") return nullSafe((n: number) => n !== 0);
      if (from.kind === "decimal") {
        const { scale } = from;
        return nullSafe((v: string) => unscaledAt(v, scale) !== 0n);
      }
      throw refuse();
    default:
      throw refuse();
  }
}

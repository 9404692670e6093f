/**
 * Spark's DecimalType: its type rules (DecimalPrecision, DecimalType.adjustPrecisionScale) and exact arithmetic
 * on its values. A value is the string of its plain digits with exactly `scale` digits after the point (`"3.0"`
 * for decimal(3,1), `"-0.50"`, `"12"` at scale 0), as Java's BigDecimal.toPlainString prints it and as
 * duckdb-types.ts reads DuckDB's decimals; arithmetic works on the unscaled integer as a bigint.
 */
import { AnalysisError } from "../core/errors.js";
import type { DataType } from "./data-types.js";

export type DecimalType = Extract<DataType, { kind: "decimal" }>;

export const MAX_PRECISION = 38;
/** DecimalType.MINIMUM_ADJUSTED_SCALE: what a result keeps of its fraction, at least, when capped at 38 digits. */
const MINIMUM_ADJUSTED_SCALE = 6;

/** DecimalType(precision, scale), checked as Spark checks it: 1 ≤ precision ≤ 38, 0 ≤ scale ≤ precision. */
export function DecimalType(precision = 10, scale = 0): DecimalType {
  if (!Number.isInteger(precision) || !Number.isInteger(scale) || precision < 1 || precision > MAX_PRECISION || scale < 0 || scale > precision) {
    throw new AnalysisError(
      "InvalidDecimalType",
      `[DECIMAL_PRECISION_EXCEEDS_MAX_PRECISION] decimal(${precision},${scale}) is not a decimal type: the precision is 1 to ${MAX_PRECISION} digits and the scale 0 to the precision.`,
      { errorClass: "DECIMAL_PRECISION_EXCEEDS_MAX_PRECISION", precision, scale },
    );
  }
  return { kind: "decimal", precision, scale };
}

/** DecimalType.forType: the decimal every value of an integral type fits (int: 10 digits, bigint: 20). */
export function decimalForType(t: DataType): DecimalType | undefined {
  switch (t.kind) {
    case "integer":
      return { kind: "decimal", precision: 10, scale: 0 };
    case "long":
      return { kind: "decimal", precision: 20, scale: 0 };
    case "decimal":
      return t;
    default:
      return undefined;
  }
}

/** DecimalType.bounded: precision and scale capped at 38. */
function bounded(precision: number, scale: number): DecimalType {
  return { kind: "decimal", precision: Math.min(precision, MAX_PRECISION), scale: Math.min(scale, MAX_PRECISION) };
}

/**
 * DecimalType.adjustPrecisionScale (spark.sql.decimalOperations.allowPrecisionLoss, true by default): a result
 * wider than 38 digits gives up fraction digits to keep its integer digits, but keeps at least 6 of them (or
 * all it had, when fewer).
 */
export function adjustPrecisionScale(precision: number, scale: number): DecimalType {
  if (precision <= MAX_PRECISION) return { kind: "decimal", precision, scale };
  const intDigits = precision - scale;
  const minScale = Math.min(scale, MINIMUM_ADJUSTED_SCALE);
  return { kind: "decimal", precision: MAX_PRECISION, scale: Math.max(MAX_PRECISION - intDigits, minScale) };
}

/** The result type of `a op b` for two decimals: Add/Subtract/Multiply/Divide/Remainder.resultDecimalType. */
export function arithmeticDecimalType(op: "+" | "-" | "*" | "/" | "%", a: DecimalType, b: DecimalType): DecimalType {
  const { precision: p1, scale: s1 } = a;
  const { precision: p2, scale: s2 } = b;
  switch (op) {
    case "+":
    case "-": {
      const scale = Math.max(s1, s2);
      return adjustPrecisionScale(Math.max(p1 - s1, p2 - s2) + scale + 1, scale);
    }
    case "*":
      return adjustPrecisionScale(p1 + p2 + 1, s1 + s2);
    case "/": {
      const scale = Math.max(MINIMUM_ADJUSTED_SCALE, s1 + p2 + 1);
      return adjustPrecisionScale(p1 - s1 + s2 + scale, scale);
    }
    case "%": {
      const scale = Math.max(s1, s2);
      return adjustPrecisionScale(Math.min(p1 - s1, p2 - s2) + scale, scale);
    }
  }
}

/** DecimalPrecision.widerDecimalType: the decimal two decimals compare, union and coalesce in. */
export function widerDecimalType(a: DecimalType, b: DecimalType): DecimalType {
  const scale = Math.max(a.scale, b.scale);
  const range = Math.max(a.precision - a.scale, b.precision - b.scale);
  return bounded(range + scale, scale);
}

/** A decimal number: `unscaled` × 10^-`scale`. */
export interface BigDecimal {
  readonly unscaled: bigint;
  readonly scale: number;
}

const POWERS: bigint[] = [];
export function pow10(n: number): bigint {
  if (n < 0) throw new RangeError(`10^${n}`);
  return (POWERS[n] ??= 10n ** BigInt(n));
}

const OUT_OF_RANGE = 2 * MAX_PRECISION;

const NUMBER = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Java's `new BigDecimal(text)`: optional sign, digits with an optional point, an optional exponent; anything
 * else (`NaN`, `1,5`, ``) is undefined. A negative scale (`1e3`) is made 0, as Spark makes it.
 */
export function parseBigDecimal(text: string): BigDecimal | undefined {
  const m = NUMBER.exec(text);
  if (!m || (m[2] === "" && !m[3])) return undefined;
  const fraction = m[3] ?? "";
  let unscaled = BigInt(`${m[2]}${fraction}` || "0");
  let scale = fraction.length - Number(m[4] ?? 0);
  // `1e999999999` has no place in 38 digits; any number of more than OUT_OF_RANGE digits stands for it, so that
  // it overflows as it should without a billion-digit bigint.
  if (scale < -OUT_OF_RANGE && unscaled !== 0n) return { unscaled: m[1] === "-" ? -pow10(OUT_OF_RANGE) : pow10(OUT_OF_RANGE), scale: 0 };
  if (scale < 0) {
    unscaled *= pow10(-scale);
    scale = 0;
  }
  return { unscaled: m[1] === "-" ? -unscaled : unscaled, scale };
}

/** Spark's Decimal.set(BigDecimal): the type of a literal, its digits (leading zeros not counted) and at least its scale. */
export function literalDecimalType(d: BigDecimal): DecimalType {
  return DecimalType(Math.max(digitCount(d.unscaled), d.scale, 1), d.scale);
}

function digitCount(n: bigint): number {
  return n === 0n ? 1 : (n < 0n ? -n : n).toString().length;
}

/** The unscaled value of a decimal value (the digit string of data-types.ts, or a number of an integral column) at `scale`. */
export function unscaledAt(v: unknown, scale: number): bigint {
  if (typeof v === "string") {
    const point = v.indexOf(".");
    const digits = point < 0 ? 0 : v.length - point - 1;
    // The usual case, a value already at its column's scale, costs one BigInt of the digits.
    if (digits === scale) return BigInt(point < 0 ? v : v.slice(0, point) + v.slice(point + 1));
    const d = parseBigDecimal(v);
    if (!d) throw new TypeError(`expected a decimal as a string of digits, got ${JSON.stringify(v)}`);
    return rescale(d.unscaled, d.scale, scale);
  }
  if (typeof v === "bigint") return v * pow10(scale);
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v) * pow10(scale);
  throw new TypeError(`expected a decimal as a string of digits, got ${String(v)}`);
}

/** `unscaled` at `from` digits after the point, moved to `to` digits, rounding HALF_UP (away from zero on a tie) as Spark's changePrecision. */
export function rescale(unscaled: bigint, from: number, to: number): bigint {
  if (to >= from) return unscaled * pow10(to - from);
  // Below a tenth of the last place kept (`1e-999999999` at scale 2) it rounds to 0, without computing 10^(from-to).
  if (from - to > digitCount(unscaled)) return 0n;
  return divideHalfUp(unscaled, pow10(from - to));
}

/** n / d rounded HALF_UP (d ≠ 0). */
export function divideHalfUp(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r = n % d;
  if (r === 0n) return q;
  const twice = (r < 0n ? -r : r) * 2n;
  if (twice < (d < 0n ? -d : d)) return q;
  return (n < 0n) !== (d < 0n) ? q - 1n : q + 1n;
}

/** Whether `unscaled` fits `precision` digits (Decimal.changePrecision's overflow test). */
export function fits(unscaled: bigint, precision: number): boolean {
  const limit = pow10(precision);
  return unscaled < limit && unscaled > -limit;
}

/** The plain digits of a decimal, exactly `scale` of them after the point (BigDecimal.toPlainString). */
export function decimalString(unscaled: bigint, scale: number): string {
  if (scale === 0) return unscaled.toString();
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, "0");
  return `${negative ? "-" : ""}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/** `unscaled` at `scale` as a value of `to`: rounded HALF_UP to its scale, null when it does not fit its precision (non-ANSI). */
export function toDecimalValue(unscaled: bigint, scale: number, to: DecimalType): string | null {
  const v = rescale(unscaled, scale, to.scale);
  return fits(v, to.precision) ? decimalString(v, to.scale) : null;
}

/**
 * Java's BigDecimal.toString, which Spark's JSON (Jackson's writeNumber) and CSV writers print a decimal with:
 * the plain digits, unless the number is below 10^-6 in magnitude — then scientific (`1E-8`, `0E-10`).
 */
export function javaBigDecimalString(value: string, scale: number): string {
  const unscaled = unscaledAt(value, scale);
  const negative = unscaled < 0n;
  const coefficient = (negative ? -unscaled : unscaled).toString();
  const adjusted = coefficient.length - 1 - scale;
  if (adjusted >= -6) return decimalString(unscaled, scale);
  const mantissa = coefficient.length > 1 ? `${coefficient[0]}.${coefficient.slice(1)}` : coefficient;
  return `${negative ? "-" : ""}${mantissa}E${adjusted}`;
}

/** A double as a decimal's exact digits: Spark's Decimal(double) goes through Double.toString, the shortest digits. */
export function doubleToBigDecimal(x: number): BigDecimal | undefined {
  return Number.isFinite(x) ? parseBigDecimal(String(x)) : undefined;
}

/** Compares two decimal values at scale `scale` (either may be a digit string of another scale, or an integral number). */
export function compareDecimals(a: unknown, b: unknown, scale: number): number {
  const x = unscaledAt(a, scale);
  const y = unscaledAt(b, scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

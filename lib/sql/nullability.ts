/**
 * Spark's analyzer's nullability rules that both the DataFrame API (resolve.ts) and spark.sql's result columns
 * (duckdb-result-facts.ts) apply, written once so the two cannot disagree on the same expression. Spark 3.5's
 * defaults (non-ANSI): a bad cast, a division or a remainder by zero is null, not an error.
 */
import type { DataType } from "./data-types.js";
import { sameType } from "./types.js";

export type ArithmeticOp = "+" | "-" | "*" | "/" | "%";

/**
 * BinaryArithmetic.nullable: either side, and always for `/` and `%` (by zero is null), and for decimal
 * arithmetic (a result beyond its precision is null when not ANSI).
 */
export function arithmeticNullable(op: ArithmeticOp, left: boolean, right: boolean, decimal = false): boolean {
  return left || right || op === "/" || op === "%" || decimal;
}

/**
 * Cast.nullable (non-ANSI): the child's, or the cast can give null for a value that is not (Cast.forceNullable).
 * Also what a comparison's side is when it is cast to the type both sides compare in.
 */
export function castNullable(from: DataType, to: DataType, childNullable: boolean): boolean {
  return childNullable || castForcesNullable(from, to);
}

/**
 * Cast.forceNullable: whether a non-null value of `from` can become null cast to `to` — a string that does not
 * parse, a fractional NaN or infinity to an integral type, a number out of a decimal's range, anything to or from
 * a date but a timestamp's day.
 */
export function castForcesNullable(from: DataType, to: DataType): boolean {
  if (from.kind === "null") return false;
  if (sameType(from, to)) return false;
  if (from.kind === "string") return true;
  if (to.kind === "string") return false;
  if (from.kind === "double" && to.kind === "timestamp") return true;
  if (from.kind === "timestamp" && to.kind === "date") return false;
  if (to.kind === "date") return true;
  if (from.kind === "date" && to.kind === "timestamp") return false;
  if (from.kind === "date") return true;
  if (to.kind === "decimal") return !nullSafeToDecimal(from, to);
  return isFractional(from) && (to.kind === "integer" || to.kind === "long");
}

const isFractional = (t: DataType) => t.kind === "double" || t.kind === "decimal";

/** The decimal a type fits in whole (DecimalType.forType), for the integral types a decimal can widen. */
function asDecimal(t: DataType): { precision: number; scale: number } | undefined {
  switch (t.kind) {
    case "integer":
      return { precision: 10, scale: 0 };
    case "long":
      return { precision: 20, scale: 0 };
    case "boolean":
      return { precision: 1, scale: 0 };
    case "decimal":
      return t;
    default:
      return undefined;
  }
}

/**
 * Cast.canNullSafeCastToDecimal: every value of `from` fits `to` — `to` is wider (DecimalType.isWiderThan: as
 * many integer digits and as many after the point), or, from a decimal, has more integer digits (rounding away
 * fraction digits can carry into one more: 9.99 is 10.0).
 */
function nullSafeToDecimal(from: DataType, to: { precision: number; scale: number }): boolean {
  const f = asDecimal(from);
  if (!f) return false;
  const digits = (d: { precision: number; scale: number }) => d.precision - d.scale;
  if (digits(to) >= digits(f) && to.scale >= f.scale) return true;
  return from.kind === "decimal" && digits(to) > digits(f);
}

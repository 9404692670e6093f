import { AnalysisError } from "../core/errors.js";
import type { DataType, Row, StructField, StructType } from "./data-types.js";
import { parseBigDecimal, toDecimalValue } from "./decimal.js";
import { ArrayType, BooleanType, DoubleType, IntegerType, LongType, MapType, NullType, StringType, TimestampType, StructType as structType, StructField as structField, commonType, simpleString, typeName } from "./types.js";

/**
 * How a batch's plain values become rows (`createDataFrame(rdd)`, `rdd.toDF()`):
 *
 * - an object is a row with a column per key, in first-seen key order (Spark's case class fields);
 * - an array is a tuple, columns `_1`, `_2` … (a Scala tuple's);
 * - anything else is one column named `value` (`Seq(1, 2).toDF()`).
 *
 * Column types: a string is `string`; a whole number is `integer` when it fits in 32 bits and `long` when not
 * (JavaScript has one number type; Spark reads an `Int` field as integer), one with a fraction `double`; a
 * bigint `long`; a boolean `boolean`; a Date `timestamp`; a nested object a `struct`, an array inside a row an
 * `array`, a Map a `map`. Rows are merged: integer and long give long, either with double gives double, a
 * struct takes every field any row has. A column that is null in every row is `string`, as Spark's JSON
 * reader infers it. Every inferred column is nullable.
 */
export function inferSchema(values: readonly unknown[]): StructType {
  return inferShape(values).schema;
}

/** The inferred schema, and the shape of the values (objects, tuples, plain values) it was inferred from. */
export function inferShape(values: readonly unknown[]): { schema: StructType; shape: "object" | "tuple" | "value" | undefined } {
  // Top-level columns are tracked by name, so that a row whose types are the ones seen before (the usual
  // case) costs a lookup per column and allocates nothing.
  const types = new Map<string, DataType>();
  let shape: "object" | "tuple" | "value" | undefined;
  const slotNames: string[] = [];
  const slotTypes: DataType[] = [];
  const see = (name: string, t: DataType) => {
    const cur = types.get(name);
    if (cur === undefined) types.set(name, t);
    else if (cur !== t) types.set(name, merge(cur, t, name));
  };
  for (const v of values) {
    if (v === null || v === undefined) continue;
    const s = shapeOf(v);
    if (shape && s !== shape) {
      throw new AnalysisError("CannotInferSchema", `[CANNOT_INFER_SCHEMA] the rows mix ${describe(shape)} and ${describe(s)} (${preview(v)}): give every element the same shape, or pass a schema`, {
        errorClass: "CANNOT_INFER_SCHEMA",
      });
    }
    shape = s;
    if (s === "object") {
      const o = v as Record<string, unknown>;
      // for-in without an own-property test: plain objects and class instances enumerate only their fields.
      // Objects built alike enumerate their keys in one order: a key in the slot it had in the row before, with
      // a value its type already admits, needs neither a lookup nor a merge.
      let j = 0;
      for (const k in o) {
        const x = o[k];
        if (slotNames[j] !== k || !admits(slotTypes[j]!, x)) {
          see(k, typeOf(x));
          slotNames[j] = k;
          slotTypes[j] = types.get(k)!;
        }
        j++;
      }
    } else if (s === "tuple") {
      (v as unknown[]).forEach((x, i) => see(`_${i + 1}`, typeOf(x)));
    } else {
      see("value", typeOf(v));
    }
  }
  return { schema: structType([...types].map(([name, t]) => structField(name, resolveNulls(t), true))), shape };
}

/** Whether `v` leaves an inferred flat type as it is (merging its type into `t` would give `t`). */
function admits(t: DataType, v: unknown): boolean {
  if (v === null || v === undefined) return true;
  switch (t.kind) {
    case "string":
      return typeof v === "string";
    case "integer":
      return typeof v === "number" && (v | 0) === v;
    case "long":
      return typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v));
    case "double":
      return typeof v === "number";
    case "boolean":
      return typeof v === "boolean";
    default:
      return false;
  }
}

function shapeOf(v: unknown): "object" | "tuple" | "value" {
  if (Array.isArray(v)) return "tuple";
  return isPlainObject(v) ? "object" : "value";
}

const describe = (s: string) => (s === "object" ? "objects" : s === "tuple" ? "arrays (tuples)" : "plain values");

function isPlainObject(v: unknown): v is Record<string, unknown> {
  // A class instance counts too: its own fields are its columns, as a Scala case class's are.
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Map);
}

/** The type of one value; nulls are the null type, which a later merge or {@link resolveNulls} replaces. */
export function typeOf(v: unknown): DataType {
  if (v === null || v === undefined) return NullType;
  if (typeof v === "string") return StringType;
  switch (typeof v) {
    case "string":
      return StringType;
    case "boolean":
      return BooleanType;
    case "bigint":
      return LongType;
    case "number":
      if (!Number.isInteger(v)) return DoubleType;
      return v >= -2147483648 && v <= 2147483647 ? IntegerType : LongType;
    case "object":
      if (v instanceof Date) return TimestampType;
      if (Array.isArray(v)) return ArrayType(v.reduce<DataType>((t, x, i) => merge(t, typeOf(x), `[${i}]`), NullType), true);
      if (v instanceof Map) {
        let k: DataType = NullType;
        let val: DataType = NullType;
        for (const [a, b] of v) {
          k = merge(k, typeOf(a), "key");
          val = merge(val, typeOf(b), "value");
        }
        return MapType(k, val, true);
      }
      return structType(Object.entries(v).map(([name, x]) => structField(name, typeOf(x), true)));
    default:
      throw new AnalysisError("CannotInferSchema", `[CANNOT_INFER_SCHEMA] a ${typeof v} (${preview(v)}) has no Spark type: map it to a string, number, boolean, object or array first`, {
        errorClass: "CANNOT_INFER_SCHEMA",
      });
  }
}

/** Two inferred types of the same field as one: numbers widen, structs take every field. */
function merge(a: DataType, b: DataType, path: string): DataType {
  if (a.kind === "struct" && b.kind === "struct") {
    const fields: StructField[] = a.fields.map((f) => {
      const g = b.fields.find((x) => x.name === f.name);
      return g ? structField(f.name, merge(f.dataType, g.dataType, join(path, f.name)), true) : f;
    });
    for (const g of b.fields) if (!a.fields.some((f) => f.name === g.name)) fields.push(g);
    return structType(fields);
  }
  if (a.kind === "array" && b.kind === "array") return ArrayType(merge(a.elementType, b.elementType, `${path}[]`), true);
  if (a.kind === "map" && b.kind === "map") return MapType(merge(a.keyType, b.keyType, `${path}.key`), merge(a.valueType, b.valueType, `${path}.value`), true);
  const common = commonType(a, b);
  if (common) return common;
  throw new AnalysisError(
    "CannotMergeTypes",
    `[CANNOT_MERGE_TYPES] field ${path || "value"}: cannot merge type ${typeName(a)} and ${typeName(b)} (rows disagree on its type): make them agree, or pass a schema`,
    { errorClass: "CANNOT_MERGE_TYPES", field: path, left: simpleString(a), right: simpleString(b) },
  );
}

const join = (path: string, name: string) => (path ? `${path}.${name}` : name);

/** A type no row settled (only nulls, empty arrays) is string, as Spark's JSON reader infers it. */
function resolveNulls(t: DataType): DataType {
  switch (t.kind) {
    case "null":
      return StringType;
    case "array":
      return ArrayType(resolveNulls(t.elementType), true);
    case "map":
      return MapType(resolveNulls(t.keyType), resolveNulls(t.valueType), true);
    case "struct":
      return structType(t.fields.map((f) => structField(f.name, resolveNulls(f.dataType), true)));
    default:
      return t;
  }
}

/**
 * A function converting one plain value to a row of `schema` (objects by field name, arrays by position, a
 * plain value as the one column), checking each value against its column's type as PySpark's `verifySchema`
 * does: a wrong type is an AnalysisError naming the field, never a quietly wrong row. Built once per schema,
 * so that a million rows cost a property read and a type test per value.
 */
export function rowConverter(schema: StructType): (v: unknown) => Row {
  const names = schema.fields.map((f) => f.name);
  const fields = schema.fields.map((f) => converter(f.dataType, f.nullable, f.name));
  const n = fields.length;
  const single = n === 1 ? fields[0]! : undefined;
  return (v) => {
    const out = new Array<unknown>(n);
    if (v === null || v === undefined) {
      // A null element is a row of nulls (a null `value`, for an RDD of plain values).
      for (let i = 0; i < n; i++) out[i] = fields[i]!(null);
    } else if (Array.isArray(v)) {
      if (v.length !== n) throw notAccepted("", schema, v, `it has ${v.length} values for ${n} columns`);
      for (let i = 0; i < n; i++) out[i] = fields[i]!(v[i]);
    } else if (isPlainObject(v)) {
      for (let i = 0; i < n; i++) out[i] = fields[i]!((v as Record<string, unknown>)[names[i]!]);
    } else if (single) {
      out[0] = single(v);
    } else {
      throw notAccepted("", schema, v);
    }
    return out;
  };
}

/** One row of `schema` from one plain value (see {@link rowConverter}). */
export function toRow(v: unknown, schema: StructType): Row {
  return rowConverter(schema)(v);
}

type Convert = (v: unknown) => unknown;

function converter(t: DataType, nullable: boolean, path: string): Convert {
  const check = (ok: (v: unknown) => boolean, map?: (v: never) => unknown): Convert => (v) => {
    if (v === null || v === undefined) {
      if (!nullable) throw notAccepted(path, t, v, "the field is not nullable");
      return null;
    }
    if (!ok(v)) throw notAccepted(path, t, v);
    return map ? map(v as never) : v;
  };
  switch (t.kind) {
    case "string":
      return check((v) => typeof v === "string");
    case "integer":
      return check((v) => typeof v === "number" && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647);
    case "long":
      return check(
        (v) => typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v)),
        (v: number | bigint) => (typeof v === "bigint" && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v),
      );
    case "double":
      return check((v) => typeof v === "number");
    case "boolean":
      return check((v) => typeof v === "boolean");
    case "timestamp":
      return check((v) => v instanceof Date);
    case "date":
      return check((v) => typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v));
    case "decimal": {
      // Our BigDecimal is the string of its digits (a bigint is Java's BigInteger); a JS number is refused, as
      // Spark refuses a Double for a DecimalType, since its binary value is not the decimal the user wrote.
      // As Spark's DecimalConverter: rounded HALF_UP to the scale, null beyond the precision (non-ANSI).
      const target = t;
      const digits = (v: unknown) => (typeof v === "string" ? parseBigDecimal(v.trim()) : typeof v === "bigint" ? { unscaled: v, scale: 0 } : undefined);
      const convert = check((v) => digits(v) !== undefined, (v: string | bigint) => {
        const d = digits(v)!;
        return toDecimalValue(d.unscaled, d.scale, target);
      });
      return (v) => {
        if (typeof v === "number") throw notAccepted(path, t, v, `give a decimal as the string of its digits ("${Number.isFinite(v) ? String(v) : "1.5"}"), as Spark takes a BigDecimal, not a double`);
        return convert(v);
      };
    }
    case "array": {
      const element = converter(t.elementType, t.containsNull, `${path}[]`);
      return check((v) => Array.isArray(v), (v: unknown[]) => v.map(element));
    }
    case "map": {
      const key = converter(t.keyType, false, `${path}.key`);
      const value = converter(t.valueType, t.valueContainsNull, `${path}.value`);
      return check((v) => v instanceof Map, (v: Map<unknown, unknown>) => new Map([...v].map(([k, x]) => [key(k), value(x)])));
    }
    case "struct": {
      const fields = t.fields.map((f) => ({ name: f.name, convert: converter(f.dataType, f.nullable, join(path, f.name)) }));
      return check(
        (v) => Array.isArray(v) ? v.length === fields.length : isPlainObject(v),
        (v: unknown[] | Record<string, unknown>) => (Array.isArray(v) ? fields.map((f, i) => f.convert(v[i])) : fields.map((f) => f.convert(v[f.name]))),
      );
    }
    default:
      return (v) => v ?? null;
  }
}

function notAccepted(path: string, t: DataType, v: unknown, why?: string): AnalysisError {
  const field = path ? `field ${path}` : "row";
  return new AnalysisError(
    "FieldTypeMismatch",
    `[FIELD_DATA_TYPE_UNACCEPTABLE] ${field}: ${simpleString(t)} can not accept ${preview(v)} (${v === null || v === undefined ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : `a ${typeof v}`})${why ? `: ${why}` : ""}`,
    { errorClass: "FIELD_DATA_TYPE_UNACCEPTABLE", field: path, type: simpleString(t) },
  );
}

function preview(v: unknown): string {
  let s: string;
  try {
    s = typeof v === "bigint" ? `${v}n` : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

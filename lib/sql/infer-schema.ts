import { AnalysisError } from "../core/errors.js";
import type { DataType, Row, StructField, StructType } from "./data-types.js";
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
  // Top-level columns are tracked by name, so that a row whose types are the ones seen before (the usual
  // case) costs a lookup per column and allocates nothing.
  const types = new Map<string, DataType>();
  let shape: "object" | "tuple" | "value" | undefined;
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
      for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k)) see(k, typeOf(o[k]));
    } else if (s === "tuple") {
      (v as unknown[]).forEach((x, i) => see(`_${i + 1}`, typeOf(x)));
    } else {
      see("value", typeOf(v));
    }
  }
  return structType([...types].map(([name, t]) => structField(name, resolveNulls(t), true)));
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
 * Converts one plain value to a row of `schema` (objects by field name, arrays by position, a plain value as
 * the one column), checking each value against its column's type as PySpark's `verifySchema` does: a wrong
 * type is an AnalysisError naming the field, never a quietly wrong row.
 */
export function toRow(v: unknown, schema: StructType): Row {
  // A null element is a row of nulls (a null `value`, for an RDD of plain values).
  if (v === null || v === undefined) return schema.fields.map((f) => convert(null, f.dataType, f.nullable, f.name));
  if (shapeOf(v) === "value" && schema.fields.length === 1) return [convert(v, schema.fields[0]!.dataType, schema.fields[0]!.nullable, schema.fields[0]!.name)];
  return convert(v, schema, false, "") as Row;
}

function convert(v: unknown, t: DataType, nullable: boolean, path: string): unknown {
  if (v === null || v === undefined) {
    if (!nullable) throw notAccepted(path, t, v, "the field is not nullable");
    return null;
  }
  const bad = () => notAccepted(path, t, v);
  switch (t.kind) {
    case "string":
      if (typeof v !== "string") throw bad();
      return v;
    case "integer":
      if (typeof v !== "number" || !Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw bad();
      return v;
    case "long":
      if (typeof v === "bigint") return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      if (typeof v !== "number" || !Number.isInteger(v)) throw bad();
      return v;
    case "double":
      if (typeof v !== "number") throw bad();
      return v;
    case "boolean":
      if (typeof v !== "boolean") throw bad();
      return v;
    case "timestamp":
      if (!(v instanceof Date)) throw bad();
      return v;
    case "date":
      if (typeof v !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(v)) throw bad();
      return v;
    case "array":
      if (!Array.isArray(v)) throw bad();
      return v.map((x, i) => convert(x, t.elementType, t.containsNull, `${path}[${i}]`));
    case "map":
      if (!(v instanceof Map)) throw bad();
      return new Map([...v].map(([k, x]) => [convert(k, t.keyType, false, `${path}.key`), convert(x, t.valueType, t.valueContainsNull, `${path}.value`)]));
    case "struct":
      if (Array.isArray(v)) {
        if (v.length !== t.fields.length) throw notAccepted(path, t, v, `it has ${v.length} values for ${t.fields.length} fields`);
        return t.fields.map((f, i) => convert(v[i], f.dataType, f.nullable, join(path, f.name)));
      }
      if (!isPlainObject(v)) throw bad();
      return t.fields.map((f) => convert((v as Record<string, unknown>)[f.name], f.dataType, f.nullable, join(path, f.name)));
    default:
      return v;
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

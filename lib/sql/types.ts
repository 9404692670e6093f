import { AnalysisError } from "../core/errors.js";
import type { DataType, StructField as Field, StructType as Struct } from "./data-types.js";
import { DecimalType as decimalType, decimalForType, widerDecimalType } from "./decimal.js";

export type { DataType };
/** A schema's column (data-types.ts); also the function that makes one, as in Scala. */
export type StructField = Field;
/** A schema (data-types.ts); also the function that makes one, as in Scala. */
export type StructType = Struct;

// Spark's type objects and constructors (org.apache.spark.sql.types), so that an explicit schema reads as it
// does in Scala: `StructType([StructField("name", StringType), StructField("age", IntegerType)])`.

export const StringType: DataType = { kind: "string" };
export const IntegerType: DataType = { kind: "integer" };
export const LongType: DataType = { kind: "long" };
export const DoubleType: DataType = { kind: "double" };
export const BooleanType: DataType = { kind: "boolean" };
export const DateType: DataType = { kind: "date" };
export const TimestampType: DataType = { kind: "timestamp" };
export const NullType: DataType = { kind: "null" };

/** Spark's `DecimalType(precision, scale)`; `DecimalType()` is decimal(10,0), as Scala's. */
export const DecimalType = decimalType;

export function ArrayType(elementType: DataType, containsNull = true): DataType {
  return { kind: "array", elementType, containsNull };
}

export function MapType(keyType: DataType, valueType: DataType, valueContainsNull = true): DataType {
  return { kind: "map", keyType, valueType, valueContainsNull };
}

/** A column of a schema; nullable unless told otherwise, as Spark's `StructField(name, dataType)`. */
export function StructField(name: string, dataType: DataType, nullable = true): StructField {
  return { name, dataType, nullable };
}

export function StructType(fields: readonly StructField[]): StructType {
  return { kind: "struct", fields };
}

/** What `printSchema()` prints for a type (Spark's `DataType.typeName`). */
export function typeName(t: DataType): string {
  switch (t.kind) {
    case "null":
      return "void";
    case "decimal":
      return `decimal(${t.precision},${t.scale})`;
    default:
      return t.kind;
  }
}

/** Spark's `DataType.simpleString`: `int`, `bigint`, `array<int>`, `struct<a:int,b:string>`. */
export function simpleString(t: DataType): string {
  switch (t.kind) {
    case "integer":
      return "int";
    case "long":
      return "bigint";
    case "array":
      return `array<${simpleString(t.elementType)}>`;
    case "map":
      return `map<${simpleString(t.keyType)},${simpleString(t.valueType)}>`;
    case "struct":
      return `struct<${t.fields.map((f) => `${f.name}:${simpleString(f.dataType)}`).join(",")}>`;
    default:
      return typeName(t);
  }
}

/** How Spark's error messages name a type: `"INT"`, `"BIGINT"`, `"ARRAY<STRING>"`. */
export function sqlTypeName(t: DataType): string {
  return `"${simpleString(t).toUpperCase()}"`;
}

/**
 * `StructType.treeString`, as `printSchema()` prints it:
 *
 *     root
 *      |-- name: string (nullable = true)
 *      |-- address: struct (nullable = true)
 *      |    |-- city: string (nullable = true)
 */
export function treeString(schema: StructType): string {
  const lines = ["root"];
  for (const f of schema.fields) fieldLines(f, " |", lines);
  return lines.join("\n") + "\n";
}

function fieldLines(f: StructField, prefix: string, out: string[]): void {
  out.push(`${prefix}-- ${escapeMetaCharacters(f.name)}: ${typeName(f.dataType)} (nullable = ${f.nullable})`);
  nestedLines(f.dataType, `${prefix}    |`, out);
}

function nestedLines(t: DataType, prefix: string, out: string[]): void {
  if (t.kind === "struct") {
    for (const f of t.fields) fieldLines(f, prefix, out);
  } else if (t.kind === "array") {
    out.push(`${prefix}-- element: ${typeName(t.elementType)} (containsNull = ${t.containsNull})`);
    nestedLines(t.elementType, `${prefix}    |`, out);
  } else if (t.kind === "map") {
    out.push(`${prefix}-- key: ${typeName(t.keyType)}`);
    nestedLines(t.keyType, `${prefix}    |`, out);
    out.push(`${prefix}-- value: ${typeName(t.valueType)} (valueContainsNull = ${t.valueContainsNull})`);
    nestedLines(t.valueType, `${prefix}    |`, out);
  }
}

const META: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f", "\b": "\\b", "\u000B": "\\v", "\u0007": "\\a" };

/** Spark's `SchemaUtils.escapeMetaCharacters`: control characters would break a table or a tree. */
export function escapeMetaCharacters(s: string): string {
  return s.replace(/[\n\r\t\f\b\u000B\u0007]/g, (c) => META[c]!);
}

export const isNumeric = (t: DataType): boolean => t.kind === "integer" || t.kind === "long" || t.kind === "double" || t.kind === "decimal";
export const isIntegral = (t: DataType): boolean => t.kind === "integer" || t.kind === "long";

const NUMERIC_RANK: Partial<Record<DataType["kind"], number>> = { integer: 1, long: 2, double: 3 };

/**
 * The type two numeric types widen to (int + bigint is bigint, anything + double is double, a decimal and an
 * int or bigint a decimal both fit, as far as 38 digits go: Spark's findWiderTypeForTwo); undefined if not both numeric.
 */
export function widerNumeric(a: DataType, b: DataType): DataType | undefined {
  if ((a.kind === "decimal" || b.kind === "decimal") && a.kind !== "double" && b.kind !== "double") {
    const da = decimalForType(a);
    const db = decimalForType(b);
    return da && db ? (sameType(da, db) ? da : widerDecimalType(da, db)) : undefined;
  }
  if (a.kind === "decimal" || b.kind === "decimal") return isNumeric(a) && isNumeric(b) ? DoubleType : undefined;
  const ra = NUMERIC_RANK[a.kind];
  const rb = NUMERIC_RANK[b.kind];
  if (ra === undefined || rb === undefined) return undefined;
  return ra >= rb ? a : b;
}

/** The common type of two column types (union, inference): null gives way, numbers widen; else undefined. */
export function commonType(a: DataType, b: DataType): DataType | undefined {
  if (a === b || b.kind === "null") return a;
  if (a.kind === "null") return b;
  const numeric = widerNumeric(a, b);
  if (numeric) return numeric;
  if (sameType(a, b)) return a;
  if (a.kind === "array" && b.kind === "array") {
    const e = commonType(a.elementType, b.elementType);
    return e && ArrayType(e, a.containsNull || b.containsNull);
  }
  if (a.kind === "struct" && b.kind === "struct" && a.fields.length === b.fields.length) {
    const fields: StructField[] = [];
    for (const [i, f] of a.fields.entries()) {
      const g = b.fields[i]!;
      const t = f.name === g.name ? commonType(f.dataType, g.dataType) : undefined;
      if (!t) return undefined;
      fields.push(StructField(f.name, t, f.nullable || g.nullable));
    }
    return StructType(fields);
  }
  return undefined;
}

export function sameType(a: DataType, b: DataType): boolean {
  return simpleString(a) === simpleString(b);
}

const DDL_TYPES: Record<string, DataType> = {
  string: StringType,
  varchar: StringType,
  int: IntegerType,
  integer: IntegerType,
  bigint: LongType,
  long: LongType,
  double: DoubleType,
  boolean: BooleanType,
  date: DateType,
  timestamp: TimestampType,
};

/**
 * A type by the name Spark's `cast("...")` and DDL accept: `string`, `int`, `bigint`, `double`, `boolean`,
 * `decimal(10,2)` (`decimal` alone is decimal(10,0), `decimal(5)` decimal(5,0); also `dec`, `numeric`), `array<int>` …
 */
export function parseTypeName(text: string): DataType {
  const t = text.trim().toLowerCase();
  const simple = DDL_TYPES[t];
  if (simple) return simple;
  const decimal = /^(?:decimal|dec|numeric)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?$/.exec(t);
  if (decimal) return DecimalType(decimal[1] === undefined ? 10 : Number(decimal[1]), decimal[2] === undefined ? 0 : Number(decimal[2]));
  const array = /^array\s*<(.*)>$/.exec(t);
  if (array) return ArrayType(parseTypeName(array[1]!));
  throw new AnalysisError("UnsupportedDataType", `[UNSUPPORTED_DATATYPE] Unsupported data type "${text}": use one of ${Object.keys(DDL_TYPES).join(", ")}, decimal(p,s) or array<…>`, {
    errorClass: "UNSUPPORTED_DATATYPE",
    type: text,
  });
}

/** A schema in Spark's DDL form: `"name STRING, age INT"`. */
export function parseDDL(ddl: string): StructType {
  const fields = splitTopLevel(ddl).map((part) => {
    const m = /^\s*`?([^`\s:]+)`?\s*:?\s+(.+?)\s*(not\s+null)?\s*$/i.exec(part);
    if (!m) throw new AnalysisError("ParseError", `[PARSE_SYNTAX_ERROR] cannot read the column "${part.trim()}" of the schema "${ddl}": write "name TYPE, ..."`, { ddl });
    return StructField(m[1]!, parseTypeName(m[2]!), !m[3]);
  });
  return StructType(fields);
}

function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "<" || s[i] === "(") depth++;
    else if (s[i] === ">" || s[i] === ")") depth--;
    else if (s[i] === "," && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts.filter((p) => p.trim() !== "");
}

/**
 * Spark's data types and values (data-types.ts) to DuckDB's and back: how a view's column is declared and
 * appended, and how a result column is typed and read. Only duckdb-engine.ts imports this file, so DuckDB loads
 * with it and never before `sql()` runs.
 */
import {
  BIGINT,
  BOOLEAN,
  DATE,
  DECIMAL,
  DOUBLE,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  INTEGER,
  LIST,
  MAP,
  STRUCT,
  TIMESTAMP,
  VARCHAR,
  type DuckDBAppender,
  type DuckDBType,
  type DuckDBValue,
} from "@duckdb/node-api";
import type { DataType, StructField, StructType } from "./data-types.js";

const MILLIS_PER_DAY = 86_400_000;

/** The DuckDB type a view's column of `type` is declared with. */
export function duckDbTypeOf(type: DataType): DuckDBType {
  switch (type.kind) {
    case "string":
      return VARCHAR;
    case "integer":
      return INTEGER;
    case "long":
      return BIGINT;
    case "double":
      return DOUBLE;
    case "boolean":
      return BOOLEAN;
    case "date":
      return DATE;
    case "timestamp":
      return TIMESTAMP;
    // A column of nulls only: DuckDB has no NULL column type, and INTEGER is what DuckDB gives `NULL` literals a
    // column needs a type for; every value is null, so nothing is read as an integer.
    case "null":
      return INTEGER;
    case "decimal":
      return DECIMAL(type.precision, type.scale);
    case "array":
      return LIST(duckDbTypeOf(type.elementType));
    case "map":
      return MAP(duckDbTypeOf(type.keyType), duckDbTypeOf(type.valueType));
    case "struct":
      return STRUCT(Object.fromEntries(type.fields.map((f) => [f.name, duckDbTypeOf(f.dataType)])));
  }
}

/**
 * The Spark type of a result column DuckDB typed `type`. Every result field is nullable: DuckDB does not say
 * which expressions can be null, and a schema that claimed otherwise could be wrong for the next batch.
 * Returns undefined for a type Spark has no counterpart for here (INTERVAL, BLOB, TIME, UNION …).
 */
export function sparkTypeOf(type: DuckDBType): DataType | undefined {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return { kind: "boolean" };
    // Spark has byte and short; data-types.ts does not, and their values fit an integer.
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
      return { kind: "integer" };
    // DuckDB sums integers into HUGEINT and bigints into HUGEINT too; Spark's sum of ints and longs is a long.
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
      return { kind: "long" };
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return { kind: "double" };
    case DuckDBTypeId.DECIMAL:
      return { kind: "decimal", precision: type.width, scale: type.scale };
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.ENUM:
    case DuckDBTypeId.UUID:
      return { kind: "string" };
    case DuckDBTypeId.DATE:
      return { kind: "date" };
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return { kind: "timestamp" };
    case DuckDBTypeId.SQLNULL:
      return { kind: "null" };
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      const elementType = sparkTypeOf(type.valueType);
      return elementType && { kind: "array", elementType, containsNull: true };
    }
    case DuckDBTypeId.MAP: {
      const keyType = sparkTypeOf(type.keyType);
      const valueType = sparkTypeOf(type.valueType);
      return keyType && valueType && { kind: "map", keyType, valueType, valueContainsNull: true };
    }
    case DuckDBTypeId.STRUCT: {
      const fields: StructField[] = [];
      for (const [i, name] of type.entryNames.entries()) {
        const dataType = sparkTypeOf(type.entryTypes[i]!);
        if (!dataType) return undefined;
        fields.push({ name, dataType, nullable: true });
      }
      return { kind: "struct", fields };
    }
    default:
      return undefined;
  }
}

/** Reads a DuckDB value of a column whose Spark type is `type` into data-types.ts' representation. */
export type ValueReader = (value: DuckDBValue) => unknown;

/** A reader for `type`'s values, or undefined when they are already in Spark's form (string, int, double, boolean). */
export function valueReader(type: DataType): ValueReader | undefined {
  switch (type.kind) {
    case "string":
    case "integer":
    case "double":
    case "boolean":
    case "null":
      return undefined;
    case "long":
      return (v) => (typeof v === "bigint" ? longValue(v) : v);
    case "decimal":
      return (v) => (v instanceof DuckDBDecimalValue ? v.toString() : v);
    case "date":
      return (v) => (v instanceof DuckDBDateValue ? v.toString() : v);
    case "timestamp":
      return (v) => (v === null ? null : new Date(epochMillis(v)));
    case "array": {
      const element = valueReader(type.elementType) ?? ((x: DuckDBValue) => x);
      // LIST values and fixed-size ARRAY values both carry `items`.
      return (v) => (v === null ? null : (v as DuckDBListValue).items.map(element));
    }
    case "map": {
      const key = valueReader(type.keyType) ?? ((x: DuckDBValue) => x);
      const value = valueReader(type.valueType) ?? ((x: DuckDBValue) => x);
      return (v) => (v instanceof DuckDBMapValue ? new Map(v.entries.map((e) => [key(e.key), value(e.value)])) : v);
    }
    case "struct": {
      const fields = type.fields.map((f) => [f.name, valueReader(f.dataType) ?? ((x: DuckDBValue) => x)] as const);
      return (v) => (v instanceof DuckDBStructValue ? fields.map(([name, read]) => read(v.entries[name] ?? null)) : v);
    }
  }
}

/** The epoch milliseconds of any of DuckDB's timestamp values (seconds, millis, micros, nanos; with time zone). */
function epochMillis(v: DuckDBValue): number {
  const t = v as { seconds?: bigint; millis?: bigint; micros?: bigint; nanos?: bigint };
  if (t.micros !== undefined) return Number(t.micros / 1000n);
  if (t.millis !== undefined) return Number(t.millis);
  if (t.nanos !== undefined) return Number(t.nanos / 1_000_000n);
  return Number(t.seconds!) * 1000;
}

/** A long as a number when it is one exactly, else the bigint (data-types.ts: "a long beyond 2^53 may be a bigint"). */
function longValue(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Appends one value of a column of Spark type `type`; throws a TypeError naming what it expected. */
export type ValueAppender = (appender: DuckDBAppender, value: unknown) => void;

/** The appender of a column: the typed append call for flat types, one DuckDB value for nested ones. */
export function valueAppender(type: DataType): ValueAppender {
  const withNull = (append: ValueAppender): ValueAppender => (a, v) => (v === null || v === undefined ? a.appendNull() : append(a, v));
  switch (type.kind) {
    case "string":
      return withNull((a, v) => a.appendVarchar(expect(v, typeof v === "string", "a string")));
    case "integer":
      return withNull((a, v) => a.appendInteger(expect(v, Number.isInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 31, "an integer")));
    case "long":
      return withNull((a, v) => a.appendBigInt(typeof v === "bigint" ? v : BigInt(expect(v, Number.isInteger(v), "a long (an integer number or a bigint)") as number)));
    case "double":
      return withNull((a, v) => a.appendDouble(expect(v, typeof v === "number", "a number")));
    case "boolean":
      return withNull((a, v) => a.appendBoolean(expect(v, typeof v === "boolean", "a boolean")));
    case "null":
      return withNull((_, v) => expect(v, false, "null"));
    default: {
      const duckType = duckDbTypeOf(type);
      const convert = duckDbValue(type);
      return withNull((a, v) => a.appendValue(convert(v), duckType));
    }
  }
}

/** Converts a non-null value of `type` into a DuckDB value (for nested and temporal types). */
function duckDbValue(type: DataType): (v: unknown) => DuckDBValue {
  const nullable = (convert: (v: unknown) => DuckDBValue) => (v: unknown) => (v === null || v === undefined ? null : convert(v));
  switch (type.kind) {
    case "string":
      return nullable((v) => expect(v, typeof v === "string", "a string"));
    case "integer":
    case "double":
      return nullable((v) => expect(v, typeof v === "number", "a number"));
    case "long":
      return nullable((v) => (typeof v === "bigint" ? v : BigInt(expect(v, Number.isInteger(v), "a long (an integer number or a bigint)"))));
    case "boolean":
      return nullable((v) => expect(v, typeof v === "boolean", "a boolean"));
    case "null":
      return nullable((v) => expect(v, false, "null"));
    case "date":
      return nullable((v) => {
        const millis = Date.parse(`${expect<string>(v, typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v), "a date as YYYY-MM-DD")}T00:00:00Z`);
        return new DuckDBDateValue(Math.floor(expect<number>(millis, !Number.isNaN(millis), "a valid date") / MILLIS_PER_DAY));
      });
    case "timestamp":
      return nullable((v) => new DuckDBTimestampValue(BigInt(expect<Date>(v, v instanceof Date && !Number.isNaN(v.getTime()), "a Date").getTime()) * 1000n));
    case "decimal":
      return nullable((v) => new DuckDBDecimalValue(decimalDigits(v, type.scale), type.precision, type.scale));
    case "array": {
      const element = duckDbValue(type.elementType);
      return nullable((v) => new DuckDBListValue(expect<unknown[]>(v, Array.isArray(v), "an array").map(element)));
    }
    case "map": {
      const key = duckDbValue(type.keyType);
      const value = duckDbValue(type.valueType);
      return nullable((v) => new DuckDBMapValue([...expect<Map<unknown, unknown>>(v, v instanceof Map, "a Map")].map(([k, x]) => ({ key: key(k), value: value(x) }))));
    }
    case "struct": {
      const fields = type.fields.map((f) => [f.name, duckDbValue(f.dataType)] as const);
      return nullable((v) => {
        const row = expect<unknown[]>(v, Array.isArray(v) && v.length === fields.length, `a row of ${fields.length} values`);
        return new DuckDBStructValue(Object.fromEntries(fields.map(([name, convert], i) => [name, convert(row[i])])));
      });
    }
  }
}

/** The unscaled integer of a decimal given as a string of digits (or a number), at `scale` digits after the point. */
function decimalDigits(v: unknown, scale: number): bigint {
  const text = typeof v === "number" && Number.isFinite(v) ? v.toFixed(scale) : v;
  const match = typeof text === "string" ? /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text.trim()) : null;
  if (!match || (match[2] === "" && !match[3])) throw new TypeError(`expected a decimal as a string of digits, got ${describe(v)}`);
  const fraction = (match[3] ?? "").padEnd(scale, "0");
  if (fraction.length > scale && /[1-9]/.test(fraction.slice(scale))) throw new TypeError(`expected at most ${scale} digits after the point, got ${describe(v)}`);
  const unscaled = BigInt(`${match[2] || "0"}${fraction.slice(0, scale)}`);
  return match[1] === "-" ? -unscaled : unscaled;
}

/** `value`, checked by `ok`, as the type the caller needs. */
function expect<T>(value: unknown, ok: boolean, what: string): T {
  if (!ok) throw new TypeError(`expected ${what}, got ${describe(value)}`);
  return value as T;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof Date) return `Date(${Number.isNaN(value.getTime()) ? "invalid" : value.toISOString()})`;
  if (value instanceof Map) return "a Map";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === "object" && value !== null ? "an object" : String(value);
}

/** The schema of a result, or the name and DuckDB type of the first column Spark has no type for. */
export function resultSchema(names: readonly string[], types: readonly DuckDBType[]): StructType | { unsupported: { name: string; type: string } } {
  const fields: StructField[] = [];
  for (const [i, name] of names.entries()) {
    const dataType = sparkTypeOf(types[i]!);
    if (!dataType) return { unsupported: { name, type: types[i]!.toString() } };
    fields.push({ name, dataType, nullable: true });
  }
  return { kind: "struct", fields };
}

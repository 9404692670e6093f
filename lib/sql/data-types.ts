/**
 * Spark SQL's data types, as a DataFrame's schema and the SQL engine's results describe columns. The names
 * follow Spark's: `typeName` is what `printSchema()` prints (`integer`, `long`), `simpleString` what a nested
 * type or an error prints (`int`, `bigint`, `array<int>`, `struct<a:int>`).
 *
 * Values in rows: string → string; integer, long, double → number (a long beyond 2^53 may be a bigint);
 * boolean → boolean; date → `YYYY-MM-DD` string; timestamp → Date; decimal → string of its digits; array →
 * array; struct → a row (positional array, in the struct's field order); map → Map; null → null.
 */
export type DataType =
  | { readonly kind: "string" }
  | { readonly kind: "integer" }
  | { readonly kind: "long" }
  | { readonly kind: "double" }
  | { readonly kind: "boolean" }
  | { readonly kind: "date" }
  | { readonly kind: "timestamp" }
  | { readonly kind: "null" }
  | { readonly kind: "decimal"; readonly precision: number; readonly scale: number }
  | { readonly kind: "array"; readonly elementType: DataType; readonly containsNull: boolean }
  | { readonly kind: "map"; readonly keyType: DataType; readonly valueType: DataType; readonly valueContainsNull: boolean }
  | StructType;

export interface StructField {
  readonly name: string;
  readonly dataType: DataType;
  readonly nullable: boolean;
}

export interface StructType {
  readonly kind: "struct";
  readonly fields: readonly StructField[];
}

/** One row of a DataFrame or a query result: values in the schema's field order. */
export type Row = readonly unknown[];

/** Rows with their schema: what a DataFrame holds once evaluated, what a view registers, what a query returns. */
export interface Table {
  readonly schema: StructType;
  readonly rows: readonly Row[];
}

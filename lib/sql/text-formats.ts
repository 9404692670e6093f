import { AnalysisError } from "../core/errors.js";
import { javaDouble, valueToString } from "./cast.js";
import type { DataType, Row, StructType } from "./data-types.js";
import { javaBigDecimalString } from "./decimal.js";
import { sqlTypeName } from "./types.js";

/**
 * One row as a JSON line, as Spark's JSON writer (and `toJSON`) writes it: fields in column order, null
 * fields left out (`ignoreNullFields`), doubles as Java prints them (`55.0`), timestamps as
 * `yyyy-MM-dd'T'HH:mm:ss.SSSXXX` in UTC, decimals as numbers with Java's BigDecimal.toString (Jackson's
 * writeNumber: plain digits with their scale, `1E-8` below 10^-6), structs as objects, maps as objects keyed by
 * the key's text.
 */
export function rowToJson(row: Row, schema: StructType): string {
  return structJson(row, schema);
}

function structJson(row: Row, t: StructType): string {
  const parts: string[] = [];
  t.fields.forEach((f, i) => {
    const v = row[i];
    if (v !== null && v !== undefined) parts.push(`${JSON.stringify(f.name)}:${valueJson(v, f.dataType)}`);
  });
  return `{${parts.join(",")}}`;
}

function valueJson(v: unknown, t: DataType): string {
  if (v === null || v === undefined) return "null";
  switch (t.kind) {
    case "double":
      // Jackson writes NaN and the infinities as strings: JSON has no literal for them.
      return Number.isFinite(v) ? javaDouble(v as number) : `"${javaDouble(v as number)}"`;
    case "timestamp":
      return `"${(v as Date).toISOString()}"`;
    case "decimal":
      return javaBigDecimalString(v as string, t.scale);
    case "array":
      return `[${(v as unknown[]).map((x) => valueJson(x, t.elementType)).join(",")}]`;
    case "struct":
      return structJson(v as Row, t);
    case "map":
      return `{${[...(v as Map<unknown, unknown>)].map(([k, x]) => `${JSON.stringify(valueToString(k, t.keyType, "null"))}:${valueJson(x, t.valueType)}`).join(",")}}`;
    case "string":
    case "date":
      return JSON.stringify(v);
    default:
      return String(v);
  }
}

/** The options Spark's CSV writer takes that this one honours. */
export interface CsvOptions {
  /** Write the column names as the first line. @default false */
  readonly header?: boolean;
  /** The field separator (`sep` or `delimiter`). @default "," */
  readonly sep?: string;
  /** What a null is written as. @default "" (nothing) */
  readonly nullValue?: string;
}

/**
 * Rows as CSV lines, as Spark's CSV writer writes them by default: a value is quoted when it holds the
 * separator, a quote or a line break (a quote inside escaped with a backslash), an empty string is `""` so
 * that it reads back apart from a null, which is nothing; leading and trailing spaces are trimmed
 * (`ignoreLeadingWhiteSpace`/`ignoreTrailingWhiteSpace` default to true for writing). Nested types are
 * refused, as Spark's CSV source refuses them.
 */
export function rowsToCsv(rows: readonly Row[], schema: StructType, options: CsvOptions = {}): string[] {
  for (const f of schema.fields) {
    if (f.dataType.kind === "struct" || f.dataType.kind === "array" || f.dataType.kind === "map") {
      throw new AnalysisError(
        "UnsupportedDataTypeForDataSource",
        `[UNSUPPORTED_DATA_TYPE_FOR_DATASOURCE] The CSV datasource doesn't support the column \`${f.name}\` of the type ${sqlTypeName(f.dataType)}: write it as JSON, or select its fields first.`,
        { errorClass: "UNSUPPORTED_DATA_TYPE_FOR_DATASOURCE", column: f.name },
      );
    }
  }
  const sep = options.sep ?? ",";
  const nullValue = options.nullValue ?? "";
  const cell = (v: unknown, t: DataType): string => {
    if (v === null || v === undefined) return nullValue;
    // A decimal as Spark's Decimal.toString (Java's BigDecimal.toString), as its CSV writer writes one.
    const s = t.kind === "timestamp" ? (v as Date).toISOString() : t.kind === "decimal" ? javaBigDecimalString(v as string, t.scale) : valueToString(v, t, "").trim();
    if (s === "") return '""';
    return s.includes(sep) || s.includes('"') || s.includes("\n") || s.includes("\r") ? `"${s.replace(/(["\\])/g, "\\$1")}"` : s;
  };
  const lines = rows.map((row) => schema.fields.map((f, i) => cell(row[i], f.dataType)).join(sep));
  return options.header ? [schema.fields.map((f) => cell(f.name, { kind: "string" })).join(sep), ...lines] : lines;
}

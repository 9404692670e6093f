/**
 * DuckDB's error messages as `SqlError`s a Spark user can act on: what is wrong, where in the query (line and
 * column, with the query quoted and a caret under the spot), and which views and columns exist.
 *
 * DuckDB reports the position only inside its message text ("LINE 2:  x = 'abc'" and a caret line below), and
 * shortens a long line to a window around the spot with "..." on either side; the column is found by locating
 * that window in the query's line.
 */
import { SqlError } from "../core/errors.js";
import type { DataType, Table } from "./data-types.js";

/** Line and column (1-based) of the spot DuckDB points at. */
export interface SqlPosition {
  readonly line: number;
  readonly column: number;
}

const CODES: Record<string, string> = {
  "Parser Error": "SqlSyntaxError",
  "Binder Error": "SqlAnalysisError",
  "Catalog Error": "SqlAnalysisError",
  "Not implemented Error": "SqlAnalysisError",
};

/** The SqlError for DuckDB's `error` while running `query` over `views`. */
export function sqlErrorOf(error: unknown, query: string, views: ReadonlyMap<string, Table>): SqlError {
  // Errors from splitting the query into statements come wrapped in a prefix of the Node API's.
  const text = (error instanceof Error ? error.message : String(error)).replace(/^Failed to extract statements: /, "");
  const [head = text, ...rest] = text.split(/\n\s*\nLINE /);
  const kind = /^([A-Za-z ]+ Error): /.exec(head)?.[1];
  // A binder error on an operator lists every overload DuckDB has (dozens of lines); the first line says enough.
  const reason = head.split(/\n\s*Candidate functions:/)[0]!.replace(/\s*\n\s*/g, " ").trim();
  const position = rest.length > 0 ? positionOf(`LINE ${rest.join("\n")}`, query) : undefined;
  return sqlError(CODES[kind ?? ""] ?? "SqlExecutionError", reason, query, views, position, error);
}

/** A SqlError with the query, the position and the views in its message. */
export function sqlError(code: string, reason: string, query: string, views: ReadonlyMap<string, Table>, position?: SqlPosition, cause?: unknown): SqlError {
  const where = position ? `at line ${position.line}, column ${position.column}:` : "in the query:";
  const message = [`spark.sql failed: ${reason}`, where, quote(query, position), `views: ${describeViews(views)}`].join("\n");
  return new SqlError(code, message, { query, line: position?.line, column: position?.column, views: [...views.keys()] }, { cause });
}

/** Finds DuckDB's "LINE n: <text>" and the caret line under it in the query. */
function positionOf(report: string, query: string): SqlPosition | undefined {
  const match = /^LINE (\d+): ?(.*)\n( *)\^/m.exec(report);
  if (!match) return undefined;
  const line = Number(match[1]);
  const prefix = `LINE ${match[1]}: `.length;
  const caret = match[3]!.length - prefix;
  const shown = match[2]!;
  const lead = shown.startsWith("...") ? 3 : 0;
  const window = shown.slice(lead).replace(/\.\.\.$/, "");
  const queryLine = query.split("\n")[line - 1] ?? "";
  // The shown text is a window of the query's line; where it starts there is where the caret's offset counts from.
  const start = lead === 0 ? 0 : Math.max(0, queryLine.indexOf(window));
  return { line, column: Math.max(1, start + caret - lead + 1) };
}

/** The query, with a caret under the position (after its line), indented. */
function quote(query: string, position: SqlPosition | undefined): string {
  const lines = query.split("\n");
  const out: string[] = [];
  for (const [i, text] of lines.entries()) {
    out.push(`  ${text}`);
    if (position && i === position.line - 1) out.push(`  ${" ".repeat(position.column - 1)}^`);
  }
  return out.join("\n");
}

function describeViews(views: ReadonlyMap<string, Table>): string {
  if (views.size === 0) return "none (register one with df.createOrReplaceTempView(name))";
  return [...views].map(([name, table]) => `${name}(${table.schema.fields.map((f) => `${f.name}: ${simpleString(f.dataType)}`).join(", ")})`).join(", ");
}

/** Spark's short type names, as its errors print them (`int`, `bigint`, `array<int>`, `struct<a:int>`). */
function simpleString(type: DataType): string {
  switch (type.kind) {
    case "integer":
      return "int";
    case "long":
      return "bigint";
    case "null":
      return "void";
    case "decimal":
      return `decimal(${type.precision},${type.scale})`;
    case "array":
      return `array<${simpleString(type.elementType)}>`;
    case "map":
      return `map<${simpleString(type.keyType)},${simpleString(type.valueType)}>`;
    case "struct":
      return `struct<${type.fields.map((f) => `${f.name}:${simpleString(f.dataType)}`).join(",")}>`;
    default:
      return type.kind;
  }
}

import { parseExpression } from "./expression-parser.js";
import { Column, toColumn, toExpr, type AggregateName, type ColumnLike, type Expr } from "./column.js";

// Spark's `org.apache.spark.sql.functions` that a first DataFrame program reaches for.

/** The column of that name (resolved when an operation uses it). */
export function col(name: string): Column {
  return toColumn(name);
}

export const column = col;

/**
 * A SQL expression as a column (Spark's `expr`): `expr("age + 1")`, `expr("upper(name) AS shout")`,
 * `expr("count(DISTINCT dept)")`. See expression-parser.ts for the syntax.
 */
export function expr(text: string): Column {
  return new Column(parseExpression(text));
}

/** A literal value as a column: `lit(1)`, `lit("a")`, `lit(null)`. */
export function lit(value: unknown): Column {
  return value instanceof Column ? value : new Column(toExpr(value));
}

function aggregate(fn: AggregateName, c: ColumnLike, distinct = false): Column {
  return new Column({ kind: "aggregate", fn, child: c === "*" ? "*" : toColumn(c).expr, distinct });
}

/** Rows where the column is not null; `count("*")` (or `count(lit(1))`) counts every row. */
export function count(c: ColumnLike): Column {
  return aggregate("count", c);
}

/**
 * The number of distinct non-null values; given several columns, of distinct tuples of them, a row with any
 * of them null not counted (Spark's `countDistinct(a, b)`, SQL's `count(DISTINCT a, b)`).
 */
export function countDistinct(c: ColumnLike, ...more: ColumnLike[]): Column {
  const first = aggregate("count", c, true);
  if (more.length === 0) return first;
  return new Column({ ...(first.expr as Extract<Expr, { kind: "aggregate" }>), more: more.map((m) => toColumn(m).expr) });
}

/** The sum of a numeric column: a long for integer columns, a double for doubles; null when there are no values. */
export function sum(c: ColumnLike): Column {
  return aggregate("sum", c);
}

/** The mean of a numeric column, as a double. */
export function avg(c: ColumnLike): Column {
  return aggregate("avg", c);
}

export const mean = avg;

export function min(c: ColumnLike): Column {
  return aggregate("min", c);
}

export function max(c: ColumnLike): Column {
  return aggregate("max", c);
}

export function asc(name: string): Column {
  return col(name).asc();
}

export function desc(name: string): Column {
  return col(name).desc();
}

/** Spark's `not(e)` (Scala's `!e`). */
export function not(c: Column): Column {
  return new Column({ kind: "not", child: c.expr });
}

/**
 * The first of a chain of conditions (Spark's `when`): `when(col("age").lt(13), "child").when(col("age").lt(20),
 * "teen").otherwise("adult")`. A row no condition holds for gets the `otherwise` value, or null without one.
 */
export function when(condition: Column, value: unknown): Column {
  return new Column({ kind: "caseWhen", branches: [{ condition: condition.expr, value: toExpr(value) }] });
}

function call(fn: string, args: readonly ColumnLike[]): Column {
  return new Column({ kind: "call", fn, args: args.map((a) => toColumn(a).expr) });
}

export function upper(c: ColumnLike): Column {
  return call("upper", [c]);
}

export function lower(c: ColumnLike): Column {
  return call("lower", [c]);
}

/** Characters in a string (code points, as Spark counts them), as an integer. */
export function length(c: ColumnLike): Column {
  return call("length", [c]);
}

/** The string without leading and trailing spaces (the space character only, as Spark's). */
export function trim(c: ColumnLike): Column {
  return call("trim", [c]);
}

export function abs(c: ColumnLike): Column {
  return call("abs", [c]);
}

/** The first argument that is not null. */
export function coalesce(...cols: ColumnLike[]): Column {
  return call("coalesce", cols);
}

/** The arguments as strings, joined; null if any is null. */
export function concat(...cols: ColumnLike[]): Column {
  return call("concat", cols);
}

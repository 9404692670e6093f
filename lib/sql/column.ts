import { AnalysisError } from "../core/errors.js";
import { javaDouble } from "./cast.js";
import type { DataType } from "./data-types.js";
import { parseTypeName } from "./types.js";

/** What a {@link Column} stands for, before it is resolved against a DataFrame's columns. */
export type Expr =
  /** A column by name, resolved against the input (case-insensitively, as Spark's default). */
  | { readonly kind: "name"; readonly name: string }
  /** A column of one particular DataFrame (`df.col("id")`), which tells the two sides of a join apart. */
  | { readonly kind: "attribute"; readonly id: number; readonly name: string }
  /** `dataType`: the literal's type when its value does not say it (`2.0` parsed from text is a double). */
  | { readonly kind: "literal"; readonly value: unknown; readonly dataType?: DataType }
  | { readonly kind: "arithmetic"; readonly op: "+" | "-" | "*" | "/" | "%"; readonly left: Expr; readonly right: Expr }
  | { readonly kind: "negate"; readonly child: Expr }
  | { readonly kind: "compare"; readonly op: "=" | "<" | "<=" | ">" | ">=" | "<=>"; readonly left: Expr; readonly right: Expr }
  | { readonly kind: "logic"; readonly op: "AND" | "OR"; readonly left: Expr; readonly right: Expr }
  | { readonly kind: "not"; readonly child: Expr }
  | { readonly kind: "isNull"; readonly negated: boolean; readonly child: Expr }
  | { readonly kind: "in"; readonly child: Expr; readonly values: readonly Expr[] }
  | { readonly kind: "alias"; readonly child: Expr; readonly name: string }
  | { readonly kind: "cast"; readonly child: Expr; readonly to: DataType }
  /** `more`: the further columns of `count(DISTINCT a, b, …)`. */
  | { readonly kind: "aggregate"; readonly fn: AggregateName; readonly child: Expr | "*"; readonly distinct: boolean; readonly more?: readonly Expr[] }
  | { readonly kind: "sortOrder"; readonly child: Expr; readonly ascending: boolean; readonly nullsFirst: boolean }
  /** `when(c, v).when(…).otherwise(e)`: the value of the first branch whose condition is true, else `otherwise` (null when absent). */
  | { readonly kind: "caseWhen"; readonly branches: ReadonlyArray<{ readonly condition: Expr; readonly value: Expr }>; readonly otherwise?: Expr }
  /** A scalar function by Spark's name (`upper`, `coalesce` …; scalar-functions.ts). */
  | { readonly kind: "call"; readonly fn: string; readonly args: readonly Expr[] };

export type AggregateName = "count" | "sum" | "avg" | "min" | "max";

/** A column, a literal, or a value computed from them, to pass to `select`, `where`, `agg`, `orderBy` … */
export type ColumnLike = Column | string;

/**
 * A column expression (Spark's `Column`), built with {@link col}, {@link lit} and the functions, and
 * resolved against a DataFrame's columns when an operation uses it: a name that is not there is an
 * AnalysisError listing the columns that are.
 *
 * Scala's operators are methods here, with Scala's own names for them: `===` is `equalTo` (or `eq`), `>` is
 * `gt`, `+` is `plus`, `&&` is `and`.
 *
 * @example
 * df.where(col("age").gt(21).and(col("name").isNotNull())).select(col("name"), col("age").plus(1).alias("next"))
 */
export class Column {
  constructor(readonly expr: Expr) {}

  plus(other: unknown): Column {
    return this.arithmetic("+", other);
  }
  minus(other: unknown): Column {
    return this.arithmetic("-", other);
  }
  multiply(other: unknown): Column {
    return this.arithmetic("*", other);
  }
  /** A double, as Spark's `/`, unless a side is a decimal: then a decimal rounded HALF_UP (by zero is null either way). */
  divide(other: unknown): Column {
    return this.arithmetic("/", other);
  }
  mod(other: unknown): Column {
    return this.arithmetic("%", other);
  }
  /** Spark's `unary_-`. */
  negate(): Column {
    return new Column({ kind: "negate", child: this.expr });
  }

  /** Spark's `===`. */
  equalTo(other: unknown): Column {
    return this.compare("=", other);
  }
  eq(other: unknown): Column {
    return this.equalTo(other);
  }
  /** Spark's `=!=`. */
  notEqual(other: unknown): Column {
    return new Column({ kind: "not", child: this.equalTo(other).expr });
  }
  /** Spark's `<=>`: true when both are null, false when one is. */
  eqNullSafe(other: unknown): Column {
    return this.compare("<=>", other);
  }
  gt(other: unknown): Column {
    return this.compare(">", other);
  }
  geq(other: unknown): Column {
    return this.compare(">=", other);
  }
  lt(other: unknown): Column {
    return this.compare("<", other);
  }
  leq(other: unknown): Column {
    return this.compare("<=", other);
  }
  isin(...values: unknown[]): Column {
    return new Column({ kind: "in", child: this.expr, values: values.map((v) => toExpr(v)) });
  }

  and(other: Column): Column {
    return new Column({ kind: "logic", op: "AND", left: this.expr, right: toExpr(other) });
  }
  or(other: Column): Column {
    return new Column({ kind: "logic", op: "OR", left: this.expr, right: toExpr(other) });
  }

  isNull(): Column {
    return new Column({ kind: "isNull", negated: false, child: this.expr });
  }
  isNotNull(): Column {
    return new Column({ kind: "isNull", negated: true, child: this.expr });
  }

  /**
   * Another branch of a `when(...)` column (Spark's `Column.when`): `when(col("age").lt(13), "child").when(col("age").lt(20), "teen")`.
   * Only on a column `when()` made, before `otherwise`.
   */
  when(condition: Column, value: unknown): Column {
    const e = this.expr;
    if (e.kind !== "caseWhen" || e.otherwise) {
      throw new AnalysisError("WhenNotAfterWhen", `when() can only be applied on a Column previously generated by when() function${e.kind === "caseWhen" ? ", and only before otherwise()" : ""}: start with functions' when(condition, value)`, {});
    }
    return new Column({ ...e, branches: [...e.branches, { condition: condition.expr, value: toExpr(value) }] });
  }

  /** The value of a `when(...)` column when no branch's condition is true (Spark's `Column.otherwise`); without it, null. */
  otherwise(value: unknown): Column {
    const e = this.expr;
    if (e.kind !== "caseWhen" || e.otherwise) {
      throw new AnalysisError("OtherwiseNotAfterWhen", `otherwise() can only be applied once on a Column previously generated by when(): start with functions' when(condition, value)`, {});
    }
    return new Column({ ...e, otherwise: toExpr(value) });
  }

  /** The column under a new name (Spark's `alias`, `as`, `name`). */
  alias(name: string): Column {
    return new Column({ kind: "alias", child: this.expr, name });
  }
  as(name: string): Column {
    return this.alias(name);
  }
  name(name: string): Column {
    return this.alias(name);
  }

  /** The values as another type: `"string"`, `"int"`, `"bigint"`, `"double"`, `"boolean"`, `"decimal(10,2)"`, or a DataType. */
  cast(to: string | DataType): Column {
    return new Column({ kind: "cast", child: this.expr, to: typeof to === "string" ? parseTypeName(to) : to });
  }

  /** Ascending, nulls first (Spark's default). */
  asc(): Column {
    return this.order(true, true);
  }
  asc_nulls_first(): Column {
    return this.order(true, true);
  }
  asc_nulls_last(): Column {
    return this.order(true, false);
  }
  /** Descending, nulls last (Spark's default). */
  desc(): Column {
    return this.order(false, false);
  }
  desc_nulls_first(): Column {
    return this.order(false, true);
  }
  desc_nulls_last(): Column {
    return this.order(false, false);
  }

  toString(): string {
    return exprString(this.expr);
  }

  private arithmetic(op: "+" | "-" | "*" | "/" | "%", other: unknown): Column {
    return new Column({ kind: "arithmetic", op, left: this.expr, right: toExpr(other) });
  }

  private compare(op: "=" | "<" | "<=" | ">" | ">=" | "<=>", other: unknown): Column {
    return new Column({ kind: "compare", op, left: this.expr, right: toExpr(other) });
  }

  private order(ascending: boolean, nullsFirst: boolean): Column {
    const child = this.expr.kind === "sortOrder" ? this.expr.child : this.expr;
    return new Column({ kind: "sortOrder", child, ascending, nullsFirst });
  }
}

/** A Column as is; any other value as a literal (Spark's `lit`, applied to the right operand). */
export function toExpr(v: unknown): Expr {
  return v instanceof Column ? v.expr : { kind: "literal", value: v ?? null };
}

/** A column given by name or as a Column (what most DataFrame methods take). */
export function toColumn(c: ColumnLike): Column {
  return typeof c === "string" ? new Column({ kind: "name", name: c }) : c;
}

/**
 * The name Spark gives an expression's column when it has no alias (`toPrettySQL`): `(age + 1)`, `(age > 21)`,
 * `count(1)`, `avg(age)`, `count(DISTINCT name)`. A cast of a column keeps the column's name.
 */
export function exprString(e: Expr): string {
  switch (e.kind) {
    case "name":
    case "attribute":
      return e.name;
    case "literal":
      return e.value === null ? "NULL" : e.dataType?.kind === "double" ? javaDouble(e.value as number) : literalString(e.value);
    case "arithmetic":
    case "compare":
    case "logic":
      return `(${exprString(e.left)} ${e.op} ${exprString(e.right)})`;
    case "negate":
      return `(- ${exprString(e.child)})`;
    case "not":
      return `(NOT ${exprString(e.child)})`;
    case "isNull":
      return `(${exprString(e.child)} IS ${e.negated ? "NOT " : ""}NULL)`;
    case "in":
      return `(${exprString(e.child)} IN (${e.values.map(exprString).join(", ")}))`;
    case "alias":
      return e.name;
    case "cast":
      return e.child.kind === "name" || e.child.kind === "attribute" || e.child.kind === "alias"
        ? exprString(e.child)
        : `CAST(${exprString(e.child)} AS ${castName(e.to)})`;
    case "aggregate":
      return `${e.fn}(${e.distinct ? "DISTINCT " : ""}${[e.child === "*" ? "1" : exprString(e.child), ...(e.more ?? []).map(exprString)].join(", ")})`;
    case "sortOrder":
      return `${exprString(e.child)} ${e.ascending ? "ASC" : "DESC"} NULLS ${e.nullsFirst ? "FIRST" : "LAST"}`;
    case "caseWhen":
      return `CASE${e.branches.map((b) => ` WHEN ${exprString(b.condition)} THEN ${exprString(b.value)}`).join("")}${e.otherwise ? ` ELSE ${exprString(e.otherwise)}` : ""} END`;
    case "call":
      return `${e.fn}(${e.args.map(exprString).join(", ")})`;
  }
}

function literalString(v: unknown): string {
  if (typeof v === "number" && !Number.isInteger(v)) return String(v);
  return String(v);
}

function castName(t: DataType): string {
  if (t.kind === "decimal") return `DECIMAL(${t.precision},${t.scale})`;
  const names: Partial<Record<DataType["kind"], string>> = { integer: "INT", long: "BIGINT" };
  return names[t.kind] ?? t.kind.toUpperCase();
}

import { NoSuchElementError, ValidationError, AnalysisError } from "../core/errors.js";
import { RDD } from "../core/rdd.js";
import { currentBatch } from "./batch-scope.js";
import { Column, toColumn, type ColumnLike, type Expr } from "./column.js";
import type { Row, StructType, Table } from "./data-types.js";
import { DataFrameWriter } from "./dataframe-writer.js";
import { expr } from "./functions.js";
import { GroupedData } from "./grouped-data.js";
import { joinRows, type JoinType } from "./join.js";
import { newId, resolve, resolveName, type Attribute, type Bound } from "./resolve.js";
import { showString } from "./show-string.js";
import type { SparkSession } from "./spark-session.js";
import { rowToJson } from "./text-formats.js";
import { caster } from "./cast.js";
import { StructField, StructType as structType, commonType, sameType, simpleString, sqlTypeName, treeString } from "./types.js";
import { compareNullable, tupleKey, valueKey } from "./values.js";

/**
 * A batch's rows with a schema (Spark's DataFrame), built by `spark.createDataFrame(rdd)` or `rdd.toDF()`
 * inside `foreachRDD`, and queried with Spark's operations: `select`, `where`, `groupBy().agg()`, `join`,
 * `orderBy` … then `show()`, `collect()` or `write`.
 *
 * Operations are checked when called, as Spark's analyzer checks them: a column that does not exist is an
 * {@link AnalysisError} naming it and listing the columns there are. Rows are positional arrays in column
 * order (Spark's `Row`: `row[0]` is Scala's `row(0)`), a struct value is one too.
 *
 * Evaluation is eager and in memory: a batch is one process's data here, as it is the driver's in
 * `foreachRDD`. Results are those of Spark 3.5's defaults (non-ANSI: a division by zero or a bad cast is null).
 *
 * @example
 * stream.foreachRDD((rdd) => {
 *   const spark = SparkSession.builder().getOrCreate();
 *   const df = spark.createDataFrame(rdd);
 *   df.select("name", "age").show();
 * });
 */
export class DataFrame {
  /** @internal Use `spark.createDataFrame`, `rdd.toDF` or an operation on another DataFrame. */
  constructor(
    readonly sparkSession: SparkSession,
    /** @internal */ readonly attrs: readonly Attribute[],
    /**
     * @internal The rows: positional arrays, or the source objects when the columns read them through
     * `Attribute.get` (see `data` for arrays either way).
     */
    readonly source: readonly Row[],
  ) {}

  private arrays: DataFrame | undefined;

  /** @internal The same DataFrame with positional rows (the same column ids, no accessors). */
  get plain(): DataFrame {
    if (!this.attrs.some((a) => a.get)) return this;
    if (!this.arrays) {
      const gets = this.attrs.map((a, i) => a.get ?? ((row: Row) => row[i]));
      const rows = this.source.map((o) => gets.map((g) => g(o)));
      this.arrays = new DataFrame(this.sparkSession, this.attrs.map(({ get: _, ...a }) => a), rows);
    }
    return this.arrays;
  }

  /** @internal The rows as positional arrays. */
  get data(): readonly Row[] {
    return this.plain.source;
  }

  private derive(attrs: readonly Attribute[], rows: readonly Row[]): DataFrame {
    return new DataFrame(this.sparkSession, attrs, rows);
  }

  // ---- schema ----

  get schema(): StructType {
    return structType(this.attrs.map((a) => StructField(a.name, a.dataType, a.nullable)));
  }

  get columns(): string[] {
    return this.attrs.map((a) => a.name);
  }

  /** `[name, type]` per column, types as Spark's `simpleString` (`int`, `bigint`, `array<string>`). */
  get dtypes(): Array<[string, string]> {
    return this.attrs.map((a) => [a.name, simpleString(a.dataType)]);
  }

  /** This DataFrame's column `name`, which stays this DataFrame's after a join (Spark's `df.col`, `df("name")`). */
  col(name: string): Column {
    const b = resolveName(name, this.attrs);
    if (b.id === undefined) return toColumn(name);
    return new Column({ kind: "attribute", id: b.id, name: b.name });
  }

  /** Prints the schema as a tree (Spark's `printSchema`). */
  printSchema(): void {
    write(`${treeString(this.schema)}\n`);
  }

  // ---- transformations ----

  /**
   * The columns or expressions given, by name (`"*"` is every column) or as Columns. Aggregates without a
   * groupBy (`select(count("*"), max("age"))`) aggregate every row into one, as Spark's select does.
   */
  select(...cols: Array<ColumnLike | ColumnLike[]>): DataFrame {
    const flat = cols.flat();
    if (flat.some((c) => c !== "*" && hasAggregate(toColumn(c).expr))) return this.agg(...flat.map(toColumn));
    return this.project(this.bindAll(flat));
  }

  /**
   * The SQL expressions given (Spark's `selectExpr`): `selectExpr("name", "age + 1 AS next", "upper(name)")`.
   * The syntax is Spark SQL's for expressions (see expression-parser.ts); a name that is not a column is an
   * AnalysisError listing the columns there are, a syntax error one pointing at the position.
   */
  selectExpr(...exprs: Array<string | string[]>): DataFrame {
    return this.select(...exprs.flat().map((text) => (text.trim() === "*" ? "*" : expr(text))));
  }

  /** Rows for which `condition` is true (null counts as false): a Column, or a SQL expression (`"age > 21"`). */
  where(condition: Column | string): DataFrame {
    if (typeof condition === "string") condition = expr(condition);
    const b = resolve(condition.expr, { attrs: this.attrs });
    if (b.dataType.kind !== "boolean" && b.dataType.kind !== "null") {
      throw new AnalysisError(
        "DatatypeMismatch",
        `[DATATYPE_MISMATCH.FILTER_NOT_BOOLEAN] Cannot resolve "${b.name}" due to data type mismatch: Filter expression "${b.name}" of type ${sqlTypeName(b.dataType)} is not a boolean.`,
        { errorClass: "DATATYPE_MISMATCH.FILTER_NOT_BOOLEAN" },
      );
    }
    const f = b.eval;
    return this.derive(this.attrs, this.source.filter((row) => f(row) === true));
  }

  filter(condition: Column | string): DataFrame {
    return this.where(condition);
  }

  /** Adds a column, or replaces the one of that name in place. */
  withColumn(name: string, c: Column): DataFrame {
    const b = resolve(c.expr, { attrs: this.attrs });
    const at = this.attrs.findIndex((a) => a.name.toLowerCase() === name.toLowerCase());
    const bound: Bound[] = this.attrs.map((_, i) => this.reference(i));
    const added: Bound = { ...b, name, id: undefined };
    if (at >= 0) bound[at] = added;
    else bound.push(added);
    return this.project(bound);
  }

  withColumnRenamed(existing: string, name: string): DataFrame {
    return this.derive(
      this.attrs.map((a) => (a.name.toLowerCase() === existing.toLowerCase() ? { ...a, name } : a)),
      this.source,
    );
  }

  /** Without the columns given; a name that is not a column is ignored, as Spark ignores it. */
  drop(...cols: ColumnLike[]): DataFrame {
    const ids = new Set<number>();
    for (const c of cols) {
      const e = toColumn(c).expr;
      if (e.kind === "attribute") ids.add(e.id);
      else if (e.kind === "name") for (const a of this.attrs) if (a.name.toLowerCase() === e.name.toLowerCase()) ids.add(a.id);
    }
    return this.project(this.attrs.flatMap((a, i) => (ids.has(a.id) ? [] : [this.reference(i)])));
  }

  /** The same rows under new column names (as many as there are columns). */
  toDF(...names: string[]): DataFrame {
    if (names.length !== this.attrs.length) {
      throw new AnalysisError(
        "ColumnCountMismatch",
        `The number of columns doesn't match.\nOld column names (${this.attrs.length}): ${this.columns.join(", ")}\nNew column names (${names.length}): ${names.join(", ")}`,
        { errorClass: "COLUMN_COUNT_MISMATCH" },
      );
    }
    return this.derive(this.attrs.map((a, i) => ({ ...a, name: names[i]! })), this.source);
  }

  /** Groups the rows by the columns given, for `agg`, `count`, `sum` … (Spark's `groupBy`). */
  groupBy(...cols: Array<ColumnLike | ColumnLike[]>): GroupedData {
    return new GroupedData(this, this.bindAll(cols.flat()));
  }

  groupby(...cols: Array<ColumnLike | ColumnLike[]>): GroupedData {
    return this.groupBy(...cols);
  }

  /** Aggregates over every row: `df.agg(max("age"))` is `df.groupBy().agg(max("age"))`. */
  agg(...exprs: Column[]): DataFrame {
    return this.groupBy().agg(...exprs);
  }

  /**
   * Rows in the order of the columns given: a name or a Column is ascending with nulls first, `desc(...)` or
   * `col(...).desc()` descending with nulls last, `asc_nulls_last()` and the like as named. Stable.
   */
  orderBy(...cols: Array<ColumnLike | ColumnLike[]>): DataFrame {
    const orders = cols.flat().map((c) => {
      const e = toColumn(c).expr;
      const order = e.kind === "sortOrder" ? e : { child: e, ascending: true, nullsFirst: true };
      const b = resolve(order.child, { attrs: this.attrs });
      return { f: b.eval, type: b.dataType, sign: order.ascending ? 1 : -1, nullsFirst: order.nullsFirst };
    });
    const keyed = this.source.map((row, i) => ({ row, i, keys: orders.map((o) => o.f(row)) }));
    keyed.sort((a, b) => {
      for (const [k, o] of orders.entries()) {
        const x = a.keys[k];
        const y = b.keys[k];
        const xn = x === null || x === undefined;
        const yn = y === null || y === undefined;
        // Null placement is absolute: nulls first stays first whichever way the values go.
        const c = xn || yn ? compareNullable(x, y, o.type, o.nullsFirst) : o.sign * compareNullable(x, y, o.type, o.nullsFirst);
        if (c !== 0) return c;
      }
      return a.i - b.i;
    });
    return this.derive(this.attrs, keyed.map((k) => k.row));
  }

  sort(...cols: Array<ColumnLike | ColumnLike[]>): DataFrame {
    return this.orderBy(...cols);
  }

  /** The first `n` rows. */
  limit(n: number): DataFrame {
    if (!Number.isInteger(n) || n < 0) throw new ValidationError("BadLimit", `limit(${n}): the limit must be a whole number, 0 or more`);
    return this.derive(this.attrs, this.source.slice(0, n));
  }

  /** Rows without repeats (the first of equal rows is kept). */
  distinct(): DataFrame {
    return this.dropDuplicates();
  }

  /** The first row of each set of rows equal in the given columns (all of them when none are given). */
  dropDuplicates(cols?: string[]): DataFrame {
    if (this.plain !== this) return this.plain.dropDuplicates(cols);
    const idx = cols ? cols.map((c) => this.indexOf(c)) : this.attrs.map((_, i) => i);
    const seen = new Set<unknown>();
    const rows = this.data.filter((row) => {
      const key = idx.length === 1 ? valueKey(row[idx[0]!]) : tupleKey(idx.map((i) => row[i]));
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    return this.derive(this.attrs, rows);
  }

  /**
   * Joins with `other` (Spark's `join`):
   *
   * - on column names (`"id"` or `["id", "day"]`), which appear once in the result, first;
   * - on a condition (`left.col("id").equalTo(right.col("user"))`), keeping every column of both sides;
   * - on nothing: every pair of rows (a cross join).
   *
   * `how` is `inner` (default), `left`, `right`, `full` (and Spark's spellings of them: `left_outer`,
   * `outer`, `full_outer` …), `left_semi` or `left_anti`. Null keys never match.
   */
  join(other: DataFrame, on?: string | string[] | Column, how: string = "inner"): DataFrame {
    const joined = joinRows(this.plain, other.plain, on, parseJoinType(how));
    return this.derive(joined.attrs, joined.rows);
  }

  crossJoin(other: DataFrame): DataFrame {
    return this.join(other);
  }

  /**
   * The rows of both, matched by position (Spark's `union`, which is SQL's UNION ALL: no deduplication);
   * column names come from this DataFrame, types widen (int with bigint is bigint).
   */
  union(other: DataFrame): DataFrame {
    if (other.attrs.length !== this.attrs.length) {
      throw new AnalysisError(
        "NumColumnsMismatch",
        `[NUM_COLUMNS_MISMATCH] UNION can only be performed on inputs with the same number of columns, but the first input has ${this.attrs.length} columns and the second input has ${other.attrs.length} columns.`,
        { errorClass: "NUM_COLUMNS_MISMATCH" },
      );
    }
    const attrs = this.attrs.map((a, i) => {
      const b = other.attrs[i]!;
      const t = commonType(a.dataType, b.dataType);
      if (!t) {
        throw new AnalysisError(
          "IncompatibleColumnType",
          `[INCOMPATIBLE_COLUMN_TYPE] UNION can only be performed on inputs with compatible column types. The ${ordinal(i + 1)} column of the second table is ${sqlTypeName(b.dataType)} type which is not compatible with ${sqlTypeName(a.dataType)} at the same column of the first table.`,
          { errorClass: "INCOMPATIBLE_COLUMN_TYPE", column: a.name },
        );
      }
      return { ...a, dataType: t, nullable: a.nullable || b.nullable };
    });
    return this.derive(attrs.map(({ get: _, ...a }) => a), unionRows(this.data, this.attrs, attrs).concat(unionRows(other.data, other.attrs, attrs)));
  }

  unionAll(other: DataFrame): DataFrame {
    return this.union(other);
  }

  /** As union, matching columns by name instead of position. */
  unionByName(other: DataFrame): DataFrame {
    return this.union(other.select(...this.attrs.map((a) => other.col(a.name))));
  }

  // ---- actions ----

  /** Every row (Spark's `collect`): positional arrays in column order. */
  collect(): Row[] {
    return this.data.slice();
  }

  count(): number {
    return this.source.length;
  }

  isEmpty(): boolean {
    return this.source.length === 0;
  }

  /** The first row; on an empty DataFrame a NoSuchElementError, as Spark's. */
  first(): Row {
    if (this.source.length === 0) throw new NoSuchElementError("EmptyDataFrame", "first() on an empty DataFrame: it has no rows (Spark: NoSuchElementException: next on empty iterator)");
    return this.take(1)[0]!;
  }

  head(): Row;
  head(n: number): Row[];
  head(n?: number): Row | Row[] {
    return n === undefined ? this.first() : this.take(n);
  }

  take(n: number): Row[] {
    return this.limit(Math.max(0, n)).data.slice();
  }

  /** Each row as a JSON line, as Spark's `toJSON` (null fields left out, doubles as `55.0`). */
  toJSON(): RDD<string> {
    const schema = this.schema;
    return RDD.of(this.data.map((row) => rowToJson(row, schema)));
  }

  /** The rows as an RDD (Spark's `df.rdd`), for the RDD operations. */
  get rdd(): RDD<Row> {
    return RDD.of(this.data);
  }

  /**
   * Prints the first `numRows` rows as Spark's `show` does: the `+---+` table, cells right-aligned and cut
   * to 20 characters (`truncate` true) or to `truncate` characters, `NULL` for nulls, then
   * "only showing top N rows" when there are more. Inside a batch it writes where `print()` writes.
   */
  show(numRows?: number | boolean, truncate: boolean | number = true): void {
    if (typeof numRows === "boolean") [numRows, truncate] = [20, numRows];
    write(`${this.showString(numRows ?? 20, truncate === true ? 20 : truncate === false ? 0 : truncate)}\n`);
  }

  /** The text `show(numRows, truncate)` prints, without the final newline `println` adds. */
  showString(numRows = 20, truncate = 20): string {
    const n = Math.max(0, numRows);
    return showString(this.schema, this.limit(n + 1).data, n, truncate);
  }

  /** Registers the DataFrame as a view that `spark.sql()` queries, replacing one of the same name. */
  createOrReplaceTempView(name: string): void {
    this.sparkSession.registerView(name, this, true);
  }

  /** As createOrReplaceTempView, failing if a view of that name exists (Spark's `createTempView`). */
  createTempView(name: string): void {
    this.sparkSession.registerView(name, this, false);
  }

  /** Writes the rows as JSON lines or CSV (see {@link DataFrameWriter}). */
  get write(): DataFrameWriter {
    return new DataFrameWriter(this);
  }

  /** Accepted for Spark compatibility: rows are held in memory already. */
  cache(): this {
    return this;
  }

  persist(): this {
    return this;
  }

  /** The rows and schema as a plain table (what a temp view hands the SQL engine). */
  toTable(): Table {
    return { schema: this.schema, rows: this.data };
  }

  toString(): string {
    return `[${this.attrs.map((a) => `${a.name}: ${simpleString(a.dataType)}`).join(", ")}]`;
  }

  // ---- helpers ----

  private reference(i: number): Bound {
    const a = this.attrs[i]!;
    return { name: a.name, dataType: a.dataType, nullable: a.nullable, id: a.id, eval: a.get ?? ((row) => row[i]) };
  }

  private indexOf(name: string): number {
    const b = resolveName(name, this.attrs);
    const i = this.attrs.findIndex((a) => a.id === b.id);
    if (i < 0) throw new ValidationError("NotAColumn", `"${name}" is a field inside a column: name a top-level column of ${this.toString()}`);
    return i;
  }

  /** @internal Resolves columns, expanding `"*"` to every column. */
  bindAll(cols: readonly ColumnLike[]): Bound[] {
    return cols.flatMap((c) => (c === "*" ? this.attrs.map((_, i) => this.reference(i)) : [resolve(toColumn(c).expr, { attrs: this.attrs })]));
  }

  private project(bound: readonly Bound[]): DataFrame {
    const attrs = bound.map((b) => ({ name: b.name, dataType: b.dataType, nullable: b.nullable, id: b.id ?? newId() }));
    // A projection of plain columns copies values by index; anything else evaluates per row.
    const idx = bound.map((b) => (b.id === undefined ? -1 : this.attrs.findIndex((a) => a.id === b.id && a.name === b.name && !a.get)));
    const evals = bound.map((b) => b.eval);
    const rows = idx.every((i) => i >= 0)
      ? this.source.map((row) => idx.map((i) => row[i]))
      : this.source.map((row) => evals.map((f) => f(row)));
    return this.derive(attrs, rows);
  }
}

function hasAggregate(e: Expr): boolean {
  switch (e.kind) {
    case "aggregate":
      return true;
    case "arithmetic":
    case "compare":
    case "logic":
      return hasAggregate(e.left) || hasAggregate(e.right);
    case "negate":
    case "not":
    case "isNull":
    case "alias":
    case "cast":
    case "sortOrder":
      return hasAggregate(e.child);
    case "in":
      return hasAggregate(e.child) || e.values.some(hasAggregate);
    case "caseWhen":
      return e.branches.some((b) => hasAggregate(b.condition) || hasAggregate(b.value)) || (e.otherwise !== undefined && hasAggregate(e.otherwise));
    case "call":
      return e.args.some(hasAggregate);
    default:
      return false;
  }
}

/** Where `show` and `printSchema` print: the batch's output inside a streaming job, else stdout. */
function write(text: string): void {
  const batch = currentBatch();
  if (batch) batch.out(text);
  else process.stdout.write(text);
}

const JOIN_TYPES: Record<string, JoinType> = {
  inner: "inner",
  cross: "inner",
  left: "left",
  leftouter: "left",
  left_outer: "left",
  right: "right",
  rightouter: "right",
  right_outer: "right",
  full: "full",
  outer: "full",
  fullouter: "full",
  full_outer: "full",
  semi: "left_semi",
  leftsemi: "left_semi",
  left_semi: "left_semi",
  anti: "left_anti",
  leftanti: "left_anti",
  left_anti: "left_anti",
};

function parseJoinType(how: string): JoinType {
  const t = JOIN_TYPES[how.toLowerCase()];
  if (!t) {
    throw new AnalysisError("UnsupportedJoinType", `[UNSUPPORTED_JOIN_TYPE] Unsupported join type '${how}'. Supported join types include: ${Object.keys(JOIN_TYPES).join(", ")}.`, {
      errorClass: "UNSUPPORTED_JOIN_TYPE",
    });
  }
  return t;
}

/** `rows` in the union's column types: a decimal's digits change with its scale, and a decimal meeting a double becomes one. */
function unionRows(rows: readonly Row[], from: readonly Attribute[], to: readonly Attribute[]): readonly Row[] {
  const casts = from.map((a, i) => {
    const t = to[i]!.dataType;
    return (a.dataType.kind === "decimal" || t.kind === "decimal") && !sameType(a.dataType, t) ? caster(a.dataType, t, a.name) : undefined;
  });
  if (casts.every((c) => c === undefined)) return rows;
  return rows.map((row) => row.map((v, i) => (casts[i] ? casts[i](v) : v)));
}

function ordinal(n: number): string {
  const words = ["zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"];
  return words[n] ?? `${n}th`;
}

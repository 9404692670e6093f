import { AnalysisError } from "../core/errors.js";
import { RDD } from "../core/rdd.js";
import type { Row, StructType, Table } from "./data-types.js";
import { DataFrame } from "./dataframe.js";
import { inferShape, rowConverter } from "./infer-schema.js";
import { newId } from "./resolve.js";
import type { SqlEngine } from "./sql-engine.js";
import { parseDDL } from "./types.js";
import "./implicits.js";

let active: SparkSession | undefined;

/**
 * The entry point to DataFrames and SQL (Spark's SparkSession): one per process, as Spark has one per
 * application, got with `SparkSession.builder().getOrCreate()` — in `foreachRDD`, every batch gets the same
 * session, and its temporary views, back.
 *
 * @example
 * stream.foreachRDD(async (rdd) => {
 *   const spark = SparkSession.builder().getOrCreate();
 *   spark.createDataFrame(rdd).createOrReplaceTempView("people");
 *   (await spark.sql("SELECT name FROM people WHERE age > 21")).show();
 * });
 */
export class SparkSession {
  private readonly views = new Map<string, { name: string; df: DataFrame }>();
  private engine: Promise<SqlEngine> | undefined;
  /** @internal */ engineOverride: SqlEngine | undefined;
  /** The builder's `config` entries (kept for the program to read; none changes behaviour here). */
  readonly conf = new Map<string, string>();

  private constructor() {}

  /** Spark's `SparkSession.builder`: `SparkSession.builder().appName("x").getOrCreate()`. */
  static builder(): SparkSessionBuilder {
    return new SparkSessionBuilder();
  }

  /** The session `getOrCreate` returns, if one was created (Spark's `getActiveSession`). */
  static getActiveSession(): SparkSession | undefined {
    return active;
  }

  /** @internal Builds the process' session; use the builder. */
  static create(): SparkSession {
    return new SparkSession();
  }

  /**
   * A DataFrame of the values of an RDD (or an array): objects give a column per key, arrays (tuples) columns
   * `_1`, `_2` …, other values one column `value`; types are inferred (see {@link inferSchema}) unless
   * `schema` gives them — a StructType, a DDL string (`"name STRING, age INT"`), or column names for the
   * inferred columns (PySpark's `createDataFrame(data, ["name", "age"])`).
   */
  createDataFrame<T>(data: RDD<T> | Iterable<T>, schema?: StructType | string | string[]): DataFrame {
    const values = data instanceof RDD ? data.collect() : Array.isArray(data) ? (data as T[]) : [...data];
    if (schema === undefined || Array.isArray(schema)) {
      const { schema: inferred, shape } = inferShape(values);
      const df = readInPlace(this, inferred, shape, values) ?? this.fromTable({ schema: inferred, rows: values.map(rowConverter(inferred)) });
      return Array.isArray(schema) ? df.toDF(...schema) : df;
    }
    const struct = typeof schema === "string" ? parseDDL(schema) : schema;
    return this.fromTable({ schema: struct, rows: values.map(rowConverter(struct)) });
  }

  /** A DataFrame with no rows and no columns (Spark's `emptyDataFrame`). */
  get emptyDataFrame(): DataFrame {
    return this.fromTable({ schema: { kind: "struct", fields: [] }, rows: [] });
  }

  /** The temporary view of that name (Spark's `spark.table`). */
  table(name: string): DataFrame {
    const view = this.views.get(name.toLowerCase());
    if (!view) {
      throw new AnalysisError(
        "TableOrViewNotFound",
        `[TABLE_OR_VIEW_NOT_FOUND] The table or view \`${name}\` cannot be found. The temporary views: [${[...this.views.values()].map((v) => `\`${v.name}\``).join(", ")}]: register one with df.createOrReplaceTempView("${name}").`,
        { errorClass: "TABLE_OR_VIEW_NOT_FOUND", view: name },
      );
    }
    return view.df;
  }

  /** Removes a temporary view; true if there was one (Spark's `spark.catalog.dropTempView`). */
  dropTempView(name: string): boolean {
    return this.views.delete(name.toLowerCase());
  }

  /**
   * Runs a SQL query over the temporary views (Spark's `spark.sql`), with Spark's types in the result. Unlike
   * Spark's it returns a promise (the engine is loaded on first use, so pipelines that never query do not pay
   * for it): `(await spark.sql("SELECT ...")).show()`.
   */
  async sql(query: string): Promise<DataFrame> {
    const engine = await this.sqlEngine();
    const views = new Map<string, Table>([...this.views.values()].map((v) => [v.name, v.df.toTable()]));
    return this.fromTable(await engine.query(query, views));
  }

  /** Ends the session: its views are dropped and the SQL engine closed; the next `getOrCreate` makes a new one. */
  async stop(): Promise<void> {
    this.views.clear();
    const engine = this.engine;
    this.engine = undefined;
    if (active === this) active = undefined;
    if (engine) await (await engine).close();
  }

  /** @internal */
  registerView(name: string, df: DataFrame, replace: boolean): void {
    const key = name.toLowerCase();
    if (!replace && this.views.has(key)) {
      throw new AnalysisError("TempTableAlreadyExists", `[TEMP_TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create the temporary view \`${name}\` because it already exists: use createOrReplaceTempView.`, {
        errorClass: "TEMP_TABLE_OR_VIEW_ALREADY_EXISTS",
        view: name,
      });
    }
    this.views.set(key, { name, df });
  }

  /** @internal A DataFrame of a table's rows, as the SQL engine returns them. */
  fromTable(table: Table): DataFrame {
    const attrs = table.schema.fields.map((f) => ({ name: f.name, dataType: f.dataType, nullable: f.nullable, id: newId() }));
    return new DataFrame(this, attrs, table.rows as Row[]);
  }

  private sqlEngine(): Promise<SqlEngine> {
    if (this.engineOverride) return Promise.resolve(this.engineOverride);
    this.engine ??= import("./sql-engine-loader.js").then((m) => m.loadSqlEngine());
    // A failed load (a missing native module) is reported, and the next query tries again.
    this.engine.catch(() => (this.engine = undefined));
    return this.engine;
  }
}

const FLAT = new Set(["string", "integer", "long", "double", "boolean", "timestamp"]);

/**
 * A DataFrame reading the values where they are, when inference says every column is a flat type: each column
 * reads its property (or tuple slot) instead of every value being copied into a new array first, which for a
 * large batch costs more than the query (`npm run bench -- dataframe`). Inferred types hold for every value by
 * construction; nested values need converting (objects to positional structs) and take the general path.
 */
function readInPlace(spark: SparkSession, schema: StructType, shape: "object" | "tuple" | "value" | undefined, values: readonly unknown[]): DataFrame | undefined {
  if (!shape || !schema.fields.every((f) => FLAT.has(f.dataType.kind))) return undefined;
  // A bigint that fits is a number, as the general path makes it; a missing property is null.
  const safe = (v: unknown) => (typeof v === "bigint" && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : (v ?? null));
  const attrs = schema.fields.map((f, i) => {
    const name = f.name;
    // One closure per column, no nesting: the aggregation calls it for every row and every aggregate.
    const get: (o: Row) => unknown =
      f.dataType.kind === "long"
        ? (o) => safe(o === null || o === undefined ? null : shape === "object" ? (o as unknown as Record<string, unknown>)[name] : shape === "tuple" ? o[i] : o)
        : shape === "object"
          ? (o) => {
              if (o === null || o === undefined) return null;
              const v = (o as unknown as Record<string, unknown>)[name];
              return v === undefined ? null : v;
            }
          : shape === "tuple"
            ? (o) => {
                if (o === null || o === undefined) return null;
                const v = o[i];
                return v === undefined ? null : v;
              }
            : (o) => (o === undefined ? null : o);
    return { name, dataType: f.dataType, nullable: f.nullable, id: newId(), get };
  });
  return new DataFrame(spark, attrs, values as Row[]);
}

/** Spark's `SparkSession.Builder`. */
export class SparkSessionBuilder {
  private readonly settings = new Map<string, string>();
  private engine: SqlEngine | undefined;

  /** Accepted for Spark compatibility (kept in `conf` as `spark.app.name`). */
  appName(name: string): this {
    return this.config("spark.app.name", name);
  }

  /** Accepted for Spark compatibility (kept in `conf` as `spark.master`): everything runs in this process. */
  master(master: string): this {
    return this.config("spark.master", master);
  }

  config(key: string, value: string | number | boolean): this;
  config(entries: Record<string, string | number | boolean>): this;
  config(key: string | Record<string, string | number | boolean>, value?: string | number | boolean): this {
    const entries = typeof key === "string" ? { [key]: value ?? "" } : key;
    for (const [k, v] of Object.entries(entries)) this.settings.set(k, String(v));
    return this;
  }

  /** The engine `spark.sql()` runs on (not in Spark: for tests, or another engine). @default - DuckDB, loaded on first query */
  sqlEngine(engine: SqlEngine): this {
    this.engine = engine;
    return this;
  }

  /** The process' session, created on the first call; later calls return it with their config added. */
  getOrCreate(): SparkSession {
    active ??= SparkSession.create();
    for (const [k, v] of this.settings) active.conf.set(k, v);
    if (this.engine) active.engineOverride = this.engine;
    return active;
  }
}

/**
 * The SQL engine on DuckDB (`@duckdb/node-api`), embedded in the process: an in-memory database per engine, each
 * view a table loaded through DuckDB's appender, the query's result read back with Spark's types
 * (duckdb-types.ts). Loaded by sql-engine-loader.ts the first time a program calls `sql()`; nothing else imports
 * this file, so pipelines that never query never load DuckDB (nor ship it: infra/bundling.ts).
 *
 * Where DuckDB's SQL differs from Spark's in ways users hit first, see duckdb-dialect.ts.
 */
import { DuckDBInstance, StatementType, type DuckDBConnection } from "@duckdb/node-api";
import type { DataType, Row, StructType, Table } from "./data-types.js";
import { sqlError, sqlErrorOf } from "./duckdb-error.js";
import { SPARK_FUNCTIONS } from "./duckdb-dialect.js";
import { resultFacts } from "./duckdb-result-facts.js";
import { duckDbTypeOf, resultSchema, valueAppender, valueReader } from "./duckdb-types.js";
import type { SqlEngine } from "./sql-engine.js";

/**
 * DuckDB's settings for a query engine inside a batch: no file or network access from SQL (a query reads the
 * batch's views, nothing else, and a Lambda function must not hang on an extension download), one thread (a
 * batch of thousands of rows gains nothing from more, and Lambda below 1,769 MB has one vCPU), and Spark's order
 * of nulls (first when ascending, last when descending; DuckDB's default puts them last both ways).
 */
const SETTINGS: Record<string, string> = {
  threads: "1",
  default_null_order: "nulls_first_on_asc_last_on_desc",
  enable_external_access: "false",
  autoinstall_known_extensions: "false",
};

export class DuckDbEngine implements SqlEngine {
  private connection: Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> | undefined;
  /** The table each loaded view holds now: a view given the same Table again is not loaded again. */
  private readonly loaded = new Map<string, Table>();
  private readonly parsed = new Map<string, unknown>();
  /** Queries run one at a time: loading views and querying them must not interleave. */
  private queue: Promise<unknown> = Promise.resolve();

  query(query: string, views: ReadonlyMap<string, Table>): Promise<Table> {
    const next = this.queue.then(() => this.run(query, views));
    this.queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    const opened = this.connection;
    this.connection = undefined;
    this.loaded.clear();
    await this.queue;
    if (!opened) return;
    const { instance, connection } = await opened;
    connection.closeSync();
    instance.closeSync();
  }

  private async run(query: string, views: ReadonlyMap<string, Table>): Promise<Table> {
    const connection = await this.open();
    await this.load(connection, query, views);
    let reader;
    try {
      // Prepared directly: counting the statements first would cost every query another trip to DuckDB's thread.
      const prepared = await connection.prepare(query).catch(async (err: unknown) => {
        if (!/multiple statements/i.test(String((err as Error)?.message))) throw err;
        const statements = await connection.extractStatements(query);
        throw sqlError("SqlSyntaxError", `spark.sql runs one statement, and the query has ${statements.count}`, query, views);
      });
      if (prepared.statementType !== StatementType.SELECT) {
        prepared.destroySync();
        throw sqlError("SqlAnalysisError", "spark.sql runs queries (SELECT, WITH … SELECT, VALUES) over the batch's views; register data with df.createOrReplaceTempView(name)", query, views);
      }
      reader = await prepared.runAndReadAll();
      prepared.destroySync();
    } catch (err) {
      throw err instanceof Error && err.name === "SqlError" ? err : sqlErrorOf(err, query, views);
    }
    const read = resultSchema(reader.columnNames().map(sparkColumnName), reader.columnTypes());
    if ("unsupported" in read) {
      const { name, type } = read.unsupported;
      throw sqlError("SqlAnalysisError", `column ${name} is of DuckDB type ${type}, which has no Spark type here: cast it (to string, say)`, query, views);
    }
    const facts = resultFacts(await this.parse(connection, query), views);
    const schema: StructType =
      facts?.length === read.fields.length
        ? { kind: "struct", fields: read.fields.map((f, i) => ({ ...f, nullable: facts[i]!.nullable, dataType: facts[i]!.dataType ?? sparkDecimal(f.dataType, facts[i]!.decimal) })) }
        : read;
    const columns = reader.getColumns();
    // Values are read as DuckDB typed them (a ranking function's BIGINT is a bigint to convert to a number).
    const readers = read.fields.map((f) => valueReader(f.dataType));
    const converted = columns.map((values, c) => (readers[c] ? values.map(readers[c]) : values));
    const rows: Row[] = Array.from({ length: reader.currentRowCount }, (_, r) => converted.map((column) => column[r]));
    return { schema, rows };
  }

  /**
   * DuckDB's parse tree of a query (json_serialize_sql), kept per query text: a streaming job asks the same
   * question of every batch, so after the first batch this costs nothing. Undefined if DuckDB cannot say.
   */
  private async parse(connection: DuckDBConnection, query: string): Promise<unknown> {
    if (!this.parsed.has(query)) {
      let tree: unknown;
      try {
        const reader = await connection.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)", [query]);
        tree = JSON.parse(String(reader.getRows()[0]?.[0]));
      } catch {
        tree = undefined;
      }
      if (this.parsed.size >= 256) this.parsed.clear();
      this.parsed.set(query, tree);
    }
    return this.parsed.get(query);
  }

  private async open(): Promise<DuckDBConnection> {
    this.connection ??= (async () => {
      const instance = await DuckDBInstance.create(":memory:", SETTINGS);
      const connection = await instance.connect();
      await connection.run(SPARK_FUNCTIONS);
      return { instance, connection };
    })();
    return (await this.connection).connection;
  }

  /** Makes the database's tables exactly `views`: loads the new and changed ones, drops the ones gone. */
  private async load(connection: DuckDBConnection, query: string, views: ReadonlyMap<string, Table>): Promise<void> {
    for (const name of [...this.loaded.keys()]) {
      if (views.has(name)) continue;
      this.loaded.delete(name);
      await connection.run(`DROP TABLE IF EXISTS ${identifier(name)}`);
    }
    for (const [name, table] of views) {
      if (this.loaded.get(name) === table) continue;
      // Forgotten first: if loading fails half way, the next query loads it again.
      this.loaded.delete(name);
      await loadTable(connection, name, table, query, views);
      this.loaded.set(name, table);
    }
  }
}

async function loadTable(connection: DuckDBConnection, name: string, table: Table, query: string, views: ReadonlyMap<string, Table>): Promise<void> {
  const fields = table.schema.fields;
  const columns = fields.map((f) => `${identifier(f.name)} ${duckDbTypeOf(f.dataType).toString()}`);
  await connection.run(`CREATE OR REPLACE TABLE ${identifier(name)} (${columns.join(", ")})`);
  const appender = await connection.createAppender(name);
  const appenders = fields.map((f) => valueAppender(f.dataType));
  try {
    for (const [r, row] of table.rows.entries()) {
      for (let c = 0; c < appenders.length; c++) {
        try {
          appenders[c]!(appender, row[c]);
        } catch (err) {
          const field = fields[c]!;
          const reason = `view ${name}, row ${r}, column ${field.name} (${field.dataType.kind}): ${(err as Error).message}`;
          throw sqlError("SqlViewInvalid", reason, query, views, undefined, err);
        }
      }
      appender.endRow();
    }
    appender.closeSync();
  } catch (err) {
    appender.clear();
    appender.closeSync();
    await connection.run(`DROP TABLE IF EXISTS ${identifier(name)}`);
    throw err;
  }
}

/** Spark's decimal type for a DuckDB decimal column of the same scale (the same digits), or DuckDB's type. */
function sparkDecimal(read: DataType, spark: DataType | undefined): DataType {
  return read.kind === "decimal" && spark?.kind === "decimal" && spark.scale === read.scale ? spark : read;
}

/** Spark's name for `count(*)` without an alias is `count(1)`; DuckDB's is `count_star()`. */
function sparkColumnName(name: string): string {
  return name === "count_star()" ? "count(1)" : name;
}

/** A name as a quoted SQL identifier (DuckDB, like Spark, still matches it case-insensitively). */
function identifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

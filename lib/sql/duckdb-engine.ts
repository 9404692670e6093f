/**
 * The SQL engine on DuckDB (`@duckdb/node-api`), embedded in the process: an in-memory database per engine, each
 * view a table loaded through DuckDB's appender, the query's result read back with Spark's types
 * (duckdb-types.ts). Loaded by sql-engine-loader.ts the first time a program calls `sql()`; nothing else imports
 * this file, so pipelines that never query never load DuckDB (nor ship it: infra/bundling.ts).
 *
 * Where DuckDB's SQL differs from Spark's in ways users hit first, see duckdb-dialect.ts.
 */
import { DuckDBDataChunk, DuckDBInstance, StatementType, type DuckDBConnection, type DuckDBValue } from "@duckdb/node-api";
import type { Row, Table } from "./data-types.js";
import { sqlError, sqlErrorOf } from "./duckdb-error.js";
import { SPARK_FUNCTIONS } from "./duckdb-dialect.js";
import { columnValue, duckDbTypeOf, resultSchema, valueReader } from "./duckdb-types.js";
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
    const schema = resultSchema(reader.columnNames().map(sparkColumnName), reader.columnTypes());
    if ("unsupported" in schema) {
      const { name, type } = schema.unsupported;
      throw sqlError("SqlAnalysisError", `column ${name} is of DuckDB type ${type}, which has no Spark type here: cast it (to string, say)`, query, views);
    }
    const columns = reader.getColumns();
    const readers = schema.fields.map((f) => valueReader(f.dataType));
    const converted = columns.map((values, c) => (readers[c] ? values.map(readers[c]) : values));
    const rows: Row[] = Array.from({ length: reader.currentRowCount }, (_, r) => converted.map((column) => column[r]));
    return { schema, rows };
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

/**
 * Rows per data chunk: DuckDB's vector size (STANDARD_VECTOR_SIZE), the most one chunk holds. A view is appended
 * a chunk at a time, column by column, rather than a native call per value and row: a 10,000-row view of three
 * columns loads in about half the time (`npm run bench -- sql`).
 */
const CHUNK_ROWS = 2048;

async function loadTable(connection: DuckDBConnection, name: string, table: Table, query: string, views: ReadonlyMap<string, Table>): Promise<void> {
  const fields = table.schema.fields;
  const types = fields.map((f) => duckDbTypeOf(f.dataType));
  const columns = fields.map((f, c) => `${identifier(f.name)} ${types[c]!.toString()}`);
  await connection.run(`CREATE OR REPLACE TABLE ${identifier(name)} (${columns.join(", ")})`);
  const appender = await connection.createAppender(name);
  const converters = fields.map((f) => columnValue(f.dataType));
  try {
    const rows = table.rows;
    for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
      const end = Math.min(rows.length, start + CHUNK_ROWS);
      const chunk = DuckDBDataChunk.create(types, end - start);
      for (let c = 0; c < converters.length; c++) {
        const convert = converters[c]!;
        const values: DuckDBValue[] = [];
        for (let r = start; r < end; r++) {
          try {
            values.push(convert(rows[r]![c]));
          } catch (err) {
            const field = fields[c]!;
            const reason = `view ${name}, row ${r}, column ${field.name} (${field.dataType.kind}): ${(err as Error).message}`;
            throw sqlError("SqlViewInvalid", reason, query, views, undefined, err);
          }
        }
        chunk.setColumnValues(c, values);
      }
      appender.appendDataChunk(chunk);
    }
    appender.closeSync();
  } catch (err) {
    appender.clear();
    appender.closeSync();
    await connection.run(`DROP TABLE IF EXISTS ${identifier(name)}`);
    throw err;
  }
}

/** Spark's name for `count(*)` without an alias is `count(1)`; DuckDB's is `count_star()`. */
function sparkColumnName(name: string): string {
  return name === "count_star()" ? "count(1)" : name;
}

/** A name as a quoted SQL identifier (DuckDB, like Spark, still matches it case-insensitively). */
function identifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

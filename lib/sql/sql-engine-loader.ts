import { SqlError } from "../core/errors.js";
import type { SqlEngine } from "./sql-engine.js";

let engine: Promise<SqlEngine> | undefined;

/**
 * The process's SQL engine, DuckDB, loaded the first time a program calls `sql()`: importing DuckDB takes a few
 * hundred milliseconds and its native library is tens of megabytes, which a pipeline that never queries should
 * not pay (the Lambda bundle ships it only when the pipeline's code reaches this import: infra/bundling.ts).
 * One engine per process; each query brings the engine's tables in line with the views it is given, so
 * programs sharing it do not see each other's views.
 */
export function loadSqlEngine(): Promise<SqlEngine> {
  engine ??= import("./duckdb-engine.js").then(
    ({ DuckDbEngine }) => new DuckDbEngine(),
    (err: unknown) => {
      engine = undefined;
      throw missingEngine(err);
    },
  );
  return engine;
}

function missingEngine(err: unknown): unknown {
  const message = err instanceof Error ? err.message : String(err);
  if (!/@duckdb\/node-(api|bindings)/.test(message)) return err;
  return new SqlError(
    "SqlEngineMissing",
    `spark.sql runs on DuckDB, which could not be loaded (${message.split("\n")[0]}): run \`npm install @duckdb/node-api\` in the project that runs the pipeline (in a Lambda function: SparklessPipeline ships DuckDB when the pipeline's own code calls \`.sql(\`; if the call is in a dependency, set \`bundling: { sql: true }\`)`,
    {},
    { cause: err },
  );
}

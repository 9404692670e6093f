// Placeholder on the `df` branch so that spark.sql() typechecks: the SQL engine's branch provides the real
// loader (DuckDB, loaded lazily). Replaced at merge.
import { IllegalStateError } from "../core/errors.js";
import type { SqlEngine } from "./sql-engine.js";

export async function loadSqlEngine(): Promise<SqlEngine> {
  throw new IllegalStateError("SqlEngineUnavailable", "spark.sql() needs the SQL engine, which this build does not include");
}

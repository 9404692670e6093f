import type { Table } from "./data-types.js";

/**
 * Runs `spark.sql(...)` over the batch's temporary views. An implementation is loaded only when a program first
 * calls `sql()`, so pipelines that never query pay nothing for it (bundle size, cold start).
 */
export interface SqlEngine {
  /**
   * The rows `query` gives over `views` (view name → table), with Spark's types in the result's schema. A
   * syntax error, an unknown table or column, or a type mismatch rejects with a `SqlError` that names the
   * query, the position and what is available.
   */
  query(query: string, views: ReadonlyMap<string, Table>): Promise<Table>;
  /** Frees what the engine holds; later queries open it again. */
  close(): Promise<void>;
}

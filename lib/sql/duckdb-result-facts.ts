/**
 * What Spark's analyzer says of a result column that DuckDB's result does not: whether it can be null, and the
 * int type Spark gives ranking functions (DuckDB types them BIGINT). Read from DuckDB's own parse of the query
 * (`json_serialize_sql`), top-level select list only; anything it cannot tell stays as DuckDB reports it
 * (nullable, DuckDB's type). Spark's rules, from its expressions' `nullable` and `dataType`:
 *
 * - `count(...)` is never null (Count.nullable = false);
 * - a literal is null only if it is NULL (Literal.nullable), and NULL is of type void (NullType);
 * - `row_number`, `rank`, `dense_rank`, `ntile` are IntegerType, `percent_rank`, `cume_dist` DoubleType, none
 *   nullable (RowNumberLike, RankLike);
 * - a column of a view, selected from that view alone (no join that could add nulls), is as nullable as the
 *   view's column — so a groupBy key keeps its input's nullability.
 */
import type { DataType, Table } from "./data-types.js";

export interface ColumnFacts {
  readonly nullable: boolean;
  /** Spark's type when it differs from what DuckDB's type maps to. */
  readonly dataType?: DataType;
}

type Node = { class?: string; type?: string; function_name?: string; column_names?: string[]; value?: { is_null?: boolean }; table_name?: string };

const INTEGER: DataType = { kind: "integer" };
const RANKING: Record<string, DataType | undefined> = {
  WINDOW_ROW_NUMBER: INTEGER,
  WINDOW_RANK: INTEGER,
  WINDOW_RANK_DENSE: INTEGER,
  WINDOW_NTILE: INTEGER,
  WINDOW_PERCENT_RANK: undefined,
  WINDOW_CUME_DIST: undefined,
};

/** One entry per result column, or undefined when the parse does not map onto the columns (a `*`, a UNION …). */
export function resultFacts(parsed: unknown, views: ReadonlyMap<string, Table>): ColumnFacts[] | undefined {
  const statement = (parsed as { error?: boolean; statements?: Array<{ node?: { type?: string; select_list?: Node[]; from_table?: Node } }> })?.statements?.[0]?.node;
  if (!statement || statement.type !== "SELECT_NODE" || !statement.select_list) return undefined;
  const list = statement.select_list;
  if (list.some((e) => e.class === "STAR")) return undefined;
  const from = statement.from_table;
  const view = from?.type === "BASE_TABLE" ? [...views].find(([name]) => name.toLowerCase() === from.table_name?.toLowerCase())?.[1] : undefined;
  return list.map((e): ColumnFacts => {
    if (e.class === "WINDOW" && e.type && e.type in RANKING) return { nullable: false, ...(RANKING[e.type] ? { dataType: RANKING[e.type] } : {}) };
    if (e.class === "FUNCTION" && (e.function_name === "count" || e.function_name === "count_star")) return { nullable: false };
    // Spark types a NULL literal `void` (NullType); DuckDB gives it INTEGER.
    if (e.class === "CONSTANT") return e.value?.is_null === false ? { nullable: false } : { nullable: true, dataType: { kind: "null" } };
    if (e.class === "COLUMN_REF" && view && e.column_names?.length === 1) {
      const field = view.schema.fields.find((f) => f.name.toLowerCase() === e.column_names![0]!.toLowerCase());
      return { nullable: field ? field.nullable : true };
    }
    return { nullable: true };
  });
}

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
 *   view's column — so a groupBy key keeps its input's nullability;
 * - arithmetic, casts, comparisons, AND/OR/NOT, IS [NOT] NULL, coalesce and CASE over what is known, by the
 *   rules the DataFrame API applies too (nullability.ts).
 */
import type { DataType, Table } from "./data-types.js";
import { arithmeticDecimalType, decimalForType, literalDecimalType, MAX_PRECISION, type DecimalType } from "./decimal.js";
import { arithmeticNullable, castNullable, type ArithmeticOp } from "./nullability.js";

export interface ColumnFacts {
  readonly nullable: boolean;
  /** Spark's type when it differs from what DuckDB's type maps to. */
  readonly dataType?: DataType;
  /**
   * Spark's decimal type of the column, as DecimalPrecision gives it. DuckDB's rules differ (a product is a digit
   * narrower, `0.1` a digit wider, a sum decimal(38,s)): where DuckDB's result is a decimal of the same scale —
   * so the same digits — the column takes Spark's precision.
   */
  readonly decimal?: DecimalType;
}

type Node = {
  class?: string;
  type?: string;
  function_name?: string;
  column_names?: string[];
  value?: { is_null?: boolean; type?: DuckDbTypeJson; value?: unknown };
  table_name?: string;
  children?: Node[];
  child?: Node;
  left?: Node;
  right?: Node;
  cast_type?: DuckDbTypeJson;
  try_cast?: boolean;
  case_checks?: Array<{ when_expr?: Node; then_expr?: Node }>;
  else_expr?: Node;
};
type DuckDbTypeJson = { id?: string; type_info?: { width?: number; scale?: number } | null };

/** What is known of an expression: whether it can be null, and its Spark type when that is known. */
interface Known {
  readonly nullable: boolean;
  readonly type?: DataType;
  /** An integer literal's decimal in decimal arithmetic: only as many digits as it has (DecimalPrecision). */
  readonly literalDecimal?: DecimalType;
}

const INTEGER: DataType = { kind: "integer" };
const RANKING: Record<string, DataType | undefined> = {
  WINDOW_ROW_NUMBER: INTEGER,
  WINDOW_RANK: INTEGER,
  WINDOW_RANK_DENSE: INTEGER,
  WINDOW_NTILE: INTEGER,
  WINDOW_PERCENT_RANK: undefined,
  WINDOW_CUME_DIST: undefined,
};
const ARITHMETIC: ReadonlySet<string> = new Set(["+", "-", "*", "/", "%"]);
/** Comparisons that are null when a side is; IS [NOT] DISTINCT FROM (Spark's `<=>`) never is. */
const NULL_SAFE_COMPARISONS: ReadonlySet<string> = new Set(["COMPARE_DISTINCT_FROM", "COMPARE_NOT_DISTINCT_FROM"]);
const UNKNOWN: Known = { nullable: true };

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
    // Spark types a NULL literal `void` (NullType); DuckDB gives it INTEGER.
    if (e.class === "CONSTANT" && e.value?.is_null !== false) return { nullable: true, dataType: { kind: "null" } };
    const k = known(e, view);
    return { nullable: k.nullable, ...(k.type?.kind === "decimal" ? { decimal: k.type } : {}) };
  });
}

/**
 * An expression's nullability by Spark's rules, from its children's. A column of the one view the query reads
 * (no join that could add nulls) is as nullable as the view's; what this does not know is nullable.
 */
function known(e: Node, view: Table | undefined): Known {
  switch (e.class) {
    case "CONSTANT": {
      const nullable = e.value?.is_null !== false;
      const type = sparkTypeOf(e.value?.type);
      const value = e.value?.value;
      if (nullable || (typeof value !== "number" && typeof value !== "string")) return { nullable, type };
      // DuckDB gives a decimal literal's unscaled digits, and types `0.1` decimal(2,1); Spark, decimal(1,1).
      if (type?.kind === "decimal") return { nullable, type: literalDecimalType({ unscaled: BigInt(value), scale: type.scale }) };
      if (type?.kind === "integer" || type?.kind === "long") return { nullable, type, literalDecimal: literalDecimalType({ unscaled: BigInt(value), scale: 0 }) };
      return { nullable, type };
    }
    case "COLUMN_REF": {
      if (!view || e.column_names?.length !== 1) return UNKNOWN;
      const field = view.schema.fields.find((f) => f.name.toLowerCase() === e.column_names![0]!.toLowerCase());
      return field ? { nullable: field.nullable, type: field.dataType } : UNKNOWN;
    }
    case "WINDOW":
      // A window function is as nullable as the function: ranking and count never are.
      if (e.type && e.type in RANKING) return { nullable: false, type: RANKING[e.type] ?? { kind: "double" } };
      if (e.function_name === "count" || e.function_name === "count_star") return { nullable: false, type: { kind: "long" } };
      return e.function_name === "sum" && e.children?.length === 1 ? sumOf(known(e.children[0]!, view)) : UNKNOWN;
    case "FUNCTION": {
      const name = e.function_name ?? "";
      const args = e.children ?? [];
      if (name === "count" || name === "count_star") return { nullable: false, type: { kind: "long" } };
      if (ARITHMETIC.has(name) && args.length === 2) {
        const [l, r] = [known(args[0]!, view), known(args[1]!, view)];
        const type = arithmeticType(name as ArithmeticOp, l, r);
        // Decimal arithmetic may overflow to null; so may an operand whose type is not known here.
        return { nullable: arithmeticNullable(name as ArithmeticOp, l.nullable, r.nullable, type === undefined || type.kind === "decimal"), ...(type ? { type } : {}) };
      }
      if (name === "-" && args.length === 1) return known(args[0]!, view);
      if (name === "sum" && args.length === 1) return sumOf(known(args[0]!, view));
      return UNKNOWN;
    }
    case "CAST": {
      if (e.try_cast || !e.child) return UNKNOWN;
      const child = known(e.child, view);
      const to = sparkTypeOf(e.cast_type);
      // DuckDB parses TRUE and FALSE as CAST('t' AS BOOLEAN): a literal, never null.
      if (e.child.class === "CONSTANT" && !child.nullable && to?.kind === "boolean" && child.type?.kind === "string") return { nullable: false, type: to };
      return child.type && to ? { nullable: castNullable(child.type, to, child.nullable), type: to } : UNKNOWN;
    }
    case "COMPARISON":
      if (NULL_SAFE_COMPARISONS.has(e.type ?? "")) return { nullable: false };
      return { nullable: !e.left || !e.right || known(e.left, view).nullable || known(e.right, view).nullable };
    case "CONJUNCTION":
      return { nullable: (e.children ?? []).some((c) => known(c, view).nullable) };
    case "OPERATOR":
      if (e.type === "OPERATOR_IS_NULL" || e.type === "OPERATOR_IS_NOT_NULL") return { nullable: false };
      if (e.type === "OPERATOR_NOT" && e.children?.length === 1) return { nullable: known(e.children[0]!, view).nullable };
      // Coalesce is null only when every argument can be.
      if (e.type === "OPERATOR_COALESCE") return { nullable: (e.children ?? []).every((c) => known(c, view).nullable) };
      return UNKNOWN;
    case "CASE": {
      // CaseWhen: null when no branch matches and there is no ELSE, or when a value that can be chosen is.
      const values = [...(e.case_checks ?? []).map((c) => c.then_expr), e.else_expr];
      return { nullable: values.some((v) => !v || known(v, view).nullable) };
    }
    default:
      return UNKNOWN;
  }
}

/** Sum's type, for a decimal argument (Sum.resultType: decimal(p+10,s)); null for no rows or on overflow. */
function sumOf(arg: Known): Known {
  const t = arg.type;
  return t?.kind === "decimal" ? { nullable: true, type: { kind: "decimal", precision: Math.min(MAX_PRECISION, t.precision + 10), scale: t.scale } } : UNKNOWN;
}

/**
 * Spark's type of `l op r`: a double with anything numeric is a double; with a decimal, the decimal
 * DecimalPrecision gives (an int column widened to decimal(10,0), a bigint to decimal(20,0), an integer literal
 * to its digits); two ints an int, with a bigint a bigint, but a double for `/`. Undefined when a side's type is
 * not known.
 */
function arithmeticType(op: ArithmeticOp, l: Known, r: Known): DataType | undefined {
  if (!l.type || !r.type) return undefined;
  const kinds = new Set([l.type.kind, r.type.kind]);
  if ([...kinds].some((k) => k !== "integer" && k !== "long" && k !== "double" && k !== "decimal")) return undefined;
  if (kinds.has("double")) return { kind: "double" };
  if (kinds.has("decimal")) {
    const [a, b] = [l, r].map((side) => (side.type!.kind === "decimal" ? (side.type as DecimalType) : (side.literalDecimal ?? decimalForType(side.type!)!)));
    return arithmeticDecimalType(op, a!, b!);
  }
  if (op === "/") return { kind: "double" };
  return kinds.has("long") ? { kind: "long" } : INTEGER;
}

/** DuckDB's type of a literal or a cast as Spark's, for the types a cast's nullability depends on. */
function sparkTypeOf(t: DuckDbTypeJson | undefined): DataType | undefined {
  switch (t?.id) {
    case "VARCHAR":
      return { kind: "string" };
    case "INTEGER":
      return INTEGER;
    case "BIGINT":
      return { kind: "long" };
    case "DOUBLE":
      return { kind: "double" };
    case "BOOLEAN":
      return { kind: "boolean" };
    case "DATE":
      return { kind: "date" };
    case "TIMESTAMP":
      return { kind: "timestamp" };
    case "DECIMAL":
      return t.type_info?.width !== undefined ? { kind: "decimal", precision: t.type_info.width, scale: t.type_info.scale ?? 0 } : undefined;
    default:
      return undefined;
  }
}

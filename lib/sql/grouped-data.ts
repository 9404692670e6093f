import { AnalysisError } from "../core/errors.js";
import { aggregate } from "./aggregate.js";
import { Column, toColumn, type AggregateName } from "./column.js";
import { DataFrame } from "./dataframe.js";
import type { Bound } from "./resolve.js";
import { isNumeric, sqlTypeName } from "./types.js";

const BY_NAME: Record<string, AggregateName> = { count: "count", sum: "sum", avg: "avg", mean: "avg", average: "avg", min: "min", max: "max" };

/**
 * A DataFrame grouped by some columns (Spark's `RelationalGroupedDataset`), waiting for its aggregates:
 * `agg(count("*"), avg("age"))`, `agg({ age: "max" })`, or a shortcut — `count()`, `sum("x")`, `avg()` … The
 * result has the grouping columns, then one column per aggregate, one row per group in the order groups
 * first appear (Spark gives no order: sort the result to show it in one).
 */
export class GroupedData {
  /** @internal */
  constructor(
    private readonly df: DataFrame,
    private readonly keys: readonly Bound[],
  ) {}

  /** The aggregates given as Columns, or as `{ column: "function" }` (Spark's `agg(Map("age" -> "max"))`). */
  agg(...exprs: Column[]): DataFrame;
  agg(exprs: Record<string, string>): DataFrame;
  agg(...args: Array<Column | Record<string, string>>): DataFrame {
    const columns = args.flatMap((a) =>
      a instanceof Column
        ? [a]
        : Object.entries(a).map(([name, fn]) => {
            const f = BY_NAME[fn.toLowerCase()];
            if (!f) throw new AnalysisError("UnresolvedRoutine", `[UNRESOLVED_ROUTINE] Cannot resolve function \`${fn}\`: use one of ${Object.keys(BY_NAME).join(", ")}.`, { errorClass: "UNRESOLVED_ROUTINE" });
            return new Column({ kind: "aggregate", fn: f, child: name === "*" ? "*" : toColumn(name).expr, distinct: false });
          }),
    );
    const out = aggregate(this.df.attrs, this.df.source, this.keys, columns.map((c) => c.expr));
    return new DataFrame(this.df.sparkSession, out.attrs, out.rows);
  }

  /** Rows per group, in a column named `count`. */
  count(): DataFrame {
    return this.agg(new Column({ kind: "aggregate", fn: "count", child: "*", distinct: false }).alias("count"));
  }

  sum(...cols: string[]): DataFrame {
    return this.numeric("sum", cols);
  }

  avg(...cols: string[]): DataFrame {
    return this.numeric("avg", cols);
  }

  mean(...cols: string[]): DataFrame {
    return this.numeric("avg", cols);
  }

  min(...cols: string[]): DataFrame {
    return this.numeric("min", cols);
  }

  max(...cols: string[]): DataFrame {
    return this.numeric("max", cols);
  }

  /** The shortcut aggregates: over the numeric columns named, or over every numeric column when none are. */
  private numeric(fn: AggregateName, cols: string[]): DataFrame {
    const attrs = this.df.attrs;
    const names =
      cols.length > 0
        ? cols.map((c) => {
            const a = attrs.find((x) => x.name.toLowerCase() === c.toLowerCase());
            if (a && !isNumeric(a.dataType)) {
              throw new AnalysisError("NotNumericColumn", `"${c}" is not a numeric column (it is ${sqlTypeName(a.dataType)}). Aggregation function can only be applied on a numeric column.`, {
                errorClass: "NOT_NUMERIC_COLUMN",
                column: c,
              });
            }
            return c;
          })
        : attrs.filter((a) => isNumeric(a.dataType)).map((a) => a.name);
    return this.agg(...names.map((n) => new Column({ kind: "aggregate", fn, child: toColumn(n).expr, distinct: false })));
  }
}

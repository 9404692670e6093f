import { AnalysisError } from "../core/errors.js";
import { exprString, type Expr } from "./column.js";
import type { DataType, Row } from "./data-types.js";
import { resolve, newId, unresolvedColumn, type Attribute, type Bound } from "./resolve.js";
import { DoubleType, LongType, isIntegral, isNumeric, sqlTypeName } from "./types.js";
import { compareNonNull, valueKey } from "./values.js";

/** One aggregate's running values, one slot per group. */
interface Accumulator {
  readonly type: DataType;
  readonly nullable: boolean;
  addGroup(): void;
  update(group: number, row: Row): void;
  result(group: number): unknown;
}

/**
 * Spark's hash aggregation: groups `rows` by `keys` (in the order groups first appear) and computes `aggregates`
 * per group; the result has the grouping columns, then the aggregates. No keys is one group over every row, even none (`count` 0, `sum` null). An aggregate may be an
 * expression of aggregates and grouping columns (`sum("a").divide(count("*"))`); a column that is neither is
 * Spark's MISSING_AGGREGATION error.
 */
export function aggregate(
  input: readonly Attribute[],
  rows: readonly Row[],
  keys: readonly Bound[],
  aggregates: readonly Expr[],
): { attrs: Attribute[]; rows: Row[] } {
  const keyAttrs: Attribute[] = keys.map((k) => ({ name: k.name, dataType: k.dataType, nullable: k.nullable, id: k.id ?? newId() }));
  const accumulators: Accumulator[] = [];
  const finals = aggregates.map((e) => {
    try {
      return resolve(e, {
        attrs: keyAttrs,
        aggregate: (call) => {
          const acc = accumulator(call, input);
          const slot = keys.length + accumulators.length;
          accumulators.push(acc);
          return { name: exprString(call), dataType: acc.type, nullable: acc.nullable, eval: (row) => row[slot] };
        },
      });
    } catch (err) {
      throw missingAggregation(err, e, input, keyAttrs);
    }
  });

  const groups: unknown[][] = [];
  const newGroup = (values: unknown[]): number => {
    groups.push(values);
    for (const a of accumulators) a.addGroup();
    return groups.length - 1;
  };
  if (keys.length === 0) {
    newGroup([]);
    for (const row of rows) for (const a of accumulators) a.update(0, row);
  } else {
    const index = new Map<unknown, number>();
    const evals = keys.map((k) => k.eval);
    const single = evals.length === 1 ? evals[0]! : undefined;
    for (const row of rows) {
      let group: number | undefined;
      if (single) {
        const v = single(row);
        const k = typeof v === "string" ? v : valueKey(v);
        group = index.get(k);
        if (group === undefined) index.set(k, (group = newGroup([v ?? null])));
      } else {
        const values = evals.map((f) => f(row) ?? null);
        const k = values.map((v) => String(valueKey(v)) + (v === null ? "\u0002" : typeof v)).join("\u0001");
        group = index.get(k);
        if (group === undefined) index.set(k, (group = newGroup(values)));
      }
      for (let a = 0; a < accumulators.length; a++) accumulators[a]!.update(group, row);
    }
  }
  const out: Row[] = groups.map((values, g) => {
    const partial = values.concat(accumulators.map((a) => a.result(g)));
    return values.concat(finals.map((f) => f.eval(partial)));
  });
  return { attrs: [...keyAttrs, ...finals.map((f) => ({ name: f.name, dataType: f.dataType, nullable: f.nullable, id: f.id ?? newId() }))], rows: out };
}

function missingAggregation(err: unknown, e: Expr, input: readonly Attribute[], keys: readonly Attribute[]): unknown {
  const name = err instanceof AnalysisError && err.code === "UnresolvedColumn" ? String(err.details.column) : undefined;
  if (name === undefined) return err;
  if (!input.some((a) => a.name.toLowerCase() === name.toLowerCase())) return unresolvedColumn(name, input);
  return new AnalysisError(
    "MissingAggregation",
    `[MISSING_AGGREGATION] The non-aggregating expression "${exprString(e)}" is based on columns which are not participating in the GROUP BY clause: add \`${name}\` to groupBy(), or wrap it in an aggregate such as first() or max(). Grouping columns: [${keys.map((k) => `\`${k.name}\``).join(", ")}].`,
    { errorClass: "MISSING_AGGREGATION", column: name },
  );
}

function accumulator(call: Extract<Expr, { kind: "aggregate" }>, input: readonly Attribute[]): Accumulator {
  if (call.child === "*") return new CountAll();
  const child = resolve(call.child, { attrs: input });
  const f = child.eval;
  const t = child.dataType;
  const requireNumeric = () => {
    if (!isNumeric(t) && t.kind !== "null") {
      throw new AnalysisError(
        "DatatypeMismatch",
        `[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve "${exprString(call)}" due to data type mismatch: the first parameter requires the "NUMERIC" type, however "${child.name}" has the type ${sqlTypeName(t)}.`,
        { errorClass: "DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE", column: child.name },
      );
    }
  };
  switch (call.fn) {
    case "count":
      return call.distinct ? new CountDistinct(f) : new Count(f);
    case "sum":
      requireNumeric();
      return new Sum(f, isIntegral(t) ? LongType : DoubleType);
    case "avg":
      requireNumeric();
      return new Avg(f);
    case "min":
      return new Extreme(f, t, -1);
    case "max":
      return new Extreme(f, t, 1);
  }
}

class CountAll implements Accumulator {
  readonly type = LongType;
  readonly nullable = false;
  private readonly counts: number[] = [];
  addGroup() {
    this.counts.push(0);
  }
  update(g: number) {
    this.counts[g]!++;
  }
  result(g: number) {
    return this.counts[g];
  }
}

class Count implements Accumulator {
  readonly type = LongType;
  readonly nullable = false;
  private readonly counts: number[] = [];
  constructor(private readonly f: (row: Row) => unknown) {}
  addGroup() {
    this.counts.push(0);
  }
  update(g: number, row: Row) {
    const v = this.f(row);
    if (v !== null && v !== undefined) this.counts[g]!++;
  }
  result(g: number) {
    return this.counts[g];
  }
}

class CountDistinct implements Accumulator {
  readonly type = LongType;
  readonly nullable = false;
  private readonly seen: Array<Set<unknown>> = [];
  constructor(private readonly f: (row: Row) => unknown) {}
  addGroup() {
    this.seen.push(new Set());
  }
  update(g: number, row: Row) {
    const v = this.f(row);
    if (v === null || v === undefined) return;
    this.seen[g]!.add(typeof v === "number" || typeof v === "string" ? v : valueKey(v));
  }
  result(g: number) {
    return this.seen[g]!.size;
  }
}

class Sum implements Accumulator {
  readonly nullable = true;
  private readonly sums: number[] = [];
  private readonly seen: boolean[] = [];
  constructor(
    private readonly f: (row: Row) => unknown,
    readonly type: DataType,
  ) {}
  addGroup() {
    this.sums.push(0);
    this.seen.push(false);
  }
  update(g: number, row: Row) {
    const v = this.f(row);
    if (v === null || v === undefined) return;
    this.sums[g]! += typeof v === "number" ? v : Number(v);
    this.seen[g] = true;
  }
  result(g: number) {
    return this.seen[g] ? this.sums[g] : null;
  }
}

class Avg implements Accumulator {
  readonly type = DoubleType;
  readonly nullable = true;
  private readonly sums: number[] = [];
  private readonly counts: number[] = [];
  constructor(private readonly f: (row: Row) => unknown) {}
  addGroup() {
    this.sums.push(0);
    this.counts.push(0);
  }
  update(g: number, row: Row) {
    const v = this.f(row);
    if (v === null || v === undefined) return;
    this.sums[g]! += typeof v === "number" ? v : Number(v);
    this.counts[g]!++;
  }
  result(g: number) {
    return this.counts[g] ? this.sums[g]! / this.counts[g]! : null;
  }
}

class Extreme implements Accumulator {
  readonly nullable = true;
  private readonly values: unknown[] = [];
  constructor(
    private readonly f: (row: Row) => unknown,
    readonly type: DataType,
    private readonly sign: 1 | -1,
  ) {}
  addGroup() {
    this.values.push(null);
  }
  update(g: number, row: Row) {
    const v = this.f(row);
    if (v === null || v === undefined) return;
    const cur = this.values[g];
    if (cur === null) this.values[g] = v;
    // Numbers (not NaN) order with < and >, as compareNonNull orders them; anything else goes through it.
    else if (typeof v === "number" && typeof cur === "number" && v === v && cur === cur) {
      if (this.sign > 0 ? (v as number) > (cur as number) : (v as number) < (cur as number)) this.values[g] = v;
    } else if (compareNonNull(v, cur, this.type) * this.sign > 0) this.values[g] = v;
  }
  result(g: number) {
    return this.values[g];
  }
}

import { AnalysisError } from "../core/errors.js";
import { exprString, type Expr } from "./column.js";
import type { DataType, Row } from "./data-types.js";
import { DecimalType, arithmeticDecimalType, decimalForType, divideHalfUp, pow10, toDecimalValue, unscaledAt, type DecimalType as Decimal } from "./decimal.js";
import { resolve, newId, unresolvedColumn, type Attribute, type Bound } from "./resolve.js";
import { DoubleType, LongType, isIntegral, isNumeric, sqlTypeName } from "./types.js";
import { compareNonNull, tupleKey, valueKey } from "./values.js";

/**
 * One aggregate, folding rows in a chunk at a time: `run` is one tight loop over a chunk of an input column,
 * which costs far less than a call per row and aggregate (`npm run bench -- dataframe`).
 */
interface Accumulator {
  readonly type: DataType;
  readonly nullable: boolean;
  /** Makes room for groups up to `groupCount` (new groups start empty). */
  grow(groupCount: number): void;
  /** Folds `length` rows in: row `i` of the chunk is in group `groups[i]`; `values(b)` is the chunk's column `b`. */
  run(groups: Int32Array, length: number, values: (b: Bound) => readonly unknown[]): void;
  result(group: number): unknown;
}

/**
 * Rows per chunk: small enough that a chunk's columns stay in cache and are allocated once (a million-row
 * column allocated whole costs more than the aggregation on a VM), large enough that calls per chunk vanish.
 */
const CHUNK = 2048;

/**
 * Spark's hash aggregation: groups `rows` by `keys` (in the order groups first appear) and computes `aggregates`
 * per group; the result has the grouping columns, then the aggregates. No keys is one group over every row, even
 * none (`count` 0, `sum` null). An aggregate may be an expression of aggregates and grouping columns
 * (`sum("a").divide(count("*"))`); a column that is neither is Spark's MISSING_AGGREGATION error.
 *
 * Evaluation is vectorised, as Spark's and DuckDB's are: for each chunk of rows, one loop gives each row its
 * group, each input column is read once into a buffer (a column several aggregates use is shared), and each
 * aggregate folds the buffer in its own loop.
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

  const n = rows.length;
  const ids = new Int32Array(CHUNK);
  const groups: unknown[][] = keys.length === 0 ? [[]] : [];
  const index = new Map<unknown, number>();
  const evals = keys.map((k) => k.eval);
  const single = evals.length === 1 ? evals[0]! : undefined;
  const buffers = new Map<unknown, { chunk: number; values: unknown[] }>();
  let chunk = 0;
  let start = 0;
  let end = 0;
  const values = (b: Bound): readonly unknown[] => {
    // Shared by id: a column read by several aggregates (sum, min, max of one column) is read once per chunk.
    const key = b.id ?? b;
    let buffer = buffers.get(key);
    if (!buffer) buffers.set(key, (buffer = { chunk: -1, values: new Array<unknown>(CHUNK).fill(null) }));
    if (buffer.chunk !== chunk) {
      const f = b.eval;
      const out = buffer.values;
      for (let i = start; i < end; i++) out[i - start] = f(rows[i]!);
      buffer.chunk = chunk;
    }
    return buffer.values;
  };
  for (; start < n; chunk++, start = end) {
    end = Math.min(n, start + CHUNK);
    if (keys.length > 0) {
      for (let i = start; i < end; i++) {
        const row = rows[i]!;
        let group: number | undefined;
        if (single) {
          const v = single(row);
          const k = typeof v === "string" ? v : valueKey(v);
          group = index.get(k);
          if (group === undefined) {
            index.set(k, (group = groups.length));
            groups.push([v ?? null]);
          }
        } else {
          const keyValues = evals.map((f) => f(row) ?? null);
          const k = tupleKey(keyValues);
          group = index.get(k);
          if (group === undefined) {
            index.set(k, (group = groups.length));
            groups.push(keyValues);
          }
        }
        ids[i - start] = group;
      }
    }
    for (const a of accumulators) {
      a.grow(groups.length);
      a.run(ids, end - start, values);
    }
  }
  // No rows and no keys is still one group: count 0, sum null.
  for (const a of accumulators) a.grow(groups.length);
  const out: Row[] = groups.map((keyValues, g) => {
    const partial = keyValues.concat(accumulators.map((a) => a.result(g)));
    return keyValues.concat(finals.map((f) => f.eval(partial)));
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
      if (call.distinct) return new CountDistinct([child, ...(call.more ?? []).map((e) => resolve(e, { attrs: input }))]);
      return new Count(child);
    case "sum":
      requireNumeric();
      if (t.kind === "decimal") return new DecimalSum(child, t);
      return new Sum(child, isIntegral(t) ? LongType : DoubleType);
    case "avg":
      requireNumeric();
      if (t.kind === "decimal") return new DecimalSum(child, t, true);
      return new Sum(child, DoubleType, true);
    case "min":
      return new Extreme(child, -1);
    case "max":
      return new Extreme(child, 1);
  }
}

const isNull = (v: unknown) => v === null || v === undefined;

/** Per-group numbers, grown as groups appear (new groups start at `initial`). */
function grown(values: number[], groupCount: number, initial = 0): void {
  while (values.length < groupCount) values.push(initial);
}

class CountAll implements Accumulator {
  readonly type = LongType;
  readonly nullable = false;
  private readonly counts: number[] = [];
  grow(groupCount: number) {
    grown(this.counts, groupCount);
  }
  run(groups: Int32Array, length: number) {
    const counts = this.counts;
    if (counts.length === 1) counts[0]! += length;
    else for (let i = 0; i < length; i++) counts[groups[i]!]!++;
  }
  result(g: number) {
    return this.counts[g];
  }
}

class Count implements Accumulator {
  readonly type = LongType;
  readonly nullable = false;
  private readonly counts: number[] = [];
  constructor(private readonly child: Bound) {}
  grow(groupCount: number) {
    grown(this.counts, groupCount);
  }
  run(groups: Int32Array, length: number, values: (b: Bound) => readonly unknown[]) {
    const counts = this.counts;
    const vs = values(this.child);
    for (let i = 0; i < length; i++) {
      const v = vs[i];
      if (v !== null && v !== undefined) counts[groups[i]!]!++;
    }
  }
  result(g: number) {
    return this.counts[g];
  }
}

/** Spark's count(DISTINCT a, b, …): distinct tuples of the columns, a row with any of them null not counted. */
class CountDistinct implements Accumulator {
  readonly type = LongType;
  readonly nullable = false;
  private readonly seen: Array<Set<unknown>> = [];
  constructor(private readonly children: readonly Bound[]) {}
  grow(groupCount: number) {
    while (this.seen.length < groupCount) this.seen.push(new Set());
  }
  run(groups: Int32Array, length: number, values: (b: Bound) => readonly unknown[]) {
    const seen = this.seen;
    const columns = this.children.map(values);
    if (columns.length === 1) {
      const vs = columns[0]!;
      for (let i = 0; i < length; i++) {
        const v = vs[i];
        if (v === null || v === undefined) continue;
        seen[groups[i]!]!.add(typeof v === "number" || typeof v === "string" ? v : valueKey(v));
      }
      return;
    }
    for (let i = 0; i < length; i++) {
      const tuple = columns.map((c) => c[i]);
      if (tuple.some(isNull)) continue;
      seen[groups[i]!]!.add(tupleKey(tuple));
    }
  }
  result(g: number) {
    return this.seen[g]!.size;
  }
}

/** `sum` and `avg`: the sum and count of the non-null values (a group without any is null). */
class Sum implements Accumulator {
  readonly nullable = true;
  private readonly sums: number[] = [];
  private readonly counts: number[] = [];
  constructor(
    private readonly child: Bound,
    readonly type: DataType,
    private readonly mean = false,
  ) {}
  grow(groupCount: number) {
    grown(this.sums, groupCount);
    grown(this.counts, groupCount);
  }
  run(groups: Int32Array, length: number, values: (b: Bound) => readonly unknown[]) {
    const { sums, counts } = this;
    const vs = values(this.child);
    for (let i = 0; i < length; i++) {
      const v = vs[i];
      if (v === null || v === undefined) continue;
      const g = groups[i]!;
      sums[g]! += typeof v === "number" ? v : Number(v);
      counts[g]!++;
    }
  }
  result(g: number) {
    if (!this.counts[g]) return null;
    return this.mean ? this.sums[g]! / this.counts[g]! : this.sums[g];
  }
}

/**
 * `sum` and `avg` of a decimal(p,s), exact on the unscaled values. Spark's Sum is decimal(p+10,s), null when
 * the total overflows it (non-ANSI); Average divides that sum by the count as a decimal(20,0) — Divide's type
 * and HALF_UP rounding — then casts the quotient to decimal(p+4,s+4), rounding HALF_UP again.
 */
class DecimalSum implements Accumulator {
  readonly nullable = true;
  readonly type: Decimal;
  private readonly sumType: Decimal;
  private readonly sums: bigint[] = [];
  private readonly counts: number[] = [];
  constructor(
    private readonly child: Bound,
    private readonly input: Decimal,
    private readonly mean = false,
  ) {
    const bounded = (p: number, s: number) => DecimalType(Math.min(38, p), Math.min(38, s));
    this.sumType = bounded(input.precision + 10, input.scale);
    this.type = mean ? bounded(input.precision + 4, input.scale + 4) : this.sumType;
  }
  grow(groupCount: number) {
    while (this.sums.length < groupCount) this.sums.push(0n);
    grown(this.counts, groupCount);
  }
  run(groups: Int32Array, length: number, values: (b: Bound) => readonly unknown[]) {
    const { sums, counts } = this;
    const scale = this.input.scale;
    const vs = values(this.child);
    for (let i = 0; i < length; i++) {
      const v = vs[i];
      if (v === null || v === undefined) continue;
      const g = groups[i]!;
      sums[g]! += unscaledAt(v, scale);
      counts[g]!++;
    }
  }
  result(g: number) {
    const count = this.counts[g]!;
    if (!count) return null;
    const sum = this.sums[g]!;
    const scale = this.input.scale;
    const total = toDecimalValue(sum, scale, this.sumType);
    if (!this.mean || total === null) return total;
    const divide = arithmeticDecimalType("/", this.sumType, decimalForType({ kind: "long" })!);
    const quotient = divideHalfUp(sum * pow10(divide.scale - scale), BigInt(count));
    if (toDecimalValue(quotient, divide.scale, divide) === null) return null;
    return toDecimalValue(quotient, divide.scale, this.type);
  }
}

class Extreme implements Accumulator {
  readonly nullable = true;
  readonly type: DataType;
  private readonly best: unknown[] = [];
  constructor(
    private readonly child: Bound,
    private readonly sign: 1 | -1,
  ) {
    this.type = child.dataType;
  }
  grow(groupCount: number) {
    while (this.best.length < groupCount) this.best.push(null);
  }
  run(groups: Int32Array, length: number, values: (b: Bound) => readonly unknown[]) {
    const best = this.best;
    const vs = values(this.child);
    const max = this.sign > 0;
    for (let i = 0; i < length; i++) {
      const v = vs[i];
      if (v === null || v === undefined) continue;
      const g = groups[i]!;
      const cur = best[g];
      if (cur === null) best[g] = v;
      // Numbers (not NaN) order with < and >, as compareNonNull orders them; anything else goes through it.
      else if (typeof v === "number" && typeof cur === "number" && v === v && cur === cur) {
        if (max ? v > cur : v < cur) best[g] = v;
      } else if (compareNonNull(v, cur, this.type) * this.sign > 0) best[g] = v;
    }
  }
  result(g: number) {
    return this.best[g];
  }
}

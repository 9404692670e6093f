import { AnalysisError } from "../core/errors.js";
import { Column, type Expr } from "./column.js";
import type { Row } from "./data-types.js";
import type { DataFrame } from "./dataframe.js";
import { resolve, resolveName, type Attribute } from "./resolve.js";
import { BooleanType, isNumeric, sameType, sqlTypeName } from "./types.js";
import { valueKey } from "./values.js";

export type JoinType = "inner" | "left" | "right" | "full" | "left_semi" | "left_anti";

/**
 * The rows of a join, in left order (each left row with its matches in right order), then, for right and
 * full joins, the right rows nothing matched. Equality conditions (on names, or `a.equalTo(b)` between the two
 * sides, joined by `and`) use a hash table; any other condition compares every pair.
 */
export function joinRows(left: DataFrame, right: DataFrame, on: string | string[] | Column | undefined, how: JoinType): { attrs: Attribute[]; rows: Row[] } {
  if (on === undefined) return conditionJoin(left, right, undefined, how);
  if (on instanceof Column) return conditionJoin(left, right, on.expr, how);
  return usingJoin(left, right, typeof on === "string" ? [on] : on, how);
}

const nullable = (a: Attribute, yes: boolean): Attribute => (yes ? { ...a, nullable: true } : a);

/** A join on column names: each appears once, first (from the left, from the right for a right join, the first non-null for a full one). */
function usingJoin(left: DataFrame, right: DataFrame, names: string[], how: JoinType): { attrs: Attribute[]; rows: Row[] } {
  const side = (df: DataFrame, which: string) =>
    names.map((n) => {
      const i = df.attrs.findIndex((a) => a.name.toLowerCase() === n.toLowerCase());
      if (i < 0) {
        throw new AnalysisError(
          "UnresolvedUsingColumnForJoin",
          `[UNRESOLVED_USING_COLUMN_FOR_JOIN] USING column \`${n}\` cannot be resolved on the ${which} side of the join. The ${which}-side columns: [${df.attrs.map((a) => `\`${a.name}\``).join(", ")}].`,
          { errorClass: "UNRESOLVED_USING_COLUMN_FOR_JOIN", column: n, side: which, available: df.attrs.map((a) => a.name) },
        );
      }
      return i;
    });
  const lk = side(left, "left");
  const rk = side(right, "right");
  const lRest = left.attrs.map((_, i) => i).filter((i) => !lk.includes(i));
  const rRest = right.attrs.map((_, i) => i).filter((i) => !rk.includes(i));
  const keyOf = (row: Row, idx: number[]) => compositeKey(idx.map((i) => row[i]));
  const matches = hashMatches(left.data, right.data, (r) => keyOf(r, lk), (r) => keyOf(r, rk));

  const keyAttrs = lk.map((li, k) => {
    const l = left.attrs[li]!;
    const r = right.attrs[rk[k]!]!;
    if (how === "right") return r;
    if (how === "full") return { ...l, nullable: l.nullable || r.nullable };
    return l;
  });
  if (how === "left_semi" || how === "left_anti") {
    const keep = how === "left_semi";
    return {
      attrs: [...keyAttrs, ...lRest.map((i) => left.attrs[i]!)],
      rows: left.data.filter((_, i) => (matches.byLeft[i]!.length > 0) === keep).map((row) => [...lk.map((i) => row[i]), ...lRest.map((i) => row[i])]),
    };
  }
  const attrs = [
    ...keyAttrs,
    ...lRest.map((i) => nullable(left.attrs[i]!, how === "right" || how === "full")),
    ...rRest.map((i) => nullable(right.attrs[i]!, how === "left" || how === "full")),
  ];
  const nulls = (n: number) => new Array<unknown>(n).fill(null);
  const rows: Row[] = [];
  left.data.forEach((l, li) => {
    const ms = matches.byLeft[li]!;
    for (const ri of ms) {
      const r = right.data[ri]!;
      const keys = how === "right" ? rk.map((i) => r[i]) : lk.map((i) => l[i]);
      rows.push([...keys, ...lRest.map((i) => l[i]), ...rRest.map((i) => r[i])]);
    }
    if (ms.length === 0 && (how === "left" || how === "full")) rows.push([...lk.map((i) => l[i]), ...lRest.map((i) => l[i]), ...nulls(rRest.length)]);
  });
  if (how === "right" || how === "full") {
    right.data.forEach((r, ri) => {
      if (!matches.matchedRight[ri]) rows.push([...rk.map((i) => r[i]), ...nulls(lRest.length), ...rRest.map((i) => r[i])]);
    });
  }
  return { attrs, rows };
}

/** A join on a condition (or none): every column of both sides, left then right. */
function conditionJoin(left: DataFrame, right: DataFrame, condition: Expr | undefined, how: JoinType): { attrs: Attribute[]; rows: Row[] } {
  const both = [...left.attrs, ...right.attrs];
  const lw = left.attrs.length;
  const rw = right.attrs.length;
  let byLeft: number[][];
  let matchedRight: boolean[];
  const equi = condition && equiKeys(condition, left.attrs, right.attrs);
  if (equi) {
    const m = hashMatches(left.data, right.data, (r) => compositeKey(equi.left.map((f) => f(r))), (r) => compositeKey(equi.right.map((f) => f(r))));
    byLeft = m.byLeft;
    matchedRight = m.matchedRight;
  } else {
    let test: (row: Row) => unknown = () => true;
    if (condition) {
      const b = resolve(condition, { attrs: both });
      if (b.dataType.kind !== BooleanType.kind) {
        throw new AnalysisError("JoinConditionNotBoolean", `[JOIN_CONDITION_IS_NOT_BOOLEAN_TYPE] The join condition \`${b.name}\` has the invalid type ${sqlTypeName(b.dataType)}, expected "BOOLEAN".`, {
          errorClass: "JOIN_CONDITION_IS_NOT_BOOLEAN_TYPE",
        });
      }
      test = b.eval;
    }
    matchedRight = new Array<boolean>(right.data.length).fill(false);
    byLeft = left.data.map((l) => {
      const out: number[] = [];
      right.data.forEach((r, ri) => {
        if (test([...l, ...r]) === true) {
          out.push(ri);
          matchedRight[ri] = true;
        }
      });
      return out;
    });
  }
  if (how === "left_semi" || how === "left_anti") {
    const keep = how === "left_semi";
    return { attrs: [...left.attrs], rows: left.data.filter((_, i) => (byLeft[i]!.length > 0) === keep) };
  }
  const attrs = [
    ...left.attrs.map((a) => nullable(a, how === "right" || how === "full")),
    ...right.attrs.map((a) => nullable(a, how === "left" || how === "full")),
  ];
  const rows: Row[] = [];
  left.data.forEach((l, li) => {
    for (const ri of byLeft[li]!) rows.push([...l, ...right.data[ri]!]);
    if (byLeft[li]!.length === 0 && (how === "left" || how === "full")) rows.push([...l, ...new Array<unknown>(rw).fill(null)]);
  });
  if (how === "right" || how === "full") {
    right.data.forEach((r, ri) => {
      if (!matchedRight[ri]) rows.push([...new Array<unknown>(lw).fill(null), ...r]);
    });
  }
  return { attrs, rows };
}

/**
 * The key functions of a condition that is equalities between a left and a right expression, joined by
 * `and`; undefined for any other condition (which then runs on every pair).
 */
function equiKeys(e: Expr, left: readonly Attribute[], right: readonly Attribute[]): { left: Array<(r: Row) => unknown>; right: Array<(r: Row) => unknown> } | undefined {
  const parts: Expr[] = [];
  const split = (x: Expr): boolean => {
    if (x.kind === "logic" && x.op === "AND") return split(x.left) && split(x.right);
    if (x.kind === "compare" && x.op === "=") return parts.push(x), true;
    return false;
  };
  if (!split(e)) return undefined;
  const l: Array<(r: Row) => unknown> = [];
  const r: Array<(r: Row) => unknown> = [];
  for (const p of parts as Array<Extract<Expr, { kind: "compare" }>>) {
    let a = tryResolve(p.left, left);
    let b = tryResolve(p.right, right);
    if (!a || !b) {
      a = tryResolve(p.right, left);
      b = tryResolve(p.left, right);
    }
    // Keys of one kind only (numbers of any width are one): a string compared with a number converts, which
    // the full resolver handles.
    if (!a || !b || (a.dataType.kind !== b.dataType.kind && !(isNumeric(a.dataType) && isNumeric(b.dataType)))) return undefined;
    // A decimal's digits differ with its scale, and from a number's: keys of other types compare in the full resolver.
    if ((a.dataType.kind === "decimal" || b.dataType.kind === "decimal") && !sameType(a.dataType, b.dataType)) return undefined;
    // A name both sides have is ambiguous: the full resolver says so.
    if (refersToBoth(p, left, right)) return undefined;
    l.push(a.eval);
    r.push(b.eval);
  }
  return { left: l, right: r };
}

function tryResolve(e: Expr, attrs: readonly Attribute[]) {
  try {
    return resolve(e, { attrs });
  } catch {
    return undefined;
  }
}

function refersToBoth(e: Expr, left: readonly Attribute[], right: readonly Attribute[]): boolean {
  const names: string[] = [];
  const walk = (x: Expr): void => {
    if (x.kind === "name") names.push(x.name);
    for (const v of Object.values(x)) if (v && typeof v === "object" && "kind" in v) walk(v as Expr);
  };
  walk(e);
  return names.some((n) => {
    const has = (attrs: readonly Attribute[]) => {
      try {
        resolveName(n, attrs);
        return true;
      } catch {
        return false;
      }
    };
    return has(left) && has(right);
  });
}

/** Rows meet when their keys are equal and not null (SQL: null matches nothing). */
function hashMatches(lrows: readonly Row[], rrows: readonly Row[], lkey: (r: Row) => unknown, rkey: (r: Row) => unknown) {
  const index = new Map<unknown, number[]>();
  rrows.forEach((r, i) => {
    const k = rkey(r);
    if (k === NULL_KEY) return;
    const list = index.get(k);
    if (list) list.push(i);
    else index.set(k, [i]);
  });
  const matchedRight = new Array<boolean>(rrows.length).fill(false);
  const byLeft = lrows.map((l) => {
    const k = lkey(l);
    const found = k === NULL_KEY ? undefined : index.get(k);
    if (!found) return [];
    for (const i of found) matchedRight[i] = true;
    return found;
  });
  return { byLeft, matchedRight };
}

const NULL_KEY = Symbol("null key");

function compositeKey(values: unknown[]): unknown {
  if (values.some((v) => v === null || v === undefined)) return NULL_KEY;
  return values.length === 1 ? valueKey(values[0]) : values.map((v) => `${String(valueKey(v))}${typeof v}`).join("\u0001");
}

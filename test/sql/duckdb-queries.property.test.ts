/**
 * spark.sql over random tables gives the rows Spark's semantics give for the same question, computed here in
 * plain JavaScript: grouping with counts, sums, extremes and averages (nulls skipped), filters, inner and left
 * joins, HAVING with ORDER BY and LIMIT, and window functions.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { Row } from "../../lib/sql/data-types.js";
import type { SqlEngine } from "../../lib/sql/sql-engine.js";
import { loadSqlEngine } from "../../lib/sql/sql-engine-loader.js";
import { dims, dimTable, facts, factTable, type Dim, type Fact } from "./random-tables.js";

let engine: SqlEngine;
async function sql(query: string, f: Fact[], d: Dim[] = []): Promise<readonly Row[]> {
  engine ??= await loadSqlEngine();
  return (await engine.query(query, new Map([["t", factTable(f)], ["u", dimTable(d)]]))).rows;
}
afterAll(() => engine?.close());

/** Spark's ascending order: nulls first, then by value (strings by code point, as both engines compare them). */
function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return (a as number | string) < (b as number | string) ? -1 : 1;
}
const byColumns = (a: Row, b: Row) => a.reduce<number>((acc, x, i) => acc || compare(x, b[i]), 0);
const sorted = (rows: readonly Row[]) => [...rows].sort(byColumns);

function groupBy<T, K>(rows: T[], keyOf: (r: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const r of rows) groups.set(keyOf(r), [...(groups.get(keyOf(r)) ?? []), r]);
  return groups;
}
const present = (values: Array<number | null>) => values.filter((v): v is number => v !== null);
const sum = (values: Array<number | null>) => (present(values).length ? present(values).reduce((a, b) => a + b, 0) : null);

const RUNS = { numRuns: 60 };

describe("spark.sql agrees with Spark's semantics on random tables", () => {
  it("groups: count(*), count(v), sum, min, max and avg per key, nulls skipped and the null key a group", async () => {
    await fc.assert(
      fc.asyncProperty(facts, async (rows) => {
        const expected = [...groupBy(rows, (r) => r.k)].map(([k, g]) => {
          const vs = g.map((r) => r.v);
          const n = present(vs).length;
          return [k, g.length, n, sum(vs), n ? Math.min(...present(vs)) : null, n ? Math.max(...present(vs)) : null, n ? sum(vs)! / n : null];
        });
        const actual = await sql("SELECT k, count(*), count(v), sum(v), min(v), max(v), avg(v) FROM t GROUP BY k ORDER BY k", rows);
        expect(actual).toEqual(sorted(expected));
      }),
      RUNS,
    );
  });

  it("filters with WHERE, and a NULL comparison is not true", async () => {
    await fc.assert(
      fc.asyncProperty(facts, fc.integer({ min: -1000, max: 1000 }), async (rows, threshold) => {
        const expected = rows.filter((r) => r.v !== null && r.v > threshold && r.k !== null && r.k !== "a").map((r) => [r.id, r.k, r.v]);
        expect(await sql(`SELECT id, k, v FROM t WHERE v > ${threshold} AND k <> 'a' ORDER BY id`, rows)).toEqual(expected);
      }),
      RUNS,
    );
  });

  it("joins: inner and left outer, null keys matching nothing", async () => {
    await fc.assert(
      fc.asyncProperty(facts, dims, async (rows, ds) => {
        const match = (r: Fact) => ds.filter((d) => r.k !== null && d.k === r.k);
        const inner = rows.flatMap((r) => match(r).map((d) => [r.id, r.k, d.w]));
        const left = rows.flatMap((r) => (match(r).length ? match(r).map((d) => [r.id, r.k, d.w]) : [[r.id, r.k, null]]));
        expect(await sql("SELECT t.id, t.k, u.w FROM t JOIN u ON t.k = u.k ORDER BY t.id", rows, ds)).toEqual(inner);
        expect(await sql("SELECT t.id, t.k, u.w FROM t LEFT JOIN u ON t.k = u.k ORDER BY t.id", rows, ds)).toEqual(left);
      }),
      RUNS,
    );
  });

  it("HAVING, ORDER BY a descending aggregate (nulls last) and LIMIT", async () => {
    await fc.assert(
      fc.asyncProperty(facts, fc.integer({ min: 0, max: 4 }), async (rows, limit) => {
        const groups = [...groupBy(rows, (r) => r.k)].filter(([, g]) => g.length >= 2).map(([k, g]) => [k, sum(g.map((r) => r.v))] as Row);
        const expected = groups.sort((a, b) => -compare(a[1], b[1]) || compare(a[0], b[0])).slice(0, limit);
        expect(await sql(`SELECT k, sum(v) AS s FROM t GROUP BY k HAVING count(*) >= 2 ORDER BY s DESC, k LIMIT ${limit}`, rows)).toEqual(expected);
      }),
      RUNS,
    );
  });

  it("window functions: row_number, a running sum and lag within each key", async () => {
    await fc.assert(
      fc.asyncProperty(facts, async (rows) => {
        const expected: Row[] = [];
        for (const [, g] of groupBy(rows, (r) => r.k)) {
          let running: number | null = null;
          g.forEach((r, i) => {
            if (r.v !== null) running = (running ?? 0) + r.v;
            expected.push([r.id, i + 1, running, i > 0 ? g[i - 1]!.v : null]);
          });
        }
        const actual = await sql(
          "SELECT id, row_number() OVER w, sum(v) OVER (w ROWS UNBOUNDED PRECEDING), lag(v) OVER w FROM t WINDOW w AS (PARTITION BY k ORDER BY id) ORDER BY id",
          rows,
        );
        expect(actual).toEqual(sorted(expected));
      }),
      RUNS,
    );
  });
});

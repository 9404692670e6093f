/**
 * The random tables both property tests ask their questions of: facts `t(id, k, v)` with null keys and values,
 * and dimensions `u(k, w)` with unique keys, as fast-check arbitraries and as Tables (what a view holds).
 */
import fc from "fast-check";
import type { Table } from "../../lib/sql/data-types.js";

export type Fact = { id: number; k: string | null; v: number | null };
export type Dim = { k: string; w: number };

// "B" beside "b": string order and grouping must be case-sensitive in both engines.
const key = fc.constantFrom("a", "b", "c", "d", "B");

export const facts: fc.Arbitrary<Fact[]> = fc
  .array(fc.record({ k: fc.option(key, { freq: 5 }), v: fc.option(fc.integer({ min: -1000, max: 1000 }), { freq: 5 }) }), { maxLength: 40 })
  .map((rows) => rows.map((r, id) => ({ id, ...r })));

export const dims: fc.Arbitrary<Dim[]> = fc.uniqueArray(fc.record({ k: key, w: fc.integer({ min: 0, max: 9 }) }), { selector: (d) => d.k, maxLength: 5 });

const column = (name: string, kind: "string" | "integer") => ({ name, dataType: { kind }, nullable: true });

export const factTable = (rows: readonly Fact[]): Table => ({
  schema: { kind: "struct", fields: [column("id", "integer"), column("k", "string"), column("v", "integer")] },
  rows: rows.map((r) => [r.id, r.k, r.v]),
});

export const dimTable = (rows: readonly Dim[]): Table => ({
  schema: { kind: "struct", fields: [column("k", "string"), column("w", "integer")] },
  rows: rows.map((r) => [r.k, r.w]),
});

/**
 * The DuckDB engine as spark.sql uses it: views in, rows out with Spark's types and data-types.ts' values.
 * Expected types and values are Spark's (what `spark.sql(...).printSchema()` and `.collect()` give there).
 */
import { afterAll, describe, expect, it } from "vitest";
import { SqlError } from "../../lib/core/errors.js";
import type { DataType, StructField, Table } from "../../lib/sql/data-types.js";
import type { SqlEngine } from "../../lib/sql/sql-engine.js";
import { treeString } from "../../lib/sql/types.js";
import { loadSqlEngine } from "../../lib/sql/sql-engine-loader.js";

const t = {
  string: { kind: "string" },
  int: { kind: "integer" },
  long: { kind: "long" },
  double: { kind: "double" },
  boolean: { kind: "boolean" },
  date: { kind: "date" },
  timestamp: { kind: "timestamp" },
} as const satisfies Record<string, DataType>;

const field = (name: string, dataType: DataType): StructField => ({ name, dataType, nullable: true });
const table = (fields: StructField[], rows: unknown[][]): Table => ({ schema: { kind: "struct", fields }, rows });

const people = table(
  [field("name", t.string), field("dept", t.string), field("age", t.int), field("salary", t.double)],
  [
    ["ann", "eng", 34, 120.5],
    ["bob", "eng", 28, 99],
    ["cid", "ops", 45, 80],
    ["dee", "ops", null, 70],
    ["eve", null, 31, null],
  ],
);
const depts = table([field("dept", t.string), field("floor", t.int)], [["eng", 3], ["ops", 1], ["hr", 2]]);
const views = new Map([["people", people], ["depts", depts]]);

let engine: SqlEngine;
const sql = async (query: string, v: ReadonlyMap<string, Table> = views) => {
  engine ??= await loadSqlEngine();
  return engine.query(query, v);
};
afterAll(() => engine?.close());

describe("spark.sql on DuckDB", () => {
  it("is one engine per process, loaded on first use", async () => {
    expect(await loadSqlEngine()).toBe(await loadSqlEngine());
  });

  it("projects, filters, orders and limits", async () => {
    const result = await sql("SELECT name, age + 1 AS next FROM people WHERE age > 30 ORDER BY age DESC LIMIT 2");
    expect(result.schema.fields).toEqual([field("name", t.string), field("next", t.int)]);
    expect(result.rows).toEqual([["cid", 46], ["ann", 35]]);
  });

  it("groups with Spark's aggregate types: count is a long, sum of ints a long, avg a double", async () => {
    const result = await sql(
      "SELECT dept, count(*), sum(age) AS total, avg(salary) AS mean, max(name) AS last FROM people GROUP BY dept HAVING count(*) > 1 ORDER BY dept",
    );
    // count is never null in Spark (Count.nullable = false).
    expect(result.schema.fields).toEqual([field("dept", t.string), { ...field("count(1)", t.long), nullable: false }, field("total", t.long), field("mean", t.double), field("last", t.string)]);
    expect(result.rows).toEqual([["eng", 2, 62, 109.75, "bob"], ["ops", 2, 45, 75, "dee"]]);
  });

  it("joins views, with subqueries and CASE", async () => {
    const result = await sql(`
      SELECT p.name, d.floor, CASE WHEN p.age >= 40 THEN 'senior' WHEN p.age IS NULL THEN 'unknown' ELSE 'junior' END AS band
      FROM people p JOIN depts d ON p.dept = d.dept
      WHERE d.floor IN (SELECT floor FROM depts WHERE dept <> 'hr')
      ORDER BY p.name`);
    expect(result.rows).toEqual([["ann", 3, "junior"], ["bob", 3, "junior"], ["cid", 1, "senior"], ["dee", 1, "unknown"]]);
  });

  it("keeps nulls: in columns, in outer joins and in aggregates", async () => {
    const result = await sql("SELECT d.dept, count(p.name) AS n, sum(p.salary) AS paid FROM depts d LEFT JOIN people p ON p.dept = d.dept GROUP BY d.dept ORDER BY d.dept");
    expect(result.rows).toEqual([["eng", 2, 219.5], ["hr", 0, null], ["ops", 2, 150]]);
  });

  it("runs window functions", async () => {
    const result = await sql(`
      SELECT name, dept, salary,
        row_number() OVER (PARTITION BY dept ORDER BY salary DESC) AS rn,
        sum(salary) OVER (PARTITION BY dept) AS dept_total,
        lag(name) OVER (ORDER BY name) AS previous
      FROM people WHERE dept IS NOT NULL ORDER BY name`);
    expect(result.rows).toEqual([
      ["ann", "eng", 120.5, 1, 219.5, null],
      ["bob", "eng", 99, 2, 219.5, "ann"],
      ["cid", "ops", 80, 1, 150, "bob"],
      ["dee", "ops", 70, 2, 150, "cid"],
    ]);
    // Spark's RowNumber is IntegerType and never null; DuckDB's row_number is a BIGINT.
    expect(result.schema.fields.map((f) => [f.dataType.kind, f.nullable])).toEqual([
      ["string", true],
      ["string", true],
      ["double", true],
      ["integer", false],
      ["double", true],
      ["string", true],
    ]);
  });

  it("types and marks nullable as Spark's analyzer does: ranking functions, count, literals, a view's columns", async () => {
    const strict = table([{ name: "name", dataType: t.string, nullable: false }, field("age", t.int)], [["ann", 34], ["bob", 28], ["cid", 28]]);
    const v = new Map([["strict", strict], ["depts", depts]]);
    const ranked = await sql(
      `SELECT name, age, row_number() OVER w AS rn, rank() OVER w AS r, dense_rank() OVER w AS dr, ntile(2) OVER w AS nt,
         percent_rank() OVER w AS pr, cume_dist() OVER w AS cd, 1 AS one, 'x' AS s, NULL AS nothing, age / 2 AS x
       FROM strict WINDOW w AS (ORDER BY age) ORDER BY name`,
      v,
    );
    // Spark: name string not null (the view's), age int nullable, row_number/rank/dense_rank/ntile int and
    // percent_rank/cume_dist double, all not null; literals not null, NULL is void and nullable; arithmetic nullable.
    expect(treeString(ranked.schema)).toBe(
      [
        "root",
        " |-- name: string (nullable = false)",
        " |-- age: integer (nullable = true)",
        " |-- rn: integer (nullable = false)",
        " |-- r: integer (nullable = false)",
        " |-- dr: integer (nullable = false)",
        " |-- nt: integer (nullable = false)",
        " |-- pr: double (nullable = false)",
        " |-- cd: double (nullable = false)",
        " |-- one: integer (nullable = false)",
        " |-- s: string (nullable = false)",
        " |-- nothing: void (nullable = true)",
        " |-- x: double (nullable = true)",
        "",
      ].join("\n"),
    );
    expect(ranked.rows.map((r) => r.slice(2, 8))).toEqual([
      [3, 3, 2, 2, 1, 1],
      [1, 1, 1, 1, 0, 2 / 3],
      [2, 1, 1, 1, 0, 2 / 3],
    ]);
    const grouped = await sql("SELECT name, count(*), count(age) AS c, sum(age) AS s FROM strict GROUP BY name ORDER BY name", v);
    // A grouping key keeps its column's nullability; count is never null, sum may be.
    expect(grouped.schema.fields.map((f) => [f.name, f.dataType.kind, f.nullable])).toEqual([
      ["name", "string", false],
      ["count(1)", "long", false],
      ["c", "long", false],
      ["s", "long", true],
    ]);
    // Through an outer join a column can be null whatever its view says.
    const joined = await sql("SELECT s.name FROM depts d LEFT JOIN strict s ON d.dept = s.name", v);
    expect(joined.schema.fields[0]!.nullable).toBe(true);
  });

  it("carries nullability through arithmetic, casts, comparisons, logic, coalesce and CASE as Spark's analyzer does", async () => {
    const strict = table(
      [{ name: "id", dataType: t.int, nullable: false }, field("age", t.int), { name: "score", dataType: t.double, nullable: false }, { name: "code", dataType: t.string, nullable: false }],
      [[1, 34, 1.25, "7"]],
    );
    const result = await sql(
      `SELECT id + 1 AS a, id * age AS b, -id AS c, id / 2 AS d, id % 2 AS e,
         CAST(id AS BIGINT) AS f, CAST(id AS STRING) AS g, CAST(score AS INT) AS h, CAST(code AS INT) AS i, CAST(id AS DECIMAL(12,0)) AS j,
         id > 0 AS k, age > 0 AS l, age IS NULL AS m, id > 0 AND score > 0 AS n, NOT (id > 0) AS o, age IS NOT DISTINCT FROM id AS p,
         coalesce(age, id) AS q, coalesce(age, NULL) AS r, CASE WHEN age > 30 THEN id ELSE 0 END AS s, CASE WHEN age > 30 THEN id END AS u,
         TRUE AS v, id + 0.5 AS w, score * 2.0 AS x, count(*) OVER () + 1 AS y
       FROM strict`,
      new Map([["strict", strict]]),
    );
    // Spark 3.5 (non-ANSI): arithmetic is null when a side is, / and % always may be (by zero); a cast may be
    // null when its input is, and a string or a double to an int may be whatever the input (Cast.forceNullable).
    expect(Object.fromEntries(result.schema.fields.map((f) => [f.name, f.nullable]))).toEqual({
      a: false, b: true, c: false, d: true, e: true,
      f: false, g: false, h: true, i: true, j: false,
      k: false, l: true, m: false, n: false, o: false, p: false,
      q: false, r: true, s: false, u: true,
      v: false,
      // Decimal arithmetic is null on overflow (Spark 3.5, not ANSI); a double with a decimal is a double.
      w: true, x: false, y: false,
    });
    expect(result.rows).toEqual([[2, 34, -1, 0.5, 1, 1, "1", 1, 7, "1", true, true, false, true, false, false, 34, 34, 1, 1, true, "1.5", 2.5, 2]]);
  });

  it("gives Spark's decimal types where DuckDB's differ but its digits do not: products, literals, remainders, sums", async () => {
    const prices = table([field("id", t.int), field("price", { kind: "decimal", precision: 5, scale: 2 })], [[1, "12.50"], [2, "7.25"]]);
    const result = await sql(
      "SELECT id * 1.5 AS a, 0.1 + 0.2 AS b, price % 2 AS c, sum(price) OVER () AS d, price / 2 AS e, avg(price) OVER () AS f FROM prices ORDER BY id",
      new Map([["prices", prices]]),
    );
    // Spark (DecimalPrecision): int * decimal(2,1) is decimal(13,1); decimal(1,1) + decimal(1,1) decimal(2,1);
    // decimal(5,2) % decimal(1,0) decimal(3,2); a sum of decimal(5,2), over a window too, decimal(15,2). `/` and
    // avg stay DuckDB's doubles, whose values are not Spark's decimals (lib/sql/README.md).
    expect(result.schema.fields.map((f) => f.dataType)).toEqual([
      { kind: "decimal", precision: 13, scale: 1 },
      { kind: "decimal", precision: 2, scale: 1 },
      { kind: "decimal", precision: 3, scale: 2 },
      { kind: "decimal", precision: 15, scale: 2 },
      t.double,
      t.double,
    ]);
    expect(result.rows).toEqual([
      ["1.5", "0.3", "0.50", "19.75", 6.25, 9.875],
      ["3.0", "0.3", "1.25", "19.75", 3.625, 9.875],
    ]);
    const grouped = await sql("SELECT sum(price) AS s FROM prices", new Map([["prices", prices]]));
    expect(grouped.schema.fields.map((f) => [f.dataType, f.nullable])).toEqual([[{ kind: "decimal", precision: 15, scale: 2 }, true]]);
    expect(grouped.rows).toEqual([["19.75"]]);
  });

  it("gives Spark's int where DuckDB says bigint: length, instr, year, month, day", async () => {
    const result = await sql("SELECT length(name) AS l, instr(name, 'n') AS i, year(DATE '2024-03-04') AS y, month(DATE '2024-03-04') AS m, day(DATE '2024-03-04') AS d FROM people WHERE name = 'ann'");
    expect(result.schema.fields.map((f) => f.dataType)).toEqual([t.int, t.int, t.int, t.int, t.int]);
    expect(result.rows).toEqual([[3, 2, 2024, 3, 4]]);
  });

  it("knows Spark's nvl, nvl2, pmod, size, collect_list and collect_set", async () => {
    const result = await sql(
      "SELECT dept, nvl(min(age), -1) AS a, nvl2(min(age), 'y', 'n') AS b, pmod(-7, 3) AS c, size(collect_list(age)) AS d, collect_list(age) AS e, collect_set(dept) AS f FROM people GROUP BY dept ORDER BY dept DESC",
    );
    expect(result.rows).toEqual([
      ["ops", 45, "y", 2, 1, [45], ["ops"]],
      ["eng", 28, "y", 2, 2, [34, 28], ["eng"]],
      [null, 31, "y", 2, 1, [31], []],
    ]);
  });

  it("orders nulls as Spark does: first when ascending, last when descending", async () => {
    expect((await sql("SELECT age FROM people ORDER BY age")).rows.map(([a]) => a)).toEqual([null, 28, 31, 34, 45]);
    expect((await sql("SELECT age FROM people ORDER BY age DESC")).rows.map(([a]) => a)).toEqual([45, 34, 31, 28, null]);
  });

  it("reads and writes every data type in data-types.ts' representation", async () => {
    const decimal: DataType = { kind: "decimal", precision: 10, scale: 2 };
    const array: DataType = { kind: "array", elementType: t.int, containsNull: true };
    const map: DataType = { kind: "map", keyType: t.string, valueType: t.long, valueContainsNull: true };
    const struct: DataType = { kind: "struct", fields: [field("x", t.int), field("tags", { kind: "array", elementType: t.string, containsNull: true })] };
    const all = table(
      [field("s", t.string), field("i", t.int), field("l", t.long), field("d", t.double), field("b", t.boolean), field("day", t.date), field("ts", t.timestamp), field("dec", decimal), field("arr", array), field("m", map), field("st", struct), field("n", { kind: "null" })],
      [
        ["a", 1, 2 ** 53 + 2, 1.5, true, "2024-02-29", new Date("2024-02-29T12:34:56.789Z"), "12.30", [1, null, 3], new Map([["k", 7]]), [5, ["p", "q"]], null],
        [null, null, 9007199254740993n, null, null, null, null, null, null, null, null, null],
      ],
    );
    const result = await sql("SELECT * FROM everything", new Map([["everything", all]]));
    expect(result.schema.fields).toEqual(all.schema.fields.map((f) => (f.name === "n" ? field("n", t.int) : f)).map(withNullableNesting));
    expect(result.rows).toEqual([
      ["a", 1, 2n ** 53n + 2n, 1.5, true, "2024-02-29", new Date("2024-02-29T12:34:56.789Z"), "12.30", [1, null, 3], new Map([["k", 7]]), [5, ["p", "q"]], null],
      [null, null, 9007199254740993n, null, null, null, null, null, null, null, null, null],
    ]);
  });

  it("builds nested values in SQL: arrays, structs, maps", async () => {
    const result = await sql("SELECT [age, age * 2] AS pair, {'name': name, 'age': age} AS person, MAP {'k': salary} AS m FROM people WHERE name = 'bob'");
    expect(result.schema.fields.map((f) => f.dataType)).toEqual([
      { kind: "array", elementType: t.int, containsNull: true },
      { kind: "struct", fields: [field("name", t.string), field("age", t.int)] },
      { kind: "map", keyType: t.string, valueType: t.double, valueContainsNull: true },
    ]);
    expect(result.rows).toEqual([[[28, 56], ["bob", 28], new Map([["k", 99]])]]);
  });

  it("gives a long that fits a double exactly as a number and a larger one as a bigint", async () => {
    const result = await sql("SELECT CAST(9007199254740991 AS BIGINT) AS fits, CAST(9007199254740993 AS BIGINT) AS big, sum(age) AS total FROM people");
    expect(result.rows).toEqual([[9007199254740991, 9007199254740993n, 138]]);
  });

  it("sees only the views it is given: a view of an earlier query is gone", async () => {
    await sql("SELECT * FROM depts");
    await expect(sql("SELECT * FROM depts", new Map([["people", people]]))).rejects.toThrow(/Table with name depts does not exist/);
  });

  it("reloads a view given a new table under the same name", async () => {
    const first = table([field("x", t.int)], [[1]]);
    const second = table([field("x", t.int)], [[2], [3]]);
    expect((await sql("SELECT sum(x) AS s FROM v", new Map([["v", first]]))).rows).toEqual([[1]]);
    expect((await sql("SELECT sum(x) AS s FROM v", new Map([["v", second]]))).rows).toEqual([[5]]);
  });

  it("runs concurrent queries each over its own views", async () => {
    const a = new Map([["v", table([field("x", t.int)], [[1]])]]);
    const b = new Map([["v", table([field("x", t.int)], [[10], [20]])]]);
    const results = await Promise.all([sql("SELECT sum(x) AS s FROM v", a), sql("SELECT sum(x) AS s FROM v", b), sql("SELECT count(*) AS c FROM v", a)]);
    expect(results.map((r) => r.rows)).toEqual([[[1]], [[30]], [[1]]]);
  });

  it("reads no files: a query sees the batch's views and nothing else", async () => {
    await expect(sql("SELECT * FROM read_csv('/etc/passwd')")).rejects.toThrow(SqlError);
  });
});

/** Every nested type of a result says it may hold nulls: DuckDB does not tell. */
function withNullableNesting(f: StructField): StructField {
  const nest = (d: DataType): DataType => {
    switch (d.kind) {
      case "array":
        return { ...d, elementType: nest(d.elementType), containsNull: true };
      case "map":
        return { ...d, keyType: nest(d.keyType), valueType: nest(d.valueType), valueContainsNull: true };
      case "struct":
        return { kind: "struct", fields: d.fields.map(withNullableNesting) };
      default:
        return d;
    }
  };
  return { ...f, dataType: nest(f.dataType), nullable: true };
}

/**
 * Golden `show()` and `printSchema()` outputs. Each expected text is written from Spark's documented behaviour
 * and its source (Dataset.showString, ToPrettyString, Utils.stringHalfWidth, StructType.treeString), not from
 * this code: `show` is `println(showString(numRows, truncate))`, so the table ends with an empty line, as
 * `printSchema` (`println(treeString)`) does.
 */
import { describe, expect, it } from "vitest";
import { avg, col, count, lit, max, RDD, SparkSession, sum, upper, when } from "../../lib/index.js";
import { printed } from "./support.js";

const spark = SparkSession.builder().getOrCreate();
const people = () =>
  spark.createDataFrame(
    [
      ["Alice", 34, 55],
      ["Bob", null, -1.5],
      [null, -7, 1e7],
      ["Zoë", 0, 0.001],
    ],
    "name STRING, age INT, score DOUBLE",
  );

describe("show()", () => {
  it.each([
    {
      name: "nulls print NULL; numbers right-aligned; doubles as Java prints them (55.0, 1.0E7)",
      df: people,
      show: (df: ReturnType<typeof people>) => df.show(),
      expected: `+-----+----+-----+
| name| age|score|
+-----+----+-----+
|Alice|  34| 55.0|
|  Bob|NULL| -1.5|
| NULL|  -7|1.0E7|
|  Zoë|   0|0.001|
+-----+----+-----+

`,
    },
    {
      name: "only the first N rows, with Spark's footer (plural)",
      df: people,
      show: (df: ReturnType<typeof people>) => df.show(2),
      expected: `+-----+----+-----+
| name| age|score|
+-----+----+-----+
|Alice|  34| 55.0|
|  Bob|NULL| -1.5|
+-----+----+-----+
only showing top 2 rows

`,
    },
    {
      name: "the footer says row for one",
      df: () => spark.createDataFrame([{ x: 1 }, { x: 2 }]),
      show: (df: ReturnType<typeof people>) => df.show(1),
      expected: `+---+
|  x|
+---+
|  1|
+---+
only showing top 1 row

`,
    },
    {
      name: "no footer when exactly N rows exist",
      df: () => spark.createDataFrame([{ x: 1 }, { x: 2 }]),
      show: (df: ReturnType<typeof people>) => df.show(2),
      expected: `+---+
|  x|
+---+
|  1|
|  2|
+---+

`,
    },
    {
      name: "cells longer than 20 characters are cut to 17 and ...",
      df: () => spark.createDataFrame([{ s: "abcdefghijklmnopqrstuvwxyz" }, { s: "exactly twenty chars" }]),
      show: (df: ReturnType<typeof people>) => df.show(),
      expected: `+--------------------+
|                   s|
+--------------------+
|abcdefghijklmnopq...|
|exactly twenty chars|
+--------------------+

`,
    },
    {
      name: "truncate = false: whole cells, left-aligned",
      df: () => spark.createDataFrame([{ s: "abcdefghijklmnopqrstuvwxyz", n: 1 }]),
      show: (df: ReturnType<typeof people>) => df.show(20, false),
      expected: `+--------------------------+---+
|s                         |n  |
+--------------------------+---+
|abcdefghijklmnopqrstuvwxyz|1  |
+--------------------------+---+

`,
    },
    {
      name: "truncate = 5 keeps 2 characters and ...; below 4 it cuts without dots",
      df: () => spark.createDataFrame([{ a: "abcdefgh", b: "abcdefgh" }]),
      show: (df: ReturnType<typeof people>) => {
        df.show(20, 5);
        df.show(20, 3);
      },
      expected: `+-----+-----+
|    a|    b|
+-----+-----+
|ab...|ab...|
+-----+-----+

+---+---+
|  a|  b|
+---+---+
|abc|abc|
+---+---+

`,
    },
    {
      name: "East Asian wide characters take two columns; an emoji is two UTF-16 units",
      df: () => spark.createDataFrame([{ city: "日本語" }, { city: "Paris" }, { city: "😀" }]),
      show: (df: ReturnType<typeof people>) => df.show(),
      expected: `+------+
|  city|
+------+
|日本語|
| Paris|
|    😀|
+------+

`,
    },
    {
      name: "an empty DataFrame shows its header and no rows",
      df: () => spark.createDataFrame([], "name STRING, age INT"),
      show: (df: ReturnType<typeof people>) => df.show(),
      expected: `+----+---+
|name|age|
+----+---+
+----+---+

`,
    },
    {
      name: "structs print {a, b}, arrays [a, b], maps {k -> v}, with NULL inside",
      df: () => spark.createDataFrame([{ name: "a", address: { city: "Oslo", zip: null }, tags: ["x", null], m: new Map([["k", 1]]) }]),
      show: (df: ReturnType<typeof people>) => df.show(),
      expected: `+----+------------+---------+--------+
|name|     address|     tags|       m|
+----+------------+---------+--------+
|   a|{Oslo, NULL}|[x, NULL]|{k -> 1}|
+----+------------+---------+--------+

`,
    },
    {
      name: "control characters are escaped so the table stays whole",
      df: () => spark.createDataFrame([{ "a\tb": "line1\nline2" }]),
      show: (df: ReturnType<typeof people>) => df.show(),
      expected: `+------------+
|        a\\tb|
+------------+
|line1\\nline2|
+------------+

`,
    },
    {
      name: "an average of whole numbers is a double: 55.0",
      df: () => spark.createDataFrame([{ age: 50 }, { age: 60 }]),
      show: (df: ReturnType<typeof people>) => df.agg(avg("age")).show(),
      expected: `+--------+
|avg(age)|
+--------+
|    55.0|
+--------+

`,
    },
    {
      name: "booleans, negative and large whole numbers, tiny and huge doubles",
      df: () => spark.createDataFrame([{ ok: true, n: -3_000_000_000, d: -0.0001 }, { ok: false, n: 12, d: 123456789.5 }]),
      show: (df: ReturnType<typeof people>) => df.show(),
      expected: `+-----+-----------+-------------+
|   ok|          n|            d|
+-----+-----------+-------------+
| true|-3000000000|      -1.0E-4|
|false|         12|1.234567895E8|
+-----+-----------+-------------+

`,
    },
  ])("$name", ({ df, show, expected }) => {
    expect(printed(() => show(df()))).toBe(expected);
  });
});

describe("printSchema()", () => {
  it("prints the tree of inferred types: integer vs long vs double, nested structs, arrays and maps", () => {
    const df = spark.createDataFrame([
      { name: "a", age: 1, big: 3_000_000_000, score: 1.5, ok: true, address: { city: "Oslo", zip: null }, tags: ["x"], m: new Map([["k", 1]]) },
    ]);
    expect(printed(() => df.printSchema())).toBe(`root
 |-- name: string (nullable = true)
 |-- age: integer (nullable = true)
 |-- big: long (nullable = true)
 |-- score: double (nullable = true)
 |-- ok: boolean (nullable = true)
 |-- address: struct (nullable = true)
 |    |-- city: string (nullable = true)
 |    |-- zip: string (nullable = true)
 |-- tags: array (nullable = true)
 |    |-- element: string (containsNull = true)
 |-- m: map (nullable = true)
 |    |-- key: string
 |    |-- value: integer (valueContainsNull = true)

`);
  });

  it("shows an explicit schema's nullability, and the types of aggregates (count is a non-null long)", () => {
    const df = spark.createDataFrame([["a", 1]], "name STRING NOT NULL, n INT");
    expect(printed(() => df.groupBy("name").agg(count("n"), sum("n"), avg("n"), max("n")).printSchema())).toBe(`root
 |-- name: string (nullable = false)
 |-- count(n): long (nullable = false)
 |-- sum(n): long (nullable = true)
 |-- avg(n): double (nullable = true)
 |-- max(n): integer (nullable = true)

`);
  });

  it("marks literals, IS NULL and count non-null, CASE WHEN without ELSE nullable, as Spark's expressions do", () => {
    const df = spark.createDataFrame([["a", 1]], "name STRING NOT NULL, n INT");
    const out = df.select(
      lit(1).alias("one"),
      lit(null).alias("nothing"),
      col("n").isNull().alias("missing"),
      when(col("n").gt(0), "pos").alias("sign"),
      when(col("n").gt(0), "pos").otherwise("neg").alias("sign2"),
      upper("name").alias("shout"),
      col("n").divide(2).alias("half"),
    );
    // Literal.nullable is value == null (and null is NullType, "void"); IsNull is never null; CaseWhen is
    // nullable without an ELSE; Upper keeps its child's nullability; Divide is nullable (division by zero).
    expect(printed(() => out.printSchema())).toBe(`root
 |-- one: integer (nullable = false)
 |-- nothing: void (nullable = true)
 |-- missing: boolean (nullable = false)
 |-- sign: string (nullable = true)
 |-- sign2: string (nullable = false)
 |-- shout: string (nullable = false)
 |-- half: double (nullable = true)

`);
    expect(printed(() => df.selectExpr("count(DISTINCT name, n)", "count(*) AS c").printSchema())).toBe(`root
 |-- count(DISTINCT name, n): long (nullable = false)
 |-- c: long (nullable = false)

`);
  });
});

describe("the seed program", () => {
  it("prints what Spark prints for df.select(\"name\", \"age\").show", () => {
    const rdd = RDD.of([
      { name: "Michael", age: null },
      { name: "Andy", age: 30 },
      { name: "Justin", age: 19 },
    ]);
    // Spark's own docs (examples/src/main/resources/people.json) show this table for df.show().
    expect(printed(() => spark.createDataFrame(rdd).select("name", "age").show())).toBe(`+-------+----+
|   name| age|
+-------+----+
|Michael|NULL|
|   Andy|  30|
| Justin|  19|
+-------+----+

`);
  });
});

describe("decimals", () => {
  // ToPrettyString casts a decimal to its plain digits with exactly its scale (Decimal.toPlainString).
  const df = () => spark.createDataFrame([["3"], ["-0.5"], [null]], "d DECIMAL(3,1)").selectExpr("d", "d * 2 AS twice", "1.5 AS lit");

  it("shows plain digits with the column's scale, right-aligned, NULL for null", () => {
    expect(printed(() => df().show())).toBe(`+----+-----+---+
|   d|twice|lit|
+----+-----+---+
| 3.0|  6.0|1.5|
|-0.5| -1.0|1.5|
|NULL| NULL|1.5|
+----+-----+---+

`);
  });

  it("prints decimal(p,s) in the schema: decimal arithmetic is nullable (an overflow is null), a literal is not", () => {
    expect(printed(() => df().printSchema())).toBe(`root
 |-- d: decimal(3,1) (nullable = true)
 |-- twice: decimal(5,1) (nullable = true)
 |-- lit: decimal(2,1) (nullable = false)

`);
    expect(printed(() => df().agg(sum("d"), avg("d")).printSchema())).toBe(`root
 |-- sum(d): decimal(13,1) (nullable = true)
 |-- avg(d): decimal(7,5) (nullable = true)

`);
  });
});

/**
 * DataFrame operations against Spark's semantics (Spark 3.5 defaults). Expected rows are written from what
 * Spark returns for the same input, never from running this code.
 */
import { describe, expect, it } from "vitest";
import { abs, AnalysisError, asc, avg, coalesce, col, concat, count, countDistinct, DecimalType, desc, DoubleType, IntegerType, length, lit, lower, max, min, not, SparkSession, StringType, StructField, StructType, sum, trim, upper, when } from "../../lib/index.js";

const spark = SparkSession.builder().getOrCreate();
const emp = () =>
  spark.createDataFrame(
    [
      { name: "Alice", dept: "eng", salary: 100, age: 34 },
      { name: "Bob", dept: "eng", salary: 80, age: null },
      { name: "Carol", dept: "ops", salary: 70, age: 45 },
      { name: "Dan", dept: null, salary: 50, age: 29 },
      { name: "Eve", dept: "ops", salary: 70, age: 45 },
    ],
  );
const depts = () => spark.createDataFrame([{ dept: "eng", floor: 3 }, { dept: "ops", floor: 1 }, { dept: "hr", floor: 2 }]);

describe("select, where, withColumn, drop", () => {
  it("selects names and expressions, naming them as Spark does", () => {
    const df = emp().select(col("name"), col("salary").plus(1), col("salary").multiply(2).alias("double"), col("age").gt(40), lit("x"));
    expect(df.columns).toEqual(["name", "(salary + 1)", "double", "(age > 40)", "x"]);
    expect(df.take(2)).toEqual([
      ["Alice", 101, 200, false, "x"],
      ["Bob", 81, 160, null, "x"],
    ]);
  });

  it('expands "*" and resolves names case-insensitively', () => {
    expect(emp().select("*").columns).toEqual(["name", "dept", "salary", "age"]);
    expect(emp().select("NAME").first()).toEqual(["Alice"]);
  });

  it("keeps the rows where the condition is true (null is not true)", () => {
    expect(emp().where(col("age").geq(45)).select("name").collect()).toEqual([["Carol"], ["Eve"]]);
    expect(emp().filter(col("age").isNull().or(col("dept").isNull())).select("name").collect()).toEqual([["Bob"], ["Dan"]]);
    expect(emp().where(not(col("dept").equalTo("eng"))).count()).toBe(2);
    expect(emp().where(col("dept").notEqual("eng").and(col("salary").lt(71))).select("name").collect()).toEqual([["Carol"], ["Eve"]]);
    expect(emp().where(col("name").isin("Bob", "Eve")).count()).toBe(2);
  });

  it("adds a column, or replaces one of the same name in place; drops columns, ignoring unknown names", () => {
    const df = emp().withColumn("bonus", col("salary").divide(10)).withColumn("salary", col("salary").minus(50));
    expect(df.columns).toEqual(["name", "dept", "salary", "age", "bonus"]);
    expect(df.first()).toEqual(["Alice", "eng", 50, 34, 10]);
    expect(df.drop("age", "nope", "bonus").columns).toEqual(["name", "dept", "salary"]);
  });

  it("divides as doubles and gives null for a division by zero; int arithmetic wraps as Java's", () => {
    const df = spark.createDataFrame([[7, 2, 2147483647]], "a INT, b INT, c INT");
    expect(df.select(col("a").divide(col("b")), col("a").divide(0), col("a").mod(col("b")), col("c").plus(1)).first()).toEqual([3.5, null, 1, -2147483648]);
    expect(df.select(col("a").divide(col("b"))).schema.fields[0]!.dataType).toEqual({ kind: "double" });
  });

  it("casts as Spark's non-ANSI cast: bad strings are null, doubles print as Java's", () => {
    const df = spark.createDataFrame([["12", "x", 1.5, 3]], "s STRING, t STRING, d DOUBLE, i INT");
    expect(df.select(col("s").cast("int"), col("t").cast("int"), col("d").cast("string"), col("i").cast("double"), col("d").cast("int")).first()).toEqual([12, null, "1.5", 3, 1]);
    expect(df.select(col("i").cast("string")).columns).toEqual(["i"]);
    expect(df.select(col("i").plus(1).cast("string")).columns).toEqual(["CAST((i + 1) AS STRING)"]);
  });

  it("marks a cast nullable when its input is, or when a value could fail it (Spark's Cast.forceNullable)", () => {
    const df = spark.createDataFrame([["12", 1.5, 3, 4]], StructType([
      StructField("s", StringType, false),
      StructField("d", DoubleType, false),
      StructField("i", IntegerType, false),
      StructField("n", IntegerType, true),
    ]));
    const nullable = (c: ReturnType<typeof col>) => df.select(c).schema.fields[0]!.nullable;
    // A string may not parse and a double may be NaN: null either way; an int always fits a long, a double or a string.
    expect([nullable(col("s").cast("int")), nullable(col("d").cast("int")), nullable(col("i").cast("bigint")), nullable(col("i").cast("double"))]).toEqual([true, true, false, false]);
    expect([nullable(col("i").cast("string")), nullable(col("d").cast("string")), nullable(col("n").cast("bigint"))]).toEqual([false, false, true]);
    // A comparison is as nullable as the casts it makes: an int with a long never null, a string with an int may be.
    expect([nullable(col("i").gt(3)), nullable(col("i").gt(lit(3).cast("bigint"))), nullable(col("s").gt(3))]).toEqual([false, false, true]);
  });

  it("compares a string with a number by casting the string, as Spark 3.5 does", () => {
    const df = spark.createDataFrame([["10"], ["9"], ["x"]], "s STRING");
    expect(df.where(col("s").gt(9)).collect()).toEqual([["10"]]);
  });

  it("reaches into struct columns with a dotted name", () => {
    const df = spark.createDataFrame([{ who: { name: "a", age: 1 } }, { who: null }]);
    expect(df.select("who.name", col("who.age").plus(1)).collect()).toEqual([["a", 2], [null, null]]);
  });
});

describe("groupBy and aggregates", () => {
  it("computes count, sum, avg, min, max and countDistinct per group, groups first-seen, null a group of its own", () => {
    const df = emp().groupBy("dept").agg(count("*"), count("age"), sum("salary"), avg("age"), min("name"), max("salary"), countDistinct("salary"));
    expect(df.columns).toEqual(["dept", "count(1)", "count(age)", "sum(salary)", "avg(age)", "min(name)", "max(salary)", "count(DISTINCT salary)"]);
    expect(df.collect()).toEqual([
      ["eng", 2, 1, 180, 34, "Alice", 100, 2],
      ["ops", 2, 2, 140, 45, "Carol", 70, 1],
      [null, 1, 1, 50, 29, "Dan", 50, 1],
    ]);
  });

  it("aggregates a batch larger than one chunk of rows as it does a small one", () => {
    // Rows are aggregated in chunks of a few thousand: groups and values must carry across chunk boundaries.
    const rows = Array.from({ length: 10_001 }, (_, i) => ({ g: i % 3 === 0 ? null : `g${i % 3}`, v: i % 7 === 0 ? null : i, s: `s${i % 5}` }));
    const df = spark.createDataFrame(rows).groupBy("g").agg(count("*"), count("v"), sum("v"), avg("v"), min("v"), max("s"), countDistinct("s"), countDistinct("v", "s"));
    const expected = [null, "g1", "g2"].map((g) => {
      const own = rows.filter((r) => r.g === g);
      const vs = own.map((r) => r.v).filter((v): v is number => v !== null);
      const sum = vs.reduce((a, b) => a + b, 0);
      const pairs = new Set(own.filter((r) => r.v !== null).map((r) => `${r.v}/${r.s}`));
      return [g, own.length, vs.length, sum, sum / vs.length, Math.min(...vs), "s4", new Set(own.map((r) => r.s)).size, pairs.size];
    });
    expect(df.collect()).toEqual(expected);
    expect(spark.createDataFrame(rows).agg(count("*"), max("v")).collect()).toEqual([[10_001, 10_000]]);
  });

  it("counts distinct tuples over several columns, leaving out rows with any of them null (Spark's countDistinct(a, b))", () => {
    const df = spark.createDataFrame([
      { a: 1, b: "x" },
      { a: 1, b: "x" },
      { a: 1, b: "y" },
      { a: 2, b: null },
      { a: null, b: "x" },
      { a: 2, b: "x" },
    ]);
    const out = df.agg(countDistinct("a", "b"), countDistinct(col("b"), col("a")), countDistinct("a"));
    expect(out.columns).toEqual(["count(DISTINCT a, b)", "count(DISTINCT b, a)", "count(DISTINCT a)"]);
    expect(out.collect()).toEqual([[3, 3, 2]]);
    expect(out.schema.fields.map((f) => [f.dataType.kind, f.nullable])).toEqual([["long", false], ["long", false], ["long", false]]);
  });

  it("has the shortcuts: count(), sum(...), avg() over every numeric column", () => {
    expect(emp().groupBy("dept").count().orderBy("dept").collect()).toEqual([[null, 1], ["eng", 2], ["ops", 2]]);
    expect(emp().groupBy("dept").sum("salary").columns).toEqual(["dept", "sum(salary)"]);
    expect(emp().groupBy().avg().columns).toEqual(["avg(salary)", "avg(age)"]);
    expect(emp().groupBy().avg().first()).toEqual([74, 38.25]);
    expect(emp().groupBy("dept").agg({ salary: "max", "*": "count" }).columns).toEqual(["dept", "max(salary)", "count(1)"]);
  });

  it("aggregates over nothing: count 0 and null sums in one row", () => {
    const empty = emp().where(lit(false));
    expect(empty.agg(count("*"), sum("salary"), avg("salary"), max("name")).collect()).toEqual([[0, null, null, null]]);
    expect(empty.groupBy("dept").count().count()).toBe(0);
  });

  it("types sums as Spark does: a long for integers, a double for doubles", () => {
    const df = spark.createDataFrame([[1, 1.5]], "i INT, d DOUBLE").agg(sum("i"), sum("d"), avg("i"));
    expect(df.dtypes).toEqual([
      ["sum(i)", "bigint"],
      ["sum(d)", "double"],
      ["avg(i)", "double"],
    ]);
  });

  it("computes expressions of aggregates and grouping columns", () => {
    const df = emp().groupBy("dept").agg(sum("salary").divide(count("*")).alias("mean"));
    expect(df.orderBy("dept").collect()).toEqual([[null, 50], ["eng", 90], ["ops", 70]]);
  });
});

describe("orderBy, limit, distinct", () => {
  it("sorts ascending with nulls first, descending with nulls last, stably", () => {
    expect(emp().orderBy("age").select("name").collect().flat()).toEqual(["Bob", "Dan", "Alice", "Carol", "Eve"]);
    expect(emp().orderBy(desc("age")).select("name").collect().flat()).toEqual(["Carol", "Eve", "Alice", "Dan", "Bob"]);
    expect(emp().sort(col("age").asc_nulls_last()).select("name").collect().flat()).toEqual(["Dan", "Alice", "Carol", "Eve", "Bob"]);
    expect(emp().orderBy(col("salary").desc(), asc("name")).select("name").collect().flat()).toEqual(["Alice", "Bob", "Carol", "Eve", "Dan"]);
  });

  it("limits, and removes repeated rows", () => {
    expect(emp().limit(2).count()).toBe(2);
    expect(emp().select("dept").distinct().collect()).toEqual([["eng"], ["ops"], [null]]);
    expect(emp().dropDuplicates(["salary"]).select("name").collect().flat()).toEqual(["Alice", "Bob", "Carol", "Dan"]);
  });
});

describe("join", () => {
  it("joins on a column name, which appears once, first", () => {
    const df = emp().join(depts(), "dept");
    expect(df.columns).toEqual(["dept", "name", "salary", "age", "floor"]);
    expect(df.select("name", "floor").collect()).toEqual([["Alice", 3], ["Bob", 3], ["Carol", 1], ["Eve", 1]]);
  });

  it("keeps unmatched rows with nulls in left, right and full joins; null keys never match", () => {
    const left = emp().select("name", "dept");
    expect(left.join(depts(), ["dept"], "left").where(col("floor").isNull()).collect()).toEqual([[null, "Dan", null]]);
    expect(left.join(depts(), "dept", "right").where(col("name").isNull()).collect()).toEqual([["hr", null, 2]]);
    expect(left.join(depts(), "dept", "full_outer").where(col("name").isNull().or(col("floor").isNull())).collect()).toEqual([
      [null, "Dan", null],
      ["hr", null, 2],
    ]);
    expect(left.join(depts(), "dept", "left_semi").count()).toBe(4);
    expect(left.join(depts(), "dept", "left_anti").collect()).toEqual([[null, "Dan"]]);
  });

  it("joins on an expression, keeping both sides' columns; df.col tells same-named columns apart", () => {
    const e = emp();
    const d = depts();
    const df = e.join(d, e.col("dept").equalTo(d.col("dept")), "inner");
    expect(df.columns).toEqual(["name", "dept", "salary", "age", "dept", "floor"]);
    expect(df.select(e.col("name"), d.col("dept"), col("floor")).first()).toEqual(["Alice", "eng", 3]);
    expect(() => df.select("dept")).toThrow(/\[AMBIGUOUS_REFERENCE\] Reference `dept` is ambiguous/);
    // A non-equality condition compares every pair.
    expect(e.join(d, col("salary").gt(col("floor").multiply(30))).count()).toBe(10);
  });

  it("crosses every pair without a condition", () => {
    expect(emp().join(depts()).count()).toBe(15);
  });
});

describe("union", () => {
  it("appends rows by position, names from the first, types widened", () => {
    const a = spark.createDataFrame([[1, "x"]], "n INT, s STRING");
    const b = spark.createDataFrame([[3_000_000_000, "y"]], "m BIGINT, t STRING");
    const u = a.union(b);
    expect(u.dtypes).toEqual([
      ["n", "bigint"],
      ["s", "string"],
    ]);
    expect(u.collect()).toEqual([
      [1, "x"],
      [3_000_000_000, "y"],
    ]);
    expect(b.select("t", "m").toDF("s", "n").unionByName(a).collect()).toEqual([
      ["y", 3_000_000_000],
      ["x", 1],
    ]);
  });
});

describe("selectExpr, expr and string conditions (Spark SQL's expression syntax)", () => {
  it("selects names, arithmetic, functions and aliases, naming columns as Spark does", () => {
    const df = emp().selectExpr("name", "age + 1 as next", "upper(name)", "salary * 2.0", "CAST(age AS string) AS s", "-salary");
    expect(df.columns).toEqual(["name", "next", "upper(name)", "(salary * 2.0)", "s", "(- salary)"]);
    // 2.0 is a decimal(2,1) literal: an int column times it is decimal(10,0) * decimal(2,1) = decimal(13,1).
    expect(df.dtypes.map(([, t]) => t)).toEqual(["string", "int", "string", "decimal(13,1)", "string", "int"]);
    expect(df.collect()[1]).toEqual(["Bob", null, "BOB", "160.0", null, -80]);
    expect(emp().selectExpr("*").columns).toEqual(["name", "dept", "salary", "age"]);
  });

  it("reads Spark's operators with its precedence: NOT, AND, OR, IN, BETWEEN, IS NULL, !=, CASE", () => {
    const names = (condition: string) => emp().where(condition).collect().map((r) => r[0]);
    expect(names("salary > 60 AND dept = 'ops' OR age IS NULL")).toEqual(["Bob", "Carol", "Eve"]);
    expect(names("NOT salary >= 70")).toEqual(["Dan"]);
    expect(names("age BETWEEN 30 AND 40")).toEqual(["Alice"]);
    expect(names("name IN ('Alice', \"Dan\") AND age != 29")).toEqual(["Alice"]);
    expect(names("name NOT IN ('Alice')")).toEqual(["Bob", "Carol", "Dan", "Eve"]);
    expect(names("1 + 2 * salary % 7 = 1")).toEqual(["Carol", "Eve"]);
    const cased = emp().selectExpr("CASE WHEN age < 30 THEN 'young' WHEN age < 40 THEN 'mid' END AS band", "CASE dept WHEN 'eng' THEN 1 ELSE 0 END");
    expect(cased.collect().map((r) => r[0])).toEqual(["mid", null, null, "young", null]);
    expect(cased.collect().map((r) => r[1])).toEqual([1, 1, 0, 0, 0]);
  });

  it("aggregates every row when a selected expression is an aggregate, as Spark's select does", () => {
    const df = emp().selectExpr("count(*)", "max(age)", "count(DISTINCT dept, salary)", "avg(salary) / 2 AS half");
    expect(df.columns).toEqual(["count(1)", "max(age)", "count(DISTINCT dept, salary)", "half"]);
    expect(df.collect()).toEqual([[5, 45, 3, 37]]);
    expect(emp().select(sum("salary"), count("age")).collect()).toEqual([[370, 4]]);
  });

  it("fails if a name is not a column, listing the columns there are, or at the position of a syntax error", () => {
    expect(() => emp().selectExpr("nme + 1")).toThrow(
      "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column or function parameter with name `nme` cannot be resolved. Did you mean one of the following? [`name`, `dept`, `salary`, `age`].",
    );
    expect(() => emp().selectExpr("age +")).toThrow("[PARSE_SYNTAX_ERROR] Syntax error at or near end of input.(line 1, pos 5)\n\n== SQL ==\nage +\n-----^^^");
    expect(() => emp().where("age > > 1")).toThrow("Syntax error at or near '>'.(line 1, pos 6)");
    expect(() => emp().selectExpr("shout(name)")).toThrow(/\[UNRESOLVED_ROUTINE\] Cannot resolve function `shout`/);
    expect(() => emp().selectExpr("upper(name, dept)")).toThrow("[WRONG_NUM_ARGS.WITHOUT_SUGGESTION] The `upper` requires 1 parameters but the actual number is 2.");
  });
});

describe("when/otherwise and the scalar functions", () => {
  it("takes the first branch whose condition holds; null when none does and there is no otherwise", () => {
    const band = when(col("age").lt(30), "young").when(col("age").lt(40), "mid");
    const df = emp().select(band, band.otherwise("old").alias("band"));
    expect(df.columns).toEqual(["CASE WHEN (age < 30) THEN young WHEN (age < 40) THEN mid END", "band"]);
    expect(df.collect()).toEqual([
      ["mid", "mid"],
      [null, "old"],
      [null, "old"],
      ["young", "young"],
      [null, "old"],
    ]);
    // Spark's CaseWhen is nullable without an ELSE, or when a value is; not otherwise.
    expect(df.schema.fields.map((f) => f.nullable)).toEqual([true, false]);
    expect(emp().select(when(col("age").gt(40), 1).otherwise(2.5)).dtypes[0]![1]).toBe("double");
  });

  it("fails if when() follows something other than when(), or otherwise() comes twice", () => {
    expect(() => col("age").when(col("age").gt(1), 1)).toThrow(/when\(\) can only be applied on a Column previously generated by when\(\) function/);
    expect(() => when(col("age").gt(1), 1).otherwise(0).otherwise(1)).toThrow(/otherwise\(\) can only be applied once/);
    expect(() => emp().select(when(col("age"), 1))).toThrow(/DATATYPE_MISMATCH/);
  });

  it("computes upper, lower, length (in characters), trim (spaces only), abs, coalesce and concat as Spark does", () => {
    const df = spark.createDataFrame([{ s: " héllo 😀 ", n: -3, m: null as number | null }, { s: null, n: 4, m: 7 }]);
    const out = df.select(upper("s"), lower(lit("AbC")), length("s"), trim("s"), abs("n"), coalesce("m", "n"), concat("s", lit("!")), concat(lit("n="), "n"));
    expect(out.columns).toEqual(["upper(s)", "lower(AbC)", "length(s)", "trim(s)", "abs(n)", "coalesce(m, n)", "concat(s, !)", "concat(n=, n)"]);
    expect(out.collect()).toEqual([
      [" HÉLLO 😀 ", "abc", 9, "héllo 😀", 3, -3, " héllo 😀 !", "n=-3"],
      [null, "abc", null, null, 4, 7, null, "n=4"],
    ]);
    expect(out.dtypes[2]![1]).toBe("int");
  });
});

describe("actions", () => {
  it("collects, counts, takes, and writes rows as Spark's JSON (nulls left out, doubles as 55.0)", () => {
    const df = spark.createDataFrame([["a", null, 55, [1, 2]]], "s STRING, n INT, d DOUBLE, arr ARRAY<INT>");
    expect(df.count()).toBe(1);
    expect(df.collect()).toEqual([["a", null, 55, [1, 2]]]);
    expect(df.take(0)).toEqual([]);
    expect(() => spark.createDataFrame([], "x INT").first()).toThrow(/empty DataFrame/);
    const nested = spark.createDataFrame([{ s: "a", n: null, d: 55.5, arr: [1, null], st: { x: true } }]);
    expect(nested.toJSON().collect()).toEqual(['{"s":"a","d":55.5,"arr":[1,null],"st":{"x":true}}']);
    expect(spark.createDataFrame([[55]], "d DOUBLE").toJSON().collect()).toEqual(['{"d":55.0}']);
  });
});

describe("errors a Spark user recognises", () => {
  it("fails if a column does not exist, naming it and listing the columns there are", () => {
    const err = (() => {
      try {
        emp().select("nme");
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AnalysisError);
    expect((err as AnalysisError).message).toBe(
      "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column or function parameter with name `nme` cannot be resolved. Did you mean one of the following? [`name`, `dept`, `salary`, `age`].",
    );
    expect((err as AnalysisError).details).toMatchObject({ column: "nme", available: ["name", "dept", "salary", "age"] });
  });

  it.each([
    ["where", () => emp().where(col("agee").gt(1)), /`agee` cannot be resolved.*\[`name`, `dept`, `salary`, `age`\]/],
    ["groupBy", () => emp().groupBy("dpt"), /`dpt` cannot be resolved/],
    ["agg", () => emp().groupBy("dept").agg(sum("salry")), /`salry` cannot be resolved/],
    ["orderBy", () => emp().orderBy("nam"), /`nam` cannot be resolved/],
    ["withColumn", () => emp().withColumn("x", col("y")), /`y` cannot be resolved/],
    ["join", () => emp().join(depts(), "floor"), /USING column `floor` cannot be resolved on the left side.*\[`name`, `dept`, `salary`, `age`\]/],
  ])("fails if %s names a missing column", (_, run, message) => {
    expect(run).toThrow(AnalysisError);
    expect(run).toThrow(message);
  });

  it.each([
    ["adding a string to a number", () => emp().select(col("name").plus(1)), /Cannot resolve "\(name \+ 1\)" due to data type mismatch: .*\("STRING" and "INT"\)/],
    ["a non-boolean filter", () => emp().where(col("salary")), /Filter expression "salary" of type "INT" is not a boolean/],
    ["summing strings", () => emp().agg(sum("name")), /requires the "NUMERIC" type, however "name" has the type "STRING"/],
    ["a column neither grouped nor aggregated", () => emp().groupBy("dept").agg(col("name")), /\[MISSING_AGGREGATION\].*`name`/],
    ["union of different widths", () => emp().union(depts()), /first input has 4 columns and the second input has 2/],
    ["an aggregate where rows are filtered", () => emp().where(sum("salary").gt(1)), /only allowed in agg/],
  ])("fails on a type mismatch: %s", (_, run, message) => {
    expect(run).toThrow(AnalysisError);
    expect(run).toThrow(message);
  });
});

describe("a DataFrame of flat objects reads them in place", () => {
  it("gives the same results as one whose rows were copied to arrays, through every kind of operation", () => {
    const objects = [
      { k: "a", n: 1, x: 1.5 },
      { k: "b", n: null, x: 2 },
      { k: "a", n: 3 },
      null,
      { k: "c", n: 5, x: -1, big: 5n },
    ];
    const inPlace = spark.createDataFrame(objects);
    const copied = spark.createDataFrame(objects, "k STRING, n INT, x DOUBLE, big BIGINT");
    const queries = (df: typeof inPlace) => [
      df.collect(),
      df.where(col("n").gt(1)).select("k", "x").collect(),
      df.orderBy(desc("n")).limit(2).collect(),
      df.groupBy("k").agg(count("*"), sum("n"), max("x")).collect(),
      df.withColumn("m", col("n").multiply(2)).drop("x").collect(),
      df.distinct().count(),
      df.join(depts().toDF("k", "floor"), "k", "left").collect(),
      df.union(df).count(),
      df.toDF("a", "b", "c", "d").select("a").collect(),
      df.toJSON().collect(),
    ];
    expect(inPlace.dtypes).toEqual(copied.dtypes);
    expect(queries(inPlace)).toEqual(queries(copied));
  });
});

describe("decimals (Spark's DecimalType: DecimalPrecision, Cast, Sum, Average)", () => {
  const one = () => spark.createDataFrame([{ qty: 3 }, { qty: 7 }]);
  const types = (df: ReturnType<typeof one>) => df.dtypes.map(([, t]) => t);
  // A decimal(5,2) column: values as the strings of their digits, rounded to the column's scale on the way in.
  const prices = () => spark.createDataFrame([["1.1"], ["10.00"], ["-3.35"], ["2.2"], [null]], "p DECIMAL(5,2)");

  it("types literals as Spark's lexer: a fraction is a decimal of its digits, an exponent or D a double, BD a decimal", () => {
    const df = one().limit(1).selectExpr("1.5", "0.5", "0.05", "1.50", "-1.5", "1.5D", "1.5E0", "1e3", "1.5BD", "10L", "12345678901234567890");
    expect(types(df)).toEqual(["decimal(2,1)", "decimal(1,1)", "decimal(2,2)", "decimal(3,2)", "decimal(2,1)", "double", "double", "double", "decimal(2,1)", "bigint", "decimal(20,0)"]);
    expect(df.first()).toEqual(["1.5", "0.5", "0.05", "1.50", "-1.5", 1.5, 1.5, 1000, "1.5", 10, "12345678901234567890"]);
  });

  it("adds exactly: 0.1 + 0.2 is 0.3, a decimal(2,1), where doubles give 0.30000000000000004", () => {
    const df = one().limit(1).selectExpr("0.1 + 0.2 AS d", "0.1D + 0.2D AS x");
    expect(types(df)).toEqual(["decimal(2,1)", "double"]);
    expect(df.first()).toEqual(["0.3", 0.30000000000000004]);
  });

  it("widens an int column to decimal(10,0) and an int literal to its digits", () => {
    const df = one().selectExpr("qty * 1.5 AS a", "qty + 0.25 AS b", "2 * 1.5 AS c", "qty - 0.5 AS d", "qty * 1.5D AS e");
    // decimal(10,0) * decimal(2,1) = decimal(13,1); + decimal(2,2) = decimal(13,2); 2 is decimal(1,0): (4,1).
    expect(types(df)).toEqual(["decimal(13,1)", "decimal(13,2)", "decimal(4,1)", "decimal(12,1)", "double"]);
    expect(df.collect()).toEqual([
      ["4.5", "3.25", "3.0", "2.5", 4.5],
      ["10.5", "7.25", "3.0", "6.5", 10.5],
    ]);
  });

  it("divides to max(6, s1 + p2 + 1) digits after the point, rounding HALF_UP; by zero is null, as is a remainder by zero", () => {
    const df = one().limit(1).selectExpr("1.0 / 3 AS third", "2.0 / 3 AS two", "-2.0 / 3 AS neg", "1.5 / 0 AS zero", "7.5 % 2 AS r", "-7.5 % 2 AS nr", "7.5 % 0 AS rz", "10.3 * 3.0 AS m");
    expect(types(df)).toEqual(["decimal(7,6)", "decimal(7,6)", "decimal(7,6)", "decimal(7,6)", "decimal(2,1)", "decimal(2,1)", "decimal(2,1)", "decimal(6,2)"]);
    expect(df.first()).toEqual(["0.333333", "0.666667", "-0.666667", null, "1.5", "-1.5", null, "30.90"]);
    expect(df.schema.fields.map((f) => f.nullable)).toEqual([true, true, true, true, true, true, true, true]);
  });

  it("caps a result at 38 digits (keeping 6 after the point at least), and a value beyond its precision is null", () => {
    const df = one().limit(1).selectExpr(
      "CAST('99999999999999999999999999999999999999' AS DECIMAL(38,0)) + 1 AS over",
      "CAST('99999999999999999999999999999999999998' AS DECIMAL(38,0)) + 1 AS fits",
      "CAST(1.5 AS DECIMAL(38,18)) * CAST(2.25 AS DECIMAL(38,18)) AS product",
      "CAST(0.0000015 AS DECIMAL(38,18)) * CAST(1 AS DECIMAL(38,18)) AS rounded",
    );
    expect(types(df)).toEqual(["decimal(38,0)", "decimal(38,0)", "decimal(38,6)", "decimal(38,6)"]);
    expect(df.first()).toEqual([null, "99999999999999999999999999999999999999", "3.375000", "0.000002"]);
  });

  it("negates a decimal and takes its absolute value, keeping its type", () => {
    const df = prices().select(col("p").negate().alias("n"), abs(col("p")).alias("a"));
    expect(types(df)).toEqual(["decimal(5,2)", "decimal(5,2)"]);
    expect(df.collect()).toEqual([["-1.10", "1.10"], ["-10.00", "10.00"], ["3.35", "3.35"], ["-2.20", "2.20"], [null, null]]);
  });

  it("divides an int column by a decimal as decimal(10,0) / decimal(2,1) = decimal(17,6)", () => {
    const df = one().selectExpr("qty / 2.0 AS h", "qty / 0.7 AS s");
    expect(types(df)).toEqual(["decimal(17,6)", "decimal(17,6)"]);
    // 3 / 0.7 = 4.2857142…, 7 / 0.7 = 10
    expect(df.collect()).toEqual([["1.500000", "4.285714"], ["3.500000", "10.000000"]]);
  });

  it("refuses a decimal literal of more than 38 digits, and a decimal type beyond 38", () => {
    expect(() => one().selectExpr("1234567890123456789012345678901234567890.5")).toThrow(AnalysisError);
    expect(() => one().select(col("qty").cast("decimal(39,2)"))).toThrow(/DECIMAL_PRECISION_EXCEEDS_MAX_PRECISION/);
  });

  it("joins on decimal keys, of one type or of two", () => {
    const a = spark.createDataFrame([["1.5", "x"], ["2", "y"]], "k DECIMAL(3,1), a STRING");
    const b = spark.createDataFrame([["1.50", 10], ["3.00", 30]], "k DECIMAL(4,2), b INT");
    expect(a.join(b, a.col("k").equalTo(b.col("k"))).select("a", "b").collect()).toEqual([["x", 10]]);
    expect(a.join(a.select(col("k").alias("k2")), col("k").equalTo(col("k2"))).select("a").collect()).toEqual([["x"], ["y"]]);
  });

  it("casts to a decimal rounding HALF_UP (a double through its shortest digits), null when it does not fit or parse", () => {
    const df = spark.createDataFrame([[1.005, 12, " 1.25 ", 2.5]], "d DOUBLE, i INT, s STRING, h DOUBLE");
    const out = df.select(
      col("d").cast("decimal(10,2)"),
      col("i").cast("decimal(3,1)"),
      col("i").multiply(10).cast("decimal(3,1)").alias("big"),
      col("s").cast("decimal(2,1)").alias("s"),
      lit("abc").cast("decimal(5,2)").alias("bad"),
      lit("1e2").cast("decimal(5,2)").alias("exp"),
      col("h").cast("decimal"),
      col("h").negate().cast("decimal").alias("nh"),
    );
    expect(types(out)).toEqual(["decimal(10,2)", "decimal(3,1)", "decimal(3,1)", "decimal(2,1)", "decimal(5,2)", "decimal(5,2)", "decimal(10,0)", "decimal(10,0)"]);
    expect(out.first()).toEqual(["1.01", "12.0", null, "1.3", null, "100.00", "3", "-3"]);
    // A huge exponent overflows and a tiny one rounds to zero, as Java's BigDecimal reads them.
    expect(one().limit(1).select(lit("1e999999999").cast("decimal(5,2)"), lit("-1e-999999999").cast("decimal(5,2)")).first()).toEqual([null, "0.00"]);
  });

  it("casts a decimal to an integer truncating, to a double, a string of its plain digits and a boolean", () => {
    const out = prices().select(col("p").cast("int"), col("p").cast("bigint").alias("l"), col("p").cast("double").alias("d"), col("p").cast("string").alias("s"), col("p").cast("boolean").alias("b"));
    expect(out.collect()).toEqual([
      [1, 1, 1.1, "1.10", true],
      [10, 10, 10, "10.00", true],
      [-3, -3, -3.35, "-3.35", true],
      [2, 2, 2.2, "2.20", true],
      [null, null, null, null, null],
    ]);
  });

  it("is nullable after a cast only where a value may not fit (Cast.forceNullable)", () => {
    const df = spark.createDataFrame([[1, 2.5, "1"]], StructType([StructField("i", IntegerType, false), StructField("d", DoubleType, false), StructField("s", StringType, false)]));
    const nullable = (c: ReturnType<typeof col>) => df.select(c).schema.fields[0]!.nullable;
    expect([nullable(col("i").cast("decimal(10,0)")), nullable(col("i").cast("decimal(12,2)")), nullable(col("i").cast("decimal(5,2)")), nullable(col("d").cast("decimal(38,10)")), nullable(col("s").cast("decimal"))]).toEqual([false, false, true, true, true]);
    const p = spark.createDataFrame([["1.5"]], StructType([StructField("p", DecimalType(5, 2), false)]));
    const dec = (to: string) => p.select(col("p").cast(to)).schema.fields[0]!.nullable;
    // From decimal(5,2): wider, or more integer digits, always fits; fewer fraction digits alone may round up and overflow.
    expect([dec("decimal(6,3)"), dec("decimal(5,1)"), dec("decimal(4,1)"), dec("decimal(4,2)")]).toEqual([false, false, true, true]);
  });

  it("sums to decimal(p+10,s) and averages to decimal(p+4,s+4), rounding HALF_UP; min and max keep the type", () => {
    const df = prices().agg(sum("p"), avg("p"), min("p"), max("p"), countDistinct("p"));
    expect(types(df)).toEqual(["decimal(15,2)", "decimal(9,6)", "decimal(5,2)", "decimal(5,2)", "bigint"]);
    // 9.95 / 4 = 2.4875; 6.65 / 3 = 2.21666… rounds up to 2.216667.
    expect(df.first()).toEqual(["9.95", "2.487500", "-3.35", "10.00", 4]);
    const thirds = spark.createDataFrame([["1.10"], ["2.20"], ["3.35"]], "p DECIMAL(5,2)").agg(avg("p"));
    expect(thirds.first()).toEqual(["2.216667"]);
    expect(spark.createDataFrame([[null]], "p DECIMAL(5,2)").agg(sum("p"), avg("p")).first()).toEqual([null, null]);
  });

  it("compares decimals by value, with ints, other decimals and doubles; orders them numerically", () => {
    const names = (condition: string) => prices().where(condition).collect().map((r) => r[0]);
    expect(names("p > 2")).toEqual(["10.00", "2.20"]);
    expect(names("p = 1.1")).toEqual(["1.10"]);
    expect(names("p < 2.5D")).toEqual(["1.10", "-3.35", "2.20"]);
    expect(names("p >= '2.2'")).toEqual(["10.00", "2.20"]);
    expect(names("p IN (10, -3.35)")).toEqual(["10.00", "-3.35"]);
    expect(prices().orderBy(desc("p")).collect().map((r) => r[0])).toEqual(["10.00", "2.20", "1.10", "-3.35", null]);
    expect(prices().orderBy("p").collect().map((r) => r[0])).toEqual([null, "-3.35", "1.10", "2.20", "10.00"]);
  });

  it("groups equal decimals together whatever digits they were given with", () => {
    const df = spark.createDataFrame([["1.5", 1], ["1.50", 2], ["1.500", 3], ["2", 4]], "k DECIMAL(4,2), n INT");
    expect(df.groupBy("k").agg(sum("n")).collect()).toEqual([["1.50", 6], ["2.00", 4]]);
    expect(df.select("k").distinct().count()).toBe(2);
  });

  it("takes a decimal column's values as strings of digits (or bigints), not as JS numbers, rounding to the scale", () => {
    expect(spark.createDataFrame([["1.005"], [12n], ["123456"]], "d DECIMAL(5,2)").collect()).toEqual([["1.01"], ["12.00"], [null]]);
    expect(() => spark.createDataFrame([[1.5]], "d DECIMAL(5,2)")).toThrow(AnalysisError);
    expect(() => spark.createDataFrame([[1.5]], "d DECIMAL(5,2)")).toThrow(/decimal\(5,2\) can not accept 1.5 .*as the string of its digits/);
    expect(() => spark.createDataFrame([["x"]], "d DECIMAL(5,2)")).toThrow(/decimal\(5,2\) can not accept "x"/);
  });

  it("unions, coalesces and chooses between decimals of different scales in their wider type", () => {
    const a = spark.createDataFrame([["1.5"]], "d DECIMAL(3,1)");
    const b = spark.createDataFrame([["2.25"]], "d DECIMAL(4,2)");
    const u = a.union(b);
    expect(types(u)).toEqual(["decimal(4,2)"]);
    expect(u.collect()).toEqual([["1.50"], ["2.25"]]);
    const c = a.select(coalesce(col("d"), lit(2)).alias("c"), when(col("d").gt(1), col("d")).otherwise(lit(0)).alias("w"));
    expect(types(c)).toEqual(["decimal(11,1)", "decimal(11,1)"]);
    expect(c.first()).toEqual(["1.5", "1.5"]);
  });
});

/** How plain values become rows and types (createDataFrame, toDF), and how an explicit schema is checked. */
import { describe, expect, it } from "vitest";
import { AnalysisError, IntegerType, RDD, SparkSession, StringType, StructField, StructType } from "../../lib/index.js";
import { javaDouble } from "../../lib/sql/cast.js";

const spark = SparkSession.builder().getOrCreate();

describe("schema inference", () => {
  it.each([
    ["objects: a column per key, first-seen order", [{ b: "x", a: 1 }, { a: 2, c: true }], [["b", "string"], ["a", "int"], ["c", "boolean"]]],
    ["tuples: _1, _2 …", [["x", 1.5]], [["_1", "string"], ["_2", "double"]]],
    ["plain values: one column named value", [1, 2], [["value", "int"]]],
    ["integer and long widen to long", [{ n: 1 }, { n: 3_000_000_000 }], [["n", "bigint"]]],
    ["integer and double widen to double", [{ n: 1 }, { n: 2.5 }], [["n", "double"]]],
    ["bigint is long, Date is timestamp", [{ n: 5n, t: new Date(0) }], [["n", "bigint"], ["t", "timestamp"]]],
    ["a column null in every row is string", [{ n: null }], [["n", "string"]]],
    ["nested objects are structs, merged field by field", [{ p: { a: 1 } }, { p: { b: "x" } }], [["p", "struct<a:int,b:string>"]]],
    ["arrays take their elements' common type", [{ xs: [1, 2.5] }, { xs: [] }], [["xs", "array<double>"]]],
  ])("%s", (_, values, dtypes) => {
    expect(spark.createDataFrame(values as unknown[]).dtypes).toEqual(dtypes);
  });

  it("reads every row, not a sample: a value late in a large batch still widens its column or adds one", () => {
    // Inference skips work for rows shaped like the one before; these rows break the pattern only at the end.
    const rows = (last: Record<string, unknown>) => [...Array.from({ length: 5000 }, (_, i) => ({ k: `k${i}`, n: i })), last];
    expect(spark.createDataFrame(rows({ k: "x", n: 2 ** 40 })).dtypes).toEqual([["k", "string"], ["n", "bigint"]]);
    expect(spark.createDataFrame(rows({ k: "x", n: 0.5 })).dtypes).toEqual([["k", "string"], ["n", "double"]]);
    expect(spark.createDataFrame(rows({ n: 1, k: "x" })).dtypes).toEqual([["k", "string"], ["n", "int"]]);
    expect(spark.createDataFrame(rows({ k: "x", extra: true })).dtypes).toEqual([["k", "string"], ["n", "int"], ["extra", "boolean"]]);
    expect(() => spark.createDataFrame(rows({ k: "x", n: "1" }))).toThrow(/field n: cannot merge type integer and string/);
    expect(() => spark.createDataFrame(rows({ n: 1, k: 2 }))).toThrow(/field k: cannot merge type string and integer/);
  });

  it("makes every inferred column nullable, and a missing key null", () => {
    const df = spark.createDataFrame([{ a: 1 }, { b: 2 }]);
    expect(df.schema.fields.every((f) => f.nullable)).toBe(true);
    expect(df.collect()).toEqual([
      [1, null],
      [null, 2],
    ]);
  });

  it("fails if rows disagree on a column's type, naming the field", () => {
    expect(() => spark.createDataFrame([{ age: 1 }, { age: "one" }])).toThrow(AnalysisError);
    expect(() => spark.createDataFrame([{ age: 1 }, { age: "one" }])).toThrow(/field age: cannot merge type integer and string/);
    expect(() => spark.createDataFrame([{ a: 1 }, [1]])).toThrow(/mix objects and arrays/);
  });

  it("renames the columns with toDF, on an RDD as with Spark's implicits", () => {
    const df = RDD.of([["a", 1]]).toDF("name", "n");
    expect(df.columns).toEqual(["name", "n"]);
    expect(() => RDD.of([["a", 1]]).toDF("name")).toThrow(/Old column names \(2\): _1, _2\nNew column names \(1\): name/);
    expect(spark.createDataFrame([["a", 1]], ["k", "v"]).columns).toEqual(["k", "v"]);
  });
});

describe("an explicit schema", () => {
  it("is taken as given, from a StructType or a DDL string", () => {
    const schema = StructType([StructField("name", StringType, false), StructField("age", IntegerType)]);
    expect(spark.createDataFrame([{ name: "a", age: 1 }], schema).schema).toEqual(schema);
    expect(spark.createDataFrame([["a", 1]], "name STRING NOT NULL, age INT").schema).toEqual(schema);
  });

  it("fails if a value does not fit its column, naming the field and the value", () => {
    expect(() => spark.createDataFrame([{ age: "x" }], "age INT")).toThrow(/field age: int can not accept "x" \(a string\)/);
    expect(() => spark.createDataFrame([{ age: 1.5 }], "age INT")).toThrow(/field age: int can not accept 1.5/);
    expect(() => spark.createDataFrame([{ name: null }], "name STRING NOT NULL")).toThrow(/field name: .*not nullable/);
  });
});

describe("Java's Double.toString, as Spark prints doubles", () => {
  it.each([
    [55, "55.0"],
    [-1.5, "-1.5"],
    [0, "0.0"],
    [-0, "-0.0"],
    [0.001, "0.001"],
    [0.0001, "1.0E-4"],
    [9999999, "9999999.0"],
    [1e7, "1.0E7"],
    [123456789.5, "1.234567895E8"],
    [1 / 3, "0.3333333333333333"],
    [1e21, "1.0E21"],
    [NaN, "NaN"],
    [-Infinity, "-Infinity"],
  ])("%d prints %s", (x, text) => {
    expect(javaDouble(x)).toBe(text);
  });
});

describe("types a TypeScript user gets", () => {
  it("toDF exists on every RDD once sparkless is imported, and where() takes a Column or a SQL expression", () => {
    const df = RDD.of([{ a: 1 }, { a: 2 }]).toDF();
    expect(df.where("a > 1").collect()).toEqual([[2]]);
    // @ts-expect-error where() takes a Column or a string, not a function
    expect(() => df.where((row: unknown) => row !== null)).toThrow();
  });
});

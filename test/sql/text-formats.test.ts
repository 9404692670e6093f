/** Rows as Spark's JSON and CSV writers write them (JacksonGenerator, UnivocityGenerator with Spark's defaults). */
import { describe, expect, it } from "vitest";
import { AnalysisError, SparkSession } from "../../lib/index.js";
import { rowsToCsv, rowToJson } from "../../lib/sql/text-formats.js";

const spark = SparkSession.builder().getOrCreate();

describe("CSV", () => {
  it("quotes what holds the separator, a quote or a line break (quotes escaped with a backslash), writes an empty string as \"\" and a null as nothing", () => {
    const df = spark.createDataFrame(
      [
        ["plain", 1.0, true],
        ["a,b", null, false],
        ['say "hi"', -0.5, null],
        ["", 1e7, true],
        ["two\nlines", 3, true],
        ["  padded  ", 0, true],
      ],
      "s STRING, d DOUBLE, b BOOLEAN",
    );
    expect(rowsToCsv(df.collect(), df.schema)).toEqual(["plain,1.0,true", '"a,b",,false', '"say \\"hi\\"",-0.5,', '"",1.0E7,true', '"two\nlines",3.0,true', "padded,0.0,true"]);
    expect(rowsToCsv(df.limit(1).collect(), df.schema, { header: true, sep: ";" })).toEqual(["s;d;b", "plain;1.0;true"]);
  });

  it("fails if a column is nested, naming it", () => {
    const df = spark.createDataFrame([{ tags: ["a"] }]);
    expect(() => rowsToCsv(df.collect(), df.schema)).toThrow(AnalysisError);
    expect(() => rowsToCsv(df.collect(), df.schema)).toThrow(/The CSV datasource doesn't support the column `tags` of the type "ARRAY<STRING>"/);
  });
});

describe("JSON", () => {
  it("leaves null fields out, writes doubles as Java, NaN as a string, timestamps in UTC with milliseconds, maps as objects", () => {
    const df = spark.createDataFrame([{ n: null, d: 2, nan: NaN, t: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), m: new Map([[1, "x"]]), s: { a: null, b: "é\"" } }]);
    const schema = df.schema;
    expect(df.dtypes.map(([, t]) => t)).toEqual(["string", "int", "double", "timestamp", "map<int,string>", "struct<a:string,b:string>"]);
    // d is an integer column here: 2, not 2.0; nan is a double.
    expect(rowToJson(df.first(), schema)).toBe('{"d":2,"nan":"NaN","t":"2024-01-02T03:04:05.000Z","m":{"1":"x"},"s":{"b":"é\\""}}');
  });
});

describe("decimals", () => {
  // JacksonGenerator writes gen.writeNumber(decimal.toJavaBigDecimal), UnivocityGenerator decimal.toString: both
  // Java's BigDecimal.toString, plain digits with the scale unless the number is below 10^-6 (then 1E-8).
  const df = () => spark.createDataFrame([["3", "0.00000001"], ["-0.5", "0"], [null, "0.000001"]], "d DECIMAL(3,1), tiny DECIMAL(10,8)");

  it("writes JSON numbers with the column's scale", () => {
    expect(df().collect().map((r) => rowToJson(r, df().schema))).toEqual(['{"d":3.0,"tiny":1E-8}', '{"d":-0.5,"tiny":0E-8}', '{"tiny":0.00000100}']);
  });

  it("writes CSV digits the same way, a null as nothing", () => {
    expect(rowsToCsv(df().collect(), df().schema)).toEqual(["3.0,1E-8", "-0.5,0E-8", ",0.00000100"]);
  });
});

/** The session: one per process, its temp views, and spark.sql() over them through the SqlEngine interface. */
import { describe, expect, it } from "vitest";
import { AnalysisError, SparkSession, type SqlEngine, type Table } from "../../lib/index.js";
import { printed } from "./support.js";

/** Answers `SELECT <column> FROM <view>` from the views it is given, and records what it was asked. */
class FakeEngine implements SqlEngine {
  readonly calls: Array<{ query: string; views: string[] }> = [];
  async query(query: string, views: ReadonlyMap<string, Table>): Promise<Table> {
    this.calls.push({ query, views: [...views.keys()] });
    const m = /^SELECT (\w+) FROM (\w+)$/i.exec(query);
    const view = m && views.get(m[2]!);
    if (!view) throw new Error(`fake engine cannot answer ${query}`);
    const i = view.schema.fields.findIndex((f) => f.name === m[1]);
    return { schema: { kind: "struct", fields: [view.schema.fields[i]!] }, rows: view.rows.map((r) => [r[i]]) };
  }
  async close(): Promise<void> {}
}

describe("SparkSession", () => {
  it("is one per process: getOrCreate returns the same session, with the builder's config added", () => {
    const a = SparkSession.builder().appName("one").getOrCreate();
    const b = SparkSession.builder().config("spark.sql.shuffle.partitions", 4).getOrCreate();
    expect(b).toBe(a);
    expect(SparkSession.getActiveSession()).toBe(a);
    expect(b.conf.get("spark.app.name")).toBe("one");
    expect(b.conf.get("spark.sql.shuffle.partitions")).toBe("4");
  });

  it("queries the temp views with spark.sql, the result a DataFrame with Spark's show format", async () => {
    const engine = new FakeEngine();
    const spark = SparkSession.builder().sqlEngine(engine).getOrCreate();
    spark.createDataFrame([{ name: "Andy", age: 30 }, { name: "Justin", age: null }]).createOrReplaceTempView("people");
    const df = await spark.sql("SELECT age FROM people");
    expect(engine.calls).toEqual([{ query: "SELECT age FROM people", views: ["people"] }]);
    expect(df.dtypes).toEqual([["age", "int"]]);
    expect(printed(() => df.show())).toBe("+----+\n| age|\n+----+\n|  30|\n|NULL|\n+----+\n\n");
  });

  it("replaces a view of the same name (a later batch's), refuses createTempView over one, and finds views case-insensitively", () => {
    const spark = SparkSession.builder().getOrCreate();
    spark.createDataFrame([{ n: 1 }]).createOrReplaceTempView("batch");
    spark.createDataFrame([{ n: 2 }]).createOrReplaceTempView("Batch");
    expect(spark.table("BATCH").collect()).toEqual([[2]]);
    expect(() => spark.createDataFrame([{ n: 3 }]).createTempView("batch")).toThrow(/TEMP_TABLE_OR_VIEW_ALREADY_EXISTS/);
    expect(spark.dropTempView("batch")).toBe(true);
    expect(() => spark.table("batch")).toThrow(AnalysisError);
  });

  it("passes an engine's error through to the caller", async () => {
    const spark = SparkSession.builder().sqlEngine(new FakeEngine()).getOrCreate();
    await expect(spark.sql("DROP TABLE x")).rejects.toThrow(/fake engine cannot answer DROP TABLE x/);
  });
});

/**
 * The same question asked of random tables twice, through spark.sql and through the DataFrame API, gives the
 * same rows and the same column types and nullability: grouping with aggregates, filters, projections of
 * arithmetic, casts, comparisons, coalesce and CASE, inner and left joins, HAVING with ORDER BY and LIMIT.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { DataFrame } from "../../lib/sql/dataframe.js";
import { asc, avg, coalesce, col, count, desc, expr, lit, max, min, sum, when } from "../../lib/sql/functions.js";
import { SparkSession } from "../../lib/sql/spark-session.js";
import { dims, dimTable, facts, factTable, type Dim, type Fact } from "./random-tables.js";

const spark = SparkSession.builder().getOrCreate();
afterAll(() => spark.stop());

/** The two tables as views `t` and `u`, and as DataFrames. */
function register(rows: Fact[], ds: Dim[] = []): { t: DataFrame; u: DataFrame } {
  const [facts, dimensions] = [factTable(rows), dimTable(ds)];
  const t = spark.createDataFrame(facts.rows, facts.schema);
  const u = spark.createDataFrame(dimensions.rows, dimensions.schema);
  t.createOrReplaceTempView("t");
  u.createOrReplaceTempView("u");
  return { t, u };
}

/** Rows, and column names, types and nullability (printSchema's whole tree). */
const answer = (df: DataFrame) => ({ columns: df.schema.fields.map((f) => [f.name, f.dataType, f.nullable]), rows: df.collect() });

async function same(query: string, api: DataFrame): Promise<void> {
  expect(answer(await spark.sql(query))).toEqual(answer(api));
}

const RUNS = { numRuns: 40 };

describe("spark.sql and the DataFrame API agree on random tables", () => {
  it("groupBy with count, sum, min, max and avg", async () => {
    await fc.assert(
      fc.asyncProperty(facts, async (rows) => {
        const { t } = register(rows);
        await same(
          "SELECT k, count(*) AS c, count(v) AS cv, sum(v) AS s, min(v) AS mn, max(v) AS mx, avg(v) AS a FROM t GROUP BY k ORDER BY k",
          t.groupBy("k").agg(count("*").alias("c"), count("v").alias("cv"), sum("v").alias("s"), min("v").alias("mn"), max("v").alias("mx"), avg("v").alias("a")).orderBy("k"),
        );
      }),
      RUNS,
    );
  });

  it("where with a comparison and a NULL that is not true", async () => {
    await fc.assert(
      fc.asyncProperty(facts, fc.integer({ min: -1000, max: 1000 }), async (rows, threshold) => {
        const { t } = register(rows);
        await same(`SELECT id, k, v FROM t WHERE v > ${threshold} AND k <> 'a' ORDER BY id`, t.where(col("v").gt(threshold).and(col("k").notEqual("a"))).orderBy("id"));
      }),
      RUNS,
    );
  });

  it("projections carry nullability through arithmetic, casts, comparisons, coalesce and CASE", async () => {
    await fc.assert(
      fc.asyncProperty(facts, async (rows) => {
        // id is never null here, so a column's nullability depends on which inputs an expression reads.
        const table = factTable(rows);
        const schema = { ...table.schema, fields: table.schema.fields.map((f) => (f.name === "id" ? { ...f, nullable: false } : f)) };
        const t = spark.createDataFrame(table.rows, schema);
        t.createOrReplaceTempView("t");
        await same(
          `SELECT id, id * 2 + 1 AS a, v - id AS b, id / 2 AS c, CAST(id AS STRING) AS d, CAST(v AS DOUBLE) AS e, TRY_CAST(k AS INT) AS f,
             id > 3 AS g, v IS NULL AS h, coalesce(v, id) AS i, CASE WHEN v > 0 THEN id ELSE 0 END AS j, CASE WHEN v > 0 THEN v END AS l
           FROM t ORDER BY id`,
          t
            .select(
              col("id"),
              col("id").multiply(2).plus(1).alias("a"),
              col("v").minus(col("id")).alias("b"),
              col("id").divide(2).alias("c"),
              col("id").cast("string").alias("d"),
              col("v").cast("double").alias("e"),
              col("k").cast("int").alias("f"),
              col("id").gt(3).alias("g"),
              col("v").isNull().alias("h"),
              coalesce(col("v"), col("id")).alias("i"),
              when(col("v").gt(0), col("id")).otherwise(0).alias("j"),
              when(col("v").gt(0), col("v")).alias("l"),
            )
            .orderBy("id"),
        );
      }),
      RUNS,
    );
  });

  it("projections with decimal literals: Spark's decimal types and exact digits on both sides", async () => {
    await fc.assert(
      fc.asyncProperty(facts, async (rows) => {
        const { t } = register(rows);
        await same("SELECT id, v + 0.25 AS b, v - 0.5 AS c, v * 1.5 > 3 AS d FROM t ORDER BY id", t.selectExpr("id", "v + 0.25 AS b", "v - 0.5 AS c", "v * 1.5 > 3 AS d").orderBy("id"));
        // Where DuckDB's decimal rules differ (a product is a digit narrower, 0.1 a digit wider), the digits agree and
        // spark.sql reports Spark's type; a sum of decimals is decimal(p+10,s) in Spark, decimal(38,s) in DuckDB.
        await same("SELECT v * 1.5 AS a, 0.1 + 0.2 AS e FROM t ORDER BY id", t.orderBy("id").selectExpr("v * 1.5 AS a", "0.1 + 0.2 AS e"));
        await same("SELECT k, sum(v * 0.5) AS s FROM t GROUP BY k ORDER BY k", t.groupBy("k").agg(sum(expr("v * 0.5")).alias("s")).orderBy("k"));
      }),
      RUNS,
    );
  });

  it("inner and left joins on a key", async () => {
    await fc.assert(
      fc.asyncProperty(facts, dims, async (rows, ds) => {
        const { t, u } = register(rows, ds);
        await same("SELECT t.id, t.k, u.w FROM t JOIN u ON t.k = u.k ORDER BY t.id", t.join(u, "k").select("id", "k", "w").orderBy("id"));
        await same("SELECT t.id, t.k, u.w FROM t LEFT JOIN u ON t.k = u.k ORDER BY t.id", t.join(u, "k", "left").select("id", "k", "w").orderBy("id"));
      }),
      RUNS,
    );
  });

  it("HAVING, ORDER BY a descending aggregate and LIMIT", async () => {
    await fc.assert(
      fc.asyncProperty(facts, fc.integer({ min: 0, max: 4 }), async (rows, limit) => {
        const { t } = register(rows);
        await same(
          `SELECT k, sum(v) AS s FROM t GROUP BY k HAVING count(*) >= 2 ORDER BY s DESC, k LIMIT ${limit}`,
          t.groupBy("k").agg(sum("v").alias("s"), count(lit(1)).alias("n")).where(col("n").geq(2)).orderBy(desc("s"), asc("k")).limit(limit).select("k", "s"),
        );
      }),
      RUNS,
    );
  });
});

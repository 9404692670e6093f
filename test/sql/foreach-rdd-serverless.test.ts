/**
 * The foreachRDD idiom where it runs on AWS: the finalizer, driven here through the test driver (the code the
 * Lambda functions run, on in-memory stores). Shown tables go to the function's log, writes to the output
 * prefix under deterministic keys, and a batch whose DataFrame job fails goes to the batch's dead letter while
 * later batches run.
 */
import { describe, expect, it } from "vitest";
import { Seconds } from "../../lib/core/duration.js";
import { definePipeline } from "../../lib/serverless/define-pipeline.js";
import { PREFIXES } from "../../lib/serverless/runtime-deps.js";
import { SparkSession } from "../../lib/sql/spark-session.js";
import { count } from "../../lib/sql/functions.js";
import { PipelineTestDriver } from "../../lib/testing/index.js";

const T0 = 1_700_000_000_000;

const people = definePipeline("people", { batchInterval: Seconds(1), idleAfter: Seconds(1) }, (lines) => {
  lines
    .map((line) => JSON.parse(line) as { name: string; dept: string })
    .foreachRDD(async (rdd, time) => {
      const spark = SparkSession.builder().getOrCreate();
      const df = spark.createDataFrame(rdd);
      // A batch whose rows mention "typo" asks for a column that does not exist.
      const column = df.where(df.col("name").equalTo("typo")).count() > 0 ? "nme" : "name";
      df.select(column, "dept").orderBy("name").show();
      await df.groupBy("dept").agg(count("*").alias("n")).orderBy("dept").write.json(`by-dept-${time.milliseconds}`);
    });
});

describe("DataFrames in the finalizer", () => {
  it("shows, writes to the output prefix, and dead-letters only the failing batch", async () => {
    const driver = new PipelineTestDriver(people, { startTime: T0 });
    driver.send({ name: "b", dept: "eng" }, { at: T0 + 100 });
    driver.send({ name: "a", dept: "ops" }, { at: T0 + 200 });
    driver.send({ name: "typo", dept: "eng" }, { at: T0 + 1_100 });
    driver.send({ name: "c", dept: "eng" }, { at: T0 + 2_100 });
    await driver.deliver();
    await driver.advanceTime(Seconds(5));

    const tables = driver.logs.filter((l) => l.startsWith("+"));
    expect(tables).toEqual([
      `+----+----+
|name|dept|
+----+----+
|   a| ops|
|   b| eng|
+----+----+

`,
      `+----+----+
|name|dept|
+----+----+
|   c| eng|
+----+----+

`,
    ]);

    const output = `${PREFIXES.output}people/`;
    expect(await driver.objects.get(`${output}by-dept-${T0 + 1_000}/part-00000`)).toBe('{"dept":"eng","n":1}\n{"dept":"ops","n":1}\n');
    expect(await driver.objects.get(`${output}by-dept-${T0 + 1_000}/_SUCCESS`)).toBe("");
    expect(await driver.objects.get(`${output}by-dept-${T0 + 2_000}/part-00000`)).toBeUndefined();
    expect(await driver.objects.get(`${output}by-dept-${T0 + 3_000}/part-00000`)).toBe('{"dept":"eng","n":1}\n');

    const dead = JSON.parse((await driver.objects.get(`${PREFIXES.deadLetter}people/batches/${T0 + 2_000}.json`))!);
    expect(dead.batchTime).toBe(T0 + 2_000);
    expect(dead.error).toMatch(/foreachRDD.*\[UNRESOLVED_COLUMN\.WITH_SUGGESTION\] A column or function parameter with name `nme` cannot be resolved\. Did you mean one of the following\? \[`name`, `dept`\]/);
    expect(await driver.lastFinalized()).toBeGreaterThanOrEqual(T0 + 3_000);
  });
});

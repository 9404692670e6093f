/**
 * spark.sql where foreachRDD runs: on the local engine and in the finalizer (through the test driver, the code
 * the Lambda functions run). A query that cannot run fails its batch's job with the SqlError's message (query,
 * position, views), goes to that batch's dead letter on AWS, and later batches run.
 */
import { describe, expect, it } from "vitest";
import { ManualClock, Seconds, SparkSession, StreamingContext, type BatchInfo } from "../../lib/index.js";
import { definePipeline } from "../../lib/api/define-pipeline.js";
import { PREFIXES } from "../../lib/serverless/runtime-deps.js";
import { PipelineTestDriver } from "../../lib/testing/index.js";

const T0 = 1_700_000_000_000;

/** Each batch's words counted by SQL; a batch holding "typo" misspells FROM. */
async function countWords(words: string[]): Promise<void> {
  const spark = SparkSession.builder().getOrCreate();
  spark.createDataFrame(words.map((word) => ({ word }))).createOrReplaceTempView("words");
  const from = words.includes("typo") ? "FORM" : "FROM";
  (await spark.sql(`SELECT word, count(*) AS n\n${from} words\nGROUP BY word ORDER BY n DESC, word`)).show();
}

const SHOWN_B_A = `+----+---+
|word|  n|
+----+---+
|   b|  2|
|   a|  1|
+----+---+

`;

describe("spark.sql in foreachRDD", () => {
  it("runs on the local engine; a bad query fails its batch alone", async () => {
    const clock = new ManualClock();
    let out = "";
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, out: (t) => void (out += t) });
    const infos: BatchInfo[] = [];
    ssc.addStreamingListener({ onBatchCompleted: (info) => void infos.push(info) });
    ssc.queueStream([["b", "a", "b"], ["typo"], ["c"]]).foreachRDD((rdd) => countWords(rdd.collect()));
    await ssc.start();
    await clock.advance(Seconds(3));
    await ssc.stop();

    expect(infos.map((i) => i.failure === undefined)).toEqual([true, false, true]);
    const failure = String((infos[1]!.failure as Error).message);
    expect(failure).toContain('spark.sql failed: Parser Error: syntax error at or near "FORM"');
    expect(failure).toContain(["at line 2, column 1:", "  SELECT word, count(*) AS n", "  FORM words", "  ^"].join("\n"));
    expect(failure).toContain("views: words(word: string)");
    expect(out).toBe(`${SHOWN_B_A}+----+---+\n|word|  n|\n+----+---+\n|   c|  1|\n+----+---+\n\n`);
  });

  it("runs in the finalizer; a bad query's batch goes to the dead letter and later batches run", async () => {
    const pipeline = definePipeline("sql-words", { batchInterval: Seconds(1), idleAfter: Seconds(1) }, (lines) => {
      lines.foreachRDD((rdd) => countWords(rdd.collect()));
    });
    const driver = new PipelineTestDriver(pipeline, { startTime: T0 });
    for (const [i, word] of ["b", "a", "b"].entries()) driver.send(word, { at: T0 + 100 + i });
    driver.send("typo", { at: T0 + 1_100 });
    driver.send("c", { at: T0 + 2_100 });
    await driver.deliver();
    await driver.advanceTime(Seconds(5));

    expect(driver.logs.filter((l) => l.startsWith("+"))).toEqual([SHOWN_B_A, "+----+---+\n|word|  n|\n+----+---+\n|   c|  1|\n+----+---+\n\n"]);
    const dead = JSON.parse((await driver.objects.get(`${PREFIXES.deadLetter}sql-words/batches/${T0 + 2_000}.json`))!);
    expect(dead.batchTime).toBe(T0 + 2_000);
    expect(dead.error).toMatch(/foreachRDD[\s\S]*syntax error at or near "FORM"[\s\S]*at line 2, column 1[\s\S]*views: words\(word: string\)/);
    expect(await driver.lastFinalized()).toBeGreaterThanOrEqual(T0 + 3_000);
  });
});

/**
 * Spark's foreachRDD idiom on the local engine: each batch turned into a DataFrame, queried, shown and written;
 * a batch whose DataFrame job fails (a typo, bad data) fails alone and later batches run.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AnalysisError, avg, ManualClock, Seconds, SparkSession, StreamingContext, UserFunctionError, type BatchInfo } from "../../lib/index.js";

interface Person {
  name: string;
  age: number | null;
}

let dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

/** A context on a manual clock over these batches, its printed text, and each batch's outcome. */
async function run(batches: Person[][], build: (stream: ReturnType<StreamingContext["queueStream"]>) => void) {
  const clock = new ManualClock();
  let out = "";
  const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, out: (t) => void (out += t) });
  const infos: BatchInfo[] = [];
  ssc.addStreamingListener({ onBatchCompleted: (info) => void infos.push(info) });
  build(ssc.queueStream(batches));
  await ssc.start();
  await clock.advance(Seconds(batches.length));
  await ssc.stop();
  return { out, infos };
}

describe("foreachRDD with DataFrames, locally", () => {
  it("runs the seed program: every batch's table printed as Spark prints it", async () => {
    const { out, infos } = await run(
      [
        [
          { name: "Michael", age: null },
          { name: "Andy", age: 30 },
        ],
        [{ name: "Justin", age: 19 }],
      ],
      (stream) =>
        stream.foreachRDD((rdd) => {
          const spark = SparkSession.builder().getOrCreate();
          const df = spark.createDataFrame(rdd);
          df.select("name", "age").show();
        }),
    );
    expect(infos.map((i) => i.failure)).toEqual([undefined, undefined]);
    expect(out).toBe(`+-------+----+
|   name| age|
+-------+----+
|Michael|NULL|
|   Andy|  30|
+-------+----+

+------+---+
|  name|age|
+------+---+
|Justin| 19|
+------+---+

`);
  });

  it("writes each batch as JSON lines and CSV, idempotently per batch time", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sparkless-df-"));
    dirs.push(dir);
    const batches = [[{ name: "Andy", age: 30 }, { name: "Bob, Jr.", age: null }], [{ name: "Justin", age: 19 }]];
    const job = (stream: ReturnType<StreamingContext["queueStream"]>) =>
      stream.foreachRDD(async (rdd, time) => {
        const df = rdd.toDF();
        await df.write.json(`${dir}/people-${time.milliseconds}`);
        await df.groupBy().agg(avg("age")).write.option("header", true).csv(`${dir}/avg-${time.milliseconds}`);
        await df.write.mode("append").json(`${dir}/all`);
      });
    await run(batches as Person[][], job);
    const names = (await readdir(dir)).sort();
    expect(names.filter((n) => n.startsWith("people-"))).toHaveLength(2);
    const first = names.find((n) => n.startsWith("people-"))!;
    const t = Number(first.slice("people-".length));
    expect(await readFile(join(dir, first, "part-00000"), "utf8")).toBe('{"name":"Andy","age":30}\n{"name":"Bob, Jr."}\n');
    expect(await readdir(join(dir, first))).toEqual(["_SUCCESS", "part-00000"]);
    expect(await readFile(join(dir, `avg-${t}`, "part-00000"), "utf8")).toBe("avg(age)\n30.0\n");
    expect((await readdir(join(dir, "all"))).sort()).toEqual([`time=${t}`, `time=${t + 1000}`]);

    // The same batches again (a recovery re-runs them): the same files, nothing added.
    const before = await readFile(join(dir, "all", `time=${t}`, "part-00000"), "utf8");
    await run(batches as Person[][], job);
    expect(await readFile(join(dir, "all", `time=${t}`, "part-00000"), "utf8")).toBe(before);
  });

  it("fails only the batch whose DataFrame job fails, with a message naming the column, and runs the later ones", async () => {
    const seen: string[] = [];
    const { infos } = await run(
      [[{ name: "a", age: 1 }], [{ name: "b", age: 2 }, { name: "b2", age: "two" as unknown as number }], [{ name: "c", age: 3 }]],
      (stream) =>
        stream.foreachRDD((rdd) => {
          const df = SparkSession.builder().getOrCreate().createDataFrame(rdd);
          seen.push(String(df.select("name").first()[0]));
          if (df.first()[0] === "c") df.select("nme");
        }),
    );
    expect(seen).toEqual(["a", "c"]);
    const failures = infos.map((i) => i.failure);
    expect(failures[0]).toBeUndefined();
    expect(failures[1]).toBeInstanceOf(UserFunctionError);
    expect(failures[1]!.message).toMatch(/field age: cannot merge type integer and string/);
    expect((failures[2] as UserFunctionError).cause).toBeInstanceOf(AnalysisError);
    expect(failures[2]!.message).toMatch(/`nme` cannot be resolved\. Did you mean one of the following\? \[`name`, `age`\]/);
  });

  it("uses DataFrames in transform, where a batch's RDD becomes another", async () => {
    const clock = new ManualClock();
    const got: unknown[][] = [];
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, out: () => undefined });
    ssc
      .queueStream([[{ name: "a", age: 1 }, { name: "b", age: 5 }]])
      .transform((rdd) => {
        const df = rdd.toDF();
        return df.where(df.col("age").gt(2)).select("name").rdd;
      })
      .foreachRDD((rdd) => void got.push(rdd.collect()));
    await ssc.start();
    await clock.advance(Seconds(1));
    await ssc.stop();
    expect(got).toEqual([[["b"]]]);
  });
});

/**
 * The foreachRDD idiom Spark Streaming users write most: each batch turned into a DataFrame and queried, line
 * for line as in Scala —
 *
 *     ds.foreachRDD(rdd => {
 *       val spark = SparkSession.builder.config(sc.getConf).getOrCreate()
 *       val df = spark.createDataFrame(rdd)
 *       df.select("name", "age").show
 *     })
 *
 * over Spark's people.json rows, one batch per second, then the batch's average age.
 *
 *     npx tsx examples/dataframe-people.ts
 *
 *     +-------+----+
 *     |   name| age|
 *     +-------+----+
 *     |Michael|NULL|
 *     |   Andy|  30|
 *     +-------+----+
 *     ...
 */
import { avg, ManualClock, Seconds, SparkSession, StreamingContext } from "sparkless";
import { type ExampleOptions, isMain, stdout } from "./support.js";

export interface Person {
  readonly name: string;
  readonly age?: number;
}

/** Spark's examples/src/main/resources/people.json, over two batches. */
export const PEOPLE: Person[][] = [[{ name: "Michael" }, { name: "Andy", age: 30 }], [{ name: "Justin", age: 19 }]];

export async function run({ clock = new ManualClock(), out = stdout, seconds = 2 }: ExampleOptions = {}): Promise<void> {
  const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, out });
  const ds = ssc.queueStream(PEOPLE);

  ds.foreachRDD((rdd) => {
    const spark = SparkSession.builder().getOrCreate();
    const df = spark.createDataFrame(rdd);
    df.select("name", "age").show();
    df.agg(avg("age")).show();
  });

  await ssc.start();
  await clock.advance(Seconds(seconds));
  await ssc.stop();
}

if (isMain(import.meta.url)) await run();

import { RDD } from "../core/rdd.js";
import type { DataFrame } from "./dataframe.js";
import { SparkSession } from "./spark-session.js";

// Spark's `import spark.implicits._`, which gives an RDD its `toDF`. RDD lives on a lower floor and knows
// nothing of DataFrames, so the method is added here, when the SQL module is loaded (importing anything from
// "sparkless" loads it), and declared on RDD's type by module augmentation.

declare module "../core/rdd.js" {
  interface RDD<T> {
    /**
     * The RDD as a DataFrame of the process' SparkSession, as `spark.createDataFrame(rdd)` makes it; with
     * names, its columns renamed (`rdd.toDF("name", "age")` for an RDD of tuples).
     */
    toDF(...colNames: string[]): DataFrame;
  }
}

RDD.prototype.toDF = function toDF<T>(this: RDD<T>, ...colNames: string[]): DataFrame {
  const df = SparkSession.builder().getOrCreate().createDataFrame(this);
  return colNames.length > 0 ? df.toDF(...colNames) : df;
};

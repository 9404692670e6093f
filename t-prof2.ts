import { SparkSession, count, sum, avg, min, max, countDistinct } from "./lib/index.js";
import { inferSchema, rowConverter } from "./lib/sql/infer-schema.js";
const rows = Array.from({ length: 1_000_000 }, (_, i) => ({ dept: `dept-${i % 100}`, salary: 1000 + (i % 9000), age: i % 20 === 0 ? null : 20 + (i % 45) }));
const spark = SparkSession.builder().getOrCreate();
for (let k = 0; k < 3; k++) {
let t = performance.now();
const s = inferSchema(rows);
const a = performance.now() - t; t = performance.now();
const conv = rows.map(rowConverter(s));
const b = performance.now() - t; t = performance.now();
const df = spark.createDataFrame(rows);
const c = performance.now() - t; t = performance.now();
df.groupBy("dept").agg(count("*"), sum("salary"), avg("age"), min("salary"), max("salary"), countDistinct("age")).collect();
const d = performance.now() - t; t = performance.now();
df.groupBy("dept").agg(count("*")).collect();
const e = performance.now() - t; t = performance.now();
console.log({infer: a, convert: b, create: c, agg: d, countOnly: e, n: conv.length});
}

/**
 * `groupBy().agg()` through the DataFrame API against a hand-written loop computing the same aggregates, over
 * 1,000,000 rows of `{ dept, salary, age }` (100 departments, ages with nulls): count(*), sum, avg, min, max
 * and countDistinct per department. The DataFrame variant starts from the plain objects, as foreachRDD's
 * `spark.createDataFrame(rdd)` does (schema inference and conversion to rows included); a third variant starts
 * from a DataFrame built beforehand, to show the aggregation alone. Target: DataFrame within 3x of the loop.
 */
import { mulberry32 } from "../../examples/support.js";
import { avg, count, countDistinct, max, min, SparkSession, sum } from "../../lib/index.js";
import type { DataFrame } from "../../lib/sql/dataframe.js";
import type { Benchmark, BenchmarkFactory } from "./harness.js";

const FULL_ROWS = 1_000_000;
const DEPTS = 100;

interface Employee {
  dept: string;
  salary: number;
  age: number | null;
}

type Result = Map<string, [number, number, number | null, number, number, number]>;

function generate(n: number): Employee[] {
  const random = mulberry32(7);
  const rows: Employee[] = new Array(n);
  for (let i = 0; i < n; i++) {
    rows[i] = { dept: `dept-${Math.floor(random() * DEPTS)}`, salary: 1000 + Math.floor(random() * 9000), age: random() < 0.05 ? null : 20 + Math.floor(random() * 45) };
  }
  return rows;
}

function aggregateFrame(df: DataFrame): Result {
  const out = df.groupBy("dept").agg(count("*"), sum("salary"), avg("age"), min("salary"), max("salary"), countDistinct("age")).collect();
  return new Map(out.map((r) => [r[0] as string, r.slice(1) as [number, number, number | null, number, number, number]]));
}

function handLoop(rows: Employee[]): Result {
  const groups = new Map<string, { count: number; sum: number; ageSum: number; ages: number; min: number; max: number; distinct: Set<number> }>();
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    let g = groups.get(r.dept);
    if (!g) groups.set(r.dept, (g = { count: 0, sum: 0, ageSum: 0, ages: 0, min: Infinity, max: -Infinity, distinct: new Set() }));
    g.count++;
    g.sum += r.salary;
    if (r.salary < g.min) g.min = r.salary;
    if (r.salary > g.max) g.max = r.salary;
    if (r.age !== null) {
      g.ageSum += r.age;
      g.ages++;
      g.distinct.add(r.age);
    }
  }
  return new Map([...groups].map(([k, g]) => [k, [g.count, g.sum, g.ages ? g.ageSum / g.ages : null, g.min, g.max, g.distinct.size]]));
}

const timed = (fn: () => Result) => async () => {
  const start = performance.now();
  const result = fn();
  return { ms: performance.now() - start, result };
};

export const dataframe: BenchmarkFactory = ({ scale }): Benchmark => {
  const n = Math.max(1, Math.round(FULL_ROWS * scale));
  const rows = generate(n);
  const spark = SparkSession.builder().getOrCreate();
  const prebuilt = spark.createDataFrame(rows);
  return {
    name: "dataframe",
    title: `groupBy("dept").agg(count, sum, avg, min, max, countDistinct) over ${n.toLocaleString("en")} rows, ${DEPTS} groups`,
    units: { rows: n },
    variants: [
      { name: "hand loop (Map)", run: timed(() => handLoop(rows)) },
      { name: "DataFrame from objects", run: timed(() => aggregateFrame(spark.createDataFrame(rows))) },
      { name: "DataFrame, aggregation only", run: timed(() => aggregateFrame(prebuilt)) },
    ],
    check: (results) => {
      const [hand, ...frames] = results as Result[];
      for (const frame of frames) {
        const same = hand!.size === frame.size && [...hand!].every(([k, v]) => JSON.stringify(frame.get(k)) === JSON.stringify(v));
        if (!same) throw new Error("dataframe: the DataFrame's aggregates differ from the hand loop's");
      }
    },
  };
};

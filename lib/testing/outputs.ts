/**
 * Reading what a serverless run left behind, the way a user looks at it: the saveAsTextFiles directories that
 * have `_SUCCESS`, Spark's printed blocks in the functions' log, the EMF metric lines, JSON objects by prefix.
 */
import type { ObjectStore } from "../io/object-store.js";
import { PREFIXES } from "../serverless/runtime-deps.js";

/**
 * Every saveAsTextFiles directory of `pipeline` with a batch time up to `end`: its path under the pipeline's
 * output prefix (`counts-1000.txt`) -> its part files joined, in part order. A directory without `_SUCCESS` is
 * left out, as a reader leaves it: its batch is not committed (with finalizer partitions, some partitions' parts
 * are there before the last one's, or for good when one partition's job failed).
 */
export async function serverlessFiles(objects: ObjectStore, pipeline: string, end = Number.MAX_SAFE_INTEGER): Promise<Map<string, string>> {
  const root = `${PREFIXES.output}${pipeline}/`;
  const keys = await objects.list(root);
  const dirs = new Set(keys.map((k) => k.slice(root.length, k.lastIndexOf("/"))).filter((p) => batchTimeOf(p) <= end));
  const files = new Map<string, string>();
  for (const dir of [...dirs].sort()) {
    const mine = keys.filter((k) => k.startsWith(`${root}${dir}/`));
    if (!mine.includes(`${root}${dir}/_SUCCESS`)) continue;
    const parts = mine.filter((k) => /part-\d{5}$/.test(k));
    files.set(dir, (await Promise.all(parts.map((k) => objects.get(k)))).join(""));
  }
  return files;
}

/** The batch time in a saveAsTextFiles directory name: `prefix-<time>` or `prefix-<time>.<suffix>`. */
export function batchTimeOf(dir: string): number {
  const m = /-(\d+)(\.[^/.]*)?$/.exec(dir);
  return m ? Number(m[1]) : Number.NaN;
}

/** Printed Spark blocks by batch time (`Time: <ms> ms`), up to `end`; other log lines are left out. */
export function printedBlocks(texts: readonly string[], end = Number.MAX_SAFE_INTEGER): Map<number, string[]> {
  const byTime = new Map<number, string[]>();
  for (const t of texts) {
    const m = t.startsWith("---") ? /Time: (\d+) ms/.exec(t) : null;
    if (!m) continue;
    const time = Number(m[1]);
    if (time <= end) byTime.set(time, [...(byTime.get(time) ?? []), t]);
  }
  return byTime;
}

/** One EMF line of the shard function's log: the pipeline's record counts for CloudWatch. */
export interface MetricLine {
  readonly Pipeline: string;
  readonly DeadLetterRecords: number;
  readonly LateRecords: number;
  readonly _aws: { readonly CloudWatchMetrics: ReadonlyArray<{ readonly Namespace: string; readonly Metrics: ReadonlyArray<{ readonly Name: string }> }> };
}

/** The EMF lines of a log. */
export function metricLines(logs: readonly string[]): MetricLine[] {
  return logs.filter((l) => l.startsWith('{"_aws"') && l.includes('"DeadLetterRecords"')).map((l) => JSON.parse(l) as MetricLine);
}

/** Bodies of the JSON objects under a prefix, by key. */
export async function jsonObjects<V = Record<string, unknown>>(objects: ObjectStore, prefix: string): Promise<Map<string, V>> {
  const out = new Map<string, V>();
  for (const k of await objects.list(prefix)) out.set(k, JSON.parse((await objects.get(k))!) as V);
  return out;
}

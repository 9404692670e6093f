/**
 * The few figures a person watches while a pipeline runs — how far each shard is behind, how many complete
 * batches wait for the finalizer, which invocations failed or timed out — taken from one status report
 * (pipeline-status.ts). `sparkless status` prints them and `local up`'s live line shows them, both through
 * {@link statusSummary}, so the two cannot tell different stories about the same state.
 */
import { duration } from "./format.js";
import { count, plural } from "./io.js";
import type { PipelineStatusReport } from "./pipeline-status.js";

export interface StatusSummary {
  /** `shard 0: 2,000 records, oldest 45 s; shard 1: 0` — the open shards' records after their committed position. */
  readonly lag: string;
  /** `10 batches` complete and waiting for the finalizer; undefined when the batch interval is unknown. */
  readonly pending?: string;
  /** With P > 1: `4, slowest p2 (3 batches behind)` or `4, none behind`. */
  readonly partitions?: string;
  /** `57, 3 failed: wc-ticker timed out ×2 (after 60 s), wc-shard failed ×1`; undefined off the local stack. */
  readonly invocations?: string;
  /** Some invocation ran out of its timeout. */
  readonly timedOut: boolean;
  /** The figures in one line: `invocations … · pending … · lag …`. */
  readonly line: string;
}

/** Shards listed by name beyond this many are summed instead. */
const SHARDS_LISTED = 4;

export function statusSummary(report: PipelineStatusReport, now: number): StatusSummary {
  const open = report.shards.filter((s) => !s.closed || s.recordsBehind > 0);
  const age = (arrival: number | undefined) => (arrival === undefined ? "" : `, oldest ${duration(Math.max(0, now - arrival))}`);
  const records = (n: number, capped: boolean) => (n === 0 ? "0" : `${capped ? "> " : ""}${plural(n, "record")}`);
  let lag: string;
  if (open.length === 0) lag = "no shards";
  else if (open.length <= SHARDS_LISTED) {
    lag = open.map((s) => `${shortShard(s.shardId)}: ${records(s.recordsBehind, s.recordsBehindCapped)}${s.recordsBehind > 0 ? age(s.oldestPendingArrival) : ""}`).join("; ");
  } else {
    const total = open.reduce((n, s) => n + s.recordsBehind, 0);
    const oldest = Math.min(...open.flatMap((s) => (s.recordsBehind > 0 && s.oldestPendingArrival !== undefined ? [s.oldestPendingArrival] : [])));
    lag = `${records(total, open.some((s) => s.recordsBehindCapped))} on ${open.length} shards${total > 0 && Number.isFinite(oldest) ? age(oldest) : ""}`;
  }

  const ready = report.pending.ready;
  const pending = ready === undefined ? undefined : ready.length === 0 ? "none" : plural(ready.length, "batch", "batches");

  let partitions: string | undefined;
  const parts = report.partitions;
  if (parts && parts.length > 1) {
    const slowest = parts.reduce((a, b) => ((b.behind ?? 0) > (a.behind ?? 0) ? b : a));
    partitions = `${parts.length}, ${(slowest.behind ?? 0) === 0 ? "none behind" : `slowest p${slowest.partition} (${plural(slowest.behind!, "batch", "batches")} behind)`}`;
  }

  let invocations: string | undefined;
  let timedOut = false;
  if (report.invocations) {
    const fns = report.invocations.functions;
    const total = fns.reduce((n, f) => n + f.invocations, 0);
    const failures = fns.flatMap((f) => [
      ...(f.timeouts > 0 ? [`${f.name} timed out ×${count(f.timeouts)}${f.timeoutMs !== undefined ? ` (after ${duration(f.timeoutMs)})` : ""}`] : []),
      ...(f.errors > 0 ? [`${f.name} failed ×${count(f.errors)}`] : []),
    ]);
    const failed = fns.reduce((n, f) => n + f.errors + f.timeouts, 0);
    timedOut = fns.some((f) => f.timeouts > 0);
    invocations = failed === 0 ? `${count(total)}, none failed` : `${count(total)}, ${count(failed)} failed: ${failures.join(", ")}`;
  }

  // Failures first: a terminal cuts the line at its width, and a timed-out function must not be what is cut.
  const line = [
    ...(invocations !== undefined ? [`invocations ${invocations}`] : []),
    ...(pending !== undefined ? [`pending ${pending}`] : []),
    ...(partitions !== undefined ? [`partitions ${partitions}`] : []),
    `lag ${lag}`,
  ].join(" · ");
  return { lag, ...(pending !== undefined ? { pending } : {}), ...(partitions !== undefined ? { partitions } : {}), ...(invocations !== undefined ? { invocations } : {}), timedOut, line };
}

/** `shardId-000000000001` → `shard 1` */
function shortShard(shardId: string): string {
  return shardId.replace(/^shardId-0*(?=\d)/, "shard ");
}

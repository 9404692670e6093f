/** `sparkless status`: per shard progress and lag, per finalizer partition progress and lease, the last finalized batch, pending batches, dead letters. */
import { Command, Option } from "commander";
import { CliError, count, plural, type CommandContext } from "../io.js";
import { batchTime, duration, fields, iso, table } from "../format.js";
import { clientsFor, collectStatus, type PipelineStatusReport } from "../pipeline-status.js";
import { statusSummary } from "../status-summary.js";
import { addTargetOptions, resolvePipelineTarget, type TargetOptions } from "../target.js";

export function statusCommand(ctx: CommandContext): Command {
  const cmd = new Command("status").description("how far a pipeline has got: shard progress and lag, finalized and pending batches, dead letters");
  addTargetOptions(cmd)
    .addOption(new Option("--batch-interval-ms <ms>", "the pipeline's batch interval, to count pending batches (default: from the stack or the metadata checkpoint)").argParser(positiveInt("--batch-interval-ms")))
    .option("--json", "print the report as JSON")
    .action(async (opts: TargetOptions & { json?: boolean }, command: Command) => {
      const { stateDir } = command.optsWithGlobals<{ stateDir?: string }>();
      const target = resolvePipelineTarget({ ...opts, stateDir }, ctx.io);
      const clients = clientsFor(target);
      let report: PipelineStatusReport;
      try {
        report = await collectStatus(target, clients);
      } finally {
        for (const c of Object.values(clients)) c.destroy();
      }
      ctx.io.stdout.write(opts.json ? JSON.stringify(report, null, 2) + "\n" : formatStatus(report, target.where, Date.now()));
    });
  return cmd;
}

export function positiveInt(flag: string) {
  return (text: string): number => {
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n <= 0) throw new CliError("BadOption", `${flag} must be a positive whole number, got "${text}"`, 2);
    return n;
  };
}

/** The report as people read it: a few labelled lines, then one table row per shard. */
export function formatStatus(r: PipelineStatusReport, where: string, now: number): string {
  const head = `pipeline ${r.pipeline} on ${where}: stream ${r.stream}, table ${r.table}, bucket ${r.bucket}\n\n`;
  // The same line `local up` keeps at the bottom of its screen, from the same function.
  const summary = statusSummary(r, now);
  const lines: Array<[string, string]> = [["summary", summary.line]];
  if (r.lastFinalized === undefined) {
    lines.push(["last finalized", "none: the pipeline has not started (no record or tick has reached it yet)"]);
  } else {
    lines.push(["last finalized", r.lastFinalized === r.zeroTime ? `none yet (zero time ${batchTime(r.zeroTime!)})` : batchTime(r.lastFinalized)]);
    lines.push(["batch interval", r.batchIntervalMs !== undefined ? duration(r.batchIntervalMs) : "unknown (pass --batch-interval-ms to count pending batches)"]);
    const ready = r.pending.ready;
    if (ready !== undefined) {
      lines.push([
        "pending",
        ready.length === 0
          ? "no complete batch waits for the finalizer"
          : `${plural(ready.length, "batch", "batches")} complete, not yet finalized: ${ready.length === 1 ? batchTime(ready[0]!) : `${batchTime(ready[0]!)} to ${batchTime(ready[ready.length - 1]!)}`}`,
      ]);
    }
    if (r.pending.waitingOn.length > 0) {
      const what = r.pending.next !== undefined ? `next batch ${batchTime(r.pending.next)}` : "the next batch";
      lines.push(["", `${what} waits for ${r.pending.waitingOn.join(", ")}`]);
    }
  }
  if (summary.invocations !== undefined) lines.push(["invocations", `${summary.invocations} (since the local stack started)`]);
  const d = r.deadLetters;
  lines.push([
    "dead letters",
    d.records + d.batches + d.discarded === 0
      ? "none"
      : `${plural(d.records, "record")}, ${plural(d.batches, "failed batch", "failed batches")}, ${count(d.discarded)} discarded by the event-source mapping`,
  ]);
  const partitions = r.partitions !== undefined && r.partitions.length > 1 ? formatPartitions(r, now) + "\n" : "";
  const rows = r.shards.map((s) => [
    s.shardId + (s.closed ? " (closed)" : ""),
    s.seq ?? "-",
    s.watermark === undefined ? "-" : s.watermark === 0 ? "0" : iso(s.watermark),
    (s.recordsBehindCapped ? "> " : "") + count(s.recordsBehind),
    s.oldestPendingArrival === undefined ? "-" : duration(Math.max(0, now - s.oldestPendingArrival)),
    s.drained ? "yes" : "no",
  ]);
  const shards =
    rows.length === 0
      ? "the stream has no shards\n"
      : table(["SHARD", "COMMITTED SEQUENCE NUMBER", "WATERMARK", "BEHIND", "OLDEST", "DRAINED"], rows, new Set([3, 4]));
  return head + fields(lines) + "\n" + partitions + shards;
}

/** One row per finalizer partition: how far it finalized, the batches it has left, who holds its lease. */
function formatPartitions(r: PipelineStatusReport, now: number): string {
  const rows = r.partitions!.map((p) => [
    `p${p.partition}`,
    p.lastFinalized === r.zeroTime ? "none yet" : batchTime(p.lastFinalized),
    p.behind === undefined ? "-" : count(p.behind),
    p.leaseOwner === undefined ? "-" : p.leaseExpiresAt! > now ? `${p.leaseOwner} (${duration(p.leaseExpiresAt! - now)} left)` : "free",
  ]);
  return table(["PARTITION", "LAST FINALIZED", "BEHIND", "LEASE"], rows, new Set([2]));
}

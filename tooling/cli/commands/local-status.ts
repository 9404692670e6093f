/** `sparkless local status`: is a local stack running, where are its endpoints, what did it deploy. */
import { Command } from "commander";
import { duration, fields, table } from "../format.js";
import type { CliIo, CommandContext } from "../io.js";
import { isStackRunning, readStackFile, stackFilePath, stateDirOf, type StackFile } from "../stack-file.js";
import { readKafkaProgress, type KafkaProgressFile } from "../../stack/kafka-progress.js";

export function localStatusCommand(ctx: CommandContext): Command {
  return new Command("status")
    .description("whether a local stack is running, its endpoints and resources")
    .option("--json", "print stack.json with a `running` field")
    .action(async (opts: { json?: boolean }, command: Command) => {
      const { stateDir } = command.optsWithGlobals<{ stateDir?: string }>();
      ctx.setExitCode(localStatus(ctx.io, { ...opts, stateDir }));
    });
}

/** Exit code 0 when a stack is running, 1 when not (so scripts can wait for one). */
export function localStatus(io: CliIo, opts: { json?: boolean; stateDir?: string }): number {
  const stateDir = stateDirOf(io.cwd, opts.stateDir);
  const file = readStackFile(stateDir, { includeStale: true });
  const running = file !== undefined && isStackRunning(file);
  if (opts.json) {
    io.stdout.write(JSON.stringify({ running, ...(file ?? {}) }, null, 2) + "\n");
    return running ? 0 : 1;
  }
  if (!file) {
    io.stdout.write("no local stack is running (start one with `sparkless local up`)\n");
    return 1;
  }
  if (!running) {
    io.stdout.write(`no local stack is running: ${stackFilePath(stateDir)} is from pid ${file.pid} (started ${file.startedAt}), which has exited\n`);
    return 1;
  }
  io.stdout.write(describeRunning(file, Date.now()));
  if (file.kafka) io.stdout.write(describeKafka(file.kafka, readKafkaProgress(stateDir, file.pid)));
  return 0;
}

export function describeRunning(file: StackFile, now: number): string {
  const started = Date.parse(file.startedAt);
  const head = fields([
    ["running", `pid ${file.pid}, started ${file.startedAt}${Number.isFinite(started) ? ` (${duration(now - started)} ago)` : ""}`],
    ["region", file.region],
    ["kinesis", file.endpoints.kinesis],
    ["dynamodb", file.endpoints.dynamodb],
    ["s3", file.endpoints.s3],
  ]);
  const rows: string[][] = [];
  for (const s of file.stacks) {
    for (const [kind, list] of [["stream", s.streams], ["table", s.tables], ["bucket", s.buckets], ["function", s.functions]] as const) {
      for (const r of list) rows.push([s.name, kind, r.logicalId, r.name]);
    }
  }
  const pipelines = file.stacks.flatMap((s) => s.pipelines.map((p) => [s.name, p.name, p.stream, p.table, p.bucket]));
  return (
    head +
    "\n" +
    (rows.length ? table(["STACK", "TYPE", "LOGICAL ID", "NAME"], rows) : "no resources\n") +
    (pipelines.length ? "\n" + table(["STACK", "PIPELINE", "STREAM", "TABLE", "BUCKET"], pipelines) : "")
  );
}

/**
 * The local broker and, per Kafka mapping and partition, how far its consumer group has got: the offset
 * committed (after the function succeeded), the log end, and the records between them.
 */
export function describeKafka(kafka: NonNullable<StackFile["kafka"]>, progress: KafkaProgressFile | undefined): string {
  const head = fields([["kafka", `${kafka.bootstrapServers} (${kafka.topics.map((t) => `${t.name}: ${t.partitions} partitions`).join(", ")})`]]);
  const rows: string[][] = [];
  for (const m of progress?.mappings ?? []) {
    for (const p of m.partitions) {
      const committed = p.committedOffset ?? "-";
      const end = p.highWatermark ?? "-";
      const behind = p.highWatermark !== undefined ? String(BigInt(p.highWatermark) - BigInt(p.committedOffset ?? "0")) : "-";
      rows.push([m.logicalId, `${m.topic}-${p.partition}`, m.consumerGroupId, committed, end, behind]);
    }
  }
  if (rows.length === 0) return `\n${head}no partition progress yet\n`;
  return `\n${head}\n${table(["MAPPING", "PARTITION", "GROUP", "COMMITTED", "END", "BEHIND"], rows)}`;
}

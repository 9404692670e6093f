/**
 * `sparkless tail`: follows a pipeline's new output files (path and content), its print() blocks and its dead
 * letters until Ctrl-C, in the manner of `tail -f` on several files (a `==> name <==` header whenever the
 * source changes).
 *
 * Where each comes from:
 * - output files: `s3://<bucket>/output/<pipeline>/…/part-*`, shown once the directory's `_SUCCESS` exists:
 *   a line per part file (path, lines, bytes) and its first lines; `--full` shows the whole content;
 * - printed blocks: `<state dir>/logs/*.log`, which the embedded stack appends each function's stdout to
 *   (on AWS they are in CloudWatch Logs; tail does not read those);
 * - dead letters: `s3://<bucket>/dead-letter/<pipeline>/…`.
 */
import { join } from "node:path";
import { Command, Option } from "commander";
import { cliS3Client } from "../clients.js";
import { S3ObjectStore } from "../../../lib/io/s3-object-store.js";
import { type CommandContext, type OutStream } from "../io.js";
import { describeDeadLetter, Follower, type FollowEvent } from "../follower.js";
import { stateDirOf } from "../stack-file.js";
import { addTargetOptions, resolvePipelineTarget, type TargetOptions } from "../target.js";
import { positiveInt } from "./status.js";

export function tailCommand(ctx: CommandContext): Command {
  const cmd = new Command("tail").description("follow a pipeline's new output files, printed blocks and dead letters (Ctrl-C to stop)");
  addTargetOptions(cmd)
    .option("--from-start", "show what is already there first")
    .option("--full", `show output files whole (default: a summary line per file and its first ${HEAD_LINES} lines)`)
    .addOption(new Option("--interval-ms <ms>", "how often to look").default(1000).argParser(positiveInt("--interval-ms")))
    .addHelpText(
      "after",
      `
Output files come from s3://<bucket>/output/<pipeline>/ (a directory is shown once its _SUCCESS exists), dead
letters from s3://<bucket>/dead-letter/<pipeline>/, and printed blocks from <state dir>/logs/*.log, where the
local stack appends its functions' output (on AWS, print() goes to CloudWatch Logs instead).`,
    )
    .action(async (opts: TargetOptions & { fromStart?: boolean; full?: boolean; intervalMs: number }, command: Command) => {
      const { stateDir } = command.optsWithGlobals<{ stateDir?: string }>();
      const { io } = ctx;
      const target = resolvePipelineTarget({ ...opts, stateDir }, io);
      const local = target.local;
      const client = cliS3Client({
        ...(target.region ? { region: target.region } : {}),
        ...(target.endpoints.s3 ? { endpoint: target.endpoints.s3 } : {}),
        ...(target.credentials ? { credentials: target.credentials } : {}),
      });
      const objects = new S3ObjectStore({ client, bucket: target.bucket });
      const follower = new Follower({
        objects,
        pipeline: target.pipeline,
        ...(local ? { logsDir: join(stateDirOf(io.cwd, stateDir), "logs") } : {}),
        fromStart: opts.fromStart === true,
      });
      io.stderr.write(
        `sparkless: following pipeline ${target.pipeline} on ${target.where}${local ? "" : " (printed blocks are in CloudWatch Logs, not shown here)"}; Ctrl-C to stop\n`,
      );
      const printer = new EventPrinter(io.stdout, target.bucket, { full: opts.full === true });
      let lastError = "";
      try {
        await follower.run(io.signal, opts.intervalMs, (e) => printer.print(e), (e) => {
          // The same failure every second is one message, not a flood.
          if (e.message !== lastError) io.stderr.write(`sparkless: ${e.message} (retrying)\n`);
          lastError = e.message;
        });
      } finally {
        client.destroy();
      }
    });
  return cmd;
}

/** How many lines of each output file tail shows without `--full`. */
export const HEAD_LINES = 5;

/**
 * Writes follow events with a `==> source <==` header whenever the source changes, as `tail -f a b` does. An
 * output file is a summary line and its first lines unless `full`: a batch's files can run to hundreds of
 * lines, every batch.
 */
export class EventPrinter {
  private current: string | undefined;

  constructor(
    private readonly out: OutStream,
    private readonly bucket: string,
    private readonly options: { readonly full?: boolean; readonly headLines?: number } = {},
  ) {}

  print(e: FollowEvent): void {
    switch (e.kind) {
      case "log":
        this.header(`logs/${e.file}.log`);
        this.out.write(e.text);
        break;
      case "output": {
        const lines = e.parts.reduce((n, p) => n + p.content.split("\n").filter((l) => l !== "").length, 0);
        // Every directory gets its own header: each one is a separate file set.
        this.header(`s3://${this.bucket}/${e.dir}/ (${e.parts.length} part${e.parts.length === 1 ? "" : "s"}, ${lines} line${lines === 1 ? "" : "s"})`, true);
        const head = this.options.full ? Infinity : (this.options.headLines ?? HEAD_LINES);
        for (const p of e.parts) {
          const fileLines = p.content === "" ? [] : (p.content.endsWith("\n") ? p.content.slice(0, -1) : p.content).split("\n");
          const bytes = Buffer.byteLength(p.content);
          this.out.write(`--- ${p.key.slice(e.dir.length + 1)}: ${fileLines.length} line${fileLines.length === 1 ? "" : "s"}, ${bytes} byte${bytes === 1 ? "" : "s"}\n`);
          for (const line of fileLines.slice(0, head)) this.out.write(line + "\n");
          const more = fileLines.length - head;
          if (more > 0) this.out.write(`… ${more} more line${more === 1 ? "" : "s"} (--full shows them)\n`);
        }
        break;
      }
      case "dead-letter":
        this.header("dead letters");
        this.out.write(`s3://${this.bucket}/${e.key}: ${describeDeadLetter(e.key, e.content)}\n`);
        break;
    }
  }

  private header(name: string, always = false): void {
    if (this.current === name && !always) return;
    this.out.write(`${this.current === undefined ? "" : "\n"}==> ${name} <==\n`);
    this.current = name;
  }
}

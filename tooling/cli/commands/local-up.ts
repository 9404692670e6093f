/**
 * `sparkless local up`: the embedded stack in the foreground — emulators, the deployed template, the poller
 * and the ticker — with the example's sample lines pushed in a few rounds, and a live view of what happens:
 * printed blocks in Spark's format, batches finalized, output files, dead letters, records in and lag per
 * shard. Ctrl-C stops all of it.
 *
 * What goes where:
 * - the screen: the stack's start-up lines (its list of differences from AWS folded into one line), then the
 *   sample rounds, printed blocks, finalized batches with the lag per shard, output directories, dead letters,
 *   failed invocations, discards and warnings; on a terminal one status line at the bottom keeps the running
 *   figures: records in, then invocations and failures, pending batches and lag per shard exactly as
 *   `sparkless status` reports them (status-summary.ts), and the last batch;
 * - `<state dir>/logs/<function>.log`: every line each function writes (what `sparkless tail` follows), and
 *   `logs/local-stack.log`: the start-up lines in full, limitations included.
 */
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { join, relative } from "node:path";
import { DescribeStreamSummaryCommand } from "@aws-sdk/client-kinesis";
import { Command, Option } from "commander";
import { S3ObjectStore } from "../../../lib/io/s3-object-store.js";
import { cliKinesisClient, cliS3Client } from "../clients.js";
import { Follower } from "../follower.js";
import { batchTime, duration } from "../format.js";
import { CliError, aborted, count, plural, sleep, type CliIo, type CommandContext } from "../io.js";
import { RecordPutter } from "../put-records.js";
import { SAMPLE_PARAGRAPHS, SAMPLE_ROUND_INTERVAL_MS, readSampleRecord, sampleRoundsPushed, writeSampleRecord } from "../sample-data.js";
import { Screen } from "../screen.js";
import { clientsFor, collectStatus } from "../pipeline-status.js";
import { loadStartLocalStack, sparkBlock, type LocalStackEvent, type StartLocalStack } from "../stack-contract.js";
import { statusSummary, type StatusSummary } from "../status-summary.js";
import { resolvePipelineTarget, type PipelineTarget } from "../target.js";
import { pipelinesOf, readStackFile, stateDirOf, type PipelineRef, type StackFile } from "../stack-file.js";
import { positiveInt } from "./status.js";

export interface LocalUpOptions {
  readonly fresh?: boolean;
  /** commander's `--no-sample`: true unless given. */
  readonly sample: boolean;
  readonly tickerMs?: number;
  readonly cdkOut?: string;
  /** commander's `--no-synth`. */
  readonly synth: boolean;
  /** commander's `--no-iam`: IAM enforced unless given. */
  readonly iam?: boolean;
  /** Synthesize even when the app's inputs have not changed since the last synth. */
  readonly resynth?: boolean;
  /** Partitions of each Kafka topic on the local broker. @default 2 */
  readonly kafkaPartitions?: number;
  readonly stateDir?: string;
}

/** What tests replace: the stack itself, and the pace of the sample rounds, the dead-letter watch and the status line. */
export interface LocalUpDeps {
  readonly startLocalStack?: StartLocalStack;
  /** @default SAMPLE_ROUND_INTERVAL_MS */
  readonly sampleIntervalMs?: number;
  /** How often the bucket is read for new dead letters. @default 1000 */
  readonly pollIntervalMs?: number;
  /** How often the status line's figures are read (as `sparkless status` reads them). @default 2000 */
  readonly statusIntervalMs?: number;
}

export function localUpCommand(ctx: CommandContext, deps: LocalUpDeps): Command {
  return new Command("up")
    .description("start the embedded AWS stack in the foreground and show the example pipeline running (Ctrl-C stops everything)")
    .option("--fresh", "start from empty emulators (drop streams, tables, buckets and checkpoints of the last run)")
    .option("--no-sample", "do not push the example's sample lines")
    .addOption(new Option("--ticker-ms <ms>", "run the ticker schedule this often (default: every 2 s)").argParser(positiveInt("--ticker-ms")))
    .option("--cdk-out <dir>", "the cloud assembly to deploy (default: synthesized into <state dir>/cdk.out)")
    .option("--no-synth", "deploy the existing cloud assembly (--cdk-out, default cdk.out) without synthesizing first")
    .option("--no-iam", "do not check the functions' AWS calls against their roles' policies in the template")
    .option("--resynth", "synthesize the CDK app even if nothing it reads has changed since the last start")
    .addOption(new Option("--kafka-partitions <n>", "partitions of each Kafka topic on the local broker, for apps with Kafka event source mappings (default: 2)").argParser(positiveInt("--kafka-partitions")))
    .action(async (opts: LocalUpOptions, command: Command) => {
      const { stateDir } = command.optsWithGlobals<{ stateDir?: string }>();
      ctx.setExitCode(await localUp(ctx.io, { ...opts, stateDir }, deps));
    });
}

export async function localUp(io: CliIo, opts: LocalUpOptions, deps: LocalUpDeps = {}): Promise<number> {
  const stateDir = stateDirOf(io.cwd, opts.stateDir);
  const rel = relative(io.cwd, stateDir);
  const shown = rel === "" ? "." : rel.startsWith("..") ? stateDir : rel;
  const existing = readStackFile(stateDir);
  if (existing) {
    throw new CliError("AlreadyRunning", `a local stack is already running (pid ${existing.pid}, started ${existing.startedAt}): use it, or stop it with \`sparkless local down\``, 1, { pid: existing.pid });
  }
  const start = deps.startLocalStack ?? (await loadStartLocalStack());
  const screen = new Screen(io.stdout);
  const view = new LiveView(screen, join(stateDir, "logs"), shown);

  const began = Date.now();
  screen.print(`sparkless: starting the embedded stack (state in ${shown}${opts.fresh ? ", starting fresh" : ""})`);
  let handle;
  try {
    handle = await start({
      ...(opts.cdkOut !== undefined ? { cdkOut: opts.cdkOut } : {}),
      stateDir,
      ...(opts.fresh ? { fresh: true } : {}),
      ...(opts.tickerMs !== undefined ? { tickerIntervalMs: opts.tickerMs } : {}),
      synth: opts.synth,
      ...(opts.iam === false ? { iam: false } : {}),
      ...(opts.resynth ? { reuseAssembly: false } : {}),
      ...(opts.kafkaPartitions !== undefined ? { kafkaPartitions: opts.kafkaPartitions } : {}),
      cwd: io.cwd,
      signal: io.signal,
      log: (line) => view.startupLine(line),
      onEvent: (e) => view.event(e),
    });
  } catch (e) {
    await view.close();
    if (io.signal.aborted) {
      screen.print("sparkless: stopped while starting; nothing is left running");
      return 130;
    }
    throw e;
  }

  const loops = new AbortController();
  const tasks: Promise<void>[] = [];
  try {
    const file = handle.stackFile;
    view.ready(handle.limitations.length);
    screen.print(`\nup in ${duration(Date.now() - began)}.`);
    if (file.kafka) screen.print(kafkaLines(file.kafka, opts.stateDir !== undefined && stateDirOf(io.cwd, undefined) !== stateDir ? ` --state-dir ${shown}` : ""));
    const pipeline = pipelinesOf(file)[0];
    if (!pipeline) {
      screen.print("the template has no sparkless pipeline: nothing to push or follow");
    } else if (!pipeline.stream && file.kafka) {
      // A pipeline on a Kafka topic: the sample lines, the dead-letter watch and the status line read a Kinesis
      // stream; the topic is fed with push --kafka (printed above) and followed with local status.
      screen.print(`pipeline ${pipeline.name} reads Kafka: push lines with the commands above; per-partition progress: npx sparkless local status`);
    } else {
      const stop = AbortSignal.any([io.signal, loops.signal]);
      tasks.push(view.followDeadLetters(file, pipeline, stop, deps.pollIntervalMs ?? 1000));
      const target = resolvePipelineTarget({ stateDir, pipeline: pipeline.name }, io);
      tasks.push(view.followStatus(target, stop, deps.statusIntervalMs ?? 2000));
      // The other commands find this stack through its state directory: name it when it is not the default.
      const sd = opts.stateDir !== undefined && stateDirOf(io.cwd, undefined) !== stateDir ? ` --state-dir ${shown}` : "";
      screen.print(
        `pipeline ${pipeline.name}: stream ${pipeline.stream}, table ${pipeline.table}, bucket ${pipeline.bucket}\n\n` +
          `  push lines:     npx sparkless push${sd} < some.txt\n` +
          `  follow output:  npx sparkless tail${sd}\n` +
          `  progress:       npx sparkless status${sd}\n` +
          `  stop:           Ctrl-C\n`,
      );
      if (opts.sample) tasks.push(pushSample(file, stateDir, pipeline, screen, stop, deps.sampleIntervalMs ?? SAMPLE_ROUND_INTERVAL_MS));
    }
    view.drawStatus();
    await Promise.race([aborted(io.signal), handle.stopped]);
  } finally {
    loops.abort();
    await Promise.allSettled(tasks);
    screen.close();
    screen.print("\nsparkless: stopping the embedded stack ...");
    try {
      await handle.stop();
    } finally {
      await view.close();
    }
    screen.print(`sparkless: stopped; nothing is left running. Data is kept in ${shown} (\`sparkless local up --fresh\` starts empty).`);
  }
  return 0;
}

/**
 * The sample paragraphs, one round each, a few seconds apart so that they land in several batches; once per
 * fresh state (sample.json records the rounds pushed), so that restarting the stack does not grow the totals.
 */
async function pushSample(file: StackFile, stateDir: string, pipeline: PipelineRef, screen: Screen, signal: AbortSignal, intervalMs: number): Promise<void> {
  const client = cliKinesisClient({ endpoint: file.endpoints.kinesis, region: file.region, ...(file.credentials ? { credentials: file.credentials } : {}) });
  try {
    const created = await client
      .send(new DescribeStreamSummaryCommand({ StreamName: pipeline.stream }))
      .then((r) => r.StreamDescriptionSummary?.StreamCreationTimestamp?.toISOString())
      .catch(() => undefined);
    const done = sampleRoundsPushed(readSampleRecord(stateDir), pipeline.stream, created);
    const total = SAMPLE_PARAGRAPHS.length;
    if (done >= total) {
      screen.print("sample: pushed by an earlier start, not again (the totals would count it twice); `--fresh` starts over, `sparkless push` adds lines");
      return;
    }
    if (done > 0) screen.print(`sample: ${plural(done, "round")} of ${total} pushed by an earlier start; pushing the rest`);
    for (let i = done; i < total; i++) {
      if (signal.aborted) return;
      const paragraph = SAMPLE_PARAGRAPHS[i]!;
      const putter = new RecordPutter({ client, stream: pipeline.stream });
      for (const [j, line] of paragraph.entries()) await putter.add({ data: Buffer.from(line, "utf8"), partitionKey: `sample-${i}-${j}`, line: j + 1 });
      await putter.flush();
      await writeSampleRecord(stateDir, { stream: pipeline.stream, ...(created ? { streamCreated: created } : {}), rounds: i + 1 });
      const lost = putter.stats.failed.length + putter.stats.skipped.length;
      screen.print(`sample: pushed ${plural(putter.stats.records, "line")} (round ${i + 1} of ${total})${lost ? `, ${count(lost)} not put` : ""}`);
      if (i < total - 1) await sleep(intervalMs, signal);
    }
  } catch (e) {
    if (!signal.aborted) screen.print(`sample: could not push to ${pipeline.stream}: ${(e as Error).message}`);
  } finally {
    client.destroy();
  }
}

/** Turns the stack's events into lines on the screen and in the log files. */
class LiveView {
  private readonly logFiles = new Map<string, WriteStream>();
  private recordsIn = 0;
  private lastBatch: number | undefined;
  /** The figures `sparkless status` shows, as last read; undefined before the first read. */
  private summary: StatusSummary | undefined;
  private outputs: string[] = [];
  private outputsBucket = "";
  private outputsFlush: NodeJS.Immediate | undefined;
  /** Per function: inside a multi-line Node.js process warning on stderr. */
  private readonly inNodeWarning = new Set<string>();
  /** Failures by what they say (request ids left out): shown once, then counted, so a failing retry loop is one line. */
  private readonly problems = new Map<string, { count: number; shownAt: number; shownCount: number }>();

  constructor(
    private readonly screen: Screen,
    private readonly logsDir: string,
    private readonly shownStateDir: string,
  ) {}

  /**
   * The stack's start-up lines: the steps (synth, emulators, stack, ready) on screen; the details under them
   * (indented: functions, mappings, schedules, notes, resources not deployed) and the list of differences
   * from AWS, long and the same every time, in the log file only, with one line on screen saying where.
   */
  startupLine(line: string): void {
    this.file("local-stack").write(line + "\n");
    if (/differs from AWS:?$/.test(line) || /^(sparkless:)?\s{2,}\S/.test(line)) return;
    this.screen.print(line);
  }

  ready(limitations: number): void {
    const where = join(this.shownStateDir, "logs", "local-stack.log");
    this.screen.print(
      limitations > 0
        ? `sparkless: what was deployed, and the ${plural(limitations, "way")} the local stack differs from AWS: ${where}`
        : `sparkless: what was deployed: ${where}`,
    );
  }

  event(e: LocalStackEvent): void {
    switch (e.type) {
      case "log":
        this.file(e.functionName).write(e.line + "\n");
        // stdout is print() blocks (shown from "printed") and JSON metrics; stderr is worth a look.
        if (e.stream === "stderr") this.stderrLine(e.functionName, e.line);
        break;
      case "printed":
        this.screen.print(sparkBlock(e.time, e.lines));
        break;
      case "result":
        if (e.source === "mapping" && (e.outcome === "success" || e.outcome === "partial")) this.recordsIn += e.records ?? 0;
        if (e.outcome === "error" || e.outcome === "timeout") {
          const what = e.outcome === "timeout" ? "timed out" : "failed";
          this.problem(e.error ?? what, `${e.functionName}: invocation ${what}${e.shardId ? ` on ${e.shardId}` : ""}${e.error ? `: ${firstLine(e.error)}` : ""}`);
        }
        this.drawStatus();
        break;
      case "discard":
        this.screen.print(`✗ ${plural(e.records, "record")} of ${e.shardId} discarded by ${e.mapping} (${e.condition})${e.key ? `, kept in ${e.key}` : ""}`);
        break;
      case "batch-finalized":
        this.lastBatch = Math.max(this.lastBatch ?? 0, e.time);
        this.screen.print(`batch ${batchTime(e.time)} finalized · lag ${this.summary?.lag ?? "-"}`);
        this.drawStatus();
        break;
      case "output":
        // A batch's outputs arrive together, one event each: one line for them all.
        this.outputs.push(e.directory);
        this.outputsBucket = e.bucket;
        this.outputsFlush ??= setImmediate(() => this.flushOutputs());
        break;
      case "access-denied":
        this.file("local-stack").write(`access denied: ${e.message}\n  ${e.missingGrant}\n`);
        // One line per function, action and grant (every new object key of a prefix is the same missing grant).
        this.problem(`${e.functionName} ${e.action} ${e.grantResource}`, `✗ IAM: ${e.functionName} may not ${e.action} on ${e.resource} — ${e.missingGrant}`);
        break;
      case "warning":
        this.file("local-stack").write(`warning: ${e.message}${e.error ? ` (${e.error})` : ""}\n`);
        // A poller's "function error" repeats the failed invocation just shown: same text, counted once.
        this.problem(e.error ?? e.message, `warning: ${firstLine(e.message)}${e.error ? ` (${firstLine(e.error)})` : ""}`);
        break;
      case "synth":
        this.file("local-stack").write(e.line + "\n");
        break;
      default:
        break;
    }
  }

  /** New dead letters in the pipeline's bucket (the stack reports discards, not the shard stage's dead letters). */
  async followDeadLetters(file: StackFile, pipeline: PipelineRef, signal: AbortSignal, intervalMs: number): Promise<void> {
    const client = cliS3Client({ endpoint: file.endpoints.s3, region: file.region, ...(file.credentials ? { credentials: file.credentials } : {}) });
    const follower = new Follower({ objects: new S3ObjectStore({ client, bucket: pipeline.bucket }), pipeline: pipeline.name, outputs: false });
    try {
      await follower.run(
        signal,
        intervalMs,
        (e) => {
          if (e.kind === "dead-letter") this.screen.print(`✗ dead letter s3://${pipeline.bucket}/${e.key}`);
        },
        () => undefined, // the emulators are busy or going away: the next round tries again
      );
    } finally {
      client.destroy();
    }
  }

  /**
   * The status line's lag, pending batches and failed invocations: read as `sparkless status` reads them
   * (collectStatus, statusSummary), one read at a time, never more often than every `intervalMs` nor than twice
   * the time a read takes (counting records behind reads the stream: it must not load a busy emulator further).
   */
  async followStatus(target: PipelineTarget, signal: AbortSignal, intervalMs: number): Promise<void> {
    const clients = clientsFor(target);
    try {
      while (!signal.aborted) {
        const started = Date.now();
        try {
          this.summary = statusSummary(await collectStatus(target, clients), Date.now());
          this.drawStatus();
        } catch {
          // The emulators are busy or going away: the line keeps the last figures, the next read tries again.
        }
        await sleep(Math.max(intervalMs, 2 * (Date.now() - started)), signal);
      }
    } finally {
      for (const c of Object.values(clients)) c.destroy();
    }
  }

  private flushOutputs(): void {
    this.outputsFlush = undefined;
    const dirs = this.outputs;
    this.outputs = [];
    if (dirs.length > 0) this.screen.print(`  → s3://${this.outputsBucket}/${compactDirectories(dirs)}`);
  }

  /**
   * A function's stderr. A Node.js process warning spans several lines (message, advice, "(Use `node
   * --trace-warnings ...`"): its first line is shown once per kind, the rest only logged. The AWS SDK's notice
   * that releases from 2027 need Node.js 22 is left out altogether, as bin/sparkless.mjs does for the CLI.
   */
  private stderrLine(functionName: string, line: string): void {
    if (this.inNodeWarning.has(functionName)) {
      if (line.startsWith("(Use `node --trace-warnings")) this.inNodeWarning.delete(functionName);
      return;
    }
    const warning = /^\(node:\d+\) (.*Warning: .*)$/.exec(line);
    if (warning) {
      this.inNodeWarning.add(functionName);
      if (!warning[1]!.includes("NodeVersionSupportWarning")) this.problem(warning[1]!, `${functionName}: ${warning[1]}`);
      return;
    }
    this.problem(line, `${functionName}: ${line}`);
  }

  /**
   * Shows a failure the first time; the same failure again (a retry loop) only counts, with a reminder line
   * at most every 30 s. The full text is in the function's log file.
   */
  private problem(text: string, line: string): void {
    const key = problemKey(text);
    const now = Date.now();
    const p = this.problems.get(key);
    if (!p) {
      this.problems.set(key, { count: 1, shownAt: now, shownCount: 1 });
      this.screen.print(line);
      return;
    }
    p.count++;
    if (now - p.shownAt >= 30_000) {
      this.screen.print(`${line} (${plural(p.count - p.shownCount, "more time")} since it was last shown)`);
      p.shownAt = now;
      p.shownCount = p.count;
    }
    this.drawStatus();
  }

  /** `records in 10 · lag shard 0: 0 · pending none · invocations 12, none failed · last batch … · Ctrl-C to stop` */
  drawStatus(): void {
    const parts = [`records in ${count(this.recordsIn)}`, this.summary?.line ?? "lag -"];
    if (this.lastBatch !== undefined) parts.push(`last batch ${batchTime(this.lastBatch)}`);
    parts.push("Ctrl-C to stop");
    this.screen.status(parts.join(" · "));
  }

  private file(name: string): { write(text: string): void } {
    let f = this.logFiles.get(name);
    if (!f) {
      try {
        mkdirSync(this.logsDir, { recursive: true });
        f = createWriteStream(join(this.logsDir, `${name.replace(/[^A-Za-z0-9_.-]/g, "_")}.log`), { flags: "a" });
        f.on("error", () => undefined); // a full disk must not stop the stack; the screen still shows what matters
        this.logFiles.set(name, f);
      } catch {
        return { write: () => undefined };
      }
    }
    return f;
  }

  async close(): Promise<void> {
    if (this.outputsFlush) clearImmediate(this.outputsFlush);
    this.flushOutputs();
    await Promise.all([...this.logFiles.values()].map((f) => new Promise<void>((resolve) => f.end(() => resolve()))));
    this.logFiles.clear();
  }
}

function firstLine(text: string): string {
  const i = text.indexOf("\n");
  return i < 0 ? text : text.slice(0, i);
}

/**
 * What a failure says, without what differs between retries: request ids, and the "<function> (<id>): "
 * prefix, so that an invocation's error and the poller's warning about it are one failure.
 */
export function problemKey(text: string): string {
  return firstLine(text)
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, "")
    .replace(/^.*\(\): /, "")
    .replace(/\)$/, "");
}

/**
 * Output directories in one line, those of one batch folded as a shell would write them:
 * `output/word-count/word-count/{batch,totals,window}-1718000005000.txt/`.
 */
export function compactDirectories(directories: readonly string[]): string {
  const groups = new Map<string, { parent: string; names: string[]; rest: string }>();
  const single: string[] = [];
  for (const d of directories) {
    const dir = d.replace(/\/?$/, "/");
    const m = /^(.*\/)?([^/]+)(-\d+(?:\.[^/]*)?\/)$/.exec(dir);
    if (!m) {
      single.push(dir);
      continue;
    }
    const [, parent = "", name, rest] = m;
    const key = parent + "\0" + rest;
    const g = groups.get(key);
    if (g) g.names.push(name!);
    else groups.set(key, { parent, names: [name!], rest: rest! });
  }
  const folded = [...groups.values()].map((g) => `${g.parent}${g.names.length > 1 ? `{${g.names.join(",")}}` : g.names[0]}${g.rest}`);
  return [...folded, ...single].join(", ");
}

/** How to reach the local Kafka broker and feed each mapping's topic. */
export function kafkaLines(kafka: NonNullable<StackFile["kafka"]>, stateDirFlag: string): string {
  const topics = kafka.topics.map((t) => `  push lines to ${t.name}:  npx sparkless push${stateDirFlag} --kafka ${t.name} < some.txt`);
  return `kafka: bootstrap servers ${kafka.bootstrapServers} (${kafka.topics.map((t) => `${t.name}: ${t.partitions} partitions`).join(", ")})\n${topics.join("\n")}\n`;
}

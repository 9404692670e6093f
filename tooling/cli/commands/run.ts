/**
 * `sparkless run <pipeline-module>`: a pipeline module's exported `Pipeline` on the local engine and the system
 * clock, fed by a socket, a directory of text files, a Kinesis stream, or generated sample lines — Spark's
 * `local[*]` mode for the same definition that `cdk deploy` ships.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { Command, Option } from "commander";
import { SystemClock } from "../../../lib/exec/clock.js";
import type { BatchInfo } from "../../../lib/exec/job-scheduler.js";
import { ProgressLine } from "../../../lib/exec/progress-line.js";
import { KafkaDirectSource } from "../../../lib/io/kafka/direct-source.js";
import { KinesisSource } from "../../../lib/io/kinesis-source.js";
import { SocketTextSource } from "../../../lib/io/socket-text-source.js";
import type { DeadLetterEntry, Source, SourceContext } from "../../../lib/io/source.js";
import { writeBatchDirectory } from "../../../lib/io/text-file-sink.js";
import { TextFileSource } from "../../../lib/io/text-file-source.js";
import { Pipeline, type RecordMeta } from "../../../lib/api/define-pipeline.js";
import { CliError, plural, type CliIo, type CommandContext } from "../io.js";
import { SampleLinesSource } from "../sample-data.js";
import { isStackRunning, readStackFile, stateDirOf } from "../stack-file.js";
import { explicitConnection } from "../target.js";
import { positiveInt } from "./status.js";
import { port } from "./ui.js";
import { EngineMonitor } from "../../ui/engine-monitor.js";
import { startUiServer } from "../../ui/server.js";

export interface RunOptions {
  readonly socket?: string;
  readonly dir?: string;
  readonly kinesis?: string;
  readonly kafka?: string;
  readonly bootstrap?: string;
  readonly group?: string;
  readonly generated?: boolean;
  readonly batches?: number;
  readonly progress?: boolean;
  readonly checkpoint?: string;
  readonly pipeline?: string;
  readonly outputDir?: string;
  readonly existingFiles?: boolean;
  readonly lines: number;
  readonly fromStart?: boolean;
  readonly endpoint?: string;
  readonly region?: string;
  readonly stateDir?: string;
  /** Serve the Streaming page of this run on 127.0.0.1 (`--ui`, `--ui-port`). */
  readonly ui?: boolean;
  readonly uiPort?: number;
}

export function runCommand(ctx: CommandContext): Command {
  return new Command("run")
    .description("run a pipeline module on the local engine (system clock), fed by a socket, a directory, a Kinesis stream or sample lines")
    .argument("<pipeline-module>", "a module exporting a Pipeline (definePipeline), e.g. functions/word-count.ts")
    .option("--socket <[host:]port>", "read lines from a TCP server (try: nc -lk 9999)")
    .option("--dir <path>", "read the lines of new files moved into a directory (textFileStream)")
    .option("--kinesis <stream>", "read a Kinesis stream (the local stack's when one runs, else --endpoint / AWS)")
    .option("--kafka <topic>", "read a Kafka topic, exactly once (ssc.kafkaStream; with --bootstrap)")
    .option("--bootstrap <host:port>", "with --kafka: the bootstrap servers, comma-separated (default: KAFKA_BOOTSTRAP_SERVERS)")
    .option("--group <id>", "with --kafka: the consumer group offsets are committed to (default: sparkless-<pipeline>)")
    .option("--generated", "sample lines, --lines per batch (the default input)")
    .addOption(new Option("--batches <n>", "stop after this many batches (default: run until Ctrl-C)").argParser(positiveInt("--batches")))
    .option("--progress", "a one-line status after each batch")
    .option("--checkpoint <dir>", "checkpoint directory, recovered from when it holds a checkpoint (default: a temporary one, removed at exit)")
    .option("--pipeline <name>", "which pipeline, when the module exports several")
    .option("--output-dir <dir>", "where saveAsTextFiles writes its directories (default: the working directory, as Spark)")
    .option("--existing-files", "with --dir: also read the files already there (Spark's newFilesOnly = false)")
    .addOption(new Option("--lines <n>", "with --generated: lines per batch").default(4).argParser(positiveInt("--lines")))
    .option("--from-start", "with --kinesis or --kafka: read from the start (TRIM_HORIZON, earliest; default: LATEST, latest, as Spark)")
    .option("--endpoint <url>", "with --kinesis: Kinesis endpoint (default: AWS_ENDPOINT_URL, else the local stack's, else AWS)")
    .option("--region <region>", "with --kinesis: AWS region")
    .option("--ui", "serve the Streaming page of this run (sparkless ui for the local engine) on 127.0.0.1")
    .addOption(new Option("--ui-port <port>", "with --ui: the port (default: a free one)").argParser(port))
    .action(async (module: string, opts: RunOptions, command: Command) => {
      const { stateDir } = command.optsWithGlobals<{ stateDir?: string }>();
      ctx.setExitCode(await run(ctx.io, module, { ...opts, stateDir }));
    });
}

/** Runs the pipeline until `batches` batches completed or Ctrl-C; returns the exit code (1 if a batch failed). */
export async function run(io: CliIo, modulePath: string, opts: RunOptions): Promise<number> {
  const pipeline = await loadPipeline(io.cwd, modulePath, opts.pipeline);
  const watch: ConnectionWatch = {};
  const { source, description } = chooseSource(io, pipeline, opts, watch);

  const tempCheckpoint = opts.checkpoint === undefined ? mkdtempSync(join(tmpdir(), "sparkless-run-")) : undefined;
  const checkpointDir = opts.checkpoint !== undefined ? absolute(io.cwd, opts.checkpoint) : tempCheckpoint!;
  const outputDir = absolute(io.cwd, opts.outputDir ?? ".");
  const progress = opts.progress ? new ProgressLine({ stream: io.stdout }) : undefined;
  const monitor = opts.ui ? new EngineMonitor({ pipeline: pipeline.name, batchIntervalMs: pipeline.props.batchInterval.milliseconds, checkpointDir }) : undefined;
  const show = progress ? progress.write : (text: string) => void io.stdout.write(text);
  // With the page, print() blocks go to it as well (each batch's detail shows its block).
  const out = monitor ? (text: string) => (monitor.printed(text), show(text)) : show;
  // Connection trouble is told as it happens, one line per failed attempt, and stays on the status line until
  // the source connects again. With a status line the text goes through it, so the line is not torn.
  const tell = (line: string) => (progress ? progress.write(line) : io.stderr.write(line));
  let troubled = false;
  watch.onError = (e) => {
    troubled = true;
    tell(`sparkless: ${e.message}\n`);
    progress?.setNote(`input: ${e.message.split(";")[0]}`);
  };
  watch.onConnect = (address) => {
    if (!troubled) return;
    troubled = false;
    tell(`sparkless: connected to ${address}\n`);
    progress?.setNote(undefined);
  };

  // A checkpoint directory the user named is one to come back to: recover from it when it holds a checkpoint.
  // saveAsTextFiles paths are relative: Spark resolves them against the working directory; so do we, against ours.
  const writeBatch = async (path: string, partitions: string[][]) => {
    await writeBatchDirectory(isAbsolute(path) ? path : resolve(outputDir, path), partitions);
    monitor?.wrote(path, partitions);
  };
  const ssc = opts.checkpoint !== undefined
    ? pipeline.getOrCreate(checkpointDir, source, { clock: new SystemClock(), out, writeBatch })
    : pipeline.on(source, { clock: new SystemClock(), out, writeBatch, checkpointDir });

  let completed = 0;
  let records = 0;
  const failures: Error[] = [];
  const enough = new AbortController();
  ssc.addStreamingListener({
    onBatchCompleted: (info: BatchInfo) => {
      completed++;
      records += info.numRecords;
      if (info.failure) {
        failures.push(info.failure);
        out(`sparkless: batch ${info.batchTime.milliseconds} ms failed: ${info.failure.message}\n`);
      }
      if (opts.batches !== undefined && completed >= opts.batches) enough.abort();
    },
  });
  if (progress) ssc.addStreamingListener(progress);
  if (monitor) ssc.addStreamingListener(monitor);

  const interval = pipeline.props.batchInterval.milliseconds;
  io.stderr.write(
    `sparkless: ${pipeline.name} on the local engine, a batch every ${interval} ms, input: ${description}` +
      `${opts.batches !== undefined ? `, ${plural(opts.batches, "batch", "batches")}` : ""}; Ctrl-C to stop\n`,
  );
  if (ssc.graph.outputs.some((o) => o.kind === "saveAsTextFiles" || o.kind === "saveAsObjectFiles")) {
    const shown = relative(io.cwd, outputDir);
    io.stderr.write(`sparkless: output files under ${shown === "" ? "." : shown.startsWith("..") ? outputDir : shown}${sep}\n`);
  }
  const ui = monitor ? await startUiServer({ monitor, ...(opts.uiPort !== undefined ? { port: opts.uiPort } : {}) }) : undefined;
  if (ui) io.stderr.write(`sparkless ui: ${ui.url}\n`);
  try {
    await ssc.start();
    const stopped = AbortSignal.any([io.signal, enough.signal]);
    await new Promise<void>((resolve) => {
      if (stopped.aborted) return resolve();
      stopped.addEventListener("abort", () => resolve(), { once: true });
      // A context that stops by itself (a source that failed for good) ends the run as well.
      ssc.awaitTermination().then(resolve, (e: Error) => {
        failures.push(e);
        resolve();
      });
    });
  } finally {
    await ssc.stop();
    await ui?.close();
    progress?.close();
    if (tempCheckpoint) rmSync(tempCheckpoint, { recursive: true, force: true });
  }
  io.stderr.write(`sparkless: stopped after ${plural(completed, "batch", "batches")}, ${plural(records, "record")}${failures.length ? `, ${plural(failures.length, "failure")}` : ""}\n`);
  return failures.length > 0 ? 1 : 0;
}

function absolute(cwd: string, path: string): string {
  return isAbsolute(path) ? path : resolve(cwd, path);
}

/** Imports the module and picks its exported Pipeline (the one named, or the only one). */
export async function loadPipeline(cwd: string, modulePath: string, name: string | undefined): Promise<Pipeline<unknown>> {
  const loaded = await importUserModule(absolute(cwd, modulePath), modulePath);
  // A CommonJS module's exports arrive as `default` (and, when Node can tell them, as named exports too).
  const fromDefault = typeof loaded.default === "object" && loaded.default !== null ? Object.values(loaded.default as Record<string, unknown>) : [];
  const mod = [...Object.values(loaded), ...fromDefault];
  // Duck-typed as well: a module may import sparkless from another copy of the package than this CLI's.
  const pipelines = mod.filter(
    (v): v is Pipeline<unknown> =>
      v instanceof Pipeline ||
      (typeof v === "object" && v !== null && typeof (v as Pipeline<unknown>).on === "function" && typeof (v as Pipeline<unknown>).name === "string" && (v as Pipeline<unknown>).props?.batchInterval !== undefined),
  );
  const unique = [...new Set(pipelines)];
  if (name !== undefined) {
    const found = unique.find((p) => p.name === name);
    if (!found) throw new CliError("NoSuchPipeline", `${modulePath} exports no pipeline "${name}"; it exports: ${unique.map((p) => p.name).join(", ") || "none"}`, 2);
    return found;
  }
  if (unique.length === 1) return unique[0]!;
  if (unique.length === 0) {
    throw new CliError("NoPipeline", `${modulePath} exports no Pipeline: export the result of definePipeline(...), e.g. \`export const wordCount = definePipeline("word-count", ...)\``, 2);
  }
  throw new CliError("AmbiguousPipeline", `${modulePath} exports ${unique.length} pipelines (${unique.map((p) => p.name).join(", ")}): choose one with --pipeline`, 2);
}

let cjsHooks: (() => unknown) | undefined;

/**
 * Loads a user's module the way they wrote it: ESM or CommonJS, TypeScript or JavaScript (.ts .mts .cts .js
 * .mjs .cjs), in a folder with or without `"type": "module"`. tsx compiles TypeScript for both of Node's
 * loaders: without its CommonJS hooks a .ts file in a CommonJS folder fails with "Cannot require() ES Module …
 * in a cycle", whatever it holds. When loading fails the error says why and what to do.
 */
async function importUserModule(path: string, shown: string): Promise<Record<string, unknown>> {
  if (!existsSync(path)) throw new CliError("NoSuchModule", `cannot find the pipeline module ${shown} (looked for ${path})`, 2, { module: shown });
  if (!cjsHooks) {
    const { register } = await import("tsx/cjs/api");
    cjsHooks = register();
  }
  const { tsImport } = await import("tsx/esm/api");
  try {
    return (await tsImport(pathToFileURL(path).href, import.meta.url)) as Record<string, unknown>;
  } catch (e) {
    throw new CliError("ModuleLoadFailed", `cannot load the pipeline module ${shown}: ${whyLoadFailed(e)}`, 2, { module: shown }, { cause: e });
  }
}

/** What went wrong loading a module, in words that point at the fix. */
function whyLoadFailed(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { errors?: Array<{ text?: string; location?: { file?: string; line?: number; column?: number } }> };
  const lines = String(err?.message ?? e).split("\n");
  const message = lines[0]!;
  const syntax = err?.errors?.[0];
  if (syntax?.text) {
    const at = syntax.location ? ` at ${syntax.location.file}:${syntax.location.line}:${(syntax.location.column ?? 0) + 1}` : "";
    return `it does not compile${at}: ${syntax.text}`;
  }
  // esbuild (through tsx): "Transform failed with 1 error:\n<file>:<line>:<column>: ERROR: <what>"
  const esbuild = /^Transform failed/.test(message) ? /^(.*:\d+:\d+): ERROR: (.*)$/.exec(lines[1] ?? "") : null;
  if (esbuild) return `it does not compile at ${esbuild[1]}: ${esbuild[2]}`;
  switch (err?.code) {
    case "ERR_MODULE_NOT_FOUND":
    case "MODULE_NOT_FOUND":
      return `${message} (check the import's path and extension, or npm install the package it names)`;
    case "ERR_REQUIRE_CYCLE_MODULE":
    case "ERR_REQUIRE_ESM":
    case "ERR_REQUIRE_ASYNC_MODULE":
      return `${message} (CommonJS and ES modules are mixed: add "type": "module" to the package.json beside it, or name the file .mts)`;
    default:
      if (err instanceof SyntaxError) return `${message} (a syntax error: in a CommonJS folder, import/export need "type": "module" or a .mts/.mjs name)`;
      return `it threw while loading: ${message}`;
  }
}

/** Where a socket source reports its connection: set once the run knows where its output goes. */
interface ConnectionWatch {
  onError?: (error: Error) => void;
  onConnect?: (address: string) => void;
}

function chooseSource(io: CliIo, pipeline: Pipeline<unknown>, opts: RunOptions, watch: ConnectionWatch): { source: Source<unknown>; description: string } {
  const chosen = (["socket", "dir", "kinesis", "kafka", "generated"] as const).filter((k) => opts[k] !== undefined && opts[k] !== false);
  if (chosen.length > 1) throw new CliError("TooManyInputs", `choose one input: ${chosen.map((c) => `--${c}`).join(", ")} were given`, 2);
  const decoder = pipeline.props.decoder;
  if (opts.socket !== undefined) {
    // A bare port means this machine, as `nc -lk 9999` listens on it.
    const m = /^(?:(.*):)?(\d+)$/.exec(opts.socket);
    if (!m || m[1] === "") throw new CliError("BadSocket", `--socket takes [host:]port, e.g. 9999 or localhost:9999, got "${opts.socket}"`, 2);
    const host = (m[1] ?? "localhost").replace(/^\[(.*)\]$/, "$1");
    // Spark's receiver logs a refused connection and restarts, for ever; so does this, one line per attempt.
    const socket = new SocketTextSource(host, Number(m[2]), {
      maxConnectAttempts: Infinity,
      initialBackoffMs: 500,
      maxBackoffMs: 5_000,
      onError: (e) => watch.onError?.(e),
      onConnect: (address) => watch.onConnect?.(address),
    });
    return { source: decoded(socket, decoder), description: `socket ${opts.socket}` };
  }
  if (opts.dir !== undefined) {
    const dir = absolute(io.cwd, opts.dir);
    return {
      source: decoded(new TextFileSource(dir, { newFilesOnly: opts.existingFiles !== true }), decoder),
      description: `files moved into ${opts.dir}${opts.existingFiles ? " (and those already there)" : ""}`,
    };
  }
  if (opts.kinesis !== undefined) {
    const stack = readStackFile(stateDirOf(io.cwd, opts.stateDir));
    const explicit = explicitConnection(opts, io);
    const fromStack = explicit.endpoints.kinesis === undefined && stack !== undefined && isStackRunning(stack);
    const endpoint = explicit.endpoints.kinesis ?? (fromStack ? stack!.endpoints.kinesis : undefined);
    const region = explicit.region ?? (fromStack ? stack!.region : undefined);
    const source = new KinesisSource<unknown>(opts.kinesis, {
      ...(endpoint ? { endpoint } : {}),
      ...(region ? { region } : {}),
      initialPosition: opts.fromStart ? "TRIM_HORIZON" : "LATEST",
      ...(decoder ? { decoder } : {}),
    });
    return { source, description: `Kinesis stream ${opts.kinesis} on ${fromStack ? "the local stack" : (endpoint ?? "AWS")}${opts.fromStart ? " from its start" : ""}` };
  }
  if (opts.kafka !== undefined) {
    const bootstrapServers = opts.bootstrap ?? io.env.KAFKA_BOOTSTRAP_SERVERS;
    if (!bootstrapServers) throw new CliError("KafkaBootstrapMissing", "--kafka needs --bootstrap host:port (or KAFKA_BOOTSTRAP_SERVERS): where the Kafka cluster is", 2);
    const groupId = opts.group ?? `sparkless-${pipeline.name}`;
    const kafka = new KafkaDirectSource<unknown, unknown>(opts.kafka, {
      bootstrapServers,
      groupId,
      startingOffsets: opts.fromStart ? "earliest" : "latest",
      // The pipeline's decoder reads a value as it reads a Kinesis record's data.
      ...(decoder ? { valueDecoder: (bytes, m) => decoder(bytes, { shardId: `${m.topic}-${m.partition}`, sequenceNumber: m.offset, partitionKey: "", arrivalTime: m.timestamp }) } : {}),
      onError: (e) => watch.onError?.(e),
    });
    return { source: kafkaValues(kafka), description: `Kafka topic ${opts.kafka} on ${bootstrapServers}, group ${groupId}${opts.fromStart ? ", from the earliest offset" : ""}` };
  }
  const description = chosen.length === 0 ? `sample lines, ${opts.lines} per batch (--socket, --dir or --kinesis for other input)` : `sample lines, ${opts.lines} per batch`;
  return { source: decoded(new SampleLinesSource(opts.lines), decoder), description };
}

/** The Kafka stream's values (a pipeline's input is the records' payloads, as on Kinesis); tombstones are skipped. */
function kafkaValues(kafka: KafkaDirectSource<unknown, unknown>): Source<unknown> {
  const values = (partitions: Array<Array<{ value: unknown }>>) => partitions.map((p) => p.filter((r) => r.value !== null).map((r) => r.value));
  return {
    kind: kafka.kind,
    start: (c) => kafka.start(c),
    stop: () => kafka.stop(),
    take: (time) => values(kafka.takePartitions(time)).flat(),
    takePartitions: (time) => values(kafka.takePartitions(time)),
    position: () => kafka.position(),
    restore: (p) => kafka.restore(p),
    batchCompleted: (time, info) => kafka.batchCompleted(time, info),
  };
}

/**
 * A text source for a pipeline with a decoder: each line goes through the decoder as the UTF-8 bytes of a
 * record would on Kinesis. A line the decoder rejects is dead-lettered, as the Kinesis source does.
 */
function decoded(source: Source<string>, decoder: ((bytes: Uint8Array, meta: RecordMeta) => unknown) | undefined): Source<unknown> {
  if (!decoder) return source;
  let context: SourceContext | undefined;
  let n = 0;
  return {
    kind: source.kind,
    start: (c) => {
      context = c;
      return source.start(c);
    },
    stop: () => source.stop(),
    take: (time) => {
      const lines = source.take(time);
      if (lines === undefined) return undefined;
      const out: unknown[] = [];
      for (const line of lines) {
        const seq = String(++n);
        try {
          out.push(decoder(Buffer.from(line, "utf8"), { shardId: source.kind, sequenceNumber: seq, partitionKey: "", arrivalTime: time.milliseconds }));
        } catch (e) {
          const entry: DeadLetterEntry = { source: source.kind, position: { line: seq }, reason: `decoder: ${(e as Error).message}`, raw: line };
          context?.deadLetter(entry);
        }
      }
      return out;
    },
    ...(source.position ? { position: () => source.position!() } : {}),
    ...(source.restore ? { restore: (p: unknown) => source.restore!(p) } : {}),
  };
}

/**
 * `sparkless push [stream] [file|-]`: lines, or JSON values one per line, from a file or stdin to a Kinesis
 * stream, with PutRecords in batches (see put-records.ts for the limits and the retries); with `--kafka <topic>`,
 * to a Kafka topic instead (kafka-records.ts), on the local stack's broker or the `--bootstrap` servers.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, fstatSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { createInterface } from "node:readline";
import { Command } from "commander";
import cliProgress from "cli-progress";
import { cliKinesisClient, type Credentials } from "../clients.js";
import { CliError, bytes, count, plural, type CliIo, type CommandContext } from "../io.js";
import type { KafkaRecordProducer } from "../kafka-records.js";
import { MAX_PARTITION_KEY_CHARS, RecordPutter, type PutRecordsSender } from "../put-records.js";
import { choosePipeline, requireRunningStack, stateDirOf } from "../stack-file.js";
import { explicitConnection } from "../target.js";

export interface PushOptions {
  readonly json?: boolean;
  /** "random", "line", or a JSON field name (dotted path) of each value. @default "random" */
  readonly partitionKey?: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly pipeline?: string;
  readonly stateDir?: string;
  /** A Kafka topic to produce to instead of a Kinesis stream. */
  readonly kafka?: string;
  /** With `kafka`: the brokers (`host:port,...`). @default - the running local stack's broker */
  readonly bootstrap?: string;
  /** Tests inject a client (a fake that refuses records); otherwise one is built for the endpoint. */
  readonly client?: PutRecordsSender;
}

export function pushCommand(ctx: CommandContext): Command {
  return new Command("push")
    .description("put lines (or JSON values, one per line) from a file or stdin to a Kinesis stream")
    .argument("[stream]", "stream name or ARN (default: the running local stack's pipeline stream)")
    .argument("[file]", "file to read, or - for stdin (default: stdin)")
    .option("--json", "each line is a JSON value: checked, and usable for --partition-key <field>")
    .option("--partition-key <key>", "random | line | <field> of each JSON value (dotted path)", "random")
    .option("--pipeline <name>", "with no stream: which of the local stack's pipelines")
    .option("--endpoint <url>", "Kinesis endpoint, e.g. LocalStack's http://localhost:4566 (default: AWS_ENDPOINT_URL, else the local stack's for its stream, else AWS)")
    .option("--region <region>", "AWS region (default: AWS_REGION, else us-east-1)")
    .option("--kafka <topic>", "produce to this Kafka topic instead of a Kinesis stream (the record key follows --partition-key; random = no key)")
    .option("--bootstrap <servers>", "with --kafka: the brokers, host:port[,host:port...] (default: the running local stack's broker)")
    .addHelpText(
      "after",
      `
Examples:
  sparkless push < book.txt                      the local stack's stream, lines from stdin
  sparkless push word-count-stream book.txt      a named stream
  sparkless push clicks events.jsonl --json --partition-key user.id --endpoint http://localhost:4566
  sparkless push --kafka words < book.txt        the local stack's Kafka broker, topic words
  sparkless push --kafka words book.txt --bootstrap localhost:9092

Records over 1 MiB are reported and skipped; throttled or refused records are retried with backoff. The exit
code is 1 if any record was not put.`,
    )
    .action(async (stream: string | undefined, file: string | undefined, opts: PushOptions, cmd: Command) => {
      const globals = cmd.optsWithGlobals<{ stateDir?: string }>();
      ctx.setExitCode(await push(ctx.io, stream, file, { ...opts, stateDir: globals.stateDir }));
    });
}

/** The push itself; returns the exit code: 1 if any record was not put, 130 if interrupted (what was read is sent). */
export async function push(io: CliIo, streamArg: string | undefined, fileArg: string | undefined, opts: PushOptions): Promise<number> {
  const kafka = opts.kafka !== undefined ? resolveKafka(io, streamArg, fileArg, opts) : undefined;
  const { stream, file, conn, where } = kafka ?? resolveStream(io, streamArg, fileArg, opts);
  const json = opts.json === true;
  const keyMode = opts.partitionKey ?? "random";
  if (!json && keyMode !== "random" && keyMode !== "line") {
    throw new CliError("BadPartitionKey", `--partition-key ${keyMode}: a field name needs --json (text lines have no fields); use random or line`, 2);
  }

  const path = file === undefined || file === "-" ? undefined : isAbsolute(file) ? file : resolve(io.cwd, file);
  let size: number | undefined;
  if (path) {
    try {
      size = statSync(path).size;
    } catch {
      throw new CliError("NoSuchFile", `cannot read ${file}: no such file`, 2, { file });
    }
  } else if (io.stdin.isTTY) {
    io.stderr.write("sparkless: reading lines from the terminal; end with Ctrl-D\n");
  }

  // stdin redirected from a file (`push < book.txt`) has a size too.
  if (!path) size = stdinFileSize(io.stdin);
  const bar = progressBar(io, stream, size);
  const warn = (text: string) => (bar ? bar.interrupt(() => io.stderr.write(text)) : io.stderr.write(text));

  const started = Date.now();
  let lineNo = 0;
  /** Bytes of the input read so far: the bar's position for a file. */
  let consumed = 0;
  let empty = 0;
  const invalid: number[] = [];

  const own = opts.client || kafka
    ? undefined
    : cliKinesisClient({
        ...(conn.region ? { region: conn.region } : {}),
        ...(conn.endpoint ? { endpoint: conn.endpoint } : {}),
        ...(conn.credentials ? { credentials: conn.credentials } : {}),
      });
  const onNotPut = ({ kind, line, reason }: { kind: "skipped" | "failed"; line: number; reason: string }) => {
    warn(`sparkless: line ${line}: ${kind === "skipped" ? "skipped" : "not put"}: ${reason}\n`);
  };
  // kafkajs is loaded only for --kafka: every other command starts without it.
  const Producer = kafka ? (await import("../kafka-records.js")).KafkaRecordProducer : undefined;
  const putter: KafkaRecordProducer | RecordPutter = Producer && kafka
    ? new Producer({ brokers: kafka.brokers, topic: stream, onRequest: () => bar?.records(putter.stats.records, consumed), onNotPut })
    : new RecordPutter({ client: opts.client ?? own!, stream, onRequest: () => bar?.records(putter.stats.records, consumed), onNotPut });
  // A Kafka record without a key goes to a partition of the producer's choosing: "random" means no key there.
  const add = (data: Buffer, key: string, line: number) =>
    putter instanceof RecordPutter ? putter.add({ data, partitionKey: key, line }) : putter.add({ data, key: keyMode === "random" ? undefined : key, line });

  const input = path ? createReadStream(path) : io.stdin;
  const lines = createInterface({ input, crlfDelay: Infinity });
  // Ctrl-C while waiting for a line (a terminal, a slow pipe): end the loop now; what was read is still sent.
  const stop = () => lines.close();
  io.signal.addEventListener("abort", stop, { once: true });
  try {
    for await (const line of lines) {
      lineNo++;
      consumed += Buffer.byteLength(line, "utf8") + 1;
      if (io.signal.aborted) break;
      if (line.trim() === "") {
        empty++;
        continue;
      }
      let value: unknown;
      if (json) {
        try {
          value = JSON.parse(line);
        } catch (e) {
          invalid.push(lineNo);
          warn(`sparkless: line ${lineNo}: skipped: not JSON (${(e as Error).message})\n`);
          continue;
        }
      }
      const key = partitionKey(keyMode, line, value);
      if (key === undefined) {
        invalid.push(lineNo);
        warn(`sparkless: line ${lineNo}: skipped: no field ${keyMode} to use as the partition key\n`);
        continue;
      }
      await add(Buffer.from(json ? line.trim() : line, "utf8"), key, lineNo);
    }
    await putter.flush();
  } finally {
    io.signal.removeEventListener("abort", stop);
    lines.close();
    bar?.stop();
    own?.destroy();
  }

  const s = putter.stats;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const extras = [
    s.retriedRecords > 0 ? `${plural(s.retriedRecords, "record")} retried` : undefined,
    s.retriedRequests > 0 ? `${plural(s.retriedRequests, "request")} resent` : undefined,
    empty > 0 ? `${plural(empty, "empty line")} ignored` : undefined,
  ].filter((x) => x !== undefined);
  io.stdout.write(
    `pushed ${plural(s.records, "record")} (${bytes(s.bytes)}) to ${kafka ? `Kafka topic ${stream}` : stream} on ${where} in ${plural(s.requests, kafka ? "produce request" : "PutRecords request")}, ${seconds} s` +
      (extras.length ? ` (${extras.join(", ")})` : "") +
      "\n",
  );
  const notPut = s.skipped.length + s.failed.length + invalid.length;
  if (notPut > 0) {
    const parts = [
      s.skipped.length ? `${count(s.skipped.length)} too large` : undefined,
      invalid.length ? `${count(invalid.length)} unreadable` : undefined,
      s.failed.length ? `${count(s.failed.length)} refused by ${kafka ? "Kafka" : "Kinesis"}` : undefined,
    ].filter((x) => x !== undefined);
    io.stderr.write(`sparkless: ${plural(notPut, "record was", "records were")} not put (${parts.join(", ")}): see the lines above\n`);
  }
  if (io.signal.aborted) io.stderr.write(`sparkless: interrupted after line ${lineNo}\n`);
  return io.signal.aborted ? 130 : notPut > 0 ? 1 : 0;
}

/**
 * `push [stream] [file]` with one argument is ambiguous: it is the file when it is `-` or names an existing
 * file and no stream of that name is meant; otherwise it is the stream and lines come from stdin.
 */
function resolveStream(
  io: CliIo,
  streamArg: string | undefined,
  fileArg: string | undefined,
  opts: PushOptions,
): { stream: string; file: string | undefined; conn: { region?: string; endpoint?: string; credentials?: Credentials }; where: string } {
  let stream = streamArg;
  let file = fileArg;
  if (file === undefined && stream !== undefined && (stream === "-" || looksLikeFile(io.cwd, stream))) {
    file = stream;
    stream = undefined;
  }
  const explicit = explicitConnection(opts, io);
  if (stream !== undefined) {
    return {
      stream,
      file,
      conn: { ...(explicit.region ? { region: explicit.region } : {}), ...(explicit.endpoints.kinesis ? { endpoint: explicit.endpoints.kinesis } : {}) },
      where: explicit.endpoints.kinesis ?? "AWS",
    };
  }
  const stack = requireRunningStack(stateDirOf(io.cwd, opts.stateDir));
  const p = choosePipeline(stack, opts.pipeline);
  return {
    stream: p.stream,
    file,
    conn: {
      region: opts.region ?? stack.region,
      endpoint: opts.endpoint ?? stack.endpoints.kinesis,
      // The stack's key is for its emulators; another endpoint gets the SDK's own credentials.
      ...(stack.credentials && opts.endpoint === undefined ? { credentials: stack.credentials } : {}),
    },
    where: opts.endpoint ?? "the local stack",
  };
}

/**
 * `push --kafka <topic> [file]`: the topic from the option (a lone positional argument is the file), the brokers
 * from `--bootstrap` or the running local stack's broker, whose topics are the only ones a mapping reads.
 */
function resolveKafka(
  io: CliIo,
  streamArg: string | undefined,
  fileArg: string | undefined,
  opts: PushOptions,
): { stream: string; file: string | undefined; conn: Record<string, never>; where: string; brokers: string[] } {
  const topic = opts.kafka!;
  if (streamArg !== undefined && fileArg !== undefined) {
    throw new CliError("BadArguments", `with --kafka ${topic}, give at most one argument (the file to read); got ${streamArg} and ${fileArg}`, 2);
  }
  const file = streamArg ?? fileArg;
  if (opts.bootstrap !== undefined) {
    const brokers = opts.bootstrap.split(",").map((b) => b.trim()).filter(Boolean);
    if (brokers.length === 0 || brokers.some((b) => !/^[^:\s]+:\d+$/.test(b))) {
      throw new CliError("BadBootstrap", `--bootstrap ${opts.bootstrap}: give host:port[,host:port...]`, 2);
    }
    return { stream: topic, file, conn: {}, where: brokers.join(","), brokers };
  }
  const stack = requireRunningStack(stateDirOf(io.cwd, opts.stateDir));
  if (!stack.kafka) {
    throw new CliError("NoLocalKafka", "the running local stack has no Kafka broker (its templates have no Kafka event source mapping): give --bootstrap host:port", 1);
  }
  if (!stack.kafka.topics.some((t) => t.name === topic)) {
    throw new CliError(
      "NoSuchTopic",
      `the local Kafka broker has no topic ${topic}: its mappings read ${stack.kafka.topics.map((t) => t.name).join(", ")}`,
      1,
      { topic },
    );
  }
  return { stream: topic, file, conn: {}, where: "the local stack's Kafka broker", brokers: stack.kafka.bootstrapServers.split(",") };
}

/** The size of stdin when it is a regular file (a shell redirect), else undefined (a pipe, a terminal). */
function stdinFileSize(stdin: CliIo["stdin"]): number | undefined {
  const fd = (stdin as { fd?: unknown }).fd;
  if (typeof fd !== "number") return undefined;
  try {
    const stat = fstatSync(fd);
    return stat.isFile() ? stat.size : undefined;
  } catch {
    return undefined;
  }
}

/** What push shows while it runs. */
interface PushProgress {
  /** `records` put so far, `consumed` bytes of input read. */
  records(records: number, consumed: number): void;
  /** Writes a message on a line of its own, then draws the progress again. */
  interrupt(write: () => void): void;
  stop(): void;
}

/**
 * On a terminal: a bar with records and rate when the input's size is known (a file), a counter with the rate
 * when it is not (a pipe). Elsewhere nothing: the summary line at the end says it all, and logs stay clean.
 */
function progressBar(io: CliIo, stream: string, size: number | undefined): PushProgress | undefined {
  if (!io.stderr.isTTY) return undefined;
  const known = size !== undefined && size > 0;
  const bar = new cliProgress.SingleBar(
    {
      stream: io.stderr as NodeJS.WritableStream,
      format: known
        ? `pushing to ${stream} |{bar}| {percentage}% | {records} records | {rate} records/s`
        : `pushing to ${stream}: {records} records | {rate} records/s`,
      hideCursor: true,
      clearOnComplete: true,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  const total = known ? size : 1;
  let last = { value: 0, records: 0 };
  const payload = (records: number) => {
    const seconds = (Date.now() - started) / 1000;
    return { records: count(records), rate: seconds > 0 ? count(Math.round(records / seconds)) : "–" };
  };
  bar.start(total, 0, payload(0));
  return {
    records(records, consumed) {
      last = { value: known ? Math.min(consumed, size) : 0, records };
      bar.update(last.value, payload(records));
    },
    interrupt(write) {
      bar.stop();
      write();
      bar.start(total, last.value, payload(last.records));
    },
    stop: () => bar.stop(),
  };
}

function looksLikeFile(cwd: string, arg: string): boolean {
  try {
    return statSync(isAbsolute(arg) ? arg : resolve(cwd, arg)).isFile();
  } catch {
    return false;
  }
}

/** The partition key of a record, or undefined when the JSON value has no such field. */
export function partitionKey(mode: string, line: string, value: unknown): string | undefined {
  if (mode === "random") return randomBytes(8).toString("hex");
  if (mode === "line") return fitKey(line);
  let v: unknown = value;
  for (const part of mode.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  if (v === undefined || v === null) return undefined;
  const text = typeof v === "string" ? v : JSON.stringify(v);
  return text === "" ? undefined : fitKey(text);
}

/** Kinesis takes 1 to 256 characters: a longer key is replaced by its SHA-256 (same key, same shard). */
function fitKey(key: string): string {
  return [...key].length <= MAX_PARTITION_KEY_CHARS ? key : createHash("sha256").update(key).digest("hex");
}

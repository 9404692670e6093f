/**
 * `sparkless ui`: the Streaming page (tooling/ui) for a deployed pipeline — the running local stack's by default,
 * or one named with --pipeline/--table/--bucket/--stream on AWS or LocalStack — served on 127.0.0.1 until Ctrl-C.
 * It reads what `sparkless status` reads, with the same credentials, and writes nothing.
 */
import { join } from "node:path";
import { Command, Option } from "commander";
import { aborted, CliError, type CliIo, type CommandContext } from "../io.js";
import { stateDirOf } from "../stack-file.js";
import { addTargetOptions, resolvePipelineTarget, type TargetOptions } from "../target.js";
import { StackMonitor } from "../../ui/stack-monitor.js";
import { startUiServer, type UiServer } from "../../ui/server.js";
import type { Monitor, UiSnapshot } from "../../ui/snapshot.js";
import { positiveInt } from "./status.js";

export interface UiOptions extends TargetOptions {
  readonly port?: number;
  readonly batches?: number;
  readonly refreshMs?: number;
}

export function uiCommand(ctx: CommandContext): Command {
  const cmd = new Command("ui").description("a web page of a running pipeline, as Spark's Streaming tab: rates, delays, batches, shards, dead letters, state");
  addTargetOptions(cmd)
    .addOption(new Option("--batch-interval-ms <ms>", "the pipeline's batch interval (default: from the stack or the metadata checkpoint)").argParser(positiveInt("--batch-interval-ms")))
    .addOption(new Option("--port <port>", "the port on 127.0.0.1 (default: a free one)").argParser(port))
    .addOption(new Option("--batches <n>", "completed batches shown").default(60).argParser(positiveInt("--batches")))
    .addOption(new Option("--refresh-ms <ms>", "how often the page is updated (default: 1000 on the local stack, 5000 elsewhere)").argParser(positiveInt("--refresh-ms")))
    .action(async (opts: UiOptions, command: Command) => {
      const { stateDir } = command.optsWithGlobals<{ stateDir?: string }>();
      const server = await serveStackUi(ctx.io, { ...opts, stateDir });
      ctx.io.stderr.write(`sparkless ui: ${server.url} (pipeline ${opts.pipeline ?? "of the local stack"}, read-only); Ctrl-C to stop\n`);
      try {
        await aborted(ctx.io.signal);
      } finally {
        await server.close();
      }
    });
  return cmd;
}

/** The page for a deployed pipeline; the caller closes it. */
export async function serveStackUi(io: CliIo, opts: UiOptions): Promise<UiServer> {
  const monitor = stackMonitor(io, opts);
  try {
    return await startUiServer({ monitor, ...(opts.port !== undefined ? { port: opts.port } : {}) });
  } catch (e) {
    monitor.close();
    throw e;
  }
}

function stackMonitor(io: CliIo, opts: UiOptions): StackMonitor {
  const target = resolvePipelineTarget(opts, io);
  return new StackMonitor({
    target,
    ...(opts.batches !== undefined ? { batches: opts.batches } : {}),
    ...(opts.refreshMs !== undefined ? { refreshMs: opts.refreshMs } : {}),
    ...(target.local ? { logsDir: join(stateDirOf(io.cwd, opts.stateDir), "logs") } : {}),
  });
}

/**
 * The page for the local stack that `npm start` is bringing up: until its stack.json names a running stack,
 * the page says it is waiting.
 */
export async function serveLocalStackUi(io: CliIo, opts: { stateDir?: string }): Promise<UiServer> {
  let inner: StackMonitor | undefined;
  const stack = (): StackMonitor | undefined => {
    try {
      inner ??= stackMonitor(io, opts);
    } catch {
      // not up yet
    }
    return inner;
  };
  const monitor: Monitor = {
    refreshMs: 1_000,
    snapshot: async () => stack()?.snapshot() ?? waiting(),
    batch: async (time) => stack()?.batch(time) ?? { time, outputs: [], errors: [], deadLetters: [] },
    close: () => inner?.close(),
  };
  return startUiServer({ monitor });
}

function waiting(): UiSnapshot {
  return {
    pipeline: "",
    where: "the local stack",
    kind: "stack",
    takenAt: Date.now(),
    summary: "waiting for the local stack to start",
    batches: [],
    shards: [],
    deadLetters: { total: 0, items: [] },
    lateRecords: { total: 0, items: [] },
    operators: [],
    warnings: [],
  };
}

export function port(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new CliError("BadOption", `--port must be a port number (0 for a free one), got "${text}"`, 2);
  return n;
}

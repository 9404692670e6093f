/**
 * The `sparkless` command line: one commander program assembled from the commands under `commands/`.
 *
 *     sparkless init [dir] [--pipeline name]                         a new project: pipeline, tests, CDK app
 *     sparkless local up [--fresh] [--no-sample] [--ticker-ms N]    the embedded stack, in the foreground
 *     sparkless local down | status
 *     sparkless push [stream] [file|-] [--json] [--partition-key random|line|<field>]
 *     sparkless tail [--pipeline P] [--from-start]
 *     sparkless status [--pipeline P] [--json]
 *     sparkless run <pipeline-module> [--socket host:port | --dir path | --kinesis stream | --generated]
 *     sparkless ui [--port N] [--pipeline P]                         the Streaming page of a pipeline, on 127.0.0.1
 *     sparkless state <operator> [--key K] [--batch T] [--checkpoint dir]   what a stateful operator holds
 *     sparkless start [...]    what npm start runs: `local up`, or `run functions/word-count.ts` with a source flag
 *
 * `main(argv, io)` runs one command line against injected I/O and resolves with the exit code, so tests call
 * it in-process; `bin/sparkless.mjs` calls it with the process' own.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { SparklessError, ValidationError } from "../../lib/core/errors.js";
import { initCommand } from "./commands/init.js";
import { localCommand } from "./commands/local.js";
import type { LocalUpDeps } from "./commands/local-up.js";
import { pushCommand } from "./commands/push.js";
import { runCommand } from "./commands/run.js";
import { startCommand } from "./commands/start.js";
import { stateCommand } from "./commands/state.js";
import { statusCommand } from "./commands/status.js";
import { tailCommand } from "./commands/tail.js";
import { uiCommand } from "./commands/ui.js";
import { CliError, processIo, type CliIo, type CommandContext } from "./io.js";

export { CliError, type CliIo, type OutStream } from "./io.js";

/** What tests may replace besides the I/O. */
export interface MainDeps extends LocalUpDeps {}

/** The package's version: its package.json is two levels up from the sources, three from dist/. */
function version(): string {
  for (const up of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), "utf8")) as { name?: string; version: string };
      if (pkg.name === "sparkless") return pkg.version;
    } catch {
      // not there
    }
  }
  return "unknown";
}

/** The program, with every command's output going to `io` and no `process.exit` anywhere. */
export function buildProgram(ctx: CommandContext, deps: MainDeps = {}): Command {
  const program = new Command("sparkless")
    .description("Spark Streaming's DStream model, serverless: run, feed and watch sparkless pipelines")
    .version(version(), "-V, --version")
    .option("--state-dir <dir>", "where the local stack keeps its state and stack.json", ".sparkless")
    .addCommand(initCommand(ctx))
    .addCommand(localCommand(ctx, deps))
    .addCommand(pushCommand(ctx))
    .addCommand(tailCommand(ctx))
    .addCommand(statusCommand(ctx))
    .addCommand(runCommand(ctx))
    .addCommand(uiCommand(ctx))
    .addCommand(stateCommand(ctx))
    .addCommand(startCommand(ctx, (argv) => main(argv, ctx.io, deps)))
    .addHelpText(
      "after",
      `
Start here:
  sparkless init my-app                    a new project of your own (then: cd my-app && npm install && npm start)
  sparkless local up                       the example pipeline on the embedded AWS stack (Ctrl-C stops it)
  sparkless push < lines.txt               more input, from another terminal
  sparkless tail                           follow output files, printed blocks, dead letters
  sparkless status                         shard progress, lag, finalized and pending batches
  sparkless ui                             the same as a web page, as Spark's Streaming tab, live
  sparkless state totals                   the keys and values a stateful operator holds
  sparkless run functions/word-count.ts    the same pipeline on the local engine, no emulators`,
    );
  configure(program, ctx.io);
  return program;
}

/** Settings commander does not pass from a program to the commands added to it: apply them everywhere. */
function configure(cmd: Command, io: CliIo): void {
  cmd
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
    .showHelpAfterError("(add --help for usage)");
  for (const sub of cmd.commands) configure(sub, io);
}

/**
 * Runs one command line (`argv` without the node and script paths) and resolves with the exit code:
 * 0 done, 1 failed, 2 wrong usage, 130 interrupted before finishing.
 *
 * @example
 * const code = await main(["status", "--json"], { ...io, stdout: { write: (s) => void out.push(s) } });
 */
export async function main(argv: readonly string[], io?: CliIo, deps: MainDeps = {}): Promise<number> {
  const own = io ? undefined : processIo();
  const theIo = io ?? own!;
  let exitCode = 0;
  const ctx: CommandContext = { io: theIo, setExitCode: (code) => void (exitCode = code) };
  try {
    await buildProgram(ctx, deps).parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (e) {
    return report(e, theIo);
  } finally {
    own?.dispose();
  }
}

function report(e: unknown, io: CliIo): number {
  if (e instanceof CommanderError) {
    // commander has printed the message (or the help) already.
    return e.code === "commander.helpDisplayed" || e.code === "commander.version" ? 0 : e.exitCode === 1 ? 2 : e.exitCode;
  }
  if (e instanceof CliError) {
    io.stderr.write(`sparkless: ${e.message}\n`);
    return e.exitCode;
  }
  if (e instanceof ValidationError) {
    io.stderr.write(`sparkless: ${e.message}\n`);
    return 2;
  }
  const err = e as Error;
  const where = err instanceof SparklessError ? "" : ` (${err.name})`;
  io.stderr.write(`sparkless: ${err.message}${where}\n`);
  if (io.env.SPARKLESS_DEBUG) io.stderr.write(`${err.stack}\n`);
  else io.stderr.write("(set SPARKLESS_DEBUG=1 for the stack trace)\n");
  return 1;
}

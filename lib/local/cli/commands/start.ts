/**
 * `sparkless start`: what `npm start` runs. With no source flag, the example pipeline on the embedded AWS stack
 * (`local up`); with one (`--socket`, `--dir`, `--kinesis`, `--generated`), the same pipeline on the local
 * engine (`run functions/word-count.ts`), `--progress` included. One entry point, so `npm start -- --socket
 * 9999` does what a Spark user expects from `nc -lk 9999`, and a bare `npm start` shows the whole AWS path.
 */
import { Command } from "commander";
import type { CommandContext } from "../io.js";

/** The example pipeline's module, as `run` takes it. */
export const EXAMPLE_PIPELINE = "functions/word-count.ts";

// --progress is the local engine's listener (issue: a live line per batch), so it picks the engine too, on
// generated lines unless a source is named.
const ENGINE_FLAGS = /^--(socket|dir|kinesis|generated|progress)(=|$)/;

/** The command line `start` stands for: `local up …` or `run <example> …`. */
export function startArgv(args: readonly string[]): string[] {
  return args.some((a) => ENGINE_FLAGS.test(a)) ? ["run", EXAMPLE_PIPELINE, ...args] : ["local", "up", ...args];
}

export function startCommand(ctx: CommandContext, dispatch: (argv: string[]) => Promise<number>): Command {
  return new Command("start")
    .description("the example pipeline: on the embedded AWS stack, or with --socket/--dir/--kinesis/--generated on the local engine")
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(false)
    .argument("[options...]", "passed on to `local up`, or to `run` when a source is named")
    .action(async (args: string[]) => {
      if (args.includes("--help") || args.includes("-h")) {
        ctx.io.stdout.write(
          [
            "usage: npm start [-- options]",
            "  (no source)            the example on the embedded AWS stack: sparkless local up [--fresh] [--no-sample] [--ticker-ms N] [--no-iam]",
            "  --socket host:port     the example on the local engine, reading lines from a TCP server (nc -lk 9999)",
            "  --dir path             … reading new files moved into a directory",
            "  --kinesis stream       … reading a Kinesis stream",
            "  --generated            … over generated lines",
            "  --progress             the local engine with one live status line per batch (generated lines unless a source is named)",
            "",
          ].join("\n"),
        );
        return;
      }
      ctx.setExitCode(await dispatch(startArgv(args)));
    });
}

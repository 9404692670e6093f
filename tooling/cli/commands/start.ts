/**
 * `sparkless start`, what `npm start` runs: the example pipeline (functions/word-count.ts) end to end.
 *
 * - No source flag: on the embedded AWS stack (`sparkless local up`): synthesize the CDK app, start the
 *   emulators, deploy, run the bundled Lambda code under the local event-source-mapping poller, push sample
 *   lines and show the batches, output files and lag. `--fresh`, `--no-sample`, `--ticker-ms` go to `local up`.
 * - `--socket`, `--dir`, `--kinesis`, `--kafka`, `--generated` (or `--progress`): the same pipeline on the local engine
 *   (`sparkless run functions/word-count.ts …`), so `npm start -- --socket 9999` does what a Spark user expects
 *   from `nc -lk 9999`. Its saveAsTextFiles directories go under the state directory (`.sparkless/output`,
 *   kept out of git) unless `--output-dir` says otherwise; the first line printed says where.
 */
import { join } from "node:path";
import { Command } from "commander";
import type { CommandContext } from "../io.js";
import { serveLocalStackUi } from "./ui.js";

/** The example pipeline's module, as `run` takes it. */
export const EXAMPLE_PIPELINE = "functions/word-count.ts";

// --progress is the local engine's listener (issue: a live line per batch), so it picks the engine too, on
// generated lines unless a source is named.
const ENGINE_FLAGS = /^--(socket|dir|kinesis|kafka|generated|progress)(=|$)/;

/**
 * The command line `start` stands for: `local up …` or `run <example> …`. The local engine writes its files
 * under the state directory, not into the working directory (the repository, for `npm start`).
 */
export function startArgv(args: readonly string[], stateDir = ".sparkless"): string[] {
  if (!args.some((a) => ENGINE_FLAGS.test(a))) return ["local", "up", ...args];
  const output = args.some((a) => /^--output-dir(=|$)/.test(a)) ? [] : ["--output-dir", join(stateDir, "output")];
  return ["run", EXAMPLE_PIPELINE, ...output, ...args];
}

export function startCommand(ctx: CommandContext, dispatch: (argv: string[]) => Promise<number>): Command {
  return new Command("start")
    .description("the example pipeline: on the embedded AWS stack, or with --socket/--dir/--kinesis/--kafka/--generated on the local engine")
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(false)
    .argument("[options...]", "passed on to `local up`, or to `run` when a source is named")
    .action(async (args: string[], _opts: unknown, command: Command) => {
      if (args.includes("--help") || args.includes("-h")) {
        ctx.io.stdout.write(
          [
            "usage: npm start [-- options]",
            "  (no source)            the example on the embedded AWS stack: sparkless local up [--fresh] [--no-sample] [--ticker-ms N] [--no-iam]",
            "  --socket host:port     the example on the local engine, reading lines from a TCP server (nc -lk 9999)",
            "  --dir path             … reading new files moved into a directory",
            "  --kinesis stream       … reading a Kinesis stream",
            "  --kafka topic --bootstrap host:port   … reading a Kafka topic, exactly once (--from-start: from the earliest offset)",
            "  --generated            … over generated lines",
            "  --progress             the local engine with one live status line per batch (generated lines unless a source is named)",
            "  --output-dir path      where the local engine writes saveAsTextFiles output (default: .sparkless/output)",
            "  --no-ui                without the Streaming page (sparkless ui), whose URL is printed first otherwise",
            "",
          ].join("\n"),
        );
        return;
      }
      const { stateDir } = command.optsWithGlobals<{ stateDir?: string }>();
      // The Streaming page comes with it (sparkless ui), its URL printed first; --no-ui leaves it out.
      const withUi = !args.includes("--no-ui");
      // The state directory goes on with the command, so the page and the stack look at the same one.
      const argv = startArgv(args.filter((a) => a !== "--no-ui"), stateDir);
      const global = stateDir !== undefined ? ["--state-dir", stateDir] : [];
      if (argv[0] === "run") {
        ctx.setExitCode(await dispatch([...global, ...argv, ...(withUi ? ["--ui"] : [])]));
        return;
      }
      const ui = withUi ? await serveLocalStackUi(ctx.io, { ...(stateDir !== undefined ? { stateDir } : {}) }) : undefined;
      if (ui) ctx.io.stderr.write(`sparkless ui: ${ui.url} (the Streaming page, once the stack is up)\n`);
      try {
        ctx.setExitCode(await dispatch([...global, ...argv]));
      } finally {
        await ui?.close();
      }
    });
}

/** `sparkless local down`: stops the stack another `sparkless local up` runs (SIGTERM to the pid in stack.json). */
import { Command, Option } from "commander";
import { CliError, sleep, type CliIo, type CommandContext } from "../io.js";
import { isStackRunning, readStackFile, stackFilePath, stateDirOf } from "../stack-file.js";
import { positiveInt } from "./status.js";

export interface LocalDownOptions {
  readonly timeoutMs: number;
  readonly force?: boolean;
  readonly stateDir?: string;
}

export function localDownCommand(ctx: CommandContext): Command {
  return new Command("down")
    .description("stop the local stack started by `sparkless local up` in another terminal")
    .addOption(new Option("--timeout-ms <ms>", "how long to wait for it to stop").default(20_000).argParser(positiveInt("--timeout-ms")))
    .option("--force", "SIGKILL it if it has not stopped by then")
    .action(async (opts: LocalDownOptions, command: Command) => {
      const { stateDir } = command.optsWithGlobals<{ stateDir?: string }>();
      ctx.setExitCode(await localDown(ctx.io, { ...opts, stateDir }));
    });
}

export async function localDown(io: CliIo, opts: LocalDownOptions): Promise<number> {
  const stateDir = stateDirOf(io.cwd, opts.stateDir);
  const file = readStackFile(stateDir, { includeStale: true });
  if (!file || !isStackRunning(file)) {
    io.stdout.write(file ? `no local stack is running (${stackFilePath(stateDir)} names pid ${file.pid}, which has exited)\n` : "no local stack is running\n");
    return 0;
  }
  if (file.pid === process.pid) throw new CliError("OwnProcess", "the local stack runs in this very process: stop it with Ctrl-C", 1);
  io.stdout.write(`stopping the local stack (pid ${file.pid}, started ${file.startedAt}) ...\n`);
  const began = Date.now();
  signal(file.pid, "SIGTERM");
  // `local up` stops the poller, the functions and the emulators before it exits; wait for the exit.
  while (Date.now() - began < opts.timeoutMs) {
    if (!isStackRunning(file)) {
      io.stdout.write(`stopped in ${((Date.now() - began) / 1000).toFixed(1)} s\n`);
      return 0;
    }
    await sleep(100);
  }
  if (opts.force) {
    signal(file.pid, "SIGKILL");
    await sleep(200);
    io.stdout.write(
      isStackRunning(file)
        ? `pid ${file.pid} is still there after SIGKILL\n`
        : `killed pid ${file.pid} (SIGKILL) after ${opts.timeoutMs / 1000} s: kinesis-mock, its child, dies with it; ${stackFilePath(stateDir)} is left behind\n`,
    );
    return isStackRunning(file) ? 1 : 0;
  }
  io.stderr.write(`sparkless: pid ${file.pid} has not stopped after ${opts.timeoutMs / 1000} s; run \`sparkless local down --force\` to SIGKILL it\n`);
  return 1;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return; // gone already
    throw new CliError("CannotSignal", `cannot send ${sig} to pid ${pid}: ${(e as Error).message}`, 1, { pid }, { cause: e });
  }
}

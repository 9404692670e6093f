import { spawn, type ChildProcess } from "node:child_process";

/**
 * A child process that cannot outlive us, however we end:
 * - it runs in its own process group (`detached`), so `stop()` signals the whole group (the emulator and
 *   anything it spawned) and Ctrl-C in a terminal reaches only our process, which then stops it in order;
 * - its stdin is a pipe from us and a preloaded one-liner exits it when that pipe closes, which happens when
 *   our process dies for any reason (even SIGKILL, when no exit handler runs);
 * - a synchronous `exit` handler kills the groups still alive when our process exits normally.
 */
export interface ManagedChild {
  readonly pid: number;
  /** The last few KB of the child's stdout and stderr, interleaved, for error messages. */
  outputTail(): string;
  /** Resolves with the exit code (or signal) when the child has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * SIGTERM to the group, SIGKILL after `graceMs` (at once when 0), resolves once the child has exited.
   * @default graceMs 5_000
   */
  kill(graceMs?: number): Promise<void>;
}

const TAIL_BYTES = 8 * 1024;
// Loaded with --import before the child's own code (Node resolves `node:` imports from data: URLs):
// - exit when our end of stdin closes (we died). stdin is unref'd so that it alone never keeps the child alive:
//   kinesis-mock's SIGTERM handler (cats-effect) waits for the event loop to drain rather than exiting.
// - force every listen() without a host onto 127.0.0.1: kinesis-mock hard-codes host 0.0.0.0, which fs2 turns
//   into listen(port, cb), i.e. all interfaces. We only ever serve loopback. Drop this when kinesis-mock
//   takes a host setting.
const PRELOAD = `
import net from "node:net";
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" && (args.length === 1 || typeof args[1] === "function")) args.splice(1, 0, "127.0.0.1");
  else if (args[0] && typeof args[0] === "object" && args[0].port !== undefined && !args[0].host) args[0] = { ...args[0], host: "127.0.0.1" };
  return listen.apply(this, args);
};
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
process.stdin.unref?.();
`;
const WATCHDOG = `data:text/javascript,${encodeURIComponent(PRELOAD)}`;

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Group already gone (ESRCH): nothing to do.
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const child of live) killGroup(child, "SIGKILL");
  });
}

export function spawnNodeChild(script: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): ManagedChild {
  installExitHook();
  const child = spawn(process.execPath, ["--import", WATCHDOG, script, ...args], {
    cwd,
    env,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
  });
  if (child.pid === undefined) throw new Error(`could not spawn ${script}`);
  live.add(child);
  let tail = "";
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-TAIL_BYTES);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  // Writing to a pipe whose reader died raises EPIPE asynchronously; we never write, but be safe.
  child.stdin!.on("error", () => {});
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  const pid = child.pid;
  return {
    pid,
    outputTail: () => tail,
    exited,
    async kill(graceMs = 5_000) {
      if (graceMs <= 0) killGroup(child, "SIGKILL");
      else killGroup(child, "SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        killGroup(child, "SIGKILL");
        await exited;
      }
      // The group may hold grandchildren that ignored SIGTERM after the leader exited.
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // ESRCH: the group is empty, as it should be.
      }
      child.stdin?.destroy();
      child.stdout?.destroy();
      child.stderr?.destroy();
    },
  };
}

/**
 * What a command talks to, injected so that `main(argv, io)` runs in a test without a process of its own:
 * output streams, stdin, the environment, the working directory and a stop signal (Ctrl-C).
 */
import { SparklessError } from "../../lib/core/errors.js";

/** stdout / stderr, or anything that collects text (a test's buffer). */
export interface OutStream {
  write(text: string): unknown;
  /** A terminal: live lines and progress bars are drawn only there. */
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface CliIo {
  readonly stdout: OutStream;
  readonly stderr: OutStream;
  /** Where `push -` (or `push` with no file) reads. */
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  /** AWS_ENDPOINT_URL, AWS_REGION … are read from here, not from `process.env`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Relative paths (files, `--state-dir`, `--output-dir`) resolve against it. */
  readonly cwd: string;
  /** Aborted on Ctrl-C / SIGTERM: long-running commands (local up, tail, run) stop cleanly when it fires. */
  readonly signal: AbortSignal;
}

/**
 * A failure the user can act on (wrong argument, nothing running, stream not found): printed as one line,
 * without a stack trace, and the process exits with `exitCode`.
 */
export class CliError extends SparklessError {
  constructor(
    code: string,
    message: string,
    readonly exitCode = 1,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, details, options);
  }
}

/** The process' own streams and signals. Ctrl-C (or SIGTERM, SIGHUP) once asks the command to stop; a second time exits at once. */
export function processIo(): CliIo & { dispose(): void } {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) {
      process.stderr.write(`\nsparkless: ${signal} again, exiting now\n`);
      process.exit(130);
    }
    controller.abort(new CliError("Interrupted", `stopped by ${signal}`, 130));
  };
  // SIGHUP: the terminal went away; stop as cleanly as for Ctrl-C (kinesis-mock would die with us anyway).
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signals) process.on(s, onSignal);
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
    dispose: () => {
      for (const s of signals) process.off(s, onSignal);
    },
  };
}

/** Resolves after `ms`, or early (without throwing) when `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Resolves when `signal` fires (never, if it never does). */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/** What a command's factory gets: the I/O, and a way to say how the command ended without throwing. */
export interface CommandContext {
  readonly io: CliIo;
  /** The process' exit code when the command returns (0 unless set; a thrown CliError sets its own). */
  setExitCode(code: number): void;
}

/** Thousands separators, always the same whatever the machine's locale. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** `1 record`, `2 records`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}

/** Bytes for people: 512 B, 54.3 KB, 1.2 MB (powers of 1024, as Kinesis' limits are). */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

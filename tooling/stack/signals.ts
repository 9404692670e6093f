/**
 * Ctrl-C and SIGTERM for a process that runs the local stack: the first signal asks for a clean stop (schedules,
 * pollers after their invocations in flight, sandboxes, emulators, stack.json), a second one exits at once
 * (the emulator child still dies with us: it watches its stdin and is killed by our exit hook).
 */

export interface ShutdownSignals {
  /** Aborted by the first SIGINT/SIGTERM: give it to `startLocalStack({ signal })`. */
  readonly signal: AbortSignal;
  /** Resolves with the signal's name when one arrives. */
  readonly requested: Promise<NodeJS.Signals>;
  /** Removes the handlers (call it once the stack has stopped). */
  dispose(): void;
}

export interface ShutdownOptions {
  /** @default ["SIGINT", "SIGTERM"] */
  readonly signals?: readonly NodeJS.Signals[];
  /** Told when a signal arrives. @default - a line on stderr */
  readonly onSignal?: (signal: NodeJS.Signals, forced: boolean) => void;
  /** What a second signal does. @default - exit with 128 + the signal's number */
  readonly force?: (signal: NodeJS.Signals) => void;
}

const NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };

/**
 * Installs SIGINT/SIGTERM handlers that stop a local stack cleanly.
 *
 * @example
 * const shutdown = shutdownOnSignals();
 * try {
 *   const stack = await startLocalStack({ signal: shutdown.signal });
 *   await stack.stopped;        // until Ctrl-C
 * } finally {
 *   shutdown.dispose();
 * }
 */
export function shutdownOnSignals(options: ShutdownOptions = {}): ShutdownSignals {
  const controller = new AbortController();
  const names = options.signals ?? ["SIGINT", "SIGTERM"];
  let resolveRequested!: (s: NodeJS.Signals) => void;
  const requested = new Promise<NodeJS.Signals>((r) => (resolveRequested = r));
  const onSignal =
    options.onSignal ??
    ((s: NodeJS.Signals, forced: boolean) =>
      process.stderr.write(forced ? `\nsparkless: ${s} again, exiting now\n` : `\nsparkless: ${s}, stopping the local stack (again to force) ...\n`));
  const force = options.force ?? ((s: NodeJS.Signals) => process.exit(128 + (NUMBERS[s] ?? 1)));
  const handler = (s: NodeJS.Signals) => {
    const forced = controller.signal.aborted;
    onSignal(s, forced);
    if (forced) {
      force(s);
      return;
    }
    resolveRequested(s);
    controller.abort(new Error(`stopped by ${s}`));
  };
  for (const n of names) process.on(n, handler);
  return {
    signal: controller.signal,
    requested,
    dispose: () => {
      for (const n of names) process.off(n, handler);
    },
  };
}

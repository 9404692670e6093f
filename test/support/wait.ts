/**
 * Polling for a condition, as tests wait for another process, server or actor. The deadline is not a measurement:
 * it only makes a test that would hang fail saying what it waited for. Give it generously (a busy 2-core machine is
 * slow) and below the test's own timeout.
 */
export interface WaitOptions {
  /** @default 25_000 (under vitest's 30 s per test, so a hang fails with this message) */
  readonly timeoutMs?: number;
  /** @default 20 */
  readonly everyMs?: number;
  /** More to say when it times out (a child's output, say). */
  readonly context?: () => string;
}

/** Polls `cond` until it holds; fails naming `what` after `timeoutMs`. A `cond` that throws fails at once. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, opts: WaitOptions = {}): Promise<void> {
  await until(what, async () => (await cond()) || undefined, opts);
}

/** Polls `probe` until it returns a value (not `undefined` or `false`), and returns it. */
export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, opts: WaitOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 25_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      const more = opts.context?.();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${more ? `\n${more}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 20));
  }
}

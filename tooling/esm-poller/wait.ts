/** Resolves after `ms`, or at once when `signal` aborts; never rejects, leaves no timer behind. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** A wake-up call: `wait()` resolves on the next `notify()`, after `ms` (if given), or when `signal` aborts. */
export class Wakeup {
  private waiters: (() => void)[] = [];

  constructor(private readonly signal: AbortSignal) {}

  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  wait(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.signal.aborted) return resolve();
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        this.signal.removeEventListener("abort", done);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      if (ms !== undefined) timer = setTimeout(done, Math.max(0, ms));
      this.signal.addEventListener("abort", done, { once: true });
      this.waiters.push(done);
    });
  }
}

/**
 * Runs `attempt` until it resolves (true) or `signal` aborts (false), waiting `retryDelayMs` after each failure,
 * which `failed` hears of. For what must happen before the poller moves on: an on-failure destination must hold a
 * discarded batch's record before its records are passed by.
 */
export async function untilDone(attempt: () => Promise<unknown>, failed: (error: unknown) => void, retryDelayMs: number, signal: AbortSignal): Promise<boolean> {
  for (;;) {
    try {
      await attempt();
      return true;
    } catch (error) {
      failed(error);
      await sleep(retryDelayMs, signal);
      if (signal.aborted) return false;
    }
  }
}

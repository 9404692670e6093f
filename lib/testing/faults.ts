/**
 * Fault injection for the in-memory stores, so tests can crash an invocation at the two moments that matter to
 * an exactly-once protocol: before a write happens, and after it took effect but before the caller heard back
 * (the Lambda timed out, the connection dropped). Not used on any production path.
 */

export type CrashPoint = "before" | "after";

/**
 * Thrown by an in-memory store whose `failNext` was armed. `when` says whether the call's write took effect.
 * A test-only error: it is not a {@link SparklessError} because no caller should ever handle it.
 */
export class SimulatedCrash extends Error {
  constructor(
    readonly method: string,
    readonly when: CrashPoint,
  ) {
    super(`simulated crash ${when} ${method}${when === "after" ? " (its write took effect)" : ""}`);
    this.name = "SimulatedCrash";
  }
}

/** Armed crashes per method, each consumed by the next call of that method (in the order they were armed). */
export class FaultPlan<M extends string> {
  private readonly armed = new Map<M, CrashPoint[]>();

  arm(method: M, when: CrashPoint): void {
    const queue = this.armed.get(method) ?? [];
    queue.push(when);
    this.armed.set(method, queue);
  }

  /** Forgets every armed crash: a test's own reads after a run must not meet a crash armed for a call the run never made. */
  clear(): void {
    this.armed.clear();
  }

  /** Takes the crash armed for this call of `method`, if any: call once per call, at its start. */
  take(method: M): CrashPoint | undefined {
    const queue = this.armed.get(method);
    const when = queue?.shift();
    if (queue && queue.length === 0) this.armed.delete(method);
    return when;
  }

  /** Runs one call of `method` with the crash armed for it, if any. */
  async run<R>(method: M, body: () => R | Promise<R>): Promise<R> {
    const when = this.take(method);
    if (when === "before") throw new SimulatedCrash(method, when);
    const result = await body();
    if (when === "after") throw new SimulatedCrash(method, when);
    return result;
  }
}

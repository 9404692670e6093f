import type { Duration } from "../core/duration.js";

/** A timer callback; a returned promise is awaited by a ManualClock before it moves on. */
export type TimerCallback = () => void | Promise<void>;

/** What the scheduler needs of time: now, and a callback at an absolute time. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `fn` once the clock reaches `at` (epoch ms). Returns a function that cancels it. */
  schedule(at: number, fn: TimerCallback): () => void;
}

/** Wall-clock time (Spark's SystemClock). The default. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  schedule(at: number, fn: TimerCallback): () => void {
    const t = setTimeout(() => void fn(), Math.max(0, at - Date.now()));
    return () => clearTimeout(t);
  }
}

interface Pending {
  at: number;
  seq: number;
  fn: TimerCallback;
}

/**
 * A clock that moves only when told (Spark's ManualClock), for tests and reproducible runs. It starts at 0
 * unless given another time.
 *
 * @example
 * const clock = new ManualClock();
 * const ssc = new StreamingContext({ batchInterval: Seconds(1), clock });
 * // ... build the pipeline, await ssc.start()
 * await clock.advance(Seconds(3)); // runs the batches of 1 s, 2 s and 3 s, in order, and waits for them
 */
export class ManualClock implements Clock {
  private time: number;
  private readonly pending: Pending[] = [];
  private seq = 0;
  private moving: Promise<void> = Promise.resolve();

  constructor(startTime = 0) {
    this.time = startTime;
  }

  now(): number {
    return this.time;
  }

  /** Spark's name for `now()`. */
  getTimeMillis(): number {
    return this.time;
  }

  schedule(at: number, fn: TimerCallback): () => void {
    const p: Pending = { at, seq: this.seq++, fn };
    this.pending.push(p);
    return () => {
      const i = this.pending.indexOf(p);
      if (i >= 0) this.pending.splice(i, 1);
    };
  }

  /**
   * Moves time forward by `by`, running every callback that falls due, in time order, each one finished
   * (its promise settled) before the next; resolves once time has reached the target.
   */
  advance(by: Duration | number): Promise<void> {
    const ms = typeof by === "number" ? by : by.milliseconds;
    return this.setTime(this.time + ms);
  }

  /** Moves time to `target` (never backwards), running what falls due as `advance` does. */
  setTime(target: number): Promise<void> {
    // Calls made while the clock is moving queue up behind it, so time never runs backwards.
    const run = this.moving.then(() => this.runUntil(target));
    this.moving = run.catch(() => undefined);
    return run;
  }

  private async runUntil(target: number): Promise<void> {
    for (;;) {
      const due = this.pending
        .filter((p) => p.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.pending.splice(this.pending.indexOf(due), 1);
      if (due.at > this.time) this.time = due.at;
      await due.fn();
    }
    if (target > this.time) this.time = target;
  }
}

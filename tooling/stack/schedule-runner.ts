/**
 * EventBridge schedules, locally: a timer per scheduled rule that invokes its target functions with the event
 * EventBridge sends ("Scheduled Event").
 *
 * Differences from EventBridge, on purpose:
 * - the interval is a local override by default (2 s instead of the template's `rate(1 minute)`), so a quiet
 *   stream's batches are finalized within seconds while developing;
 * - a target whose previous invocation is still running is skipped for that tick (EventBridge would invoke it
 *   again, concurrently); asynchronous retries (`EventInvokeConfig`) are not made — the next tick is the retry;
 * - the first tick comes one interval after start, as with a new rule.
 */
import { randomUUID } from "node:crypto";
import { ValidationError } from "../../lib/core/errors.js";

const UNIT_MS: Record<string, number> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

/** A `ScheduleExpression`: `rate(5 minutes)` as an interval, `cron(...)` as it is. */
export type Schedule = { readonly kind: "rate"; readonly intervalMs: number } | { readonly kind: "cron"; readonly expression: string };

/**
 * Parses an EventBridge schedule expression.
 *
 * @example
 * parseScheduleExpression("rate(1 minute)"); // { kind: "rate", intervalMs: 60_000 }
 */
export function parseScheduleExpression(expression: string): Schedule {
  const rate = /^rate\(\s*(\d+)\s+([a-z]+)\s*\)$/i.exec(expression.trim());
  if (rate) {
    const value = Number(rate[1]);
    const unit = UNIT_MS[rate[2]!.toLowerCase()];
    if (!unit || value < 1) {
      throw new ValidationError("BadScheduleExpression", `"${expression}" is not a valid rate expression: rate(<positive integer> minute(s)|hour(s)|day(s))`, { expression });
    }
    return { kind: "rate", intervalMs: value * unit };
  }
  if (/^cron\(.+\)$/i.test(expression.trim())) return { kind: "cron", expression: expression.trim() };
  throw new ValidationError("BadScheduleExpression", `"${expression}" is neither rate(...) nor cron(...)`, { expression });
}

/** The event EventBridge sends a target of a scheduled rule. */
export function scheduledEvent(ruleArn: string, region: string, account: string, time = new Date()) {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account,
    time: time.toISOString().replace(/\.\d{3}Z$/, "Z"),
    region,
    resources: [ruleArn],
    detail: {},
  };
}

export interface ScheduledJob {
  /** For reports: the rule and target. */
  readonly name: string;
  readonly intervalMs: number;
  /** One tick's work (an invocation); a rejection is reported to `onError`, the schedule goes on. */
  readonly run: () => Promise<void>;
}

export interface ScheduleRunnerOptions {
  /** A tick that failed. @default - ignored */
  readonly onError?: (job: string, error: unknown) => void;
  /** A tick skipped because the previous one still runs. @default - ignored */
  readonly onSkip?: (job: string) => void;
}

/**
 * Runs jobs on fixed intervals, never two runs of one job at once, until `stop()`.
 *
 * @example
 * const runner = new ScheduleRunner([{ name: "ticker", intervalMs: 2_000, run: () => host.invoke(event).then(() => {}) }]);
 * runner.start();
 * await runner.stop(); // waits for a run in progress
 */
export class ScheduleRunner {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<void>>();
  private stopped = false;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly jobs: readonly ScheduledJob[],
    private readonly options: ScheduleRunnerOptions = {},
  ) {
    for (const j of jobs) {
      if (!(j.intervalMs > 0)) throw new ValidationError("BadScheduleInterval", `the interval of ${j.name} must be positive, got ${j.intervalMs}`, { job: j.name });
    }
  }

  start(): void {
    for (const job of this.jobs) this.schedule(job, Date.now() + job.intervalMs);
  }

  /** Cancels future ticks and resolves once every run in progress has finished. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      await Promise.allSettled([...this.running.values()]);
    })();
    return this.stopping;
  }

  private schedule(job: ScheduledJob, at: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.stopped) return;
      this.fire(job);
      // Ticks stay on the grid of the start time; a late timer skips the ticks it missed.
      let next = at + job.intervalMs;
      const now = Date.now();
      if (next <= now) next = now + job.intervalMs - ((now - at) % job.intervalMs);
      this.schedule(job, next);
    }, Math.max(0, at - Date.now()));
    this.timers.add(timer);
  }

  private fire(job: ScheduledJob): void {
    if (this.running.has(job.name)) {
      this.options.onSkip?.(job.name);
      return;
    }
    const run = (async () => {
      try {
        await job.run();
      } catch (err) {
        this.options.onError?.(job.name, err);
      } finally {
        this.running.delete(job.name);
      }
    })();
    this.running.set(job.name, run);
  }
}

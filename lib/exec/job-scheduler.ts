import { Time } from "../core/duration.js";
import { UserFunctionError } from "../core/errors.js";
import type { Evaluation } from "../graph/evaluation.js";
import type { StreamGraph } from "../graph/stream-graph.js";
import type { Clock } from "./clock.js";

/** What happened in one batch (Spark's BatchInfo), as listeners see it. Times are epoch ms. */
export interface BatchInfo {
  readonly batchTime: Time;
  /** Elements the sources handed to this batch. */
  readonly numRecords: number;
  readonly submissionTime: number;
  readonly processingStartTime?: number;
  readonly processingEndTime?: number;
  /** Time from the batch's due time to the start of its processing. */
  readonly schedulingDelay?: number;
  readonly processingDelay?: number;
  readonly totalDelay?: number;
  readonly outputOperations: number;
  /** Dead-letter entries (input the sources could not read) reported since the previous batch was cut. */
  readonly numDeadLetters: number;
  /** The first failure of this batch, if any. */
  readonly failure?: Error;
}

/** Spark's StreamingListener, the batch events of it. */
export interface StreamingListener {
  onBatchSubmitted?(info: BatchInfo): void;
  onBatchStarted?(info: BatchInfo): void;
  onBatchCompleted?(info: BatchInfo): void;
}

export interface SchedulerHooks {
  /** A batch failed: an output job or the computation of an RDD threw. */
  onError(error: Error, time: Time): void;
  /** After the batch's RDDs are generated and before its jobs run (Spark checkpoints here). */
  onBatchGenerated?(time: Time): Promise<void> | void;
  /** After the batch's jobs ran and old RDDs were forgotten (Spark checkpoints here too). */
  onBatchCompleted?(time: Time): Promise<void> | void;
  /** How many dead-letter entries belong to the batch being cut at `time` (those reported since the last cut). */
  takeDeadLetterCount?(time: Time): number;
}

/**
 * Runs batches on the clock, in order, one at a time (Spark's JobGenerator + JobScheduler with one
 * concurrent job). At each batch time the sources are drained at once (so a record belongs to the batch
 * during which it arrived); the batch is then processed as soon as the previous one is done.
 */
export class JobScheduler {
  readonly listeners: StreamingListener[] = [];
  private cancelTimer: (() => void) | undefined;
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly pending = new Set<number>();
  private lastCompleted: Time | undefined;

  private readonly graph: StreamGraph;

  constructor(
    /** The local engine's evaluation of the plan: it lives as long as the context, so its RDDs are the windows' and state's memory. */
    private readonly ev: Evaluation,
    private readonly clock: Clock,
    private readonly hooks: SchedulerHooks,
  ) {
    this.graph = ev.graph;
  }

  /** The first batch time for a context started now (Spark: the next multiple of the batch interval). */
  firstBatchTime(): Time {
    const b = this.graph.batchDuration.milliseconds;
    return new Time((Math.floor(this.clock.now() / b) + 1) * b);
  }

  /**
   * Starts ticking at `first`. `replay` are batch times to run before it (recovery: batches that were
   * pending or fell due while the program was down), in order.
   */
  start(first: Time, replay: Time[] = []): void {
    for (const t of replay) this.submit(t);
    this.scheduleTick(first);
  }

  /** Batches generated but not yet completed, oldest first. */
  pendingTimes(): Time[] {
    return [...this.pending].sort((a, b) => a - b).map((t) => new Time(t));
  }

  lastCompletedTime(): Time | undefined {
    return this.lastCompleted;
  }

  /** Stops the timer; resolves when the batch in progress (and, if `graceful`, every queued one) is done. */
  async stop(graceful = false): Promise<void> {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    if (!graceful) this.stopped = true;
    await this.queue;
    this.stopped = true;
  }

  private scheduleTick(time: Time): void {
    this.cancelTimer = this.clock.schedule(time.milliseconds, () => {
      if (this.stopped) return;
      this.scheduleTick(time.plus(this.graph.batchDuration));
      return this.submit(time);
    });
  }

  /** Drains the sources for `time` now and queues the batch; resolves when the batch has run. */
  private submit(time: Time): Promise<void> {
    const submissionTime = this.clock.now();
    let numRecords = 0;
    let failure: Error | undefined;
    try {
      for (const input of this.graph.inputs) numRecords += this.ev.getOrCompute(input, time)?.count() ?? 0;
    } catch (e) {
      failure = e as Error;
    }
    const numDeadLetters = this.hooks.takeDeadLetterCount?.(time) ?? 0;
    this.pending.add(time.milliseconds);
    const info: BatchInfo = { batchTime: time, numRecords, submissionTime, outputOperations: this.graph.outputs.length, numDeadLetters };
    this.emit("onBatchSubmitted", info);
    const run = this.queue.then(() => (this.stopped ? undefined : this.process(time, info, failure)));
    this.queue = run;
    return run;
  }

  private async process(time: Time, submitted: BatchInfo, inputFailure: Error | undefined): Promise<void> {
    const start = this.clock.now();
    const started = { ...submitted, processingStartTime: start, schedulingDelay: start - time.milliseconds };
    this.emit("onBatchStarted", started);
    let failure = inputFailure;
    const fail = (e: unknown) => {
      const error = e instanceof UserFunctionError ? e.atBatch(time.milliseconds) : (e as Error);
      failure ??= error;
      this.hooks.onError(error, time);
    };
    if (!failure) {
      try {
        const jobs = this.ev.generateJobs(time);
        await this.hooks.onBatchGenerated?.(time);
        for (const job of jobs) {
          try {
            await job.run();
          } catch (e) {
            fail(e);
          }
        }
      } catch (e) {
        fail(e);
      }
    } else {
      fail(failure);
    }
    this.ev.clearMetadata(time);
    this.pending.delete(time.milliseconds);
    this.lastCompleted = time;
    try {
      await this.hooks.onBatchCompleted?.(time);
    } catch (e) {
      fail(e);
    }
    const end = this.clock.now();
    this.emit("onBatchCompleted", {
      ...started,
      processingEndTime: end,
      processingDelay: end - start,
      totalDelay: end - time.milliseconds,
      ...(failure ? { failure } : {}),
    });
  }

  private emit(event: keyof StreamingListener, info: BatchInfo): void {
    for (const l of this.listeners) {
      try {
        l[event]?.(info);
      } catch {
        // A listener must not break the stream (Spark logs and goes on).
      }
    }
  }
}

import { Duration, Time } from "../core/duration.js";
import { RDD } from "../core/rdd.js";
import { IllegalStateError, ValidationError } from "../errors.js";
import { type Clock, SystemClock } from "../exec/clock.js";
import { JobScheduler, type StreamingListener } from "../exec/job-scheduler.js";
import { InputNode } from "../graph/ops/input.js";
import { TransformNode } from "../graph/ops/transform.js";
import { UnionNode } from "../graph/ops/union.js";
import { StreamGraph } from "../graph/stream-graph.js";
import { QueueSource } from "../io/queue-source.js";
import type { DeadLetterEntry, Source } from "../io/source.js";
import { DStream } from "./dstream.js";

export interface StreamingContextProps {
  /** How often a batch is cut (Spark's batchDuration). */
  readonly batchInterval: Duration;
  /** The clock batches run on. @default - the system clock */
  readonly clock?: Clock;
  /** Where `print()` writes. @default - process.stdout */
  readonly out?: (text: string) => void;
  /**
   * Called with input no source could read (a decoder error, a file that is not UTF-8), so that nothing is lost
   * silently. @default - written to `<checkpoint dir>/dead-letter/` when a checkpoint directory is set, else to stderr
   */
  readonly onDeadLetter?: (entry: DeadLetterEntry) => void;
}

/** Spark's StreamingContextState. */
export type StreamingContextState = "INITIALIZED" | "ACTIVE" | "STOPPED";

/**
 * The entry point (Spark's StreamingContext): makes input streams, runs their batches on a clock.
 *
 * @example
 * const clock = new ManualClock();
 * const ssc = new StreamingContext({ batchInterval: Seconds(1), clock });
 * ssc.queueStream([[1, 2], [3]]).map((x) => x * 10).print();
 * await ssc.start();
 * await clock.advance(Seconds(2)); // prints the batches of 1000 ms and 2000 ms
 * await ssc.stop();
 */
export class StreamingContext {
  /** @internal The plan built by the operators. */
  readonly graph: StreamGraph;
  readonly clock: Clock;
  private readonly scheduler: JobScheduler;
  private state: StreamingContextState = "INITIALIZED";
  private failure: Error | undefined;
  private readonly waiters = new Set<{ resolve: () => void; reject: (e: Error) => void }>();
  private readonly sources: Source<unknown>[] = [];
  private readonly deadLetters: DeadLetterEntry[] = [];

  constructor(readonly props: StreamingContextProps) {
    const b = props.batchInterval;
    if (!(b instanceof Duration) || b.milliseconds <= 0) {
      throw new ValidationError("BadBatchInterval", `batchInterval must be a positive Duration such as Seconds(1), got ${String(b)}`);
    }
    this.graph = new StreamGraph(b);
    if (props.out) this.graph.out = props.out;
    this.clock = props.clock ?? new SystemClock();
    this.scheduler = new JobScheduler(this.graph, this.clock, {
      onError: (error) => this.reportError(error),
    });
  }

  get batchInterval(): Duration {
    return this.graph.batchDuration;
  }

  getState(): StreamingContextState {
    return this.state;
  }

  /** Enables checkpointing into `directory`; stateful operators need it (Spark's rule). */
  checkpoint(directory: string): void {
    this.graph.checkpointDir = directory;
  }

  /** Keeps every stream's RDDs for at least `duration` (so `slice` can reach further back). */
  remember(duration: Duration): void {
    this.graph.rememberDuration = duration;
  }

  addStreamingListener(listener: StreamingListener): void {
    this.scheduler.listeners.push(listener);
  }

  // ---- sources ----

  /** A stream from any `Source` (Spark's receiverStream). */
  receiverStream<T>(source: Source<T>, name?: string): DStream<T> {
    const node = new InputNode(this.graph, source, name);
    this.sources.push(source as Source<unknown>);
    return new DStream(node);
  }

  /**
   * One array (or RDD) of the queue per batch (`oneAtATime`, the default), or all queued at once; once the
   * queue is empty, batches are `defaultRDD` or empty. The queue may grow while the context runs.
   */
  queueStream<T>(queue: Array<ReadonlyArray<T> | RDD<T>>, oneAtATime = true, defaultRDD?: ReadonlyArray<T> | RDD<T>): DStream<T> {
    return this.receiverStream(new QueueSource<T>(queue, oneAtATime, defaultRDD));
  }

  /** The union of several streams with the same slide. */
  union<T>(...streams: Array<DStream<T> | DStream<T>[]>): DStream<T> {
    const all = streams.flat();
    return new DStream(new UnionNode(all.map((s) => s.node)));
  }

  /** A function of several streams' RDDs per batch (Spark's `ssc.transform`). */
  transform<U>(streams: ReadonlyArray<DStream<unknown>>, fn: (rdds: RDD<unknown>[], time: Time) => RDD<U>): DStream<U> {
    return new DStream(new TransformNode<U>(streams.map((s) => s.node), fn, "transform"));
  }

  // ---- lifecycle ----

  /** Validates the program, starts the sources and the batch clock. */
  async start(): Promise<void> {
    if (this.state === "ACTIVE") {
      // Spark logs this and carries on; so do we.
      process.stderr.write("sparkless: StreamingContext has already been started\n");
      return;
    }
    if (this.state === "STOPPED") throw new IllegalStateError("AlreadyStopped", "StreamingContext has already been stopped: create a new one");
    const first = this.scheduler.firstBatchTime();
    this.graph.start(first.minus(this.graph.batchDuration));
    this.graph.frozen = "started";
    const context = {
      batchInterval: this.graph.batchDuration,
      now: () => this.clock.now(),
      deadLetter: (entry: DeadLetterEntry) => this.deadLetter(entry),
    };
    await Promise.all(this.sources.map((s) => s.start(context)));
    this.state = "ACTIVE";
    this.scheduler.start(first);
  }

  /**
   * Stops the batches and the sources. With `stopGracefully`, batches already due are processed first.
   * Waiters of `awaitTermination` resolve.
   */
  async stop(options: { stopGracefully?: boolean } = {}): Promise<void> {
    if (this.state === "STOPPED") return;
    const wasActive = this.state === "ACTIVE";
    this.state = "STOPPED";
    this.graph.frozen = "stopped";
    if (wasActive) {
      await this.scheduler.stop(options.stopGracefully ?? false);
      await Promise.all(this.sources.map((s) => s.stop()));
    }
    for (const w of this.waiters) w.resolve();
    this.waiters.clear();
  }

  /** Resolves when the context stops; rejects with the first batch failure (as Spark's awaitTermination throws). */
  awaitTermination(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.state === "STOPPED") return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.add({ resolve, reject }));
  }

  /** As awaitTermination, but gives up after `timeoutMs` of real time: true if the context stopped. */
  async awaitTerminationOrTimeout(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([this.awaitTermination().then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Input that sources could not read, kept for inspection (also logged or written per `onDeadLetter`). */
  deadLetterEntries(): ReadonlyArray<DeadLetterEntry> {
    return this.deadLetters;
  }

  private deadLetter(entry: DeadLetterEntry): void {
    this.deadLetters.push(entry);
    if (this.props.onDeadLetter) this.props.onDeadLetter(entry);
    else process.stderr.write(`sparkless: unreadable input from ${entry.source} at ${JSON.stringify(entry.position)}: ${entry.reason}\n`);
  }

  private reportError(error: Error): void {
    process.stderr.write(`sparkless: ${error.message}\n`);
    if (!this.failure) this.failure = error;
    for (const w of this.waiters) w.reject(error);
    this.waiters.clear();
  }
}

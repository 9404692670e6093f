import { inspect } from "node:util";
import { Duration, Time } from "../core/duration.js";
import { RDD } from "../core/rdd.js";
import { IllegalStateError, ValidationError } from "../core/errors.js";
import {
  type CheckpointBody,
  CheckpointWriter,
  checkpointInterval,
  checkpointIntervals,
  encodeCheckpoint,
  isCheckpointTime,
  type ReadCheckpoint,
  readLatestCheckpoint,
  takeSnapshot,
} from "../exec/checkpoint.js";
import { type Clock, SystemClock } from "../exec/clock.js";
import { appendDeadLetter, deadLetterLine } from "../exec/dead-letter-file.js";
import { type GraphShape, verifySameGraph } from "../exec/graph-diff.js";
import { JobScheduler, type StreamingListener } from "../exec/job-scheduler.js";
import { recoveryPlan, restoreGraph } from "../exec/recovery.js";
import { InputNode } from "../graph/ops/input.js";
import { TransformNode } from "../graph/ops/transform.js";
import { UnionNode } from "../graph/ops/union.js";
import { Evaluation } from "../graph/evaluation.js";
import { StreamGraph } from "../graph/stream-graph.js";
import { KafkaDirectSource, type KafkaStreamOptions } from "../io/kafka/direct-source.js";
import type { KafkaRecord } from "../io/kafka/records.js";
import { KinesisSource, type KinesisSourceOptions } from "../io/kinesis-source.js";
import { QueueSource } from "../io/queue-source.js";
import { SocketTextSource, type SocketTextSourceOptions } from "../io/socket-text-source.js";
import { TextFileSource, type TextFileSourceOptions } from "../io/text-file-source.js";
import type { DeadLetterEntry, Source } from "../io/source.js";
import { writeBatchDirectory } from "../io/text-file-sink.js";
import { DStream, registerLocalEvaluation } from "./dstream.js";

export interface StreamingContextProps {
  /** How often a batch is cut (Spark's batchDuration). */
  readonly batchInterval: Duration;
  /** The clock batches run on. @default - the system clock */
  readonly clock?: Clock;
  /** Where `print()` writes. @default - process.stdout */
  readonly out?: (text: string) => void;
  /**
   * Where `saveAsTextFiles`/`saveAsObjectFiles` put a batch's directory (its path and the lines of each part).
   * @default - the local file system, the directory appearing whole or not at all
   */
  readonly writeBatch?: (path: string, partitions: string[][]) => Promise<void>;
  /**
   * Called with input no source could read (a decoder error, a file that is not UTF-8), so that nothing is lost
   * silently. @default - written to `<checkpoint dir>/dead-letter/` when a checkpoint directory is set, else to stderr
   */
  readonly onDeadLetter?: (entry: DeadLetterEntry) => void;
}

export interface StopOptions {
  /** Process the batches already due before stopping. @default false */
  readonly stopGracefully?: boolean;
  /**
   * @internal For recovery tests: stop as a killed process would, writing nothing further — no checkpoint
   * after this call, not even for the batch in progress.
   * @default false
   */
  readonly simulateCrash?: boolean;
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
  /** @internal The local engine's run of the plan: the RDDs it generated and remembers, and where outputs go. */
  readonly evaluation: Evaluation;
  readonly clock: Clock;
  private readonly scheduler: JobScheduler;
  private state: StreamingContextState = "INITIALIZED";
  private failure: Error | undefined;
  private readonly waiters = new Set<{ resolve: () => void; reject: (e: Error) => void }>();
  private readonly sources: Source<unknown>[] = [];
  private readonly deadLetters: DeadLetterEntry[] = [];
  private deadLettersSinceCut = 0;
  /** Elements a checkpoint could not write and that were dead-lettered already. */
  private readonly unwritable = new WeakSet<object>();
  private writer: CheckpointWriter | undefined;
  /** The checkpoint this context recovers from on start (set by getOrCreate). */
  private recovered: ReadCheckpoint | undefined;
  private checkpointEvery: Duration | undefined;
  private readonly failedBatches = new Set<number>();
  private crashed = false;

  constructor(readonly props: StreamingContextProps) {
    const b = props.batchInterval;
    if (!(b instanceof Duration) || b.milliseconds <= 0) {
      throw new ValidationError("BadBatchInterval", `batchInterval must be a positive Duration such as Seconds(1), got ${String(b)}`);
    }
    this.graph = new StreamGraph(b);
    const out = props.out ?? ((text: string) => void process.stdout.write(text));
    this.evaluation = new Evaluation(this.graph, { print: out, writeBatch: props.writeBatch ?? writeBatchDirectory });
    registerLocalEvaluation(this.evaluation);
    this.clock = props.clock ?? new SystemClock();
    this.scheduler = new JobScheduler(this.evaluation, this.clock, {
      onError: (error, time) => {
        this.failedBatches.add(time.milliseconds);
        this.reportError(error);
      },
      onBatchCompleted: (time) => this.afterBatch(time),
      takeDeadLetterCount: () => {
        const n = this.deadLettersSinceCut;
        this.deadLettersSinceCut = 0;
        return n;
      },
    });
  }

  /**
   * Recovers a context from the newest checkpoint in `checkpointDir`, or, when there is none, returns
   * `creatingFunc()` as it is (Spark's `StreamingContext.getOrCreate`). `creatingFunc` should build the whole
   * pipeline — sources, operators, outputs — and call `ssc.checkpoint(checkpointDir)`.
   *
   * Differences from Spark, because closures cannot be serialized here:
   * - `creatingFunc` runs on recovery too: it rebuilds the graph, and the checkpoint supplies what the graph
   *   had — zero time, window contents, state, pending batches, source positions. The rebuilt graph must be the
   *   checkpointed one: any difference (an operator added or removed, a window duration, a timeout, the batch
   *   interval, a checkpoint interval) throws a CheckpointError naming it; nothing is reset silently.
   * - The state is restored when `start()` is called. `start()` then re-runs, in order, the batches after the
   *   checkpoint up to the clock's current time (pending ones and those that fell due while the program was
   *   down, as Spark does) and continues on the clock.
   * - queueStream recovers when `creatingFunc` rebuilds the same queue (Spark refuses queueStream here).
   * - The context checkpoints into `checkpointDir`, whatever directory `creatingFunc` gave it.
   *
   * @example
   * const create = () => {
   *   const ssc = new StreamingContext({ batchInterval: Seconds(1) });
   *   ssc.checkpoint("./ckpt");
   *   ssc.queueStream([["a", "b"], ["a"]]).map((w) => [w, 1] as [string, number])
   *     .updateStateByKey((vs: number[], s: number | undefined) => vs.reduce((a, b) => a + b, s ?? 0)).print();
   *   return ssc;
   * };
   * const ssc = StreamingContext.getOrCreate("./ckpt", create);
   * await ssc.start();
   */
  static getOrCreate(checkpointDir: string, creatingFunc: () => StreamingContext): StreamingContext {
    const found = readLatestCheckpoint(checkpointDir);
    if (!found) return creatingFunc();
    for (const s of found.skipped) process.stderr.write(`sparkless: skipping checkpoint ${s.file}: ${s.reason}\n`);
    const ssc = creatingFunc();
    if (!(ssc instanceof StreamingContext)) {
      throw new ValidationError("FactoryReturnedNoContext", `the function given to getOrCreate must return a StreamingContext, got ${String(ssc)}`);
    }
    if (ssc.state !== "INITIALIZED" || ssc.graph.zeroTime !== undefined) {
      throw new IllegalStateError(
        "FactoryStartedContext",
        "the function given to getOrCreate must return a context that has not been started: getOrCreate recovers it, then call start()",
      );
    }
    ssc.checkpoint(checkpointDir);
    const body = found.body;
    // Initializing the graph now (with the checkpoint's zero time) gives every node its checkpoint interval,
    // which is part of what must match. start() initializes again, which changes nothing.
    ssc.graph.start(new Time(body.zeroTime));
    verifySameGraph(storedShape(body), currentShape(ssc), checkpointDir, body.time);
    ssc.recovered = found;
    return ssc;
  }

  get batchInterval(): Duration {
    return this.graph.batchDuration;
  }

  getState(): StreamingContextState {
    return this.state;
  }

  /**
   * Enables checkpointing into `directory`; stateful operators need it (Spark's rule). A checkpoint is written
   * after every batch whose time is a multiple of the smallest checkpoint interval in the pipeline (the batch
   * interval when no operator has one); see `StreamingContext.getOrCreate` for recovery. With a checkpoint
   * directory, unreadable input goes to `<directory>/dead-letter/` unless `onDeadLetter` is given.
   */
  checkpoint(directory: string): void {
    this.graph.checkpointDir = directory;
    this.writer = new CheckpointWriter(directory);
  }

  /** @internal The checkpoint writer (tests reach it to simulate a crash mid-write). */
  get checkpointWriter(): CheckpointWriter | undefined {
    return this.writer;
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

  /**
   * Lines of text from a TCP server (Spark's socketTextStream; `nc -lk 9999` is the demo): reconnects with
   * backoff when the server goes away, and fails the stream with a clear error after `maxConnectAttempts`.
   */
  socketTextStream(host: string, port: number, options?: SocketTextSourceOptions): DStream<string> {
    return this.receiverStream(new SocketTextSource(host, port, options));
  }

  /**
   * Lines of the files that appear in `directory` after the context starts (Spark's textFileStream); move
   * files in atomically (write elsewhere, then rename). `newFilesOnly: false` takes the existing ones too.
   */
  textFileStream(directory: string, options?: TextFileSourceOptions): DStream<string> {
    return this.receiverStream(new TextFileSource(directory, options));
  }

  /**
   * Every shard of a Kinesis stream, resharding followed (parents before children), KPL aggregates
   * de-aggregated; elements are UTF-8 text unless a `decoder` says otherwise.
   */
  kinesisStream<T = string>(streamName: string, options?: KinesisSourceOptions<T>): DStream<T> {
    return this.receiverStream(new KinesisSource<T>(streamName, options));
  }

  /**
   * Every partition of Kafka topics, exactly once (Spark's `KafkaUtils.createDirectStream`): offsets are kept
   * with the batches and in the checkpoint, so `getOrCreate` after a crash resumes at the next offset of each
   * partition; after each batch they are committed to `groupId`. Elements are records with topic, partition,
   * offset, timestamp, key, value (UTF-8 text unless a decoder says otherwise) and headers. A record goes to the
   * batch its Kafka timestamp falls in (see `KafkaDirectSource`).
   *
   * @example
   * ssc.kafkaStream("clicks", { bootstrapServers: "127.0.0.1:9092", groupId: "clicks-per-page", startingOffsets: "earliest" })
   *   .map((r) => [r.value, 1] as [string | null, number]).reduceByKey((a, b) => a + b).print();
   */
  kafkaStream<K = string, V = string>(topics: string | readonly string[], options: KafkaStreamOptions<K, V>): DStream<KafkaRecord<K, V>> {
    return this.receiverStream(new KafkaDirectSource<K, V>(topics, options));
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
    const recovered = this.recovered?.body;
    let first: Time;
    let replay: Time[] = [];
    if (recovered) {
      this.graph.start(new Time(recovered.zeroTime));
      // Again: operators may have been added after getOrCreate.
      verifySameGraph(storedShape(recovered), currentShape(this), this.graph.checkpointDir!, recovered.time);
      ({ first, replay } = recoveryPlan(recovered, this.clock.now()));
    } else {
      first = this.scheduler.firstBatchTime();
      this.graph.start(first.minus(this.graph.batchDuration));
    }
    this.checkpointEvery = checkpointInterval(this.graph);
    if (this.writer) await this.writer.prepare();
    if (recovered) restoreGraph(this.evaluation, recovered);
    this.graph.frozen = "started";
    const context = {
      batchInterval: this.graph.batchDuration,
      now: () => this.clock.now(),
      ...(this.graph.checkpointDir !== undefined ? { checkpointDir: this.graph.checkpointDir } : {}),
      deadLetter: (entry: DeadLetterEntry) => this.deadLetter(entry),
    };
    await Promise.all(this.sources.map((s) => s.start(context)));
    this.state = "ACTIVE";
    this.scheduler.start(first, replay);
  }

  /**
   * Stops the batches and the sources. With `stopGracefully`, batches already due are processed first.
   * Waiters of `awaitTermination` resolve.
   */
  async stop(options: StopOptions = {}): Promise<void> {
    if (this.state === "STOPPED") return;
    if (options.simulateCrash) this.crashed = true;
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
    this.deadLettersSinceCut++;
    if (this.props.onDeadLetter) {
      this.props.onDeadLetter(entry);
    } else if (this.graph.checkpointDir !== undefined) {
      try {
        appendDeadLetter(this.graph.checkpointDir, entry, this.clock.now());
      } catch (e) {
        // Never lose the entry: if the file cannot be written, it goes to stderr whole.
        process.stderr.write(`sparkless: cannot write the dead-letter file (${(e as Error).message}); entry: ${deadLetterLine(entry, this.clock.now())}`);
      }
    } else {
      process.stderr.write(`sparkless: unreadable input from ${entry.source} at ${JSON.stringify(entry.position)}: ${entry.reason}\n`);
    }
  }

  /** After each batch: the checkpoint, when this batch time is a checkpoint time (see `checkpoint`). */
  private async afterBatch(time: Time): Promise<void> {
    const failed = this.failedBatches.has(time.milliseconds);
    for (const t of this.failedBatches) if (t <= time.milliseconds) this.failedBatches.delete(t);
    // A failed batch is not checkpointed, so recovery runs it again; nor do its sources hear that it completed.
    if (failed || this.crashed) return;
    const checkpointed = await this.writeCheckpoint(time);
    await Promise.all(this.sources.map((s) => s.batchCompleted?.(time, { checkpointed })));
  }

  private async writeCheckpoint(time: Time): Promise<boolean> {
    const writer = this.writer;
    if (!writer || !isCheckpointTime(time, this.graph.zeroTime!, this.checkpointEvery!)) return false;
    // The snapshot is taken synchronously (one consistent state); only the write is asynchronous.
    // An element that cannot be written (a circular object, a class instance) is dead-lettered and left out
    // of the checkpoint, as the shard stage dead-letters a record whose output cannot be stored; once, though
    // every checkpoint that remembers it meets it again.
    const snapshot = takeSnapshot(this.evaluation, time, this.scheduler.pendingTimes(), Date.now(), (e) => {
      const seen = typeof e.value === "object" || typeof e.value === "function" ? (e.value as object) : undefined;
      if (seen && this.unwritable.has(seen)) return;
      if (seen) this.unwritable.add(seen);
      this.deadLetter({ source: `checkpoint of ${e.label}`, position: { node: e.node, time: e.time }, reason: e.error.message, raw: inspect(e.value, { depth: 4 }) });
    });
    const text = encodeCheckpoint(snapshot);
    await writer.write(time.milliseconds, text);
    return true;
  }

  private reportError(error: Error): void {
    process.stderr.write(`sparkless: ${error.message}\n`);
    if (!this.failure) this.failure = error;
    for (const w of this.waiters) w.reject(error);
    this.waiters.clear();
  }
}

function storedShape(body: CheckpointBody): GraphShape {
  return { graph: body.graph, checkpointIntervals: body.checkpointIntervals };
}

function currentShape(ssc: StreamingContext): GraphShape {
  return { graph: ssc.graph.describe(), checkpointIntervals: checkpointIntervals(ssc.graph) };
}

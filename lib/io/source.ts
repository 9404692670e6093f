import type { Duration, Time } from "../core/duration.js";

/**
 * Where a pipeline's data comes from (Spark's InputDStream / Receiver). The engine calls `take` once for each
 * batch time, in order; a source hands over what it received for that batch: for a receiver, everything
 * buffered since the previous take (Spark puts a record in the batch during which it was received).
 *
 * Sources are plain objects: they know nothing of the graph, and the graph wraps each in an input node.
 */
export interface Source<T> {
  /** What kind of source this is ("queue", "socket", "textFile", "kinesis"): part of the graph hash. */
  readonly kind: string;
  /** Connect, open, list: called by `StreamingContext.start()` before the first batch. */
  start(context: SourceContext): Promise<void>;
  /** Release connections and timers. Called once by `StreamingContext.stop()`. */
  stop(): Promise<void>;
  /**
   * The elements of the batch ending at `time`, or `undefined` for no data at all (Spark's `None`: outputs
   * that depend only on this source do nothing for that batch). An empty array is an empty batch.
   */
  take(time: Time): T[] | undefined;
  /**
   * As `take`, with the batch's partitions kept (a queue of RDDs keeps each RDD's partitions, as Spark's
   * QueueInputDStream does). Sources without partitions leave it out: the engine calls `take`.
   */
  takePartitions?(time: Time): T[][] | undefined;
  /**
   * A JSON value saying how far this source has handed data to batches (file names read, sequence numbers),
   * recorded in the metadata checkpoint. Absent for sources that cannot resume (queueStream, as in Spark).
   */
  position?(): unknown;
  /** Resume from a value `position()` returned, before `start`. */
  restore?(position: unknown): void;
  /**
   * Batch `time` has completed: its outputs ran and its checkpoint, if it had one, is written. Not called for a
   * failed batch. The Kafka source commits the batch's offsets to its consumer group here; a failure is the
   * source's to report, never the batch's.
   */
  batchCompleted?(time: Time, info: { readonly checkpointed: boolean }): Promise<void>;
}

/** What the engine gives a source when the context starts. */
export interface SourceContext {
  readonly batchInterval: Duration;
  /** The context's clock, in epoch milliseconds (a ManualClock in tests). */
  now(): number;
  /** The checkpoint directory, when the context has one: a source may keep there what recovery needs of it. */
  readonly checkpointDir?: string;
  /** Record input that cannot be read, so that nothing is lost silently. */
  deadLetter(entry: DeadLetterEntry): void;
}

/** A piece of input a source could not turn into an element. */
export interface DeadLetterEntry {
  /** The source kind and where the input was: a file and line, a shard and sequence number. */
  readonly source: string;
  readonly position: unknown;
  readonly reason: string;
  /** The raw input, as text or base64 bytes. */
  readonly raw: string;
}

import { CheckpointError } from "../core/errors.js";
import type { Source } from "./source.js";

/** One batch's data: an array (one partition), or an RDD (its partitions), or anything with `collect()`. */
export type BatchData<T> = ReadonlyArray<T> | { collect(): T[]; partitions?(): T[][] };

function toPartitions<T>(data: BatchData<T>): T[][] {
  if (Array.isArray(data)) return [data.slice()];
  const rdd = data as { collect(): T[]; partitions?(): T[][] };
  return rdd.partitions ? rdd.partitions().map((p) => p.slice()) : [rdd.collect()];
}

/**
 * queueStream's source (Spark's QueueInputDStream): each batch takes the next array of the queue
 * (`oneAtATime`), or everything queued; an empty queue gives `defaultRDD`'s elements, or an empty batch.
 * The queue is read live, so arrays pushed after start are picked up.
 *
 * Recoverable, unlike Spark's (which refuses queueStream with checkpointing): the position is the number of
 * queue entries taken so far, and `restore` drops that many from the front of the queue. That is right when
 * the factory given to `StreamingContext.getOrCreate` rebuilds the same queue (deterministic tests and
 * demos); entries pushed while the first run was going must be pushed again, in the same order.
 */
export class QueueSource<T> implements Source<T> {
  readonly kind = "queueStream";
  private taken = 0;

  constructor(
    private readonly queue: Array<BatchData<T>>,
    private readonly oneAtATime = true,
    private readonly defaultBatch?: BatchData<T>,
  ) {}

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  take(): T[] {
    return this.takePartitions().flat();
  }

  /** The next batch with its partitions: everything queued is the union of the RDDs, partitions side by side. */
  takePartitions(): T[][] {
    if (this.queue.length > 0) {
      if (this.oneAtATime) {
        this.taken++;
        return toPartitions(this.queue.shift()!);
      }
      this.taken += this.queue.length;
      return this.queue.splice(0).flatMap(toPartitions);
    }
    // Spark: sc.emptyRDD, which has no partitions.
    return this.defaultBatch ? toPartitions(this.defaultBatch) : [];
  }

  /** Queue entries taken so far. */
  position(): number {
    return this.taken;
  }

  /** Skips the entries a previous run took (the factory rebuilt the queue from the start). */
  restore(position: unknown): void {
    if (typeof position !== "number" || !Number.isInteger(position) || position < 0) {
      throw new CheckpointError("BadSourcePosition", `a queueStream position is a count of queue entries taken, got ${JSON.stringify(position)}`, { position });
    }
    if (position > this.queue.length) {
      throw new CheckpointError(
        "QueueShorterThanCheckpoint",
        `the checkpoint says queueStream took ${position} queue entries, but the rebuilt queue has only ${this.queue.length}: a recovered queueStream needs the factory to rebuild the same queue`,
        { position, queued: this.queue.length },
      );
    }
    this.queue.splice(0, position);
    this.taken = position;
  }
}

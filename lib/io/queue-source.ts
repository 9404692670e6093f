import type { Source } from "./source.js";

/** One batch's data: an array, or anything with `collect()` (an RDD). */
export type BatchData<T> = ReadonlyArray<T> | { collect(): T[] };

function toArray<T>(data: BatchData<T>): T[] {
  return Array.isArray(data) ? data.slice() : (data as { collect(): T[] }).collect();
}

/**
 * queueStream's source (Spark's QueueInputDStream): each batch takes the next array of the queue
 * (`oneAtATime`), or everything queued; an empty queue gives `defaultRDD`'s elements, or an empty batch.
 * The queue is read live, so arrays pushed after start are picked up.
 */
export class QueueSource<T> implements Source<T> {
  readonly kind = "queueStream";

  constructor(
    private readonly queue: Array<BatchData<T>>,
    private readonly oneAtATime = true,
    private readonly defaultBatch?: BatchData<T>,
  ) {}

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  take(): T[] {
    if (this.queue.length > 0) {
      if (this.oneAtATime) return toArray(this.queue.shift()!);
      return this.queue.splice(0).flatMap(toArray);
    }
    return this.defaultBatch ? toArray(this.defaultBatch) : [];
  }
}

import type { Source } from "../../lib/index.js";

/** A receiver that has no RDD at all for some batches (`undefined`: Spark's `None`), then the given batches. */
export class Gappy<T> implements Source<T> {
  readonly kind = "gappy";
  constructor(private readonly batches: Array<T[] | undefined>) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  take(): T[] | undefined {
    return this.batches.shift();
  }
}

/**
 * BisectBatchOnFunctionError's bookkeeping, the same for a Kinesis shard and a Kafka mapping (Lambda documents
 * the same behaviour for both): the fixed lengths of the batches left by splitting, in order. A failing batch of
 * more than one record is split in two halves, each retried as a batch of its own ("Splitting batches doesn't
 * consume the retry quota"); once they are through, batches are formed from the queue again.
 */
export class BatchPieces {
  private pieces: number[] = [];

  /** The length of the next batch when a split fixed it, else undefined (form it from the queue). */
  get next(): number | undefined {
    return this.pieces[0];
  }

  /** The batch of `n` records failed: split it in two (true), or not, for a single record (false). */
  split(n: number): boolean {
    if (n <= 1) return false;
    const first = Math.ceil(n / 2);
    this.pieces.splice(0, this.pieces.length > 0 ? 1 : 0, first, n - first);
    return true;
  }

  /**
   * A partial batch response left `rest` records of the batch to retry. With bisection on, AWS "bisects at the
   * returned sequence number": the retried batch is exactly that rest; without it, the next batch is formed as
   * usual (from the first failed record on).
   */
  retryRest(rest: number, bisect: boolean): void {
    if (this.pieces.length > 0) this.pieces[0] = rest;
    else if (bisect) this.pieces = [rest];
  }

  /** `count` records at the head of the queue were processed (delivered or discarded). */
  processed(count: number): void {
    if (this.pieces.length === 0) return;
    this.pieces[0]! -= count;
    if (this.pieces[0]! <= 0) this.pieces.shift();
  }
}

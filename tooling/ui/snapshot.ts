/**
 * What the page shows, as the server sends it (JSON): one snapshot of a pipeline — its batches, shards, dead
 * letters, late records and stateful operators — and, on request, one batch's detail. Both monitors (a deployed
 * pipeline's table and bucket, a local-engine program's listener) produce these, so the page has one shape to draw.
 * Times are epoch ms; a figure the monitor cannot know is absent, never a guess.
 */

export interface UiSnapshot {
  readonly pipeline: string;
  /** "the local stack", "AWS", an endpoint, or "the local engine". */
  readonly where: string;
  readonly kind: "stack" | "engine";
  /** When the snapshot was taken. */
  readonly takenAt: number;
  readonly batchIntervalMs?: number;
  /** `sparkless status`'s one-line summary (stack), or the progress line's totals (engine). */
  readonly summary: string;
  readonly lastFinalized?: number;
  /** Newest first: the active and pending batches on top, then the completed ones (the last N). */
  readonly batches: readonly BatchRow[];
  /** Per shard (stack) or input source (engine). */
  readonly shards: readonly ShardRow[];
  readonly deadLetters: RecordList;
  readonly lateRecords: RecordList;
  readonly operators: readonly OperatorRow[];
  /** Something the monitor could not read this time (the next snapshot tries again). */
  readonly warnings: readonly string[];
}

export type BatchState =
  /** Receiving records: the batch's end is not reached or not every shard has passed it. */
  | "active"
  /** Complete, waiting for the finalizer (stack), or queued behind a running batch (engine). */
  | "pending"
  | "completed"
  /** Completed, and a job of it failed (its error is in the batch detail). */
  | "failed";

export interface BatchRow {
  /** The batch time: the end of the batch. */
  readonly time: number;
  readonly state: BatchState;
  /** Records received in the batch (stack: the stream's records by arrival time; engine: the sources' count). */
  readonly records?: number;
  /** From the batch's end to the start of its processing (stack: of its finalization's first write). */
  readonly schedulingDelayMs?: number;
  /** The processing itself (stack: from the finalization's first write to its last `_SUCCESS`). */
  readonly processingMs?: number;
  /** From the batch's end to the end of its processing: scheduling delay + processing time. */
  readonly totalDelayMs?: number;
  /** Output directories written (stack), output operations run (engine). */
  readonly outputs: number;
  readonly deadLetters: number;
  readonly lateRecords: number;
}

export interface ShardRow {
  readonly id: string;
  readonly closed: boolean;
  /** Committed sequence number (stack) or source position (engine). */
  readonly position?: string;
  readonly watermark?: number;
  readonly recordsBehind?: number;
  readonly recordsBehindCapped?: boolean;
  readonly drained?: boolean;
}

export interface RecordList {
  /** How many there are in all (the list may hold only the newest). */
  readonly total: number;
  readonly items: readonly RecordRow[];
}

/** A dead letter or a late record, with what the page can show of it. */
export interface RecordRow {
  /** Where it is kept: the object key, or the dead-letter file and line. */
  readonly id: string;
  readonly shard?: string;
  readonly position?: string;
  /** The batch it arrived in, when known. */
  readonly batch?: number;
  readonly operator?: string;
  readonly reason: string;
  /** The record's bytes as the store keeps them (base64 or text), cut to a few KB. */
  readonly data: string;
  /** Size of the record's bytes. */
  readonly bytes: number;
}

export interface OperatorRow {
  readonly id: string;
  readonly kind: string;
  /** The batch after which the numbers were read. */
  readonly batchTime?: number;
  readonly keys?: number;
  readonly bytes?: number;
}

export interface BatchDetail {
  readonly time: number;
  readonly row?: BatchRow;
  readonly outputs: ReadonlyArray<{ readonly path: string; readonly lines: readonly string[]; readonly truncated: boolean }>;
  /** The print() block of the batch, when the monitor can see the functions' or program's output. */
  readonly printed?: readonly string[];
  readonly errors: readonly string[];
  readonly deadLetters: readonly RecordRow[];
}

/** What the server asks of a monitor. */
export interface Monitor {
  snapshot(): Promise<UiSnapshot>;
  batch(time: number): Promise<BatchDetail>;
  /** How often the page is refreshed, ms. */
  readonly refreshMs: number;
  close?(): void;
}

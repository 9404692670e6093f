import type { BatchInfo, StreamingListener } from "./job-scheduler.js";

/** Where the progress line goes: process.stdout or anything with `write` (and, for a terminal, `isTTY`). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressLineOptions {
  /** @default process.stderr */
  readonly stream?: ProgressStream;
  /**
   * Redraw one line in place (`\r` + clear line) instead of writing a line per batch.
   * @default - whether the stream is a TTY
   */
  readonly live?: boolean;
}

/** Running totals shown beside the last batch. */
export interface ProgressTotals {
  batches: number;
  records: number;
  deadLetters: number;
  failures: number;
}

const CLEAR_LINE = "\r\x1b[2K";

/**
 * A StreamingListener that shows how the stream is doing, one status per completed batch:
 *
 *     batch 12000 ms | 42 records | 3 ms processing | 1 ms scheduling delay | 0 dead letters | 12 batches, 420 records
 *
 * On a terminal the line is redrawn in place; otherwise (a file, a pipe, CI logs) each batch is a plain line.
 * Other output (print()) can go through {@link ProgressLine.write} so it does not land in the middle of the
 * status line: the line is cleared, the text written, and the status drawn again below it.
 *
 * @example
 * const progress = new ProgressLine();
 * ssc.addStreamingListener(progress);
 * // ... on shutdown:
 * progress.close();
 */
export class ProgressLine implements StreamingListener {
  readonly totals: ProgressTotals = { batches: 0, records: 0, deadLetters: 0, failures: 0 };
  private readonly stream: ProgressStream;
  private readonly live: boolean;
  private status: string | undefined;
  private last: { info: BatchInfo } | undefined;
  private note: string | undefined;

  constructor(options: ProgressLineOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.live = options.live ?? this.stream.isTTY === true;
  }

  onBatchCompleted(info: BatchInfo): void {
    this.totals.batches++;
    this.totals.records += info.numRecords;
    this.totals.deadLetters += info.numDeadLetters;
    if (info.failure) this.totals.failures++;
    this.last = { info };
    const text = formatProgress(info, this.totals, this.note);
    if (this.live) {
      this.status = fit(text, this.stream.columns);
      this.stream.write(CLEAR_LINE + this.status);
    } else {
      this.stream.write(text + "\n");
    }
  }

  /**
   * What the input is going through (a socket that cannot connect and retries), shown at the end of the status
   * line until cleared with `undefined`. A live line is redrawn at once; a plain one shows it from the next batch.
   */
  setNote(note: string | undefined): void {
    this.note = note;
    if (!this.live) return;
    const text = this.last ? formatProgress(this.last.info, this.totals, note) : note;
    if (text === undefined) return;
    this.status = fit(text, this.stream.columns);
    this.stream.write(CLEAR_LINE + this.status);
  }

  /** Writes other output without tearing the status line (pass as the context's `out`). */
  write = (text: string): void => {
    if (this.live && this.status !== undefined) {
      this.stream.write(CLEAR_LINE + text + (text.endsWith("\n") ? "" : "\n") + this.status);
    } else {
      this.stream.write(text);
    }
  };

  /** Ends the live line with a newline, so the shell prompt starts on its own line. */
  close(): void {
    if (this.live && this.status !== undefined) this.stream.write("\n");
    this.status = undefined;
  }
}

/** The status text of one completed batch. */
export function formatProgress(info: BatchInfo, totals?: ProgressTotals, note?: string): string {
  const parts = [
    `batch ${info.batchTime.milliseconds} ms`,
    `${info.numRecords} ${info.numRecords === 1 ? "record" : "records"}`,
    `${info.processingDelay ?? 0} ms processing`,
    `${info.schedulingDelay ?? 0} ms scheduling delay`,
    `${info.numDeadLetters} dead ${info.numDeadLetters === 1 ? "letter" : "letters"}`,
  ];
  if (totals) parts.push(`${totals.batches} ${totals.batches === 1 ? "batch" : "batches"}, ${totals.records} records`);
  if (info.failure) parts.push(`FAILED: ${info.failure.message.split("\n")[0]}`);
  if (note !== undefined) parts.push(note);
  return parts.join(" | ");
}

/** Cuts the line to the terminal width so it never wraps (a wrapped line cannot be redrawn with `\r`). */
function fit(text: string, columns: number | undefined): string {
  if (!columns || columns < 2 || text.length < columns) return text;
  return text.slice(0, columns - 2) + "…";
}

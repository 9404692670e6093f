/**
 * The Kinesis emulator's append-only journal: one JSON line per change, written before the change is
 * acknowledged. A `write()` to a file lands in the OS page cache before it returns, and the page cache belongs to
 * the kernel, not to the process: a `kill -9` (or any crash of the process) cannot lose it. Only a crash of the
 * machine could, so there is no fsync per request (it would cost a disk flush per PutRecords for a case the
 * local stack does not promise to survive).
 */
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";
import { IllegalStateError } from "../../lib/core/errors.js";
import type { JournalEntry } from "./journal-entries.js";

export const JOURNAL_FILE = "journal.jsonl";

export interface ReplayReport {
  readonly entries: number;
  /** Bytes of a last line cut short by a crash: it was never acknowledged, so it was dropped. */
  readonly tornBytes: number;
}

export class Journal {
  private constructor(
    private readonly fd: number,
    readonly path: string,
  ) {}

  /**
   * Opens (or creates) the journal at `path`, hands every complete entry to `apply` in order, cuts off a torn last
   * line, and leaves the file ready for appends.
   * @throws IllegalStateError `KinesisJournalUnreadable` when a complete line cannot be read back
   */
  static open(path: string, apply: (entry: JournalEntry) => void): { journal: Journal; report: ReplayReport } {
    const fd = openSync(path, "a+");
    try {
      const report = replay(fd, path, apply);
      return { journal: new Journal(fd, path), report };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  append(entry: JournalEntry): void {
    const line = Buffer.from(`${JSON.stringify(entry)}\n`, "utf8");
    let written = 0;
    while (written < line.length) written += writeSync(this.fd, line, written);
  }

  close(): void {
    closeSync(this.fd);
  }
}

const CHUNK = 4 * 1024 * 1024;

function replay(fd: number, path: string, apply: (entry: JournalEntry) => void): ReplayReport {
  const size = fstatSync(fd).size;
  let offset = 0;
  let carry: Buffer = Buffer.alloc(0);
  let lineNo = 0;
  let entries = 0;
  const chunk = Buffer.allocUnsafe(CHUNK);
  while (offset < size) {
    const n = readSync(fd, chunk, 0, Math.min(CHUNK, size - offset), offset);
    if (n === 0) break;
    offset += n;
    const buf = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      lineNo++;
      const text = buf.toString("utf8", start, nl);
      start = nl + 1;
      let entry: JournalEntry;
      try {
        entry = JSON.parse(text) as JournalEntry;
        apply(entry);
      } catch (cause) {
        throw unreadable(path, `line ${lineNo} cannot be read back (${(cause as Error).message})`, cause);
      }
      entries++;
    }
    carry = Buffer.from(buf.subarray(start));
  }
  // A last line with no newline was being written when the process died: its write never completed, so its
  // PutRecords was never answered. Drop it, so the next append starts on a line of its own.
  if (carry.length > 0) ftruncateSync(fd, size - carry.length);
  return { entries, tornBytes: carry.length };
}

function unreadable(path: string, why: string, cause: unknown): IllegalStateError {
  return new IllegalStateError(
    "KinesisJournalUnreadable",
    `the local Kinesis data in ${path} is damaged: ${why}. Every line before it was read; nothing was changed. ` +
      "Starting with --fresh discards all local state (streams and their records, tables, objects, poller positions) and starts empty.",
    { path },
    { cause },
  );
}

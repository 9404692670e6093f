/**
 * The Kinesis emulator's append-only journal: one JSON line per change, written before the change is
 * acknowledged. A `write()` to a file lands in the OS page cache before it returns, and the page cache belongs to
 * the kernel, not to the process: a `kill -9` (or any crash of the process) cannot lose it. Only a crash of the
 * machine could, so there is no fsync per request (it would cost a disk flush per PutRecords for a case the
 * local stack does not promise to survive).
 *
 * Compaction (see {@link JournalCompaction}) rewrites it with only the lines that still matter, so it does not grow
 * forever across runs: the live lines go to a new file, which is fsynced and then renamed over the journal. The
 * rename is the one moment it changes; a crash before it leaves the old journal whole (the new file is removed at
 * the next open), a crash after it the new one.
 */
import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { IllegalStateError } from "../../lib/core/errors.js";
import type { JournalEntry } from "./journal-entries.js";

export const JOURNAL_FILE = "journal.jsonl";

export interface ReplayReport {
  readonly entries: number;
  /** Bytes of a last line cut short by a crash: it was never acknowledged, so it was dropped. */
  readonly tornBytes: number;
}

/** What the journal remembers of each of its lines, to judge it and copy it without parsing it again. */
export interface JournalLine {
  readonly offset: number;
  readonly length: number;
  readonly op: JournalEntry["op"];
  /** The stream it changes ("" for a sequence mark). */
  readonly name: string;
  /** The `seq` of the create the stream's life began with: a stream deleted and created again is another life. */
  readonly life: string;
  /** A put's arrival time (epoch ms); 0 for other lines. */
  readonly at: number;
}

/** The steps of a compaction, in order; a crash between any two leaves a whole journal. */
export type CompactionStep = "opened" | "written" | "synced" | "renamed" | "directory-synced";

/** When and how the journal compacts itself. */
export interface JournalCompaction {
  /** Whether a line still matters to the state (not a deleted stream's, not records past their retention). */
  isLive(line: JournalLine): boolean;
  /** The line a compacted journal starts with (the sequence mark as of now). */
  head(): JournalEntry;
  /** Compact once this many bytes are dead and they are at least half the file (at open: any dead byte). @default 1 MiB */
  readonly minDeadBytes?: number;
  /** How much the journal grows between two counts of its dead bytes while running. @default 16 MiB */
  readonly checkEveryBytes?: number;
  /** Called after each step of a compaction: where tests inject a kill or a failure. */
  readonly afterStep?: (step: CompactionStep) => void;
  /** A compaction that failed; the journal goes on in whichever file is current. @default process.emitWarning */
  readonly onFailure?: (err: Error) => void;
}

export interface CompactionReport {
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  readonly linesDropped: number;
}

const MiB = 1024 * 1024;
/** Truncate any leftover of a compaction cut short; appends always go to the end. */
const NEW_FILE = constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND;

export class Journal {
  private lines: JournalLine[] = [];
  private size = 0;
  private nextCheckAt = 0;
  /** Per stream name, the `seq` of its latest create. */
  private readonly lives = new Map<string, string>();

  private constructor(
    private fd: number,
    readonly path: string,
    private readonly compaction: JournalCompaction | undefined,
  ) {}

  /**
   * Opens (or creates) the journal at `path`, hands every complete entry to `apply` in order, cuts off a torn last
   * line, compacts it when it holds dead lines, and leaves the file ready for appends.
   * @throws IllegalStateError `KinesisJournalUnreadable` when a complete line cannot be read back
   */
  static open(path: string, apply: (entry: JournalEntry) => void, compaction?: JournalCompaction): { journal: Journal; report: ReplayReport } {
    rmSync(compactingPath(path), { force: true });
    const fd = openSync(path, "a+");
    let journal: Journal;
    let report: ReplayReport;
    try {
      journal = new Journal(fd, path, compaction);
      report = replay(fd, path, (entry, offset, length) => {
        apply(entry);
        journal.remember(entry, offset, length);
      });
      journal.size = fstatSync(fd).size;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    if (journal.deadBytes() > 0) journal.tryCompact();
    journal.nextCheckAt = journal.size + (compaction?.checkEveryBytes ?? 16 * MiB);
    return { journal, report };
  }

  /** The journal's size in bytes. */
  get bytes(): number {
    return this.size;
  }

  append(entry: JournalEntry): void {
    const line = Buffer.from(`${JSON.stringify(entry)}\n`, "utf8");
    let written = 0;
    while (written < line.length) written += writeSync(this.fd, line, written);
    this.remember(entry, this.size, line.length);
    this.size += line.length;
  }

  /**
   * Call after the state applied an appended entry: every `checkEveryBytes` of growth, compacts when at least
   * `minDeadBytes` are dead and they are half the file (so rewriting costs at most what was appended). Never
   * throws: a failed compaction leaves a whole journal, and is reported to `onFailure`.
   */
  compactIfDue(): void {
    if (!this.compaction || this.size < this.nextCheckAt) return;
    const dead = this.deadBytes();
    if (dead >= (this.compaction.minDeadBytes ?? MiB) && dead * 2 >= this.size) this.tryCompact();
    this.nextCheckAt = this.size + (this.compaction.checkEveryBytes ?? 16 * MiB);
  }

  /**
   * Rewrites the journal with its head line and the live lines, in order. A failure before the rename leaves the
   * journal as it was (and throws); from the rename on, the new file is the journal.
   */
  compact(): CompactionReport {
    const compaction = this.compaction;
    if (!compaction) throw new IllegalStateError("JournalNotCompactable", "this journal was opened without a compaction policy", { path: this.path });
    const step = compaction.afterStep ?? (() => {});
    const temp = compactingPath(this.path);
    const fd = openSync(temp, NEW_FILE);
    let lines: JournalLine[];
    try {
      step("opened");
      lines = this.copyLive(fd, compaction);
      step("written");
      fsyncSync(fd);
      step("synced");
      renameSync(temp, this.path);
    } catch (err) {
      closeSync(fd);
      rmSync(temp, { force: true });
      throw err;
    }
    const report = { bytesBefore: this.size, bytesAfter: fstatSync(fd).size, linesDropped: this.lines.length - lines.length + 1 };
    const old = this.fd;
    this.fd = fd;
    this.lines = lines;
    this.size = report.bytesAfter;
    closeSync(old);
    step("renamed");
    syncDirectory(dirname(this.path));
    step("directory-synced");
    return report;
  }

  close(): void {
    closeSync(this.fd);
  }

  private tryCompact(): void {
    try {
      this.compact();
    } catch (err) {
      (this.compaction?.onFailure ?? ((e: Error) => process.emitWarning(e)))(
        new IllegalStateError("KinesisJournalNotCompacted", `could not compact ${this.path} (${(err as Error).message}); it stays whole and keeps growing`, { path: this.path }, { cause: err }),
      );
    }
  }

  private deadBytes(): number {
    if (!this.compaction) return 0;
    let dead = 0;
    for (const line of this.lines) if (!this.compaction.isLive(line)) dead += line.length;
    return dead;
  }

  private remember(entry: JournalEntry, offset: number, length: number): void {
    const name = entry.op === "sequence" ? "" : entry.name;
    if (entry.op === "create") this.lives.set(name, entry.seq);
    this.lines.push({ offset, length, op: entry.op, name, life: this.lives.get(name) ?? "", at: entry.op === "put" ? entry.at : 0 });
  }

  /** Writes the head line, then copies every live line's bytes as they are; returns the new file's lines. */
  private copyLive(fd: number, compaction: JournalCompaction): JournalLine[] {
    const head = compaction.head();
    const headBytes = Buffer.from(`${JSON.stringify(head)}\n`, "utf8");
    writeAll(fd, headBytes);
    const copied: JournalLine[] = [{ offset: 0, length: headBytes.length, op: head.op, name: "", life: "", at: 0 }];
    let offset = headBytes.length;
    for (const line of this.lines) {
      if (line.op === "sequence" || !compaction.isLive(line)) continue;
      const bytes = Buffer.allocUnsafe(line.length);
      if (readSync(this.fd, bytes, 0, line.length, line.offset) !== line.length) {
        throw new IllegalStateError("KinesisJournalShort", `${this.path} ended inside a line it had written`, { path: this.path });
      }
      writeAll(fd, bytes);
      copied.push({ ...line, offset });
      offset += line.length;
    }
    return copied;
  }
}

function compactingPath(path: string): string {
  return `${path}.compacting`;
}

function writeAll(fd: number, bytes: Buffer): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written);
}

/** Makes a rename in `dir` survive a crash of the machine (a process crash cannot undo it anyway). */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const CHUNK = 4 * 1024 * 1024;

function replay(fd: number, path: string, apply: (entry: JournalEntry, offset: number, length: number) => void): ReplayReport {
  const size = fstatSync(fd).size;
  let offset = 0;
  let carry: Buffer = Buffer.alloc(0);
  let lineNo = 0;
  let lineStart = 0;
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
      const length = nl + 1 - start;
      start = nl + 1;
      try {
        apply(JSON.parse(text) as JournalEntry, lineStart, length);
      } catch (cause) {
        throw unreadable(path, `line ${lineNo} cannot be read back (${(cause as Error).message})`, cause);
      }
      lineStart += length;
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

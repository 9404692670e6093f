import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Seconds, type Duration, type Time } from "../core/duration.js";
import { CheckpointError, ValidationError } from "../core/errors.js";
import { SourceError } from "../core/errors.js";
import type { Source, SourceContext } from "./source.js";

export interface TextFileSourceOptions {
  /**
   * Spark's `newFilesOnly`: take only files that appear after the context starts (modification time at or after
   * the start). `false` also takes, in the first batch, every file already in the directory.
   *
   * Difference from Spark: Spark's `newFilesOnly = false` takes only existing files modified within the remember
   * window (a minute by default); here it takes them all.
   * @default true
   */
  readonly newFilesOnly?: boolean;
  /**
   * Spark's `filter`: which file names to read. Hidden and temporary names (see {@link isHiddenOrTemporary}) are
   * skipped whatever it says.
   * @default - every name that is not hidden or temporary
   */
  readonly filter?: (fileName: string) => boolean;
  /**
   * Spark's `spark.streaming.fileStream.minRememberDuration`: how far back, from a batch time, a file's
   * modification time may be and still be taken. A file that shows up older than that is ignored, and the
   * names remembered (the position) are only those inside this window. Rounded up to a multiple of the batch
   * interval, as Spark does.
   * @default Seconds(60)
   */
  readonly minRememberDuration?: Duration;
}

/** What {@link TextFileSource.position} returns: JSON for the metadata checkpoint. */
export interface TextFilePosition {
  readonly version: 1;
  /** Files modified before this (epoch ms) are never taken: the context's first start time (null: no floor). */
  readonly ignoreBefore: number | null;
  /** The last batch time scanned. */
  readonly lastBatchTime: number | null;
  /** Files already handed to batches whose modification time is still inside the remember window: [name, mtime ms]. */
  readonly files: readonly (readonly [string, number])[];
}

/**
 * Names a directory scan always skips: hidden files (`.x`, and `_x` such as `_SUCCESS`, as Hadoop's
 * `FileInputFormat` does) and names writers use while a file is incomplete (`.tmp`, `.temp`, `._COPYING_` of
 * `hadoop fs -put`, `.COPYING`, `.part`, `.partial`, `.crdownload`, `.download`, `.filepart`, `.swp`, `~`).
 */
export function isHiddenOrTemporary(fileName: string): boolean {
  return fileName.startsWith(".") || fileName.startsWith("_") || TEMPORARY.test(fileName);
}
const TEMPORARY = /(\.tmp|\.temp|\._?COPYING_?|\.part|\.partial|\.crdownload|\.download|\.filepart|\.swp|~)$/i;

/**
 * Spark's `textFileStream(dir)`: each batch holds the lines of the files that appeared in `dir` since the
 * previous batch, one element per line (`\n`, `\r\n` or `\r` ends a line, as Hadoop's line reader does).
 *
 * How a file is chosen for the batch ending at time T, as Spark's `FileInputDStream` does: its modification
 * time is at most T, at least the context's start time (unless `newFilesOnly: false`), not older than
 * T - `minRememberDuration`, and it has not been taken before. Each file is read once, whole; the files of a
 * batch come in modification-time order, then by name.
 *
 * What writers must do (as in Spark):
 * - **Move files in atomically**: write elsewhere (or under a hidden / temporary name in the same directory)
 *   and rename into place. A file is read once, when it is first seen; what is appended later is never read.
 * - The modification time decides: `mv` keeps the time the file was written, so a file written long before it
 *   was moved in can be older than the remember window and is then ignored (`touch` it after the move).
 * - With a `ManualClock` the batch times are the clock's: files count only once their modification time is
 *   at or before a batch time, so give test files times in the clock's range (`fs.utimesSync`).
 *
 * The scan runs synchronously inside `take` (one `readdir`, a `stat` per name not yet taken, a read per new
 * file): the batch holds exactly what was in the directory at its time, and there is no background timer.
 * Subdirectories are not descended into.
 *
 * A file that is not valid UTF-8 is not turned into lines: it goes to the dead-letter output (file name,
 * reason, bytes in base64) and the stream carries on.
 *
 * `position()` is the set of files already handed to batches whose modification time is still inside the
 * remember window (older names are dropped: the window alone keeps them out), plus the start time; restored,
 * nothing is read twice, and files that arrived while the program was down are taken if they are still
 * inside the window.
 *
 * @example
 * // mv /tmp/staging/part-0001.txt ./incoming/
 * const lines = new TextFileSource("./incoming");
 */
export class TextFileSource implements Source<string> {
  readonly kind = "textFile";
  private readonly newFilesOnly: boolean;
  private readonly filter: (fileName: string) => boolean;
  private readonly minRemember: Duration;
  private context: SourceContext | undefined;
  private rememberMs = 0;
  private ignoreBefore: number | undefined;
  private lastBatchTime: number | undefined;
  /** Name → modification time (ms) of every file handed over whose time is inside the remember window. */
  private seen = new Map<string, number>();
  private _lastError: SourceError | undefined;

  constructor(
    readonly directory: string,
    options: TextFileSourceOptions = {},
  ) {
    if (directory === "") throw new ValidationError("TextFileDirectoryEmpty", "textFileStream needs a directory, got an empty string");
    this.newFilesOnly = options.newFilesOnly ?? true;
    this.filter = options.filter ?? (() => true);
    this.minRemember = options.minRememberDuration ?? Seconds(60);
    if (!(this.minRemember.milliseconds > 0)) {
      throw new ValidationError("TextFileRememberInvalid", `minRememberDuration must be positive, got ${this.minRemember}`, {
        minRememberDuration: this.minRemember.milliseconds,
      });
    }
  }

  /** The last time the directory could not be listed (the batch was then empty), if it ever happened. */
  get lastError(): SourceError | undefined {
    return this._lastError;
  }

  async start(context: SourceContext): Promise<void> {
    let isDirectory = false;
    try {
      isDirectory = statSync(this.directory).isDirectory();
    } catch {
      // reported below
    }
    if (!isDirectory) {
      throw new ValidationError("TextFileDirectoryNotFound", `textFileStream directory ${this.directory} does not exist or is not a directory`, {
        directory: this.directory,
      });
    }
    this.context = context;
    const batch = context.batchInterval.milliseconds;
    this.rememberMs = Math.ceil(this.minRemember.milliseconds / batch) * batch;
    // A restored position keeps the first start's floor, so files that arrived while down are still new.
    this.ignoreBefore ??= this.newFilesOnly ? context.now() : -Infinity;
  }

  async stop(): Promise<void> {}

  take(time: Time): string[] {
    const context = this.context;
    if (!context) throw new SourceError("SourceNotStarted", `textFileStream ${this.directory}: take() before start()`);
    const t = time.milliseconds;
    const firstScanOfExisting = this.lastBatchTime === undefined && !this.newFilesOnly;
    const floor = firstScanOfExisting ? -Infinity : Math.max(this.ignoreBefore!, t - this.rememberMs);

    let names: string[];
    try {
      names = readdirSync(this.directory);
    } catch (err) {
      this._lastError = new SourceError(
        "TextFileDirectoryUnreadable",
        `textFileStream cannot list ${this.directory} for the batch of ${time}: ${(err as Error).message}`,
        { directory: this.directory, time: t },
        { cause: err },
      );
      this.lastBatchTime = t;
      return [];
    }

    const chosen: { name: string; mtime: number }[] = [];
    for (const name of names) {
      if (this.seen.has(name) || isHiddenOrTemporary(name) || !this.filter(name)) continue;
      let mtime: number;
      try {
        const st = statSync(join(this.directory, name));
        if (!st.isFile()) continue;
        mtime = Math.floor(st.mtimeMs);
      } catch {
        continue; // gone between the listing and the stat: it was a temporary file
      }
      if (mtime <= t && mtime >= floor) chosen.push({ name, mtime });
    }
    chosen.sort((a, b) => a.mtime - b.mtime || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

    const lines: string[] = [];
    for (const { name, mtime } of chosen) {
      const read = this.read(name, context);
      if (read === "gone") continue;
      this.seen.set(name, mtime);
      if (read !== undefined) lines.push(...read);
    }

    // A name whose time is below this batch's floor can never pass a later floor: forget it.
    for (const [name, mtime] of this.seen) if (mtime < floor) this.seen.delete(name);
    this.lastBatchTime = t;
    return lines;
  }

  position(): TextFilePosition {
    return {
      version: 1,
      ignoreBefore: this.ignoreBefore === undefined || this.ignoreBefore === -Infinity ? null : this.ignoreBefore,
      lastBatchTime: this.lastBatchTime ?? null,
      files: [...this.seen].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1)),
    };
  }

  restore(position: unknown): void {
    if (!isTextFilePosition(position)) {
      throw new CheckpointError("TextFilePositionInvalid", `textFileStream ${this.directory}: the checkpointed position is not one it wrote`, {
        position,
      });
    }
    this.ignoreBefore = position.ignoreBefore ?? -Infinity;
    this.lastBatchTime = position.lastBatchTime ?? undefined;
    this.seen = new Map(position.files.map(([name, mtime]) => [name, mtime]));
  }

  /** The file's lines; undefined when it was dead-lettered; "gone" when it vanished before it could be read. */
  private read(name: string, context: SourceContext): string[] | undefined | "gone" {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(this.directory, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return "gone";
      context.deadLetter({ source: `textFile ${this.directory}`, position: { file: name }, reason: `cannot read: ${(err as Error).message}`, raw: "" });
      return undefined;
    }
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (err) {
      context.deadLetter({
        source: `textFile ${this.directory}`,
        position: { file: name },
        reason: `not valid UTF-8 (${(err as Error).message}): the file was not read`,
        raw: bytes.toString("base64"),
      });
      return undefined;
    }
    return splitLines(text);
  }
}

/** Hadoop's LineRecordReader: `\n`, `\r\n` or `\r` ends a line; a final terminator does not start an empty line. */
function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split(/\r\n|\n|\r/);
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

function isTextFilePosition(p: unknown): p is TextFilePosition {
  if (typeof p !== "object" || p === null) return false;
  const o = p as Record<string, unknown>;
  return (
    o.version === 1 &&
    (o.ignoreBefore === null || typeof o.ignoreBefore === "number") &&
    (o.lastBatchTime === null || typeof o.lastBatchTime === "number") &&
    Array.isArray(o.files) &&
    o.files.every((f) => Array.isArray(f) && f.length === 2 && typeof f[0] === "string" && typeof f[1] === "number")
  );
}

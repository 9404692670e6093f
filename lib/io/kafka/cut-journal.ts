import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { PartitionOffsets } from "./offsets.js";

/**
 * Where each batch's take ended, per partition, written before the batch runs (Spark checkpoints a direct
 * stream's offset ranges with every generated batch; the local engine checkpoints less often, so this journal
 * covers the batches in between). Recovery re-runs the batches after the checkpoint; each takes exactly the
 * offsets its first run took, even records that arrived late and would now fall into an earlier batch.
 *
 * One JSON line per batch, `{"time":T,"offsets":{topic:{partition:next}}}`, fsynced; a torn last line (a kill
 * mid-write) is ignored: its batch had not run. Entries up to a checkpoint are dropped once it is written.
 */
export class CutJournal {
  private fd: number | undefined;

  constructor(readonly path: string) {}

  /** The batches the journal holds, by time. */
  load(): Map<number, PartitionOffsets> {
    const out = new Map<number, PartitionOffsets>();
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch {
      return out;
    }
    for (const line of text.split("\n")) {
      if (line === "") continue;
      try {
        const entry = JSON.parse(line) as { time: number; offsets: PartitionOffsets };
        if (typeof entry.time === "number" && typeof entry.offsets === "object" && entry.offsets !== null) out.set(entry.time, entry.offsets);
      } catch {
        // A torn last line.
      }
    }
    return out;
  }

  append(time: number, offsets: PartitionOffsets): void {
    if (this.fd === undefined) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.fd = openSync(this.path, "a");
    }
    writeSync(this.fd, `${JSON.stringify({ time, offsets })}\n`);
    fsyncSync(this.fd);
  }

  /** Keeps only the batches after `time` (all of them when undefined: none), replacing the file atomically. */
  keepAfter(time: number | undefined): void {
    const kept = time === undefined ? [] : [...this.load()].filter(([t]) => t > time);
    this.close();
    mkdirSync(dirname(this.path), { recursive: true });
    const temp = `${this.path}.tmp`;
    const fd = openSync(temp, "w");
    try {
      for (const [t, offsets] of kept) writeSync(fd, `${JSON.stringify({ time: t, offsets })}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, this.path);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

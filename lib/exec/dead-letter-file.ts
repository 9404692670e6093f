import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { DeadLetterEntry } from "../io/source.js";

/**
 * The default dead-letter handler of a context with a checkpoint directory: each entry becomes one JSON
 * line `{"source","position","reason","raw","at"}` appended to `<dir>/dead-letter/dead-letter-<YYYY-MM-DD>.jsonl`
 * (the date of the context's clock, UTC). The append is synchronous, so an entry is in the file before the
 * source moves on and before any checkpoint could record a position past it.
 *
 * Returns the file written.
 */
export function appendDeadLetter(checkpointDir: string, entry: DeadLetterEntry, now: number): string {
  const dir = join(checkpointDir, "dead-letter");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `dead-letter-${new Date(now).toISOString().slice(0, 10)}.jsonl`);
  appendFileSync(file, deadLetterLine(entry, now));
  return file;
}

/** One entry as a JSON line. bigint values (sequence numbers) are written as decimal strings. */
export function deadLetterLine(entry: DeadLetterEntry, now: number): string {
  const line = { source: entry.source, position: entry.position ?? null, reason: entry.reason, raw: entry.raw, at: new Date(now).toISOString() };
  return JSON.stringify(line, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) + "\n";
}

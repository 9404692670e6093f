/**
 * Which journal lines still matter to the emulator's state, and so survive a compaction: every line of a stream's
 * current life (its create, retention changes, splits, merges) and the puts whose records are within the
 * stream's retention. A deleted stream's lines, an earlier life of a name created again, and puts whose records
 * have all expired (a put's records share one arrival time) are dropped: replaying what is left rebuilds the
 * state every read sees, and the sequence mark at the head keeps sequence numbers from going back.
 */
import type { JournalCompaction, JournalLine } from "./journal.js";
import type { StreamState } from "./streams.js";

export type JournalCompactionOptions = Omit<JournalCompaction, "isLive" | "head">;

export function streamStateCompaction(state: StreamState, now: () => number, options: JournalCompactionOptions = {}): JournalCompaction {
  return {
    ...options,
    isLive: (line) => isLive(state, line, now()),
    head: () => ({ op: "sequence", next: state.peekNextSeq().toString() }),
  };
}

function isLive(state: StreamState, line: JournalLine, now: number): boolean {
  if (line.op === "sequence") return true; // replaced by the new head, never copied
  if (line.op === "delete") return false;
  const stream = state.streams.get(line.name);
  if (!stream || stream.shards[0]?.startSeq.toString() !== line.life) return false;
  return line.op !== "put" || line.at >= now - stream.retentionHours * 3_600_000;
}

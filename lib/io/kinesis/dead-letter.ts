import type { DeadLetterEntry } from "../source.js";

/**
 * One shape for a record that could not be used, whichever path found it: the shard stage writes it as the
 * JSON body of `dead-letter/<pipeline>/<shardId>/<sequenceNumber>[-<sub>].json`; the local source hands it to
 * the context's dead-letter output ({@link toSourceDeadLetter}). Per record, never per invocation.
 */
export interface RecordDeadLetter {
  readonly shardId: string;
  /** The Kinesis record's sequence number (a log's offset). */
  readonly sequenceNumber: string;
  /** The user record's index in a KPL aggregate; absent where the record is dead as a whole. */
  readonly subSequenceNumber?: number;
  readonly partitionKey?: string;
  /** Epoch ms. */
  readonly arrivalTime?: number;
  /** What refused it: "decode", "deaggregate", "decoder", a user operator such as `map at app.ts:12`. */
  readonly operator?: string;
  readonly error: string;
  /** The bytes that could not be used, base64 (the record's own, or the user record's). */
  readonly data: string;
}

/** `<seq>` or `<seq>-<sub>`: a dead letter's name, the same on every attempt (a retry overwrites, never adds). */
export function recordId(sequenceNumber: string, subSequenceNumber: number | undefined): string {
  return subSequenceNumber === undefined ? sequenceNumber : `${sequenceNumber}-${subSequenceNumber}`;
}

/** The object key of a dead letter under `prefix` (e.g. `dead-letter/<pipeline>/`). */
export function deadLetterKey(prefix: string, entry: Pick<RecordDeadLetter, "shardId" | "sequenceNumber" | "subSequenceNumber">): string {
  return `${prefix}${entry.shardId}/${recordId(entry.sequenceNumber, entry.subSequenceNumber)}.json`;
}

/** The same dead letter for a local context's dead-letter output (`source` names the stream). */
export function toSourceDeadLetter(entry: RecordDeadLetter, source: string): DeadLetterEntry {
  const { shardId, sequenceNumber, subSequenceNumber } = entry;
  return {
    source,
    position: subSequenceNumber === undefined ? { shardId, sequenceNumber } : { shardId, sequenceNumber, subSequenceNumber },
    reason: entry.error,
    raw: entry.data,
  };
}

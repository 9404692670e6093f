/**
 * Which fetched records go to which batch: the rule that makes a batch's contents a function of the log alone,
 * so that a batch re-run after a crash holds exactly what it held the first time.
 *
 * A record belongs to the batch whose interval holds its Kafka timestamp, `(T - B, T]` (the serverless path
 * puts a record in a batch by its log time too); one timestamped at or before a batch already cut joins the next
 * batch cut, as nothing is late here. Within a partition order is kept: the batch at T takes the partition's
 * records in offset order up to the first one timestamped after T, which waits, and every record behind it
 * waits with it. So what a partition has handed to batches is always a prefix of it, and "the next offset"
 * says exactly where it ends.
 *
 *     offsets    5    6    7    8    9        batch T = 2000 takes 5, 6, 7 (1999 is late for no one: it
 *     ts       1200 1800 1999 2100 1500       is before 2000); 8 is for 3000, and 9 waits behind it.
 */

/** A record as fetched, before decoding. */
export interface FetchedRecord {
  readonly offset: bigint;
  /** Epoch ms; -1 when the record has no timestamp (it then goes to the next batch cut). */
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: Readonly<Record<string, Uint8Array | string>>;
}

/** One partition's fetched records that no batch has taken yet, oldest first. */
export class PartitionQueue {
  private records: FetchedRecord[] = [];
  private head = 0;

  get size(): number {
    return this.records.length - this.head;
  }

  push(record: FetchedRecord): void {
    this.records.push(record);
  }

  /** Takes the records for the batch ending at `time` (see above); the rest stay queued. */
  cut(time: number): FetchedRecord[] {
    let end = this.head;
    while (end < this.records.length && this.records[end]!.timestamp <= time) end++;
    const taken = this.records.slice(this.head, end);
    this.head = end;
    // Compact once the taken prefix dominates, so a long-running queue does not keep every record it saw.
    if (this.head > 1024 && this.head * 2 > this.records.length) {
      this.records = this.records.slice(this.head);
      this.head = 0;
    }
    return taken;
  }

  /** Takes the records before offset `end`: a re-run batch takes what its first run took (cut-journal.ts). */
  cutBefore(end: bigint): FetchedRecord[] {
    let stop = this.head;
    while (stop < this.records.length && this.records[stop]!.offset < end) stop++;
    const taken = this.records.slice(this.head, stop);
    this.head = stop;
    return taken;
  }

  /** Drops every queued record (the partition is re-fetched from its handed position). */
  clear(): void {
    this.records = [];
    this.head = 0;
  }
}

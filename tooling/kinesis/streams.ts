/**
 * The Kinesis emulator's state: streams, their shards (open and closed, with lineage) and each shard's
 * records. It changes only through {@link StreamState.apply} of a journal entry, live or replayed, so the state a
 * restart rebuilds from the journal is the state the clients saw acknowledged.
 */
import { evenRanges } from "./hash-keys.js";
import type { JournalEntry } from "./journal-entries.js";

export interface StoredRecord {
  readonly seq: bigint;
  readonly seqText: string;
  /** Arrival, epoch milliseconds. */
  readonly at: number;
  readonly partitionKey: string;
  /** The bytes as the wire carries them (base64): stored and served without decoding. */
  readonly data: string;
}

export interface Shard {
  readonly id: string;
  readonly startHash: bigint;
  readonly endHash: bigint;
  readonly startSeq: bigint;
  endSeq?: bigint;
  readonly parent?: string;
  readonly adjacentParent?: string;
  readonly records: StoredRecord[];
  /** Index of the first record still within the retention period (older ones are dropped lazily). */
  first: number;
}

export type StreamMode = "PROVISIONED" | "ON_DEMAND";

export interface Stream {
  readonly name: string;
  readonly arn: string;
  /** Epoch ms; also tells a recreated stream of the same name from the one an old iterator was issued for. */
  readonly createdAt: number;
  readonly mode: StreamMode;
  retentionHours: number;
  readonly shards: Shard[];
  /** Until when the stream reports CREATING (after create) or UPDATING (after a split or merge). */
  busyUntil: number;
  busyStatus: "CREATING" | "UPDATING";
  nextShardIndex: number;
}

export const DEFAULT_RETENTION_HOURS = 24;

/**
 * Where sequence numbers start: AWS's are 56-digit decimals (far beyond 2^64), so a reader that parses them as a
 * Number or a 64-bit integer fails here as it would on AWS.
 */
const SEQUENCE_BASE = 49n * 10n ** 54n;
/** Sequence numbers also follow the clock (as AWS's do), so even a lost journal cannot make them go back. */
const SEQUENCES_PER_MS = 1_000_000n;

export class StreamState {
  readonly streams = new Map<string, Stream>();
  /** The next sequence number to hand out: above every one ever written to the journal. */
  private nextSeq = SEQUENCE_BASE;

  constructor(
    private readonly account: string,
    private readonly region: string,
  ) {}

  arnOf(name: string): string {
    return `arn:aws:kinesis:${this.region}:${this.account}:stream/${name}`;
  }

  /** `count` consecutive sequence numbers that were never handed out; returns the first. */
  allocate(count: number, now: number): bigint {
    const byClock = SEQUENCE_BASE + BigInt(now) * SEQUENCES_PER_MS;
    const first = this.nextSeq > byClock ? this.nextSeq : byClock;
    this.nextSeq = first + BigInt(count);
    return first;
  }

  /** A LATEST iterator starts here: every record put from now on has this number or a higher one. */
  peekNextSeq(): bigint {
    return this.nextSeq;
  }

  apply(entry: JournalEntry): void {
    switch (entry.op) {
      case "create": {
        const seq = BigInt(entry.seq);
        this.seen(seq);
        const shards = evenRanges(entry.shards).map((r, i) => newShard(i, r.start, r.end, seq));
        this.streams.set(entry.name, {
          name: entry.name,
          arn: this.arnOf(entry.name),
          createdAt: entry.at,
          mode: entry.mode,
          retentionHours: DEFAULT_RETENTION_HOURS,
          shards,
          busyUntil: entry.at + entry.busyMs,
          busyStatus: "CREATING",
          nextShardIndex: entry.shards,
        });
        return;
      }
      case "delete":
        this.streams.delete(entry.name);
        return;
      case "sequence":
        this.seen(BigInt(entry.next) - 1n);
        return;
      case "retention":
        this.stream(entry.name).retentionHours = entry.hours;
        return;
      case "put": {
        const stream = this.stream(entry.name);
        let seq = BigInt(entry.seq);
        for (const [shardId, partitionKey, data] of entry.records) {
          const shard = stream.shards.find((s) => s.id === shardId);
          if (!shard) throw new Error(`journal names shard ${shardId} of ${entry.name}, which it never created`);
          shard.records.push({ seq, seqText: seq.toString(), at: entry.at, partitionKey, data });
          seq++;
        }
        this.seen(seq - 1n);
        return;
      }
      case "split": {
        const stream = this.stream(entry.name);
        const parent = this.shard(stream, entry.shard);
        const end = BigInt(entry.seq);
        this.seen(end + 1n);
        parent.endSeq = end;
        const at = BigInt(entry.hash);
        stream.shards.push(newShard(stream.nextShardIndex++, parent.startHash, at - 1n, end + 1n, parent.id));
        stream.shards.push(newShard(stream.nextShardIndex++, at, parent.endHash, end + 1n, parent.id));
        stream.busyUntil = entry.at + entry.busyMs;
        stream.busyStatus = "UPDATING";
        return;
      }
      case "merge": {
        const stream = this.stream(entry.name);
        const a = this.shard(stream, entry.shard);
        const b = this.shard(stream, entry.adjacent);
        const end = BigInt(entry.seq);
        this.seen(end + 1n);
        a.endSeq = end;
        b.endSeq = end;
        const low = a.startHash < b.startHash ? a : b;
        const high = low === a ? b : a;
        stream.shards.push(newShard(stream.nextShardIndex++, low.startHash, high.endHash, end + 1n, a.id, b.id));
        stream.busyUntil = entry.at + entry.busyMs;
        stream.busyStatus = "UPDATING";
        return;
      }
    }
  }

  private seen(seq: bigint): void {
    if (seq >= this.nextSeq) this.nextSeq = seq + 1n;
  }

  private stream(name: string): Stream {
    const s = this.streams.get(name);
    if (!s) throw new Error(`journal names stream ${name}, which it never created`);
    return s;
  }

  private shard(stream: Stream, id: string): Shard {
    const s = stream.shards.find((x) => x.id === id);
    if (!s) throw new Error(`journal names shard ${id} of ${stream.name}, which it never created`);
    return s;
  }
}

export function shardIdOf(index: number): string {
  return `shardId-${String(index).padStart(12, "0")}`;
}

function newShard(index: number, startHash: bigint, endHash: bigint, startSeq: bigint, parent?: string, adjacentParent?: string): Shard {
  return {
    id: shardIdOf(index),
    startHash,
    endHash,
    startSeq,
    records: [],
    first: 0,
    ...(parent ? { parent } : {}),
    ...(adjacentParent ? { adjacentParent } : {}),
  };
}

export function isOpen(shard: Shard): boolean {
  return shard.endSeq === undefined;
}

/** Drops records past the retention period from the front of a shard (AWS trims by arrival time). */
export function trimExpired(stream: Stream, shard: Shard, now: number): void {
  const horizon = now - stream.retentionHours * 3_600_000;
  const recs = shard.records;
  while (shard.first < recs.length && recs[shard.first]!.at < horizon) shard.first++;
  // Compact now and then so a long-running stream does not keep a dead prefix.
  if (shard.first > 4096 && shard.first * 2 > recs.length) {
    recs.splice(0, shard.first);
    shard.first = 0;
  }
}

/** Index of the first retained record with a sequence number of at least `seq` (records.length if none). */
export function indexAtOrAfter(shard: Shard, seq: bigint): number {
  let lo = shard.first;
  let hi = shard.records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (shard.records[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

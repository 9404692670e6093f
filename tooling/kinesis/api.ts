/**
 * The Kinesis API operations the project and the AWS SDK use, over {@link StreamState}: inputs are checked as
 * Kinesis checks them, errors carry Kinesis' names, and every change is journaled before it is applied and
 * answered. Shapes follow the Kinesis API reference (2013-12-02).
 */
import { hashKeyOf, parseHashKey } from "./hash-keys.js";
import type { Journal } from "./journal.js";
import type { JournalEntry } from "./journal-entries.js";
import { indexAtOrAfter, isOpen, trimExpired, type Shard, type Stream, type StreamState } from "./streams.js";

/** An error answered to the client: HTTP 400 with `__type` = `name`. */
export class KinesisApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = type;
  }
}

const MAX_RECORD_BYTES = 1024 * 1024;
const MAX_REQUEST_BYTES = 5 * 1024 * 1024;
const MAX_RECORDS_PER_PUT = 500;
const MAX_GET_LIMIT = 10_000;
const MAX_GET_BYTES = 10 * 1024 * 1024;
/** AWS: "A shard iterator expires 5 minutes after it is returned to the requester." */
const ITERATOR_LIFETIME_MS = 5 * 60_000;
/** AWS' initial shard count of an on-demand stream. */
const ON_DEMAND_SHARDS = 4;
const MIN_RETENTION_HOURS = 24;
const MAX_RETENTION_HOURS = 8760;

type Input = Record<string, unknown>;
type Output = Record<string, unknown>;

export interface KinesisApiOptions {
  /** How long a new stream stays CREATING and a resharded one UPDATING. @default 0 */
  readonly transitionMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

interface IteratorPosition {
  /** Stream name and creation time: an iterator of a deleted and recreated stream is not valid for the new one. */
  readonly s: string;
  readonly c: number;
  readonly h: string;
  /** The next record to return is the first with a sequence number of at least this. */
  readonly f: string;
  /** Issued at (epoch ms). */
  readonly t: number;
}

export class KinesisApi {
  private readonly transitionMs: number;
  private readonly now: () => number;

  constructor(
    private readonly state: StreamState,
    private readonly journal: Journal | undefined,
    opts: KinesisApiOptions = {},
  ) {
    this.transitionMs = opts.transitionMs ?? 0;
    this.now = opts.now ?? Date.now;
  }

  /** Runs one operation (`PutRecords`, …); throws {@link KinesisApiError} for what Kinesis would refuse. */
  handle(operation: string, input: Input): Output {
    const op = this.operations[operation];
    if (!op) throw new KinesisApiError("UnknownOperationException", `operation ${operation} is not supported by the local Kinesis emulator`);
    return op(input);
  }

  private readonly operations: Record<string, (input: Input) => Output> = {
    CreateStream: (i) => this.createStream(i),
    DeleteStream: (i) => this.deleteStream(i),
    DescribeStream: (i) => this.describeStream(i),
    DescribeStreamSummary: (i) => this.describeStreamSummary(i),
    ListStreams: (i) => this.listStreams(i),
    ListShards: (i) => this.listShards(i),
    IncreaseStreamRetentionPeriod: (i) => this.changeRetention(i, "increase"),
    DecreaseStreamRetentionPeriod: (i) => this.changeRetention(i, "decrease"),
    PutRecord: (i) => this.putRecord(i),
    PutRecords: (i) => this.putRecords(i),
    GetShardIterator: (i) => this.getShardIterator(i),
    GetRecords: (i) => this.getRecords(i),
    SplitShard: (i) => this.splitShard(i),
    MergeShards: (i) => this.mergeShards(i),
  };

  /** Journal first, then apply: what is answered is on disk. The journal may compact only once the state holds the entry. */
  private commit(entry: JournalEntry): void {
    this.journal?.append(entry);
    this.state.apply(entry);
    this.journal?.compactIfDue();
  }

  // ---- streams ---------------------------------------------------------------------------------------

  private createStream(i: Input): Output {
    const name = streamNameOf(i.StreamName);
    if (this.state.streams.has(name)) throw new KinesisApiError("ResourceInUseException", `Stream ${name} under account 000000000000 already exists.`);
    const modeDetails = i.StreamModeDetails as { StreamMode?: string } | undefined;
    const mode = modeDetails?.StreamMode === "ON_DEMAND" ? "ON_DEMAND" : "PROVISIONED";
    let shards: number;
    if (i.ShardCount === undefined || i.ShardCount === null) {
      if (mode === "PROVISIONED") throw invalid("ShardCount is required for a PROVISIONED stream");
      shards = ON_DEMAND_SHARDS;
    } else {
      shards = integer(i.ShardCount, "ShardCount", 1, 10_000);
    }
    const at = this.now();
    this.commit({ op: "create", name, at, shards, mode, seq: this.state.allocate(1, at).toString(), busyMs: this.transitionMs });
    return {};
  }

  private deleteStream(i: Input): Output {
    const stream = this.streamOf(i);
    this.commit({ op: "delete", name: stream.name });
    return {};
  }

  private describeStream(i: Input): Output {
    const stream = this.streamOf(i);
    const limit = i.Limit === undefined ? 100 : integer(i.Limit, "Limit", 1, 10_000);
    const after = typeof i.ExclusiveStartShardId === "string" ? i.ExclusiveStartShardId : undefined;
    const all = after ? stream.shards.filter((s) => s.id > after) : stream.shards;
    const shards = all.slice(0, limit);
    return {
      StreamDescription: {
        ...this.summaryFields(stream),
        Shards: shards.map(shardShape),
        HasMoreShards: all.length > shards.length,
      },
    };
  }

  private describeStreamSummary(i: Input): Output {
    const stream = this.streamOf(i);
    return {
      StreamDescriptionSummary: {
        ...this.summaryFields(stream),
        OpenShardCount: stream.shards.filter(isOpen).length,
        ConsumerCount: 0,
      },
    };
  }

  private summaryFields(stream: Stream): Output {
    return {
      StreamName: stream.name,
      StreamARN: stream.arn,
      StreamStatus: this.status(stream),
      StreamModeDetails: { StreamMode: stream.mode },
      RetentionPeriodHours: stream.retentionHours,
      StreamCreationTimestamp: stream.createdAt / 1000,
      EnhancedMonitoring: [{ ShardLevelMetrics: [] }],
      EncryptionType: "NONE",
    };
  }

  private status(stream: Stream): string {
    return this.now() < stream.busyUntil ? stream.busyStatus : "ACTIVE";
  }

  private listStreams(i: Input): Output {
    const limit = i.Limit === undefined ? 100 : integer(i.Limit, "Limit", 1, 10_000);
    const after = typeof i.ExclusiveStartStreamName === "string" ? i.ExclusiveStartStreamName : typeof i.NextToken === "string" ? i.NextToken : undefined;
    const names = [...this.state.streams.keys()].sort().filter((n) => after === undefined || n > after);
    const page = names.slice(0, limit);
    const more = names.length > page.length;
    return {
      StreamNames: page,
      HasMoreStreams: more,
      ...(more ? { NextToken: page.at(-1) } : {}),
      StreamSummaries: page.map((n) => {
        const s = this.state.streams.get(n)!;
        return { StreamName: s.name, StreamARN: s.arn, StreamStatus: this.status(s), StreamModeDetails: { StreamMode: s.mode }, StreamCreationTimestamp: s.createdAt / 1000 };
      }),
    };
  }

  private listShards(i: Input): Output {
    let stream: Stream;
    let after: string | undefined;
    if (typeof i.NextToken === "string") {
      if (i.StreamName !== undefined) throw invalid("NextToken and StreamName cannot be provided together.");
      const token = decodeToken<{ s: string; c: number; a: string }>(i.NextToken, "NextToken");
      stream = this.streamByName(token.s);
      if (stream.createdAt !== token.c) throw invalid("NextToken is for a stream that no longer exists");
      after = token.a;
    } else {
      stream = this.streamOf(i);
      after = typeof i.ExclusiveStartShardId === "string" ? i.ExclusiveStartShardId : undefined;
    }
    const filter = i.ShardFilter as { Type?: string; ShardId?: string } | undefined;
    let shards = stream.shards;
    if (filter?.Type === "AT_LATEST") shards = shards.filter(isOpen);
    if (filter?.Type === "AFTER_SHARD_ID" && filter.ShardId) shards = shards.filter((s) => s.id > filter.ShardId!);
    if (after !== undefined) shards = shards.filter((s) => s.id > after!);
    const limit = i.MaxResults === undefined ? 1000 : integer(i.MaxResults, "MaxResults", 1, 10_000);
    const page = shards.slice(0, limit);
    const more = shards.length > page.length;
    return {
      Shards: page.map(shardShape),
      ...(more ? { NextToken: encodeToken({ s: stream.name, c: stream.createdAt, a: page.at(-1)!.id }) } : {}),
    };
  }

  private changeRetention(i: Input, way: "increase" | "decrease"): Output {
    const stream = this.streamOf(i);
    const hours = integer(i.RetentionPeriodHours, "RetentionPeriodHours", MIN_RETENTION_HOURS, MAX_RETENTION_HOURS);
    if (way === "increase" && hours < stream.retentionHours) {
      throw invalid(`Requested retention period (${hours} hours) for stream ${stream.name} can not be shorter than existing retention period (${stream.retentionHours} hours). Use DecreaseRetentionPeriod API.`);
    }
    if (way === "decrease" && hours > stream.retentionHours) {
      throw invalid(`Requested retention period (${hours} hours) for stream ${stream.name} can not be longer than existing retention period (${stream.retentionHours} hours). Use IncreaseRetentionPeriod API.`);
    }
    if (hours !== stream.retentionHours) this.commit({ op: "retention", name: stream.name, hours });
    return {};
  }

  // ---- records ---------------------------------------------------------------------------------------

  private putRecord(i: Input): Output {
    const stream = this.writableStreamOf(i);
    const shard = this.route(stream, checkRecord(i, "").hash);
    const at = this.now();
    const seq = this.state.allocate(1, at);
    this.commit({ op: "put", name: stream.name, at, seq: seq.toString(), records: [[shard.id, i.PartitionKey as string, i.Data as string]] });
    return { ShardId: shard.id, SequenceNumber: seq.toString(), EncryptionType: "NONE" };
  }

  private putRecords(i: Input): Output {
    const stream = this.writableStreamOf(i);
    if (!Array.isArray(i.Records) || i.Records.length === 0) throw validation("1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1");
    if (i.Records.length > MAX_RECORDS_PER_PUT) {
      throw validation(`1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length less than or equal to ${MAX_RECORDS_PER_PUT}`);
    }
    const inputs = i.Records as Input[];
    let total = 0;
    const routed = inputs.map((r, n) => {
      const checked = checkRecord(r, `records.${n + 1}.member.`);
      total += checked.bytes;
      return [this.route(stream, checked.hash).id, r.PartitionKey as string, r.Data as string] as const;
    });
    if (total > MAX_REQUEST_BYTES) throw invalid(`Records size exceeds ${MAX_REQUEST_BYTES} bytes (5 MiB) limit: ${total} bytes`);
    const at = this.now();
    const first = this.state.allocate(routed.length, at);
    this.commit({ op: "put", name: stream.name, at, seq: first.toString(), records: routed });
    return {
      FailedRecordCount: 0,
      EncryptionType: "NONE",
      Records: routed.map(([shardId], n) => ({ ShardId: shardId, SequenceNumber: (first + BigInt(n)).toString() })),
    };
  }

  private route(stream: Stream, hash: bigint): Shard {
    for (const s of stream.shards) if (s.endSeq === undefined && s.startHash <= hash && hash <= s.endHash) return s;
    throw new Error(`no open shard of ${stream.name} covers hash key ${hash}`); // the open shards always cover the key space
  }

  private getShardIterator(i: Input): Output {
    const stream = this.streamOf(i);
    const shardId = typeof i.ShardId === "string" ? i.ShardId : undefined;
    const shard = stream.shards.find((s) => s.id === shardId);
    if (!shard) throw new KinesisApiError("ResourceNotFoundException", `Shard ${shardId} in stream ${stream.name} under account 000000000000 does not exist`);
    const now = this.now();
    trimExpired(stream, shard, now);
    let from: bigint;
    const type = i.ShardIteratorType;
    switch (type) {
      case "TRIM_HORIZON":
        from = 0n;
        break;
      case "LATEST":
        // A closed shard gets no more records: LATEST is its end.
        from = shard.endSeq !== undefined ? shard.endSeq + 1n : this.state.peekNextSeq();
        break;
      case "AT_SEQUENCE_NUMBER":
      case "AFTER_SEQUENCE_NUMBER": {
        const text = i.StartingSequenceNumber;
        if (typeof text !== "string" || !/^\d{1,129}$/.test(text)) throw invalid(`StartingSequenceNumber ${String(text)} is not a sequence number`);
        const seq = BigInt(text);
        if (seq < shard.startSeq || (shard.endSeq !== undefined && seq > shard.endSeq)) {
          throw invalid(`StartingSequenceNumber ${text} used in GetShardIterator on shard ${shard.id} in stream ${stream.name} under account 000000000000 is invalid because it did not come from this stream.`);
        }
        from = type === "AT_SEQUENCE_NUMBER" ? seq : seq + 1n;
        break;
      }
      case "AT_TIMESTAMP": {
        const ts = i.Timestamp;
        if (typeof ts !== "number") throw invalid("Timestamp is required for an AT_TIMESTAMP iterator");
        // A time not yet reached reads from the tip, as AWS does.
        const ms = ts * 1000;
        const recs = shard.records;
        let n = shard.first;
        for (let hi = recs.length; n < hi; ) {
          const mid = (n + hi) >>> 1;
          if (recs[mid]!.at < ms) n = mid + 1;
          else hi = mid;
        }
        from = n < recs.length ? recs[n]!.seq : shard.endSeq !== undefined ? shard.endSeq + 1n : this.state.peekNextSeq();
        break;
      }
      default:
        throw validation(`1 validation error detected: Value '${String(type)}' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]`);
    }
    const position: IteratorPosition = { s: stream.name, c: stream.createdAt, h: shard.id, f: from.toString(), t: now };
    return { ShardIterator: encodeToken(position) };
  }

  private getRecords(i: Input): Output {
    if (typeof i.ShardIterator !== "string") throw invalid("ShardIterator is required");
    const pos = decodeToken<IteratorPosition>(i.ShardIterator, "ShardIterator");
    const now = this.now();
    if (now - pos.t > ITERATOR_LIFETIME_MS) {
      throw new KinesisApiError("ExpiredIteratorException", `Iterator expired. The iterator was created at time ${new Date(pos.t).toUTCString()} while right now it is ${new Date(now).toUTCString()} which is further in the future than the tolerated delay of ${ITERATOR_LIFETIME_MS} milliseconds.`);
    }
    const stream = this.state.streams.get(pos.s);
    if (!stream || stream.createdAt !== pos.c) throw new KinesisApiError("ResourceNotFoundException", `Stream ${pos.s} under account 000000000000 not found.`);
    const shard = stream.shards.find((s) => s.id === pos.h);
    if (!shard) throw invalid("Invalid ShardIterator.");
    const limit = i.Limit === undefined ? MAX_GET_LIMIT : integer(i.Limit, "Limit", 1, MAX_GET_LIMIT);
    trimExpired(stream, shard, now);
    const recs = shard.records;
    const start = indexAtOrAfter(shard, BigInt(pos.f));
    let end = start;
    let bytes = 0;
    while (end < recs.length && end - start < limit) {
      const size = (recs[end]!.data.length * 3) / 4 + recs[end]!.partitionKey.length;
      if (end > start && bytes + size > MAX_GET_BYTES) break;
      bytes += size;
      end++;
    }
    const out = recs.slice(start, end).map((r) => ({
      SequenceNumber: r.seqText,
      ApproximateArrivalTimestamp: r.at / 1000,
      Data: r.data,
      PartitionKey: r.partitionKey,
    }));
    const next = end > start ? recs[end - 1]!.seq + 1n : BigInt(pos.f);
    const atEnd = end >= recs.length;
    const millisBehindLatest = atEnd ? 0 : Math.max(0, now - recs[end]!.at);
    if (atEnd && shard.endSeq !== undefined) {
      // SHARD_END: a closed shard read to its last record. Its children are named, as AWS does.
      const children = stream.shards.filter((s) => s.parent === shard.id || s.adjacentParent === shard.id);
      return {
        Records: out,
        MillisBehindLatest: 0,
        ChildShards: children.map((c) => ({ ShardId: c.id, ParentShards: [c.parent, c.adjacentParent].filter(Boolean), HashKeyRange: hashRange(c) })),
      };
    }
    const position: IteratorPosition = { ...pos, f: next.toString(), t: now };
    return { Records: out, NextShardIterator: encodeToken(position), MillisBehindLatest: millisBehindLatest };
  }

  // ---- resharding ------------------------------------------------------------------------------------

  private splitShard(i: Input): Output {
    const stream = this.activeStreamOf(i);
    const parent = this.openShardOf(stream, i.ShardToSplit, "ShardToSplit");
    const hash = parseHashKey(i.NewStartingHashKey);
    if (hash === undefined || hash <= parent.startHash || hash > parent.endHash) {
      throw invalid(`NewStartingHashKey ${String(i.NewStartingHashKey)} used in SplitShard() on shard ${parent.id} in stream ${stream.name} under account 000000000000 is not both greater than one plus the shard's StartingHashKey ${parent.startHash} and less than the shard's EndingHashKey ${parent.endHash}.`);
    }
    const at = this.now();
    const seq = this.state.allocate(2, at);
    this.commit({ op: "split", name: stream.name, at, shard: parent.id, hash: hash.toString(), seq: seq.toString(), busyMs: this.transitionMs });
    return {};
  }

  private mergeShards(i: Input): Output {
    const stream = this.activeStreamOf(i);
    const a = this.openShardOf(stream, i.ShardToMerge, "ShardToMerge");
    const b = this.openShardOf(stream, i.AdjacentShardToMerge, "AdjacentShardToMerge");
    if (!(a.endHash + 1n === b.startHash || b.endHash + 1n === a.startHash)) {
      throw invalid(`Shards ${a.id} and ${b.id} in stream ${stream.name} under account 000000000000 are not an adjacent pair of shards eligible for merging`);
    }
    const at = this.now();
    const seq = this.state.allocate(2, at);
    this.commit({ op: "merge", name: stream.name, at, shard: a.id, adjacent: b.id, seq: seq.toString(), busyMs: this.transitionMs });
    return {};
  }

  // ---- lookups ---------------------------------------------------------------------------------------

  private streamOf(i: Input): Stream {
    if (typeof i.StreamARN === "string") {
      const name = /^arn:aws[\w-]*:kinesis:[\w-]+:\d{12}:stream\/(.+)$/.exec(i.StreamARN)?.[1];
      if (!name) throw invalid(`StreamARN ${i.StreamARN} is not a stream ARN`);
      return this.streamByName(name);
    }
    return this.streamByName(streamNameOf(i.StreamName));
  }

  private streamByName(name: string): Stream {
    const s = this.state.streams.get(name);
    if (!s) throw new KinesisApiError("ResourceNotFoundException", `Stream ${name} under account 000000000000 not found.`);
    return s;
  }

  private writableStreamOf(i: Input): Stream {
    const s = this.streamOf(i);
    if (this.status(s) === "CREATING") throw new KinesisApiError("ResourceNotFoundException", `Stream ${s.name} under account 000000000000 not found.`);
    return s;
  }

  private activeStreamOf(i: Input): Stream {
    const s = this.streamOf(i);
    if (this.status(s) !== "ACTIVE") throw new KinesisApiError("ResourceInUseException", `Stream ${s.name} under account 000000000000 not ACTIVE, instead in state ${this.status(s)}`);
    return s;
  }

  private openShardOf(stream: Stream, id: unknown, field: string): Shard {
    const shard = stream.shards.find((s) => s.id === id);
    if (!shard) throw new KinesisApiError("ResourceNotFoundException", `Could not find shard ${String(id)} (${field}) in stream ${stream.name} under account 000000000000.`);
    if (!isOpen(shard)) throw new KinesisApiError("ResourceInUseException", `Shard ${shard.id} in stream ${stream.name} under account 000000000000 has already been merged or split, and thus is not eligible for merging or splitting.`);
    return shard;
  }
}

function shardShape(s: Shard): Output {
  return {
    ShardId: s.id,
    ...(s.parent ? { ParentShardId: s.parent } : {}),
    ...(s.adjacentParent ? { AdjacentParentShardId: s.adjacentParent } : {}),
    HashKeyRange: hashRange(s),
    SequenceNumberRange: {
      StartingSequenceNumber: s.startSeq.toString(),
      ...(s.endSeq !== undefined ? { EndingSequenceNumber: s.endSeq.toString() } : {}),
    },
  };
}

function hashRange(s: Shard): Output {
  return { StartingHashKey: s.startHash.toString(), EndingHashKey: s.endHash.toString() };
}

/** Validates one record of PutRecord(s); returns its hash key and its size as Kinesis counts it (data + key). */
function checkRecord(r: Input, field: string): { hash: bigint; bytes: number } {
  const key = r.PartitionKey;
  if (typeof key !== "string" || key.length === 0 || (key.length > 256 && [...key].length > 256)) {
    throw validation(`1 validation error detected: Value at '${field}partitionKey' failed to satisfy constraint: Member must have length between 1 and 256`);
  }
  if (typeof r.Data !== "string") throw validation(`1 validation error detected: Value at '${field}data' failed to satisfy constraint: Member must not be null`);
  const dataBytes = base64Bytes(r.Data);
  if (dataBytes > MAX_RECORD_BYTES) {
    throw validation(`1 validation error detected: Value at '${field}data' failed to satisfy constraint: Member must have length less than or equal to ${MAX_RECORD_BYTES}`);
  }
  const bytes = dataBytes + Buffer.byteLength(key, "utf8");
  if (bytes > MAX_RECORD_BYTES) throw invalid(`Record size (data and partition key) ${bytes} exceeds ${MAX_RECORD_BYTES} bytes (1 MiB)`);
  let hash: bigint;
  if (r.ExplicitHashKey !== undefined && r.ExplicitHashKey !== null) {
    const h = parseHashKey(r.ExplicitHashKey);
    if (h === undefined) throw invalid(`Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was ${String(r.ExplicitHashKey)}`);
    hash = h;
  } else {
    hash = hashKeyOf(key);
  }
  return { hash, bytes };
}

function base64Bytes(b64: string): number {
  const pad = b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0;
  return Math.floor((b64.length * 3) / 4) - pad;
}

function streamNameOf(v: unknown): string {
  if (typeof v !== "string" || !/^[a-zA-Z0-9_.-]{1,128}$/.test(v)) {
    throw validation(`1 validation error detected: Value '${String(v)}' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+`);
  }
  return v;
}

function integer(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw validation(`1 validation error detected: Value '${String(v)}' at '${field}' failed to satisfy constraint: Member must be an integer between ${min} and ${max}`);
  }
  return v;
}

function invalid(message: string): KinesisApiError {
  return new KinesisApiError("InvalidArgumentException", message);
}

function validation(message: string): KinesisApiError {
  return new KinesisApiError("ValidationException", message);
}

function encodeToken(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64");
}

function decodeToken<T>(text: string, field: string): T {
  try {
    return JSON.parse(Buffer.from(text, "base64").toString("utf8")) as T;
  } catch {
    throw invalid(`Invalid ${field}.`);
  }
}

import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
  type _Record,
} from "@aws-sdk/client-kinesis";
import type { Time } from "../core/duration.js";
import { CheckpointError, SourceError, ValidationError } from "../core/errors.js";
import { kinesisClient } from "./aws-clients.js";
import { backoffMs, classifyKinesisError, errorMessage, errorName } from "./kinesis/backoff.js";
import { toSourceDeadLetter } from "./kinesis/dead-letter.js";
import { iteratorParams } from "./kinesis/iterators.js";
import { deaggregate } from "./kinesis/kpl.js";
import { base64Of, utf8Text } from "./kinesis/records.js";
import { listShards } from "./kinesis/shards.js";
import { type LogPartition, parentsDrained, parentsOf } from "./ordered-log.js";
import type { SourceStatus } from "./socket-text-source.js";
import type { Source, SourceContext } from "./source.js";

/** Where to start reading a stream the first time (Spark's `KinesisInitialPositions`). */
export type KinesisInitialPosition = "TRIM_HORIZON" | "LATEST" | { readonly atTimestamp: Date | number };

/** What is known of a user record besides its bytes. */
export interface KinesisRecordMeta {
  readonly streamName: string;
  readonly shardId: string;
  /** The Kinesis record's sequence number: a decimal string of up to 129 digits (compare as BigInt). */
  readonly sequenceNumber: string;
  /** Index of the user record in a KPL aggregate; 0 for a plain record. */
  readonly subSequenceNumber: number;
  readonly partitionKey: string;
  readonly explicitHashKey?: string;
  /** `ApproximateArrivalTimestamp`, epoch milliseconds. */
  readonly arrivalTime: number;
  /** Whether the record came out of a KPL aggregate. */
  readonly aggregated: boolean;
}

/** One element with where it came from (see {@link KinesisSource.takeRecords}). */
export interface KinesisElement<T> {
  readonly value: T;
  readonly meta: KinesisRecordMeta;
  /** The record's time, epoch ms: the extractor's event time, or the arrival time without one. */
  readonly time: number;
}

export interface KinesisSourceOptions<T> {
  /** @default - AWS_REGION, then "us-east-1" */
  readonly region?: string;
  /** @default - AWS_ENDPOINT_URL, else the real Kinesis endpoint */
  readonly endpoint?: string;
  /**
   * Where to start in each shard when there is no restored position. With `LATEST`, shards already closed at
   * start are skipped. Shards that appear later (resharding) are read from their start whatever this says.
   * @default "LATEST" (Spark's default)
   */
  readonly initialPosition?: KinesisInitialPosition;
  /**
   * Turns a user record's bytes into an element (Spark's `messageHandler`). If it throws, the record goes to the
   * dead-letter output with its shard, sequence number and bytes, and the stream carries on.
   * @default - the bytes as UTF-8 text (bytes that are not UTF-8 are dead-lettered)
   */
  readonly decoder?: (bytes: Uint8Array, meta: KinesisRecordMeta) => T;
  /**
   * The record's event time, epoch ms. The local engine still puts a record in the batch during which it
   * arrived (as Spark does); the event time is on {@link KinesisElement.time} from `takeRecords`, for the
   * event-time logic (watermark, late data) of the serverless path. A throw or a non-finite result
   * dead-letters the record.
   * @default - none: a record's time is its ApproximateArrivalTimestamp
   */
  readonly timestampExtractor?: (value: T, meta: KinesisRecordMeta) => number;
  /**
   * Wait between GetRecords calls on a shard that returned nothing new (the KCL's idleTimeBetweenReadsInMillis).
   * A shard that is behind is read again after 200 ms (Kinesis allows 5 GetRecords per second per shard).
   * @default 1000
   */
  readonly pollIntervalMs?: number;
  /** How often ListShards looks for new shards (a shard reaching its end also triggers a look). @default 10000 */
  readonly shardSyncIntervalMs?: number;
  /** GetRecords `Limit`. @default 10000 */
  readonly maxRecordsPerCall?: number;
  /**
   * Stop fetching while this many Kinesis records wait for a batch (back-pressure, like Spark's
   * `spark.streaming.receiver.maxRate` but by count). Fetching resumes after the next take.
   * @default 100000
   */
  readonly maxBufferedRecords?: number;
  /** Cap of the exponential backoff after throttling (ProvisionedThroughputExceeded) or a failed call. @default 10000 */
  readonly maxBackoffMs?: number;
  /** Told of each failed call (throttling included) and of a fatal failure, as it happens. @default - nothing: read `lastError` */
  readonly onError?: (error: SourceError) => void;
  /**
   * The client to use; it is not destroyed at stop.
   * @default - `kinesisClient({ region, endpoint })` (HTTP/1.1), destroyed at stop
   */
  readonly client?: KinesisClient;
}

/** One shard's entry in {@link KinesisPosition}: where reading resumes (named after ShardIteratorType). */
export type KinesisShardPosition =
  | { readonly at: "AFTER_SEQUENCE_NUMBER"; readonly sequenceNumber: string }
  | { readonly at: "TRIM_HORIZON" }
  | { readonly at: "AT_TIMESTAMP"; readonly timestamp: number }
  | { readonly at: "SHARD_END" };

/**
 * What {@link KinesisSource.position} returns: for each shard the source knows, where the data handed to
 * batches ends. `AFTER_SEQUENCE_NUMBER` names the last record handed over; `SHARD_END` a closed shard handed over
 * entirely; `TRIM_HORIZON` / `AT_TIMESTAMP` a shard nothing has been handed from yet (a shard started at
 * `LATEST` records the time its iterator was taken, so records that arrive while the program is down are read
 * after a restart).
 */
export interface KinesisPosition {
  readonly version: 1;
  readonly streamName: string;
  readonly shards: Readonly<Record<string, KinesisShardPosition>>;
}

const DEFAULTS = {
  pollIntervalMs: 1_000,
  shardSyncIntervalMs: 10_000,
  maxRecordsPerCall: 10_000,
  maxBufferedRecords: 100_000,
  maxBackoffMs: 10_000,
};
/** Kinesis serves 5 GetRecords per second per shard: the wait between calls on a shard that has more. */
const BEHIND_WAIT_MS = 200;

/** Where a shard's next iterator starts: a position, or LATEST (turned into AT_TIMESTAMP once taken). */
type StartAt = KinesisShardPosition | { readonly at: "LATEST" };

interface ShardState {
  readonly id: string;
  readonly parents: readonly string[];
  /** How to get an iterator: from the restored position, the initial position, or after the last fetched record. */
  start: StartAt;
  phase: "waiting" | "reading" | "ended";
  loop?: Promise<void>;
}

type Buffered = { readonly shardId: string; readonly record: _Record } | { readonly shardId: string; readonly end: true };

/**
 * Spark's `KinesisInputDStream` for the local engine: reads every shard of a stream with
 * GetShardIterator/GetRecords (AWS SDK v3; real AWS or an emulator), one element per user record.
 *
 * - Records are fetched in the background and buffered; each batch takes what arrived since the previous one
 *   (a record goes to the batch during which it was received, as in Spark). Per shard, order is kept.
 * - Resharding is followed with ListShards and `ParentShardId`/`AdjacentParentShardId`: a child is read only
 *   once its parents are drained (GetRecords gave no NextShardIterator), so a key's records stay in order.
 * - KPL aggregates are split into their user records (`subSequenceNumber` in the metadata).
 * - Bad input never stops the stream: a broken aggregate, a decoder that throws, or an extractor that throws go
 *   to the context's dead-letter output with the shard, the sequence number and the bytes in base64.
 * - Throttling and failed calls back off exponentially (capped) and are reported (`lastError`, `onError`); an
 *   expired iterator is renewed after the last fetched record. Errors no retry fixes (access denied, the stream
 *   deleted) fail the source: `take` throws the {@link SourceError} once everything fetched has been handed over.
 * - `position()`: per shard, the last sequence number handed to a batch (see {@link KinesisPosition});
 *   `restore()` resumes each shard AFTER_SEQUENCE_NUMBER. Sequence numbers are compared as BigInt, never Number.
 *
 * @example
 * const clicks = new KinesisSource("clicks", {
 *   initialPosition: "TRIM_HORIZON",
 *   decoder: (bytes) => JSON.parse(new TextDecoder().decode(bytes)) as Click,
 * });
 */
export class KinesisSource<T = string> implements Source<T> {
  readonly kind = "kinesis";
  private readonly client: KinesisClient;
  private readonly ownsClient: boolean;
  private readonly initialPosition: KinesisInitialPosition;
  private readonly decoder: (bytes: Uint8Array, meta: KinesisRecordMeta) => T;
  private readonly extractor: ((value: T, meta: KinesisRecordMeta) => number) | undefined;
  private readonly onError: ((error: SourceError) => void) | undefined;
  private readonly settings: typeof DEFAULTS;

  private context: SourceContext | undefined;
  private restored: KinesisPosition | undefined;
  private readonly shards = new Map<string, ShardState>();
  private buffer: Buffered[] = [];
  private bufferedRecords = 0;
  /** Per shard, where the data handed to batches ends: the position. */
  private readonly handed = new Map<string, KinesisShardPosition>();
  private _status: SourceStatus = "idle";
  private _lastError: SourceError | undefined;
  private failure: SourceError | undefined;

  private readonly abort = new AbortController();
  private readonly sleeps = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  private syncLoop: Promise<void> | undefined;
  private syncRequested = false;
  private wakeSync: (() => void) | undefined;

  constructor(
    readonly streamName: string,
    options: KinesisSourceOptions<T> = {},
  ) {
    if (streamName === "") throw new ValidationError("KinesisStreamNameEmpty", "kinesisStream needs a stream name, got an empty string");
    const o = { ...DEFAULTS };
    for (const name of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
      const v = options[name];
      if (v === undefined) continue;
      if (!Number.isInteger(v) || v <= 0) {
        throw new ValidationError("KinesisOptionInvalid", `${name} must be a positive whole number, got ${v}`, { [name]: v });
      }
      o[name] = v;
    }
    if (o.maxRecordsPerCall > 10_000) {
      throw new ValidationError("KinesisOptionInvalid", `maxRecordsPerCall must be at most 10000 (GetRecords' limit), got ${o.maxRecordsPerCall}`, {
        maxRecordsPerCall: o.maxRecordsPerCall,
      });
    }
    const ip = options.initialPosition ?? "LATEST";
    if (typeof ip === "object") {
      const ms = ip.atTimestamp instanceof Date ? ip.atTimestamp.getTime() : ip.atTimestamp;
      if (!Number.isFinite(ms)) {
        throw new ValidationError("KinesisInitialPositionInvalid", `initialPosition.atTimestamp must be a Date or epoch milliseconds, got ${String(ip.atTimestamp)}`);
      }
    } else if (ip !== "LATEST" && ip !== "TRIM_HORIZON") {
      throw new ValidationError("KinesisInitialPositionInvalid", `initialPosition must be "LATEST", "TRIM_HORIZON" or { atTimestamp }, got ${JSON.stringify(ip)}`);
    }
    this.settings = o;
    this.initialPosition = ip;
    this.decoder = options.decoder ?? (utf8Text as unknown as (bytes: Uint8Array, meta: KinesisRecordMeta) => T);
    this.extractor = options.timestampExtractor;
    this.onError = options.onError;
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? kinesisClient({ region: options.region, endpoint: options.endpoint });
  }

  get status(): SourceStatus {
    return this._status;
  }

  /** The most recent failed call or the fatal failure. */
  get lastError(): SourceError | undefined {
    return this._lastError;
  }

  /** Kinesis records fetched and waiting for the next take (fetching pauses at `maxBufferedRecords`). */
  get buffered(): number {
    return this.bufferedRecords;
  }

  restore(position: unknown): void {
    if (!isKinesisPosition(position)) {
      throw new CheckpointError("KinesisPositionInvalid", `kinesisStream ${this.streamName}: the checkpointed position is not one it wrote`, { position });
    }
    if (position.streamName !== this.streamName) {
      throw new CheckpointError(
        "KinesisPositionOtherStream",
        `kinesisStream ${this.streamName}: the checkpointed position is for stream ${position.streamName}`,
        { streamName: this.streamName, checkpointed: position.streamName },
      );
    }
    this.restored = position;
  }

  /** Lists the shards and takes the first iterators (so `LATEST` means "from now"); then reads in the background. */
  async start(context: SourceContext): Promise<void> {
    if (this._status !== "idle") throw new SourceError("SourceAlreadyStarted", `kinesisStream ${this.streamName} was already started`);
    this.context = context;
    this._status = "connecting";
    let listed: LogPartition[];
    try {
      listed = await listShards(this.client, this.streamName, this.abort.signal);
    } catch (err) {
      this._status = "failed";
      if (this.ownsClient) this.client.destroy();
      throw errorName(err) === "ResourceNotFoundException"
        ? new SourceError("KinesisStreamNotFound", `Kinesis stream ${this.streamName} does not exist (${errorMessage(err)})`, { streamName: this.streamName }, { cause: err })
        : new SourceError("KinesisUnavailable", `cannot list the shards of Kinesis stream ${this.streamName}: ${errorMessage(err)}`, { streamName: this.streamName }, { cause: err });
    }
    this.addShards(listed, true);
    const first = [...this.shards.values()].filter((s) => this.eligible(s));
    let iterators: (string | undefined)[];
    try {
      iterators = await Promise.all(first.map((s) => this.iterator(s)));
    } catch (err) {
      this._status = "failed";
      if (this.ownsClient) this.client.destroy();
      throw err;
    }
    // A shard found trimmed away has ended: its children are launched with the others below.
    first.forEach((s, i) => s.phase === "waiting" && iterators[i] !== undefined && this.launch(s, iterators[i]));
    this._status = "connected";
    this.startEligible();
    this.syncLoop = this.runSync();
  }

  async stop(): Promise<void> {
    if (this._status === "stopped") return;
    this._status = "stopped";
    this.abort.abort();
    for (const s of this.sleeps) {
      clearTimeout(s.timer);
      s.wake();
    }
    this.sleeps.clear();
    this.wakeSync?.();
    await Promise.allSettled([this.syncLoop, ...[...this.shards.values()].map((s) => s.loop)]);
    if (this.ownsClient) this.client.destroy();
  }

  take(time: Time): T[] {
    return this.takeRecords(time).map((e) => e.value);
  }

  /**
   * What `take` returns, with each element's metadata and time (event time when there is an extractor). For an
   * engine that uses event time.
   */
  takeRecords(_time: Time): KinesisElement<T>[] {
    const context = this.context;
    if (!context) throw new SourceError("SourceNotStarted", `kinesisStream ${this.streamName}: take() before start()`);
    const raw = this.buffer;
    this.buffer = [];
    this.bufferedRecords = 0;
    const out: KinesisElement<T>[] = [];
    for (const item of raw) {
      if ("end" in item) {
        this.handed.set(item.shardId, { at: "SHARD_END" });
        continue;
      }
      const r = item.record;
      const sequenceNumber = r.SequenceNumber!;
      this.handed.set(item.shardId, { at: "AFTER_SEQUENCE_NUMBER", sequenceNumber });
      this.decode(item.shardId, r, out, context);
    }
    if (out.length === 0 && this.buffer.length === 0 && this.failure) throw this.failure;
    return out;
  }

  position(): KinesisPosition {
    return { version: 1, streamName: this.streamName, shards: Object.fromEntries([...this.handed].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
  }

  // --- decoding (in take, so dead letters and user-function failures belong to the batch being taken) ---

  private decode(shardId: string, r: _Record, out: KinesisElement<T>[], context: SourceContext): void {
    const sequenceNumber = r.SequenceNumber!;
    const data = r.Data ?? new Uint8Array(0);
    const source = `kinesis ${this.streamName}`;
    const arrivalTime = r.ApproximateArrivalTimestamp?.getTime() ?? context.now();
    const partitionKey = r.PartitionKey ?? "";
    const split = deaggregate(data, partitionKey);
    if (!split.ok) {
      context.deadLetter(toSourceDeadLetter({ shardId, sequenceNumber, partitionKey, arrivalTime, operator: "deaggregate", error: split.reason, data: base64Of(data) }, source));
      return;
    }
    for (const u of split.records) {
      const meta: KinesisRecordMeta = {
        streamName: this.streamName,
        shardId,
        sequenceNumber,
        subSequenceNumber: u.subSequenceNumber,
        partitionKey: u.partitionKey,
        ...(u.explicitHashKey !== undefined ? { explicitHashKey: u.explicitHashKey } : {}),
        arrivalTime,
        aggregated: split.aggregated,
      };
      const dead = (operator: string, error: string) =>
        context.deadLetter(
          toSourceDeadLetter({ shardId, sequenceNumber, subSequenceNumber: u.subSequenceNumber, partitionKey: u.partitionKey, arrivalTime, operator, error, data: base64Of(u.data) }, source),
        );
      let value: T;
      try {
        value = this.decoder(u.data, meta);
      } catch (err) {
        dead("decoder", `the decoder threw: ${errorMessage(err)}`);
        continue;
      }
      let time = arrivalTime;
      if (this.extractor) {
        try {
          time = this.extractor(value, meta);
          if (!Number.isFinite(time)) throw new Error(`it returned ${String(time)}, not epoch milliseconds`);
        } catch (err) {
          dead("timestampExtractor", `the timestamp extractor failed: ${errorMessage(err)}`);
          continue;
        }
      }
      out.push({ value, meta, time });
    }
  }

  // --- shards and lineage ---

  /** Adds listed shards we do not know yet, deciding where each starts; forgets ended shards no longer listed. */
  private addShards(listed: LogPartition[], atStart: boolean): void {
    const listedIds = new Set(listed.map((s) => s.shardId));
    for (const shard of listed) {
      const id = shard.shardId;
      if (this.shards.has(id)) continue;
      const parents = parentsOf(shard);
      const start = this.startOf(shard, atStart);
      this.shards.set(id, { id, parents, start, phase: start.at === "SHARD_END" ? "ended" : "waiting" });
      // LATEST is recorded as the time it was asked for: a restart resumes there rather than skipping.
      this.handed.set(id, start.at === "LATEST" ? { at: "AT_TIMESTAMP", timestamp: Date.now() } : start);
    }
    // A shard past the stream's retention is no longer listed: once ended and handed, forget it.
    for (const [id, s] of this.shards) {
      if (!listedIds.has(id) && s.phase === "ended" && this.handed.get(id)?.at === "SHARD_END") {
        this.shards.delete(id);
        this.handed.delete(id);
      }
    }
  }

  private startOf(shard: LogPartition, atStart: boolean): StartAt {
    const saved = this.restored?.shards[shard.shardId];
    if (saved) return saved;
    // Appeared while running (resharding), or since the checkpoint: it holds only data we have not read.
    if (!atStart || this.restored) return { at: "TRIM_HORIZON" };
    const ip = this.initialPosition;
    if (ip === "TRIM_HORIZON") return { at: "TRIM_HORIZON" };
    // LATEST: a shard closed before we started holds nothing newer than now.
    if (ip === "LATEST") return shard.closed ? { at: "SHARD_END" } : { at: "LATEST" };
    return { at: "AT_TIMESTAMP", timestamp: ip.atTimestamp instanceof Date ? ip.atTimestamp.getTime() : ip.atTimestamp };
  }

  /** A shard may be read once every parent still listed is drained (a parent past retention is long drained). */
  private eligible(s: ShardState): boolean {
    return s.phase === "waiting" && parentsDrained(s.parents, (id) => {
      const parent = this.shards.get(id);
      return parent && parent.phase === "ended";
    });
  }

  private launch(s: ShardState, iterator?: string): void {
    s.phase = "reading";
    s.loop = this.readShard(s, iterator).catch((err) => this.fail(err));
  }

  private startEligible(): void {
    if (this.stopping) return;
    for (const s of this.shards.values()) if (this.eligible(s)) this.launch(s);
  }

  private get stopping(): boolean {
    return this._status === "stopped" || this._status === "failed";
  }

  /** ListShards every `shardSyncIntervalMs`, or at once when a shard reached its end. */
  private async runSync(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      if (!this.syncRequested) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => resolve(), this.settings.shardSyncIntervalMs);
          this.wakeSync = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeSync = undefined;
      }
      if (this.stopping) return;
      this.syncRequested = false;
      try {
        this.addShards(await listShards(this.client, this.streamName, this.abort.signal), false);
        failures = 0;
        this.startEligible();
      } catch (err) {
        if (this.stopping) return;
        const kind = classifyKinesisError(err);
        if (kind === "not-found") {
          return this.fail(new SourceError("KinesisStreamNotFound", `Kinesis stream ${this.streamName} no longer exists (${errorMessage(err)})`, { streamName: this.streamName }, { cause: err }));
        }
        if (kind === "fatal") return this.fail(err);
        this.report(err, "ListShards");
        await this.sleep(this.backoff(failures++));
      }
    }
  }

  private requestSync(): void {
    this.syncRequested = true;
    this.wakeSync?.();
  }

  // --- reading one shard ---

  private async readShard(s: ShardState, first: string | undefined): Promise<void> {
    let iterator = first ?? (await this.iterator(s));
    let failures = 0;
    while (!this.stopping && iterator !== undefined) {
      if (this.bufferedRecords >= this.settings.maxBufferedRecords) {
        await this.sleep(this.settings.pollIntervalMs);
        continue;
      }
      let res;
      try {
        res = await this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: this.settings.maxRecordsPerCall }), {
          abortSignal: this.abort.signal,
        });
        failures = 0;
      } catch (err) {
        if (this.stopping) return;
        const kind = classifyKinesisError(err);
        if (kind === "expired-iterator" || errorName(err) === "InvalidArgumentException") {
          // Iterators expire after 5 minutes (a long back-pressure wait): take a new one after the last record.
          iterator = await this.iterator(s);
          continue;
        }
        if (kind === "fatal") throw err;
        this.report(err, `GetRecords on ${s.id}`);
        await this.sleep(this.backoff(failures++));
        continue;
      }
      if (this.stopping) return;
      const records = res.Records ?? [];
      const last = s.start.at === "AFTER_SEQUENCE_NUMBER" ? BigInt(s.start.sequenceNumber) : undefined;
      for (const r of records) {
        // Defensive: never hand a record at or before one already fetched (an iterator renewed after expiry).
        if (last !== undefined && BigInt(r.SequenceNumber!) <= last) continue;
        this.buffer.push({ shardId: s.id, record: r });
        this.bufferedRecords += 1;
      }
      if (records.length > 0) s.start = { at: "AFTER_SEQUENCE_NUMBER", sequenceNumber: records[records.length - 1]!.SequenceNumber! };
      // The response that returns a closed shard's last records may also be its end (no next iterator): the
      // records above were buffered first.
      if (!res.NextShardIterator) {
        s.phase = "ended";
        this.buffer.push({ shardId: s.id, end: true });
        this.startEligible();
        this.requestSync();
        return;
      }
      iterator = res.NextShardIterator;
      const behind = records.length >= this.settings.maxRecordsPerCall || (res.MillisBehindLatest ?? 0) > 0;
      await this.sleep(behind ? BEHIND_WAIT_MS : this.settings.pollIntervalMs);
    }
  }

  /** An iterator where the shard's reading resumes; undefined when the shard is gone (trimmed away). */
  private async iterator(s: ShardState): Promise<string | undefined> {
    let failures = 0;
    for (;;) {
      if (this.stopping) return undefined;
      const input: GetShardIteratorCommandInput = { StreamName: this.streamName, ShardId: s.id, ...this.iteratorType(s) };
      try {
        const res = await this.client.send(new GetShardIteratorCommand(input), { abortSignal: this.abort.signal });
        return res.ShardIterator;
      } catch (err) {
        if (this.stopping) return undefined;
        const kind = classifyKinesisError(err);
        if (kind === "not-found") {
          // The shard was trimmed away (past retention): nothing left to read in it.
          s.phase = "ended";
          this.buffer.push({ shardId: s.id, end: true });
          this.requestSync();
          return undefined;
        }
        if (kind === "fatal" || errorName(err) === "InvalidArgumentException") {
          throw new SourceError(
            "KinesisIteratorRejected",
            `Kinesis refused an iterator for ${this.streamName}/${s.id} at ${JSON.stringify(s.start)}: ${errorMessage(err)}`,
            { streamName: this.streamName, shardId: s.id, start: s.start },
            { cause: err },
          );
        }
        this.report(err, `GetShardIterator on ${s.id}`);
        await this.sleep(this.backoff(failures++));
      }
    }
  }

  private iteratorType(s: ShardState): Pick<GetShardIteratorCommandInput, "ShardIteratorType" | "StartingSequenceNumber" | "Timestamp"> {
    const p = s.start;
    switch (p.at) {
      case "SHARD_END":
        return iteratorParams({ at: "TRIM_HORIZON" });
      case "LATEST":
        // Once taken, LATEST means "the time it was taken": a renewed iterator resumes there, not at a later now.
        s.start = { at: "AT_TIMESTAMP", timestamp: Date.now() };
        return iteratorParams(p);
      default:
        return iteratorParams(p);
    }
  }

  // --- errors, backoff, timers ---

  private fail(err: unknown): void {
    if (this.stopping) return;
    this.failure =
      err instanceof SourceError
        ? err
        : new SourceError("KinesisSourceFailed", `Kinesis stream ${this.streamName} cannot be read: ${errorMessage(err)}`, { streamName: this.streamName }, { cause: err });
    this._status = "failed";
    this.abort.abort();
    for (const s of this.sleeps) {
      clearTimeout(s.timer);
      s.wake();
    }
    this.wakeSync?.();
    this.publish(this.failure);
  }

  private report(err: unknown, call: string): void {
    const name = errorName(err);
    const throttled = classifyKinesisError(err) === "throttled";
    this._status = "retrying";
    this.publish(
      new SourceError(
        throttled ? "KinesisThrottled" : "KinesisCallFailed",
        `${call} (stream ${this.streamName}) ${throttled ? "was throttled" : "failed"}: ${errorMessage(err)}; backing off`,
        { streamName: this.streamName, error: name },
        { cause: err },
      ),
    );
  }

  private publish(error: SourceError): void {
    this._lastError = error;
    try {
      this.onError?.(error);
    } catch {
      // A throwing listener must not stop the readers.
    }
  }

  private backoff(failures: number): number {
    return backoffMs(failures, this.settings.maxBackoffMs);
  }

  /** A wait that stop() cuts short, leaving no timer behind. */
  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.sleeps.delete(entry);
          if (this._status === "retrying") this._status = "connected";
          resolve();
        }, ms),
        wake: resolve,
      };
      this.sleeps.add(entry);
    });
  }
}

function isKinesisPosition(p: unknown): p is KinesisPosition {
  if (typeof p !== "object" || p === null) return false;
  const o = p as Record<string, unknown>;
  if (o.version !== 1 || typeof o.streamName !== "string" || typeof o.shards !== "object" || o.shards === null) return false;
  return Object.values(o.shards).every((v: unknown) => {
    if (typeof v !== "object" || v === null) return false;
    const s = v as Record<string, unknown>;
    switch (s.at) {
      case "AFTER_SEQUENCE_NUMBER":
        return typeof s.sequenceNumber === "string" && /^\d{1,129}$/.test(s.sequenceNumber);
      case "AT_TIMESTAMP":
        return typeof s.timestamp === "number" && Number.isFinite(s.timestamp);
      case "TRIM_HORIZON":
      case "SHARD_END":
        return true;
      default:
        return false;
    }
  });
}

import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Admin, Consumer, EachBatchPayload, Kafka } from "kafkajs";
import type { Time } from "../../core/duration.js";
import { CheckpointError, SourceError, ValidationError } from "../../core/errors.js";
import type { SourceStatus } from "../socket-text-source.js";
import type { Source, SourceContext } from "../source.js";
import { type FetchedRecord, PartitionQueue } from "./batch-cut.js";
import { type KafkaClientConfig, kafkaClient } from "./client.js";
import { CutJournal } from "./cut-journal.js";
import { listTopicPartitions, type TopicPartitionInfo } from "./metadata.js";
import { isKafkaPosition, type KafkaPosition, type KafkaStartingOffsets, type PartitionOffsets, startingOffset, startingOffsetsProblem } from "./offsets.js";
import { type KafkaDecoder, type KafkaRecord, type KafkaRecordMeta, headerText, utf8Decoder } from "./records.js";

export interface KafkaStreamOptions<K = string, V = string> extends KafkaClientConfig {
  /**
   * The consumer group (Spark's `group.id`): the stream joins it to be assigned the partitions, and commits to it
   * after each completed batch the offsets that batch ended at, so Kafka's own tools (`kafka-consumer-groups
   * --describe`) show the stream's lag. Give each pipeline its own group: members of one group share partitions.
   */
  readonly groupId: string;
  /**
   * Where to start in partitions a checkpoint does not place: "earliest" or "latest" (Spark's
   * `auto.offset.reset`: a partition the group has a committed offset for starts there), or offsets per topic and
   * partition (`{ clicks: { 0: 42 } }`; other partitions: the committed offset, else the latest). Partitions added
   * to a topic while the stream runs, or since its checkpoint, are read from their earliest offset.
   * @default "latest"
   */
  readonly startingOffsets?: KafkaStartingOffsets;
  /** Turns a key's bytes into the element's `key` (Spark's key deserializer). @default - UTF-8 text */
  readonly keyDecoder?: KafkaDecoder<K>;
  /**
   * Turns a value's bytes into the element's `value` (Spark's value deserializer). If a decoder throws, the record
   * goes to the dead-letter output with its topic, partition, offset and bytes, and the stream carries on.
   * @default - UTF-8 text (bytes that are not UTF-8 are dead-lettered)
   */
  readonly valueDecoder?: KafkaDecoder<V>;
  /**
   * How long a fetch waits at the broker for new records (Kafka's `fetch.max.wait.ms`): the delay between a record's
   * arrival and its fetch when a partition is quiet.
   * @default 500
   */
  readonly maxWaitTimeMs?: number;
  /**
   * How long the group waits for a silent member before giving its partitions away (Kafka's `session.timeout.ms`):
   * after a crash, the restarted stream is assigned its partitions once the dead member's session expires. Brokers
   * accept 6000 and more by default.
   * @default 30000
   */
  readonly sessionTimeoutMs?: number;
  /** How often the topics' partitions are listed again, so partitions added while running are read. @default 10000 */
  readonly partitionSyncIntervalMs?: number;
  /**
   * Stop fetching while this many records wait for a batch (back-pressure, like Spark's
   * `spark.streaming.kafka.maxRatePerPartition` but by count). Fetching resumes after the next batch.
   * @default 100000
   */
  readonly maxBufferedRecords?: number;
  /** Told of each failed call, out-of-range start and failed commit, as it happens. @default - nothing: read `lastError` */
  readonly onError?: (error: SourceError) => void;
}

const DEFAULTS = { maxWaitTimeMs: 500, sessionTimeoutMs: 30_000, partitionSyncIntervalMs: 10_000, maxBufferedRecords: 100_000 };

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to accept from a fetch. */
  next: bigint;
  /** The next offset to hand to a batch: the position. */
  handed: bigint;
  readonly queue: PartitionQueue;
  /** A seek was asked for: fetches that did not start there are stale and dropped. */
  seekTo?: bigint;
}

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * Spark's direct Kafka stream (`KafkaUtils.createDirectStream` with `Subscribe`) for the local engine: every
 * partition of the topics, offsets tracked with the batches rather than by the consumer, so that each record is
 * processed exactly once through failures.
 *
 * - Batches by the log: a batch at T takes, per partition in offset order, the fetched records timestamped up to
 *   T (see batch-cut.ts), one RDD partition per Kafka partition (as Spark's KafkaRDD). A batch's contents are a
 *   function of the log, so a batch re-run after a crash holds what it held the first time. Records produced
 *   with timestamps ahead of the context's clock wait for their batch (with a ManualClock, produce records
 *   timestamped on it).
 * - `position()`: per partition, the next offset to hand to a batch; `restore()` resumes there. With a checkpoint
 *   directory, where each batch's take ended is journaled before the batch runs (cut-journal.ts), so the batches
 *   recovery re-runs take exactly what they took, late records included. After each completed batch (and its
 *   checkpoint) the offsets it ended at are committed to `groupId`.
 * - On start, the stream fetches what the partitions held at that moment before the first batch runs (up to
 *   `maxBufferedRecords`), so the batches that recovery re-runs find their records.
 * - Partitions added while running are found every `partitionSyncIntervalMs`, read from their earliest offset,
 *   and assigned by rejoining the group.
 * - Bad input never stops the stream: a decoder that throws dead-letters the record. Broker failures are retried
 *   by the client and reported (`lastError`, `onError`); a consumer that gives up fails the stream: `take` throws
 *   the SourceError once everything fetched has been handed over.
 *
 * @example
 * const orders = new KafkaDirectSource(["orders"], {
 *   bootstrapServers: "127.0.0.1:9092",
 *   groupId: "order-totals",
 *   startingOffsets: "earliest",
 *   valueDecoder: (bytes) => JSON.parse(new TextDecoder().decode(bytes)) as Order,
 * });
 */
export class KafkaDirectSource<K = string, V = string> implements Source<KafkaRecord<K, V>> {
  readonly kind = "kafka";
  readonly topics: readonly string[];
  private readonly options: KafkaStreamOptions<K, V>;
  private readonly settings: typeof DEFAULTS;
  private readonly starting: KafkaStartingOffsets;
  private readonly keyDecoder: KafkaDecoder<K>;
  private readonly valueDecoder: KafkaDecoder<V>;

  private client: Kafka | undefined;
  private admin: Admin | undefined;
  private consumer: Consumer | undefined;
  private context: SourceContext | undefined;
  private restored: KafkaPosition | undefined;
  private readonly partitions = new Map<string, PartitionState>();
  /** The partitions the group gave this stream at its latest join; undefined before the first. */
  private assignment: Set<string> | undefined;
  /** Partitions the group assigned that we have not placed yet (their earliest offset is being looked up). */
  private readonly placing = new Set<string>();
  private bufferedRecords = 0;
  private paused = false;
  /** Per batch time, the offsets its take ended at: committed once the batch completes. */
  private readonly handedAt = new Map<number, PartitionOffsets>();
  /** Where each batch's take ended, kept in the checkpoint directory (see cut-journal.ts). */
  private journal: CutJournal | undefined;
  /** Batches of the previous run that recovery re-runs: each takes what it took then. */
  private replayCuts = new Map<number, PartitionOffsets>();
  private readonly waiters = new Set<{ readonly check: () => boolean; readonly resolve: () => void; readonly reject: (e: Error) => void }>();
  private _status: SourceStatus = "idle";
  private _lastError: SourceError | undefined;
  private failure: SourceError | undefined;
  private syncTimer: NodeJS.Timeout | undefined;

  constructor(topics: string | readonly string[], options: KafkaStreamOptions<K, V>) {
    const list = [...new Set(typeof topics === "string" ? [topics] : topics)].sort();
    if (list.length === 0 || list.some((t) => !/^[A-Za-z0-9._-]{1,249}$/.test(t))) {
      throw new ValidationError("KafkaTopicsInvalid", `kafkaStream needs topic names (1 to 249 of [A-Za-z0-9._-]), got ${JSON.stringify(topics)}`);
    }
    if (typeof options?.groupId !== "string" || options.groupId === "") {
      throw new ValidationError("KafkaGroupIdMissing", `kafkaStream needs a groupId (Spark's group.id): the consumer group it commits its offsets to, got ${JSON.stringify(options?.groupId)}`);
    }
    const o = { ...DEFAULTS };
    for (const name of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
      const v = options[name];
      if (v === undefined) continue;
      if (!Number.isInteger(v) || v <= 0) throw new ValidationError("KafkaOptionInvalid", `${name} must be a positive whole number, got ${v}`, { [name]: v });
      o[name] = v;
    }
    const starting = options.startingOffsets ?? "latest";
    const problem = startingOffsetsProblem(starting, list);
    if (problem) throw new ValidationError("KafkaStartingOffsetsInvalid", problem, { startingOffsets: starting });
    kafkaClient(options); // validates the bootstrap servers now rather than at start
    this.topics = list;
    this.options = options;
    this.settings = o;
    this.starting = starting;
    this.keyDecoder = options.keyDecoder ?? (utf8Decoder as unknown as KafkaDecoder<K>);
    this.valueDecoder = options.valueDecoder ?? (utf8Decoder as unknown as KafkaDecoder<V>);
  }

  get status(): SourceStatus {
    return this._status;
  }

  /** The most recent failed call, out-of-range start or failed commit, or the fatal failure. */
  get lastError(): SourceError | undefined {
    return this._lastError;
  }

  /** Records fetched and waiting for a batch (fetching pauses at `maxBufferedRecords`). */
  get buffered(): number {
    return this.bufferedRecords;
  }

  restore(position: unknown): void {
    if (!isKafkaPosition(position)) {
      throw new CheckpointError("KafkaPositionInvalid", `kafkaStream ${this.topics.join(",")}: the checkpointed position is not one it wrote`, { position });
    }
    if (position.topics.join(",") !== this.topics.join(",")) {
      throw new CheckpointError(
        "KafkaPositionOtherTopics",
        `kafkaStream ${this.topics.join(",")}: the checkpoint is of a stream of topics ${position.topics.join(",")}; use a new checkpoint directory to change the topics`,
        { topics: this.topics, checkpointed: position.topics },
      );
    }
    this.restored = position;
  }

  /**
   * Lists the partitions, places each (checkpoint, startingOffsets, committed offset, earliest/latest), joins the
   * group and fetches what the partitions hold now before returning.
   */
  async start(context: SourceContext): Promise<void> {
    if (this._status !== "idle") throw new SourceError("SourceAlreadyStarted", `kafkaStream ${this.topics.join(",")} was already started`);
    this.context = context;
    this._status = "connecting";
    if (context.checkpointDir !== undefined) {
      const id = createHash("sha256").update(`${this.topics.join(",")}\u0000${this.options.groupId}`).digest("hex").slice(0, 16);
      this.journal = new CutJournal(join(context.checkpointDir, "kafka", `cuts-${id}.jsonl`));
      // A fresh start (no checkpoint) has nothing to re-run: an old journal there is of another life.
      if (this.restored) this.replayCuts = this.journal.load();
      else this.journal.keepAfter(undefined);
    }
    const client = (this.client = kafkaClient(this.options));
    try {
      this.admin = client.admin();
      await this.admin.connect();
      const infos = await listTopicPartitions(this.admin, this.topics);
      const committed = this.restored ? undefined : await this.committedOffsets();
      for (const info of infos) this.place(info, startingOffset(info, { ...(this.restored ? { restored: this.restored.offsets } : {}), starting: this.starting, ...(committed ? { committed } : {}) }));
      await this.startConsumer(client);
      this._status = "connected";
        // One look at a time: a rejoin for new partitions may take longer than the interval.
      let syncing = false;
      this.syncTimer = setInterval(() => {
        if (syncing) return;
        syncing = true;
        void this.syncPartitions().finally(() => (syncing = false));
      }, this.settings.partitionSyncIntervalMs);
      this.syncTimer.unref();
      await this.fetchedUpTo(infos);
    } catch (err) {
      const error = err instanceof SourceError ? err : new SourceError("KafkaUnavailable", `cannot start kafkaStream ${this.topics.join(",")}: ${(err as Error).message}`, { topics: this.topics }, { cause: err });
      await this.stop();
      this._status = "failed";
      throw error;
    }
  }

  async stop(): Promise<void> {
    if (this._status === "stopped") return;
    this._status = "stopped";
    clearInterval(this.syncTimer);
    for (const w of this.waiters) w.reject(new SourceError("SourceStopped", `kafkaStream ${this.topics.join(",")} stopped`));
    this.waiters.clear();
    this.journal?.close();
    await Promise.allSettled([this.consumer?.disconnect(), this.admin?.disconnect()]);
  }

  /**
   * Resolves once every record the partitions hold now has been fetched (or fetching paused at
   * `maxBufferedRecords`): after it, a batch cut at a time past those records' timestamps takes all of them.
   */
  async caughtUp(): Promise<void> {
    if (!this.admin) throw new SourceError("SourceNotStarted", `kafkaStream ${this.topics.join(",")}: caughtUp() before start()`);
    await this.fetchedUpTo(await listTopicPartitions(this.admin, this.topics));
  }

  take(time: Time): KafkaRecord<K, V>[] {
    return this.takePartitions(time).flat();
  }

  takePartitions(time: Time): KafkaRecord<K, V>[][] {
    const context = this.context;
    if (!context) throw new SourceError("SourceNotStarted", `kafkaStream ${this.topics.join(",")}: take() before start()`);
    const out: KafkaRecord<K, V>[][] = [];
    let taken = 0;
    const replay = this.replayCuts.get(time.milliseconds);
    this.replayCuts.delete(time.milliseconds);
    for (const p of this.sortedPartitions()) {
      const end = replay?.[p.topic]?.[String(p.partition)];
      const records = replay ? p.queue.cutBefore(end === undefined ? p.handed : BigInt(end)) : p.queue.cut(time.milliseconds);
      taken += records.length;
      if (records.length > 0) p.handed = records[records.length - 1]!.offset + 1n;
      out.push(this.decode(p, records, context));
    }
    this.bufferedRecords -= taken;
    const offsets = this.offsets();
    this.handedAt.set(time.milliseconds, offsets);
    this.journal?.append(time.milliseconds, offsets);
    if (this.paused && this.bufferedRecords < this.settings.maxBufferedRecords) this.resume();
    if (taken === 0 && this.failure) throw this.failure;
    return out;
  }

  position(): KafkaPosition {
    return { version: 1, topics: this.topics, offsets: this.offsets() };
  }

  /** Commits the offsets batch `time` ended at to the consumer group; a failure is reported, never thrown. */
  async batchCompleted(time: Time, info: { readonly checkpointed: boolean }): Promise<void> {
    // Batches up to a written checkpoint are never re-run: their cuts are no longer needed.
    if (info.checkpointed) this.journal?.keepAfter(time.milliseconds);
    const offsets = this.handedAt.get(time.milliseconds);
    for (const t of this.handedAt.keys()) if (t <= time.milliseconds) this.handedAt.delete(t);
    const consumer = this.consumer;
    if (!offsets || !consumer || this._status === "stopped") return;
    const list = Object.entries(offsets).flatMap(([topic, parts]) => Object.entries(parts).map(([partition, offset]) => ({ topic, partition: Number(partition), offset })));
    try {
      await consumer.commitOffsets(list);
    } catch (err) {
      // A rebalance in progress refuses commits; the next batch's commit carries these offsets too.
      this.report("KafkaCommitFailed", `committing the offsets of batch ${time.milliseconds} to group ${this.options.groupId} failed: ${(err as Error).message}`, err);
    }
  }

  // --- placing partitions ---

  private place(info: TopicPartitionInfo, start: ReturnType<typeof startingOffset>): void {
    const key = keyOf(info.topic, info.partition);
    if (this.partitions.has(key)) return;
    this.partitions.set(key, { topic: info.topic, partition: info.partition, next: start.offset, handed: start.offset, queue: new PartitionQueue() });
    if (start.clampedFrom !== undefined) {
      const before = start.clampedFrom < start.offset;
      this.report(
        "KafkaOffsetOutOfRange",
        `${info.topic}/${info.partition}: the ${start.from} offset ${start.clampedFrom} is ${before ? "before the log start (deleted by retention)" : "past the log end"}; reading from ${start.offset}`,
      );
    }
  }

  private async committedOffsets(): Promise<PartitionOffsets> {
    const groups = await this.admin!.fetchOffsets({ groupId: this.options.groupId, topics: [...this.topics] });
    return Object.fromEntries(groups.map((g) => [g.topic, Object.fromEntries(g.partitions.filter((p) => BigInt(p.offset) >= 0n).map((p) => [String(p.partition), p.offset]))]));
  }

  /**
   * Looks for partitions added to the topics and places them at their earliest offset. Unless the group already
   * gave them to us (`assigned`), the consumer then rejoins the group, which assigns them: kafkajs notices new
   * partitions only at its own metadata refresh, and not reliably.
   */
  private async syncPartitions(fromAssignment = false): Promise<void> {
    if (this.stopping || !this.admin) return;
    let added = false;
    try {
      for (const info of await listTopicPartitions(this.admin, this.topics)) {
        if (this.partitions.has(keyOf(info.topic, info.partition))) continue;
        this.place(info, { offset: BigInt(info.earliestOffset), from: "earliest" });
        added = true;
      }
    } catch (err) {
      this.report("KafkaCallFailed", `listing the partitions of ${this.topics.join(",")} failed: ${(err as Error).message}; retrying`, err);
      return;
    }
    if (added && !fromAssignment && this.client && this.consumer && !this.stopping) {
      const old = this.consumer;
      this.consumer = undefined;
      // Until the new join says what is ours, caughtUp waits.
      this.assignment = undefined;
      try {
        await old.disconnect();
        if (!this.stopping) await this.startConsumer(this.client);
      } catch (err) {
        this.fail(new SourceError("KafkaConsumerFailed", `the Kafka consumer of ${this.topics.join(",")} could not rejoin its group for new partitions: ${(err as Error).message}`, { topics: this.topics }, { cause: err }));
      }
    }
  }

  // --- fetching ---

  private async startConsumer(client: Kafka): Promise<void> {
    const consumer = (this.consumer = client.consumer({
      groupId: this.options.groupId,
      allowAutoTopicCreation: false,
      metadataMaxAge: this.settings.partitionSyncIntervalMs,
      maxWaitTimeInMs: this.settings.maxWaitTimeMs,
      sessionTimeout: this.settings.sessionTimeoutMs,
      // The heartbeat must come well inside the session (Kafka's rule of thumb: a third of it).
      heartbeatInterval: Math.max(100, Math.floor(this.settings.sessionTimeoutMs / 3)),
    }));
    consumer.on(consumer.events.GROUP_JOIN, (e) => this.assigned(e.payload.memberAssignment));
    consumer.on(consumer.events.CRASH, (e) => {
      const { error, restart } = e.payload;
      if (restart) this.report("KafkaConsumerRestarting", `the Kafka consumer of ${this.topics.join(",")} failed and restarts: ${error.message}`, error);
      else this.fail(new SourceError("KafkaConsumerFailed", `the Kafka consumer of ${this.topics.join(",")} failed: ${error.message}`, { topics: this.topics }, { cause: error }));
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...this.topics], fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (payload) => this.fetched(payload) });
  }

  /**
   * The group gave us partitions: each resumes at our next offset, never at the group's committed one (commits
   * trail the fetch position by the records waiting for a batch). Partitions we have not seen are placed at
   * their earliest offset first.
   */
  private assigned(assignment: Record<string, number[]>): void {
    // A join can only widen what caughtUp waits for: check again once seeks are in place.
    queueMicrotask(() => this.checkWaiters());
    this.assignment = new Set(Object.entries(assignment).flatMap(([topic, partitions]) => partitions.map((p) => keyOf(topic, p))));
    const elsewhere = [...this.partitions.values()].filter((p) => !this.assignment!.has(keyOf(p.topic, p.partition)));
    if (elsewhere.length > 0) {
      this.report(
        "KafkaPartitionsElsewhere",
        `another member of group ${this.options.groupId} holds ${elsewhere.map((p) => `${p.topic}/${p.partition}`).join(", ")}: this stream does not read them (give each pipeline its own groupId)`,
      );
    }
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        const p = this.partitions.get(keyOf(topic, partition));
        if (p) this.seek(p, p.next);
        else void this.placeAssigned(topic, partition);
      }
    }
  }

  private async placeAssigned(topic: string, partition: number): Promise<void> {
    const key = keyOf(topic, partition);
    if (this.placing.has(key)) return;
    this.placing.add(key);
    try {
      await this.syncPartitions(true);
      const p = this.partitions.get(key);
      if (p) this.seek(p, p.next);
    } finally {
      this.placing.delete(key);
    }
  }

  private seek(p: PartitionState, offset: bigint): void {
    p.seekTo = offset;
    try {
      this.consumer?.seek({ topic: p.topic, partition: p.partition, offset: String(offset) });
    } catch (err) {
      this.report("KafkaCallFailed", `seeking ${p.topic}/${p.partition} to ${offset} failed: ${(err as Error).message}`, err);
    }
  }

  private async fetched({ batch, resolveOffset }: EachBatchPayload): Promise<void> {
    const p = this.partitions.get(keyOf(batch.topic, batch.partition));
    // Not placed yet: nothing is resolved, so once placed the partition is fetched again from our seek.
    if (!p || this.stopping) return;
    const fetchedFrom = BigInt((batch as unknown as { fetchedOffset: string }).fetchedOffset);
    if (p.seekTo !== undefined) {
      // A fetch that started before our seek landed: its records may not follow ours. The seek applies to the next fetch.
      if (fetchedFrom !== p.seekTo) return;
      p.seekTo = undefined;
    } else if (fetchedFrom > p.next) {
      // The client fetched past records we have not got (it fell back to the group's offset): go back.
      this.seek(p, p.next);
      return;
    }
    for (const m of batch.messages) {
      const offset = BigInt(m.offset);
      resolveOffset(m.offset);
      if (offset < p.next) continue;
      p.queue.push({
        offset,
        timestamp: Number(m.timestamp),
        key: m.key ?? null,
        value: m.value ?? null,
        headers: Object.fromEntries(Object.entries(m.headers ?? {}).flatMap(([k, v]) => (v === undefined ? [] : [[k, Array.isArray(v) ? v[v.length - 1]! : v]]))),
      });
      p.next = offset + 1n;
      this.bufferedRecords += 1;
    }
    if (this.bufferedRecords >= this.settings.maxBufferedRecords && !this.paused) this.pause();
    this.checkWaiters();
  }

  private pause(): void {
    this.paused = true;
    this.consumer?.pause(this.topics.map((topic) => ({ topic })));
    this.checkWaiters();
  }

  private resume(): void {
    this.paused = false;
    this.consumer?.resume(this.topics.map((topic) => ({ topic })));
  }

  /** Waits until each listed partition is fetched to its high watermark, or fetching is paused. */
  private fetchedUpTo(infos: readonly TopicPartitionInfo[]): Promise<void> {
    // Only the partitions the group gave us can be fetched (another member may hold some).
    const check = () =>
      this.paused ||
      (this.assignment !== undefined &&
        infos.every((i) => {
          const key = keyOf(i.topic, i.partition);
          const p = this.partitions.get(key);
          return !this.assignment!.has(key) || (p !== undefined && p.next >= BigInt(i.highWatermark));
        }));
    if (this.failure) return Promise.reject(this.failure);
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.add({ check, resolve, reject }));
  }

  private checkWaiters(): void {
    for (const w of this.waiters) {
      if (!w.check()) continue;
      this.waiters.delete(w);
      w.resolve();
    }
  }

  // --- handing over ---

  private sortedPartitions(): PartitionState[] {
    return [...this.partitions.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  private offsets(): PartitionOffsets {
    const out: Record<string, Record<string, string>> = {};
    for (const p of this.sortedPartitions()) (out[p.topic] ??= {})[String(p.partition)] = p.handed.toString();
    return out;
  }

  /** Decoding happens at take, so dead letters and decoder failures belong to the batch being taken. */
  private decode(p: PartitionState, records: readonly FetchedRecord[], context: SourceContext): KafkaRecord<K, V>[] {
    const out: KafkaRecord<K, V>[] = [];
    for (const r of records) {
      const meta: KafkaRecordMeta = { topic: p.topic, partition: p.partition, offset: r.offset.toString(), timestamp: r.timestamp };
      let key: K | null;
      let value: V | null;
      let step = "keyDecoder";
      try {
        key = r.key === null ? null : this.keyDecoder(r.key, meta);
        step = "valueDecoder";
        value = r.value === null ? null : this.valueDecoder(r.value, meta);
      } catch (err) {
        context.deadLetter({
          source: `kafka ${p.topic}`,
          position: { topic: p.topic, partition: p.partition, offset: meta.offset, timestamp: r.timestamp, ...(r.key ? { key: Buffer.from(r.key).toString("base64") } : {}) },
          reason: `the ${step} threw: ${(err as Error).message}`,
          raw: r.value === null ? "" : Buffer.from(r.value).toString("base64"),
        });
        continue;
      }
      const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, headerText(v)]));
      out.push({ ...meta, key, value, headers });
    }
    return out;
  }

  // --- errors ---

  private get stopping(): boolean {
    return this._status === "stopped" || this._status === "failed";
  }

  private fail(error: SourceError): void {
    if (this.stopping) return;
    this.failure = error;
    this._status = "failed";
    this.publish(error);
    for (const w of this.waiters) w.reject(error);
    this.waiters.clear();
  }

  private report(code: string, message: string, cause?: unknown): void {
    this.publish(new SourceError(code, `kafkaStream: ${message}`, { topics: this.topics, groupId: this.options.groupId }, cause === undefined ? undefined : { cause }));
  }

  private publish(error: SourceError): void {
    this._lastError = error;
    try {
      this.options.onError?.(error);
    } catch {
      // A throwing listener must not stop the fetching.
    }
  }
}

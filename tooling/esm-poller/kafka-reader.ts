/**
 * The poller's Kafka side: one member of the mapping's consumer group that fetches the topic's records into the
 * poller's queue (pausing a partition while the queue is full), sets the group's first offsets from the
 * mapping's StartingPosition, and commits offsets when the poller says so. Everything kafkajs-specific is here.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka } from "kafkajs";
import { kafkaClient } from "../../lib/io/kafka/client.js";
import type { RawKafkaMessage } from "./kafka-event.js";
import type { StartingPosition } from "./options.js";

export interface KafkaReaderHooks {
  /** Records of one partition, in offset order, never one already delivered (a rebalance re-fetches; skipped here). */
  records(partition: number, messages: readonly RawKafkaMessage[]): void;
  /** The partitions this member was assigned (after each group join). */
  assigned(partitions: readonly number[]): void;
  warning(message: string, error?: unknown): void;
}

export interface KafkaReaderOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly groupId: string;
  readonly startingPosition: StartingPosition;
  readonly startingPositionTimestamp?: Date;
  readonly metadataMaxAgeMs: number;
}

/** A partition's offsets: the next to read and the log end (high watermark) at the last fetch. */
export interface PartitionOffsets {
  readonly partition: number;
  /** Offset after the last committed record; undefined before the first commit of this run. */
  committed: bigint | undefined;
  /** Offset after the last record read. */
  next: bigint | undefined;
  /** The partition's high watermark at its last fetch. */
  highWatermark: bigint | undefined;
}

export class KafkaReader {
  private readonly kafka: Kafka;
  private admin: Admin | undefined;
  private consumer: Consumer | undefined;
  private readonly paused = new Set<number>();
  readonly partitions = new Map<number, PartitionOffsets>();

  constructor(
    private readonly o: KafkaReaderOptions,
    private readonly hooks: KafkaReaderHooks,
  ) {
    this.kafka = kafkaClient({ bootstrapServers: o.brokers, clientId: `sparkless-esm-${o.groupId}` });
  }

  private entry(partition: number): PartitionOffsets {
    let e = this.partitions.get(partition);
    if (!e) this.partitions.set(partition, (e = { partition, committed: undefined, next: undefined, highWatermark: undefined }));
    return e;
  }

  /** Connects, joins the group and resolves once this member has its partitions. */
  async start(): Promise<void> {
    const o = this.o;
    this.admin = this.kafka.admin();
    await this.admin.connect();
    this.consumer = this.kafka.consumer({
      groupId: o.groupId,
      allowAutoTopicCreation: false,
      // Metadata read this often: a partition added to the topic makes the group rebalance and is consumed.
      metadataMaxAge: o.metadataMaxAgeMs,
      maxWaitTimeInMs: 250,
      // A member that died without leaving holds its partitions until its session expires: keep that short
      // (6 s is the broker's default minimum), so a restarted stack gets its partitions back soon.
      sessionTimeout: 6_000,
      heartbeatInterval: 1_000,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2_000 },
    });
    // A group without committed offsets starts where StartingPosition says, as of now (so LATEST means "from
    // when start() ran"); the consumer is moved there when it first gets its partitions.
    const initial = await this.initialOffsets(this.admin);
    let firstJoin = true;
    const joined = new Promise<void>((resolve) => {
      this.consumer!.on(this.consumer!.events.GROUP_JOIN, (e) => {
        const mine = (e.payload.memberAssignment[o.topic] ?? []).slice().sort((a, b) => a - b);
        for (const p of mine) this.entry(p);
        if (firstJoin) {
          firstJoin = false;
          for (const [partition, offset] of initial) if (mine.includes(partition)) this.consumer!.seek({ topic: o.topic, partition, offset });
        }
        this.hooks.assigned(mine);
        resolve();
      });
    });
    this.consumer.on(this.consumer.events.CRASH, (e) => this.hooks.warning("the Kafka consumer crashed; it rejoins the group", e.payload.error));
    await this.consumer.connect();
    // Partitions found after the start (added to the topic) have no committed offset: read from their start.
    await this.consumer.subscribe({ topics: [o.topic], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.take(payload),
    });
    await joined;
  }

  /** The first offset of each partition for a group that has committed none; empty when it has some. */
  private async initialOffsets(admin: Admin): Promise<Map<number, string>> {
    const o = this.o;
    const committed = await admin.fetchOffsets({ groupId: o.groupId, topics: [o.topic] });
    const known = (committed[0]?.partitions ?? []).filter((p) => Number(p.offset) >= 0);
    for (const p of known) this.entry(p.partition).committed = BigInt(p.offset);
    // "If Kafka finds a valid existing consumer group with the same ID, Lambda ignores the StartingPosition."
    if (known.length > 0 || o.startingPosition === "TRIM_HORIZON") return new Map();
    const offsets =
      o.startingPosition === "AT_TIMESTAMP"
        ? (await admin.fetchTopicOffsetsByTimestamp(o.topic, o.startingPositionTimestamp!.getTime())).map((p) => [p.partition, p.offset] as const)
        : (await admin.fetchTopicOffsets(o.topic)).map((p) => [p.partition, p.high] as const);
    return new Map(offsets);
  }

  private async take({ batch, resolveOffset, heartbeat }: EachBatchPayload): Promise<void> {
    const e = this.entry(batch.partition);
    e.highWatermark = BigInt(batch.highWatermark);
    const fresh: RawKafkaMessage[] = [];
    for (const m of batch.messages) {
      const offset = BigInt(m.offset);
      // After a rebalance the group restarts from its committed offsets: what is already queued is not taken twice.
      if (e.next !== undefined && offset < e.next) continue;
      fresh.push({
        offset: m.offset,
        timestamp: m.timestamp,
        key: m.key,
        value: m.value,
        headers: m.headers as RawKafkaMessage["headers"],
        logAppendTime: ((m.attributes ?? 0) & 0x08) !== 0,
      });
      e.next = offset + 1n;
    }
    // kafkajs' "resolved" offset is its fetch position only (autoCommit is off): the committed one is ours.
    if (batch.messages.length > 0) resolveOffset(batch.lastOffset());
    if (fresh.length > 0) this.hooks.records(batch.partition, fresh);
    await heartbeat();
  }

  /** Stops fetching a partition whose records fill the queue; `resume` lets it go on. */
  pause(partition: number): void {
    if (this.paused.has(partition) || !this.consumer) return;
    this.paused.add(partition);
    this.consumer.pause([{ topic: this.o.topic, partitions: [partition] }]);
  }

  resumeAll(): void {
    if (this.paused.size === 0 || !this.consumer) return;
    this.consumer.resume([{ topic: this.o.topic, partitions: [...this.paused] }]);
    this.paused.clear();
  }

  /** Commits "processed up to here" per partition: `offset` is the next record to read (Kafka's convention). */
  async commit(offsets: ReadonlyMap<number, bigint>): Promise<void> {
    if (!this.consumer || offsets.size === 0) return;
    await this.consumer.commitOffsets([...offsets].map(([partition, offset]) => ({ topic: this.o.topic, partition, offset: offset.toString() })));
    for (const [partition, offset] of offsets) this.entry(partition).committed = offset;
  }

  /** Leaves the group (no commit) and closes every connection. */
  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch((error) => this.hooks.warning("leaving the consumer group failed", error));
    await this.admin?.disconnect().catch(() => {});
  }
}

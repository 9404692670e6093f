import { randomUUID } from "node:crypto";
import { IllegalStateError } from "../../lib/core/errors.js";
import { BatchPieces } from "./batch-pieces.js";
import { callHandler, type FunctionIdentity, payloadBatchLength } from "./invoke.js";
import { failureEnvelope } from "./on-failure.js";
import { readKafkaBatchResponse } from "./kafka-batch-response.js";
import { envelopeBytes, eventOf, toKafkaRecord, type BufferedKafkaRecord } from "./kafka-event.js";
import { resolveKafkaOptions, type KafkaEsmPollerOptions, type ResolvedKafkaOptions } from "./kafka-options.js";
import { KafkaReader } from "./kafka-reader.js";
import type { KafkaFailureRecord } from "./kafka-types.js";
import type { FailureCondition, PollerCounts } from "./types.js";
import { TypedEvents } from "./typed-events.js";
import { sleep, untilDone, Wakeup } from "./wait.js";

export interface KafkaPartitionStats {
  readonly partition: number;
  /** Offset after the last record committed to the consumer group (what a restart resumes from). */
  readonly committedOffset: string | undefined;
  /** Offset after the last record fetched. */
  readonly nextOffset: string | undefined;
  /** The partition's log end at its last fetch. */
  readonly highWatermark: string | undefined;
  /** Records fetched and not yet processed. */
  readonly bufferedRecords: number;
}

export interface KafkaEsmPollerStats extends PollerCounts {
  readonly topic: string;
  readonly consumerGroupId: string;
  readonly partitions: readonly KafkaPartitionStats[];
}

/** What the poller reports as it runs (subscribe with `poller.on(name, listener)`). */
export interface KafkaEsmPollerEvents {
  invoke: { requestId: string; batchSize: number; partitions: string[] };
  result: { requestId: string; batchSize: number; outcome: "success" | "partial" | "error" | "timeout"; durationMs: number; error?: unknown };
  /** Offsets committed to the consumer group after a batch was processed (delivered or discarded). */
  commit: { offsets: Record<string, string> };
  discard: { failure: KafkaFailureRecord };
  /** The partitions this poller consumes (after each group join: at start, and when partitions are added). */
  assigned: { partitions: number[] };
  warning: { message: string; error?: unknown };
}

/** Where this poller knowingly differs from Lambda's Kafka event source mapping; a CLI prints these at start-up. */
export const KAFKA_POLLER_LIMITATIONS: readonly string[] = [
  "Kafka: one consumer per mapping with one batch in flight (Lambda scales pollers up to one per partition): a failing batch holds up every partition of the topic, not only its own.",
  "Kafka: the poller assumes it is the consumer group's only member; a partition revoked by a rebalance may be delivered twice (at-least-once, as on AWS).",
  "Kafka: FilterCriteria, schema registries and Kafka on-failure destinations are not applied; retries wait retryDelayMs.",
  "Kafka: the on-failure record's KafkaBatchInfo is this poller's summary (topic-partitions, offset ranges), not a copy of AWS's.",
  "Kafka: partitions added to the topic are read from their first record.",
];

/**
 * A local stand-in for Lambda's Kafka event source mapping (self-managed Apache Kafka or Amazon MSK): joins the
 * mapping's consumer group, reads the topic, and invokes a handler with Lambda's event.
 *
 * - Batches hold up to BatchSize records and never an event over 6 MB; with a batching window (Lambda's default
 *   for Kafka is 500 ms) the poller waits that long after the first record for the batch to fill.
 * - Records of a partition reach the function in offset order; one batch may hold several partitions.
 * - A failed invocation is retried with the same batch until it succeeds (MaximumRetryAttempts -1, the default) or
 *   the retries / MaximumRecordAgeInSeconds run out; then the records go to `onFailure` and the poller moves on.
 * - Offsets are committed to the consumer group only after the batch was processed: a restart (or a crash)
 *   delivers again what was not committed, never skips it.
 *
 * @example
 * const poller = new KafkaEsmPoller({ brokers: ["127.0.0.1:9092"], topic: "words", consumerGroupId: uuid, handler });
 * await poller.start();
 * // ...
 * await poller.stop();
 */
export class KafkaEsmPoller extends TypedEvents<KafkaEsmPollerEvents> {
  readonly limitations: readonly string[] = KAFKA_POLLER_LIMITATIONS;
  private readonly opts: ResolvedKafkaOptions;
  private readonly abort = new AbortController();
  private readonly wakeup = new Wakeup(this.abort.signal);
  private readonly reader: KafkaReader;
  private readonly fn: FunctionIdentity;
  private readonly envelope: number;
  private queue: BufferedKafkaRecord[] = [];
  /** Batch lengths left by bisection (batch-pieces.ts). */
  private readonly pieces = new BatchPieces();
  private state: KafkaEsmPollerStats["state"] = "new";
  private gatherStartedAt = 0;
  private inFlight = 0;
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly counts = { recordsRead: 0, recordsDelivered: 0, recordsDiscarded: 0, invocations: 0, functionErrors: 0, timeouts: 0, partialFailures: 0 };

  constructor(options: KafkaEsmPollerOptions) {
    super();
    const o = (this.opts = resolveKafkaOptions(options));
    this.fn = {
      functionName: o.functionName,
      functionArn: `arn:aws:lambda:${o.region}:${o.account}:function:${o.functionName}`,
      memoryLimitInMB: o.memoryLimitInMB,
      timeoutMs: o.functionTimeoutMs,
      region: o.region,
    };
    this.envelope = envelopeBytes(o.bootstrapServers, o.eventSourceArn);
    this.reader = new KafkaReader(
      {
        brokers: o.brokers,
        topic: o.topic,
        groupId: o.consumerGroupId,
        startingPosition: o.startingPosition,
        ...(o.startingPositionTimestamp ? { startingPositionTimestamp: o.startingPositionTimestamp } : {}),
        metadataMaxAgeMs: o.partitionDiscoveryIntervalMs,
      },
      {
        records: (partition, messages) => {
          if (this.queue.length === 0) this.gatherStartedAt = Date.now();
          for (const m of messages) this.queue.push(toKafkaRecord(o.topic, partition, m));
          this.counts.recordsRead += messages.length;
          if (this.queue.length >= o.maxBufferedRecords) this.reader.pause(partition);
          this.wakeup.notify();
        },
        assigned: (partitions) => this.emit("assigned", { partitions: [...partitions] }),
        warning: (message, error) => this.emit("warning", { message, error }),
      },
    );
  }


  /** Joins the consumer group; resolves once the poller has its partitions (a record produced after this is delivered). */
  async start(): Promise<void> {
    if (this.state !== "new") throw new IllegalStateError("PollerAlreadyStarted", `the poller was already started (${this.state})`);
    this.state = "starting";
    try {
      await this.reader.start();
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.state = "running";
    this.loop = this.run();
  }

  /**
   * Stops fetching, lets the invocation in flight finish and its offsets be committed, then leaves the group.
   * Records fetched but not yet invoked stay uncommitted: the next start reads them again.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = "stopping";
      this.abort.abort();
      await this.loop;
      await this.reader.stop();
      this.state = "stopped";
    })();
    return this.stopping;
  }

  stats(): KafkaEsmPollerStats {
    const buffered = new Map<number, number>();
    for (const r of this.queue) buffered.set(r.record.partition, (buffered.get(r.record.partition) ?? 0) + 1);
    const partitions = [...this.reader.partitions.values()]
      .sort((a, b) => a.partition - b.partition)
      .map((p) => ({
        partition: p.partition,
        committedOffset: p.committed?.toString(),
        nextOffset: p.next?.toString(),
        highWatermark: p.highWatermark?.toString(),
        bufferedRecords: buffered.get(p.partition) ?? 0,
      }));
    return { state: this.state, topic: this.opts.topic, consumerGroupId: this.opts.consumerGroupId, ...this.counts, inFlight: this.inFlight, partitions };
  }

  // ---- batches ------------------------------------------------------------------------------------------

  private async run(): Promise<void> {
    const o = this.opts;
    let retries = 0;
    let invokes = 0;
    let lastFunctionError: string | undefined;
    while (!this.abort.signal.aborted) {
      if (this.queue.length === 0) {
        await this.wakeup.wait();
        continue;
      }
      const fixed = this.pieces.next;
      const n = payloadBatchLength(this.queue, o.batchSize, this.envelope, fixed);
      // Batching window: only while gathering a fresh batch (a retry or a bisected half goes at once), and only
      // while the batch is neither full (BatchSize) nor at the payload cap.
      if (fixed === undefined && retries === 0 && o.maximumBatchingWindowMs > 0) {
        const full = n === o.batchSize || n < this.queue.length;
        const waited = Date.now() - this.gatherStartedAt;
        if (!full && waited < o.maximumBatchingWindowMs) {
          await this.wakeup.wait(o.maximumBatchingWindowMs - waited);
          continue;
        }
      }
      const batch = this.queue.slice(0, n);
      // MaximumRecordAge: records older than it are discarded before they reach the function.
      if (o.maximumRecordAgeSeconds >= 0) {
        const now = o.now();
        const expired = batch.filter((r) => now - r.record.timestamp > o.maximumRecordAgeSeconds * 1000);
        if (expired.length > 0) {
          if (expired.length === batch.length) {
            await this.discard(batch, "RecordAgeExceeded", invokes, lastFunctionError);
            retries = invokes = 0;
            lastFunctionError = undefined;
            continue;
          }
          await this.report(expired, "RecordAgeExceeded", invokes, lastFunctionError);
          if (this.abort.signal.aborted) break;
          batch.splice(0, batch.length, ...batch.filter((r) => !expired.includes(r)));
          this.counts.recordsDiscarded += expired.length;
          this.queue = this.queue.filter((r) => !expired.includes(r));
          this.pieces.processed(expired.length);
          await this.commitThrough(expired, false);
        }
      }
      const requestId = randomUUID();
      this.inFlight = 1;
      invokes++;
      this.counts.invocations++;
      this.emit("invoke", { requestId, batchSize: batch.length, partitions: [...new Set(batch.map((r) => `${r.record.topic}-${r.record.partition}`))] });
      const began = Date.now();
      const call = await callHandler(o.handler, eventOf(batch, o.bootstrapServers, o.eventSourceArn), this.fn, requestId);
      this.inFlight = 0;
      const durationMs = Date.now() - began;
      const read = call.kind === "success" && o.reportBatchItemFailures ? readKafkaBatchResponse(call.response, batch) : undefined;
      const outcome =
        read?.kind === "invalid" ? { kind: "error" as const, error: new Error(`invalid partial batch response: ${read.reason}`), timedOut: false, functionError: undefined } : call;
      if (outcome.kind === "success" && read?.kind === "partial") {
        // The records before each reported offset (and every other partition) succeeded; the rest comes again.
        // A partial failure counts as a retry, as for Kinesis; with bisection on, the retried batch is exactly
        // the rest of this one.
        this.counts.partialFailures++;
        this.emit("result", { requestId, batchSize: batch.length, outcome: "partial", durationMs });
        const done = batch.filter((r) => !read.retry.has(r));
        const rest = batch.filter((r) => read.retry.has(r));
        this.counts.recordsDelivered += done.length;
        this.queue = [...rest, ...this.queue.slice(batch.length)];
        this.pieces.retryRest(rest.length, o.bisectBatchOnFunctionError);
        if (done.length > 0) await this.commitThrough(done, true);
        retries++;
        invokes = done.length > 0 ? 1 : invokes;
        lastFunctionError = undefined;
        if (o.maximumRetryAttempts >= 0 && retries > o.maximumRetryAttempts) {
          await this.discard(rest, "RetryAttemptsExhausted", invokes, undefined);
          retries = invokes = 0;
        } else await sleep(o.retryDelayMs, this.abort.signal);
        continue;
      }
      if (outcome.kind === "success") {
        this.emit("result", { requestId, batchSize: batch.length, outcome: "success", durationMs });
        this.counts.recordsDelivered += batch.length;
        await this.complete(batch);
        retries = invokes = 0;
        lastFunctionError = undefined;
        continue;
      }
      this.counts.functionErrors++;
      if (outcome.timedOut) this.counts.timeouts++;
      this.emit("result", { requestId, batchSize: batch.length, outcome: outcome.timedOut ? "timeout" : "error", durationMs, error: outcome.error });
      lastFunctionError = outcome.functionError;
      // BisectBatchOnFunctionError: split in two, each half retried at once as its own batch; not a retry.
      if (o.bisectBatchOnFunctionError && this.pieces.split(batch.length)) continue;
      retries++;
      if (o.maximumRetryAttempts >= 0 && retries > o.maximumRetryAttempts) {
        await this.discard(batch, "RetryAttemptsExhausted", invokes, lastFunctionError);
        retries = invokes = 0;
        lastFunctionError = undefined;
        continue;
      }
      // Lambda retries the same batch ("retries the whole batch of messages until processing succeeds").
      await sleep(o.retryDelayMs, this.abort.signal);
    }
  }

  /** The batch (the head of the queue) was processed, delivered or discarded: drop it from the queue, then commit. */
  private async complete(batch: readonly BufferedKafkaRecord[]): Promise<void> {
    this.queue.splice(0, batch.length);
    this.pieces.processed(batch.length);
    if (this.queue.length > 0) this.gatherStartedAt = Date.now();
    await this.commitThrough(batch, true);
  }

  /**
   * Commits, per partition of `records`, the offset after its last record — unless an earlier record of that
   * partition is still queued (only possible when expired records were taken out of a batch first).
   */
  private async commitThrough(records: readonly BufferedKafkaRecord[], resume: boolean): Promise<void> {
    const offsets = new Map<number, bigint>();
    for (const { record } of records) {
      const next = BigInt(record.offset) + 1n;
      if ((offsets.get(record.partition) ?? -1n) < next) offsets.set(record.partition, next);
    }
    for (const { record } of this.queue) {
      const pending = BigInt(record.offset);
      const at = offsets.get(record.partition);
      if (at !== undefined && pending < at) offsets.set(record.partition, pending);
    }
    for (;;) {
      try {
        await this.reader.commit(offsets);
        this.emit("commit", { offsets: Object.fromEntries([...offsets].map(([p, off]) => [`${this.opts.topic}-${p}`, off.toString()])) });
        break;
      } catch (error) {
        // The records were processed; a lost commit only means they may come again after a restart. Try again
        // while running, as Lambda's poller would, so the group's offsets do not lag behind.
        this.emit("warning", { message: "committing offsets failed, retrying", error });
        await sleep(this.opts.retryDelayMs, this.abort.signal);
        if (this.abort.signal.aborted) break;
      }
    }
    if (resume && this.queue.length < this.opts.maxBufferedRecords / 2) this.reader.resumeAll();
  }

  /** Discards `batch` (the head of the queue): on-failure record first, then its offsets are committed. */
  private async discard(batch: readonly BufferedKafkaRecord[], condition: FailureCondition, invokes: number, functionError: string | undefined): Promise<void> {
    await this.report(batch, condition, invokes, functionError);
    if (this.abort.signal.aborted) return;
    this.counts.recordsDiscarded += batch.length;
    await this.complete(batch);
  }

  private async report(records: readonly BufferedKafkaRecord[], condition: FailureCondition, invokes: number, functionError: string | undefined): Promise<void> {
    const recordsInfo: KafkaFailureRecord["KafkaBatchInfo"]["recordsInfo"] = {};
    for (const { record } of records) {
      const key = `${record.topic}-${record.partition}`;
      const at = new Date(record.timestamp).toISOString();
      const info = recordsInfo[key];
      if (!info) recordsInfo[key] = { firstRecordOffset: String(record.offset), lastRecordOffset: String(record.offset), firstRecordTimestamp: at, lastRecordTimestamp: at };
      else Object.assign(info, { lastRecordOffset: String(record.offset), lastRecordTimestamp: at });
    }
    const failure: KafkaFailureRecord = {
      ...failureEnvelope(this.fn.functionArn, condition, invokes, functionError, eventOf(records, this.opts.bootstrapServers, this.opts.eventSourceArn)),
      KafkaBatchInfo: { batchSize: records.length, bootstrapServers: this.opts.bootstrapServers, consumerGroupId: this.opts.consumerGroupId, recordsInfo },
    };
    const onFailure = this.opts.onFailure;
    // The destination must have the record before the offsets move past it: retry until it takes it.
    const warn = (error: unknown) => this.emit("warning", { message: "on-failure destination failed, retrying", error });
    if (onFailure && !(await untilDone(() => onFailure(failure), warn, this.opts.retryDelayMs, this.abort.signal))) return;
    this.emit("discard", { failure });
  }
}

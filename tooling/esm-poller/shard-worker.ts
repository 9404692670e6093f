import { createHash, randomUUID } from "node:crypto";
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type GetRecordsCommandOutput,
} from "@aws-sdk/client-kinesis";
import { classifyKinesisError } from "../../lib/io/kinesis/backoff.js";
import { iteratorParams } from "../../lib/io/kinesis/iterators.js";
import { BatchPieces } from "./batch-pieces.js";
import { failureEnvelope } from "./on-failure.js";
import type { ShardCheckpoint } from "./checkpoint-store.js";
import {
  batchLength,
  eventOf,
  invokeHandler,
  toBufferedRecord,
  type BufferedRecord,
  type EventSource,
  type FunctionIdentity,
  type InvokeOutcome,
} from "./invoke.js";
import type { ResolvedOptions } from "./options.js";
import type { FailureCondition, KinesisFailureRecord } from "./types.js";
import { sleep, untilDone, Wakeup } from "./wait.js";

/** Where a shard without a checkpoint begins. */
export type InitialPosition =
  | { readonly type: "TRIM_HORIZON" }
  | { readonly type: "LATEST" }
  | { readonly type: "AT_TIMESTAMP"; readonly timestamp: Date };

/** What the worker tells the poller (stats, events). */
export interface ShardWorkerHooks {
  invoked(e: { shardId: string; requestId: string; batch: readonly BufferedRecord[] }): void;
  result(e: { shardId: string; requestId: string; batchSize: number; outcome: InvokeOutcome; durationMs: number }): void;
  read(e: { shardId: string; records: number; millisBehindLatest: number | undefined }): void;
  discarded(e: { shardId: string; failure: KinesisFailureRecord; records: number }): void;
  processed(e: { shardId: string; records: number }): void;
  warning(e: { shardId: string; message: string; error?: unknown }): void;
}

export interface ShardWorkerSnapshot {
  readonly bufferedRecords: number;
  readonly inFlight: number;
  readonly millisBehindLatest: number | undefined;
  /** Age of the newest record of the last invoked batch when it was invoked (Lambda's IteratorAge metric). */
  readonly iteratorAgeMs: number | undefined;
  readonly checkpoint: string | undefined;
  readonly readerDone: boolean;
}

/**
 * One partition-key bucket of a shard: its own queue and at most one batch in flight. With
 * ParallelizationFactor 1 a shard has one bucket, i.e. one batch at a time per shard, in order.
 */
interface Bucket {
  readonly index: number;
  readonly queue: BufferedRecord[];
  /** Batch lengths left by bisection (batch-pieces.ts). */
  readonly pieces: BatchPieces;
  /** Failed invocations (not counting bisections) of the batch at the head of the queue. */
  retries: number;
  /** Invocations that carried the head record: `approximateInvokeCount` of an on-failure record. */
  headInvocations: number;
  lastFunctionError: string | undefined;
  /** When the current gathering (batching window) began. */
  gatherStartedAt: number;
  readonly wakeup: Wakeup;
  inFlight: boolean;
}

/**
 * Reads one shard and runs its batches through the handler with Lambda's semantics. Lives until the shard is
 * drained (closed and every record processed: resolves `true`) or the poller stops (resolves `false`).
 */
export class ShardWorker {
  private readonly buckets: Bucket[];
  /** Sequence numbers read and not yet covered by the checkpoint, ascending. */
  private ledger: bigint[] = [];
  private ledgerHead = 0;
  private checkpoint: bigint | undefined;
  private savedCheckpoint: string | undefined;
  private saving: Promise<void> = Promise.resolve();
  private readerDone = false;
  private lastRead: string | undefined;
  private millisBehindLatest: number | undefined;
  private iteratorAgeMs: number | undefined;
  private readonly readerWakeup: Wakeup;
  /** Child shards named by the GetRecords call that reached SHARD_END. */
  childShardIds: string[] = [];

  constructor(
    readonly shardId: string,
    private readonly opts: ResolvedOptions,
    private readonly source: EventSource,
    private readonly fn: FunctionIdentity,
    private readonly start: ShardCheckpoint | undefined,
    private readonly initial: InitialPosition,
    private readonly signal: AbortSignal,
    private readonly hooks: ShardWorkerHooks,
  ) {
    this.readerWakeup = new Wakeup(signal);
    this.buckets = Array.from({ length: opts.parallelizationFactor }, (_, index) => ({
      index,
      queue: [],
      pieces: new BatchPieces(),
      retries: 0,
      headInvocations: 0,
      lastFunctionError: undefined,
      gatherStartedAt: 0,
      wakeup: new Wakeup(signal),
      inFlight: false,
    }));
    this.savedCheckpoint = start?.sequenceNumber;
    if (start?.sequenceNumber) this.checkpoint = BigInt(start.sequenceNumber);
  }

  snapshot(): ShardWorkerSnapshot {
    return {
      bufferedRecords: this.buffered(),
      inFlight: this.buckets.filter((b) => b.inFlight).length,
      millisBehindLatest: this.millisBehindLatest,
      iteratorAgeMs: this.iteratorAgeMs,
      checkpoint: this.savedCheckpoint,
      readerDone: this.readerDone,
    };
  }

  /** Gets the first iterator (so that LATEST means "from when start() ran"), then returns the running loops. */
  async open(): Promise<() => Promise<boolean>> {
    const iterator = await this.firstIterator();
    return async () => {
      await Promise.all([this.runReader(iterator), ...this.buckets.map((b) => this.runBucket(b))]);
      if (this.signal.aborted || !this.readerDone || this.buffered() > 0) {
        await this.saving;
        return false;
      }
      // Drained: every record of the closed shard was processed. Children may start now.
      await this.persist({ sequenceNumber: this.savedCheckpoint, shardEnd: true });
      return true;
    };
  }

  private buffered(): number {
    return this.buckets.reduce((n, b) => n + b.queue.length, 0);
  }

  // ---- reading ------------------------------------------------------------------------------------------

  private async firstIterator(): Promise<string | undefined> {
    if (this.start?.sequenceNumber) return this.iterator(iteratorParams({ at: "AFTER_SEQUENCE_NUMBER", sequenceNumber: this.start.sequenceNumber }));
    const initial = this.initial;
    return this.iterator(iteratorParams(initial.type === "AT_TIMESTAMP" ? { at: "AT_TIMESTAMP", timestamp: initial.timestamp.getTime() } : { at: initial.type }));
  }

  private async iterator(input: Omit<GetShardIteratorCommandInput, "StreamName" | "ShardId">): Promise<string | undefined> {
    for (;;) {
      try {
        const res = await this.opts.kinesis.send(
          new GetShardIteratorCommand({ StreamName: this.opts.streamName, ShardId: this.shardId, ...input }),
          { abortSignal: this.signal },
        );
        return res.ShardIterator;
      } catch (error) {
        if (this.signal.aborted) return undefined;
        this.hooks.warning({ shardId: this.shardId, message: `GetShardIterator failed, retrying`, error });
        await sleep(this.opts.pollIntervalMs, this.signal);
      }
    }
  }

  private async runReader(first: string | undefined): Promise<void> {
    let iterator = first;
    const limit = this.opts.maxBufferedRecordsPerShard;
    while (!this.signal.aborted && iterator) {
      const room = limit - this.buffered();
      if (room <= 0) {
        await this.readerWakeup.wait(); // buckets notify when they take records
        continue;
      }
      let res: GetRecordsCommandOutput;
      try {
        res = await this.opts.kinesis.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: Math.min(10_000, room) }),
          { abortSignal: this.signal },
        );
      } catch (error) {
        if (this.signal.aborted) return;
        if (classifyKinesisError(error) === "expired-iterator") {
          // Iterators live 5 minutes; one that waited out back-pressure that long is renewed where we were.
          iterator = this.lastRead
            ? await this.iterator(iteratorParams({ at: "AFTER_SEQUENCE_NUMBER", sequenceNumber: this.lastRead }))
            : await this.firstIterator();
          continue;
        }
        // Throttling (ProvisionedThroughputExceededException) and passing faults: back off and read again.
        this.hooks.warning({ shardId: this.shardId, message: "GetRecords failed, retrying", error });
        await sleep(this.opts.pollIntervalMs, this.signal);
        continue;
      }
      const records = res.Records ?? [];
      this.millisBehindLatest = res.MillisBehindLatest;
      for (const r of records) this.push(toBufferedRecord(r, this.shardId, this.source));
      if (records.length > 0) this.lastRead = records.at(-1)!.SequenceNumber;
      this.hooks.read({ shardId: this.shardId, records: records.length, millisBehindLatest: res.MillisBehindLatest });
      if (!res.NextShardIterator) {
        // SHARD_END: the shard is closed and everything in it has been read. kinesis-mock can return the last
        // records and the end in one response (records were pushed above). Its children are in ChildShards.
        this.childShardIds = (res.ChildShards ?? []).map((c) => c.ShardId!).filter(Boolean);
        break;
      }
      iterator = res.NextShardIterator;
      // Lambda keeps reading while a shard has records and polls about once a second when it has none.
      if (records.length === 0) await sleep(this.opts.pollIntervalMs, this.signal);
    }
    if (!this.signal.aborted) this.readerDone = true;
    for (const b of this.buckets) b.wakeup.notify();
  }

  private push(record: BufferedRecord): void {
    const b = this.buckets[this.bucketOf(record.event.kinesis.partitionKey)]!;
    if (b.queue.length === 0) b.gatherStartedAt = Date.now();
    b.queue.push(record);
    this.ledger.push(record.seq);
    b.wakeup.notify();
  }

  /**
   * With ParallelizationFactor > 1 Lambda spreads a shard's records over concurrent batches by partition key, so
   * records of one key stay in order. The key → bucket map is MD5 (what Kinesis hashes keys with) modulo the factor.
   */
  private bucketOf(partitionKey: string): number {
    if (this.buckets.length === 1) return 0;
    return createHash("md5").update(partitionKey).digest().readUInt32BE(0) % this.buckets.length;
  }

  // ---- processing ---------------------------------------------------------------------------------------

  private async runBucket(b: Bucket): Promise<void> {
    const o = this.opts;
    while (!this.signal.aborted) {
      if (b.queue.length === 0) {
        if (this.readerDone) return;
        await b.wakeup.wait();
        continue;
      }
      const fixed = b.pieces.next !== undefined;
      let n = batchLength(b.queue, o.batchSize, b.pieces.next);
      // Batching window: only while gathering a fresh batch (a retry or a bisected half goes at once), and only
      // while more records can come and the batch is neither full (BatchSize) nor at the payload cap.
      if (!fixed && b.retries === 0 && o.maximumBatchingWindowMs > 0 && !this.readerDone) {
        const full = n === o.batchSize || n < b.queue.length; // n < queue: stopped by the 6 MB cap
        const waited = Date.now() - b.gatherStartedAt;
        if (!full && waited < o.maximumBatchingWindowMs) {
          await b.wakeup.wait(o.maximumBatchingWindowMs - waited);
          continue;
        }
      }
      // MaximumRecordAge: records older than it are discarded before they reach the function (they are the
      // oldest, so a prefix of the batch), and reported to the on-failure destination as RecordAgeExceeded.
      if (o.maximumRecordAgeSeconds >= 0) {
        const now = o.now();
        let expired = 0;
        while (expired < n && now - b.queue[expired]!.arrivalMs > o.maximumRecordAgeSeconds * 1000) expired++;
        if (expired > 0) {
          await this.discard(b, expired, "RecordAgeExceeded");
          continue;
        }
      }
      const batch = b.queue.slice(0, n);
      const requestId = randomUUID();
      b.inFlight = true;
      b.headInvocations++;
      this.iteratorAgeMs = Date.now() - batch.at(-1)!.arrivalMs;
      this.hooks.invoked({ shardId: this.shardId, requestId, batch });
      const began = Date.now();
      const outcome = await invokeHandler(o.handler, batch, this.fn, o.reportBatchItemFailures, requestId);
      b.inFlight = false;
      this.hooks.result({ shardId: this.shardId, requestId, batchSize: n, outcome, durationMs: Date.now() - began });
      await this.apply(b, n, outcome);
    }
  }

  private async apply(b: Bucket, n: number, outcome: InvokeOutcome): Promise<void> {
    const o = this.opts;
    const exhausted = () => o.maximumRetryAttempts >= 0 && b.retries > o.maximumRetryAttempts;
    switch (outcome.kind) {
      case "success":
        await this.complete(b, n);
        return;
      case "partial": {
        // Records before the lowest reported one succeeded; the checkpoint moves just before it and the rest
        // comes again. A partial failure is a failed attempt for MaximumRetryAttempts. With bisection on, AWS
        // "bisects at the returned sequence number": the retried batch is exactly the rest of this one; without
        // it, the poller reads on from the checkpoint and forms a normal batch from the failed record.
        const done = outcome.failedIndex;
        if (done > 0) await this.complete(b, done, { keepPiece: true });
        b.retries++;
        if (done > 0) b.headInvocations = 1; // the new head was in this one invocation only
        b.lastFunctionError = undefined;
        b.pieces.retryRest(n - done, o.bisectBatchOnFunctionError);
        if (exhausted()) await this.discard(b, n - done, "RetryAttemptsExhausted");
        else await sleep(o.retryDelayMs, this.signal);
        return;
      }
      case "error": {
        b.lastFunctionError = outcome.functionError;
        this.hooks.warning({
          shardId: this.shardId,
          message: outcome.timedOut ? "function timed out" : "function error",
          error: outcome.error,
        });
        // Split in two and retry each half on its own; the halves keep the retry count they had.
        if (o.bisectBatchOnFunctionError && b.pieces.split(n)) return;
        b.retries++;
        if (exhausted()) await this.discard(b, n, "RetryAttemptsExhausted");
        else await sleep(o.retryDelayMs, this.signal);
        return;
      }
    }
  }

  /** Discards the first `count` records of the bucket: on-failure record first, then the checkpoint moves on. */
  private async discard(b: Bucket, count: number, condition: FailureCondition): Promise<void> {
    const records = b.queue.slice(0, count);
    const first = records[0]!;
    const last = records.at(-1)!;
    const failure: KinesisFailureRecord = {
      ...failureEnvelope(this.fn.functionArn, condition, b.headInvocations, b.lastFunctionError, eventOf(records)),
      KinesisBatchInfo: {
        shardId: this.shardId,
        startSequenceNumber: first.event.kinesis.sequenceNumber,
        endSequenceNumber: last.event.kinesis.sequenceNumber,
        approximateArrivalOfFirstRecord: new Date(first.arrivalMs).toISOString(),
        approximateArrivalOfLastRecord: new Date(last.arrivalMs).toISOString(),
        batchSize: count,
        streamArn: this.source.streamArn,
      },
    };
    const onFailure = this.opts.onFailure;
    // The records are gone from the function's view once discarded, so the destination must have the record
    // first: retry the destination until it takes it (or we stop, leaving the records unprocessed).
    const warn = (error: unknown) => this.hooks.warning({ shardId: this.shardId, message: "on-failure destination failed, retrying", error });
    if (onFailure && !(await untilDone(() => onFailure(failure), warn, this.opts.retryDelayMs, this.signal))) return;
    this.hooks.discarded({ shardId: this.shardId, failure, records: count });
    await this.complete(b, count, { discarded: true });
  }

  /** The first `count` records of the bucket are processed (delivered or discarded): drop them, checkpoint. */
  private async complete(b: Bucket, count: number, how: { keepPiece?: boolean; discarded?: boolean } = {}): Promise<void> {
    b.queue.splice(0, count);
    if (!how.keepPiece) {
      b.pieces.processed(count);
      b.retries = 0;
      b.headInvocations = 0;
      b.lastFunctionError = undefined;
    }
    if (b.queue.length > 0) b.gatherStartedAt = Date.now();
    if (!how.discarded) this.hooks.processed({ shardId: this.shardId, records: count });
    this.readerWakeup.notify();
    await this.advanceCheckpoint();
  }

  /**
   * The checkpoint is the highest sequence number below which every record read is processed. With one bucket it
   * is the last record of the last processed batch; with several (ParallelizationFactor > 1) it stops before the
   * oldest record still waiting in any bucket, so a restart may deliver again what other buckets had done —
   * at-least-once, as on AWS.
   */
  private async advanceCheckpoint(): Promise<void> {
    let lowestPending: bigint | undefined;
    for (const b of this.buckets) {
      const head = b.queue[0]?.seq;
      if (head !== undefined && (lowestPending === undefined || head < lowestPending)) lowestPending = head;
    }
    let moved = false;
    while (this.ledgerHead < this.ledger.length) {
      const seq = this.ledger[this.ledgerHead]!;
      if (lowestPending !== undefined && seq >= lowestPending) break;
      this.checkpoint = seq;
      this.ledgerHead++;
      moved = true;
    }
    if (this.ledgerHead > 4096 && this.ledgerHead * 2 > this.ledger.length) {
      this.ledger = this.ledger.slice(this.ledgerHead);
      this.ledgerHead = 0;
    }
    if (moved && this.checkpoint !== undefined) await this.persist({ sequenceNumber: this.checkpoint.toString() });
  }

  private persist(checkpoint: ShardCheckpoint): Promise<void> {
    const next = this.saving.then(async () => {
      // Writes are serialised per shard; with several buckets the later call always carries the higher number.
      await this.opts.checkpointStore.save(this.shardId, checkpoint);
      this.savedCheckpoint = checkpoint.sequenceNumber;
    });
    this.saving = next.catch((error) => {
      this.hooks.warning({ shardId: this.shardId, message: "checkpoint write failed", error });
    });
    return this.saving;
  }
}

import { DescribeStreamSummaryCommand } from "@aws-sdk/client-kinesis";
import { IllegalStateError } from "../../lib/core/errors.js";
import { listShards } from "../../lib/io/kinesis/shards.js";
import { parentsDrained, parentsOf } from "../../lib/io/ordered-log.js";
import type { ShardCheckpoint } from "./checkpoint-store.js";
import type { EventSource, FunctionIdentity } from "./invoke.js";
import { resolveOptions, type EsmPollerOptions, type ResolvedOptions } from "./options.js";
import { ShardWorker, type InitialPosition, type ShardWorkerHooks } from "./shard-worker.js";
import type { KinesisFailureRecord, PollerCounts } from "./types.js";
import { TypedEvents } from "./typed-events.js";
import { sleep } from "./wait.js";

export type ShardState =
  /** Known, not read yet: a parent shard is still being drained. */
  | "waiting-for-parents"
  | "reading"
  /** Closed and every record processed (SHARD_END reached); its children may run. */
  | "drained"
  /** Closed before a LATEST start: nothing in it is newer than the start, so it is never read. */
  | "skipped"
  /** Stopped by an unexpected error (reported as a warning). */
  | "failed";

export interface ShardStats {
  readonly shardId: string;
  readonly parentShardIds: readonly string[];
  readonly state: ShardState;
  readonly bufferedRecords: number;
  readonly inFlight: number;
  /** From the last GetRecords: how far the reader is behind the tip of the shard. */
  readonly millisBehindLatest: number | undefined;
  /** Age of the newest record of the last invoked batch (Lambda's IteratorAge metric). */
  readonly iteratorAgeMs: number | undefined;
  /** Last sequence number processed and saved. */
  readonly checkpoint: string | undefined;
}

export interface EsmPollerStats extends PollerCounts {
  readonly shards: readonly ShardStats[];
}

/** What a poller reports as it runs (subscribe with `poller.on(name, listener)`). */
export interface EsmPollerEvents {
  invoke: { shardId: string; requestId: string; batchSize: number; firstSequenceNumber: string; lastSequenceNumber: string };
  result: {
    shardId: string;
    requestId: string;
    batchSize: number;
    outcome: "success" | "partial" | "error" | "timeout";
    durationMs: number;
    error?: unknown;
  };
  discard: { shardId: string; failure: KinesisFailureRecord };
  shard: { shardId: string; state: ShardState };
  /** Something went wrong outside the function (a read failed, the destination refused, ...): retried. */
  warning: { shardId?: string; message: string; error?: unknown };
}

/** Where this poller knowingly differs from Lambda's event source mapping; a CLI prints these at start-up. */
export const ESM_POLLER_LIMITATIONS: readonly string[] = [
  "The function runs in this process: a timed-out invocation is failed and retried, but the handler's promise is abandoned, not stopped (Lambda ends the sandbox), so its side effects may still happen.",
  "No concurrency limits or throttling: every shard (times ParallelizationFactor) always has an invocation slot.",
  "Retries wait retryDelayMs (default: the poll interval); Lambda's back-off between retries is its own.",
  "Polling only (no enhanced fan-out consumer); idle shards are read every pollIntervalMs.",
  "No FilterCriteria, TumblingWindowInSeconds, MetricsConfig or ScalingConfig.",
  "On-failure records are handed to a callback (the caller writes them to S3); object keys are the caller's choice.",
  "Checkpoints live in the poller's checkpoint store (memory or a file), not in Lambda's service state.",
  "MaximumRecordAge is measured against this machine's clock and the emulator's arrival timestamps.",
  "AT_TIMESTAMP later than now is read from now (kinesis-mock refuses future timestamps).",
];

interface ShardEntry {
  readonly shardId: string;
  readonly parents: readonly string[];
  readonly initial: InitialPosition;
  state: ShardState;
  worker?: ShardWorker;
  run?: Promise<void>;
}

/**
 * A local stand-in for Lambda's Kinesis event source mapping: reads every shard of a stream and invokes a handler
 * in this process with Lambda's event, batching, retry, bisection, partial-batch, record-age, parallelization and
 * resharding semantics.
 *
 * - One batch in flight per shard (per partition-key bucket with ParallelizationFactor > 1); shards run in
 *   parallel, so a failing batch holds up only its own shard.
 * - A child shard is read only once all its parents are drained (GetRecords returned no NextShardIterator and
 *   every record was processed): a key's records stay in order across a split or merge.
 * - A shard's position is saved after every processed batch; a restarted poller with the same checkpoint store
 *   resumes after it.
 *
 * @example
 * const poller = new EsmPoller({
 *   kinesis: kinesisClient({ endpoint }),
 *   streamName: "events",
 *   handler,                       // the bundled Lambda asset's export
 *   batchSize: 100,
 *   bisectBatchOnFunctionError: true,
 *   maximumRetryAttempts: 3,
 *   reportBatchItemFailures: true,
 *   onFailure: (failure) => writeToS3(failure),
 * });
 * for (const line of poller.limitations) console.warn(line);
 * await poller.start();
 * // ...
 * await poller.stop();
 */
export class EsmPoller extends TypedEvents<EsmPollerEvents> {
  /** Where this poller differs from AWS; print them at start-up. */
  readonly limitations: readonly string[] = ESM_POLLER_LIMITATIONS;
  private readonly opts: ResolvedOptions;
  private readonly abort = new AbortController();
  private readonly shards = new Map<string, ShardEntry>();
  private state: EsmPollerStats["state"] = "new";
  private checkpoints: ReadonlyMap<string, ShardCheckpoint> = new Map();
  private source: EventSource | undefined;
  private fn: FunctionIdentity | undefined;
  private syncing: Promise<void> = Promise.resolve();
  private discovery: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly counts = {
    recordsRead: 0,
    recordsDelivered: 0,
    recordsDiscarded: 0,
    invocations: 0,
    functionErrors: 0,
    timeouts: 0,
    partialFailures: 0,
  };

  constructor(options: EsmPollerOptions) {
    super();
    this.opts = resolveOptions(options);
  }


  /**
   * Finds the stream and its shards, loads the checkpoints, and starts reading every shard that may be read now.
   * Resolves once those shards have their first iterator: with LATEST, a record put after `start()` resolved is
   * delivered.
   */
  async start(): Promise<void> {
    if (this.state !== "new") throw new IllegalStateError("PollerAlreadyStarted", `the poller was already started (${this.state})`);
    this.state = "starting";
    try {
      const summary = await this.opts.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: this.opts.streamName }), {
        abortSignal: this.abort.signal,
      });
      const streamArn = summary.StreamDescriptionSummary!.StreamARN!;
      const [, , , arnRegion, account] = streamArn.split(":");
      const region = this.opts.region ?? arnRegion ?? "us-east-1";
      this.source = {
        streamArn,
        region,
        roleArn: this.opts.roleArn ?? `arn:aws:iam::${account}:role/${this.opts.functionName}-role`,
      };
      this.fn = {
        functionName: this.opts.functionName,
        functionArn: `arn:aws:lambda:${region}:${account}:function:${this.opts.functionName}`,
        memoryLimitInMB: this.opts.memoryLimitInMB,
        timeoutMs: this.opts.functionTimeoutMs,
        region,
      };
      this.checkpoints = await this.opts.checkpointStore.load();
      await this.syncShards(true);
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.state = "running";
    this.discovery = (async () => {
      while (!this.abort.signal.aborted) {
        await sleep(this.opts.shardDiscoveryIntervalMs, this.abort.signal);
        if (!this.abort.signal.aborted) await this.requestSync();
      }
    })();
  }

  /**
   * Stops reading, lets every invocation in flight finish (at most the function timeout) and its checkpoint be
   * saved, and resolves when nothing of the poller is left running (no timers, no requests). Records read but not
   * yet invoked stay unprocessed: a restart with the same checkpoint store reads them again.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = "stopping";
      this.abort.abort();
      await this.discovery;
      await this.syncing;
      await Promise.all([...this.shards.values()].map((s) => s.run));
      this.state = "stopped";
    })();
    return this.stopping;
  }

  stats(): EsmPollerStats {
    const shards = [...this.shards.values()].map((s): ShardStats => {
      const snap = s.worker?.snapshot();
      return {
        shardId: s.shardId,
        parentShardIds: s.parents,
        state: s.state,
        bufferedRecords: snap?.bufferedRecords ?? 0,
        inFlight: snap?.inFlight ?? 0,
        millisBehindLatest: snap?.millisBehindLatest,
        iteratorAgeMs: snap?.iteratorAgeMs,
        checkpoint: snap?.checkpoint ?? this.checkpoints.get(s.shardId)?.sequenceNumber,
      };
    });
    return {
      state: this.state,
      ...this.counts,
      inFlight: shards.reduce((n, s) => n + s.inFlight, 0),
      shards,
    };
  }

  // ---- shards ---------------------------------------------------------------------------------------------

  /** Runs a shard listing after the ones already asked for (never two at once). */
  private requestSync(): Promise<void> {
    this.syncing = this.syncing.then(async () => {
      if (this.abort.signal.aborted) return;
      try {
        await this.syncShards(false);
      } catch (error) {
        if (!this.abort.signal.aborted) this.emit("warning", { message: "ListShards failed; will list again", error });
      }
    });
    return this.syncing;
  }

  /**
   * Registers shards not seen before and starts those whose parents are done. On the first listing the mapping's
   * StartingPosition applies; a shard that appears later (a child of a split or merge, a scale-up) is new data and
   * is read from its start (TRIM_HORIZON; AT_TIMESTAMP keeps its timestamp).
   */
  private async syncShards(initial: boolean): Promise<void> {
    const listed = await listShards(this.opts.kinesis, this.opts.streamName, this.abort.signal);
    const position = this.opts.startingPosition;
    for (const shard of listed) {
      const shardId = shard.shardId;
      if (this.shards.has(shardId)) continue;
      const parents = parentsOf(shard);
      const checkpoint = this.checkpoints.get(shardId);
      const closed = shard.closed;
      const initialPosition: InitialPosition =
        position === "AT_TIMESTAMP"
          ? { type: "AT_TIMESTAMP", timestamp: this.opts.startingPositionTimestamp! }
          : initial && position === "LATEST"
            ? { type: "LATEST" }
            : { type: "TRIM_HORIZON" };
      let state: ShardState = "waiting-for-parents";
      if (checkpoint?.shardEnd) state = "drained";
      else if (initial && position === "LATEST" && closed && !checkpoint) state = "skipped";
      this.shards.set(shardId, { shardId, parents, initial: initialPosition, state });
      if (state !== "waiting-for-parents") this.emit("shard", { shardId, state });
    }
    await this.startEligible();
  }

  /** Starts every waiting shard whose parents are all drained (or skipped, or gone past retention). */
  private async startEligible(): Promise<void> {
    const done = (id: string) => {
      const s = this.shards.get(id);
      return s && (s.state === "drained" || s.state === "skipped");
    };
    const ready = [...this.shards.values()].filter((s) => s.state === "waiting-for-parents" && parentsDrained(s.parents, done));
    await Promise.all(ready.map((s) => this.startShard(s)));
  }

  private async startShard(entry: ShardEntry): Promise<void> {
    if (this.abort.signal.aborted) return;
    const worker = new ShardWorker(
      entry.shardId,
      this.opts,
      this.source!,
      this.fn!,
      this.checkpoints.get(entry.shardId),
      entry.initial,
      this.abort.signal,
      this.hooks(),
    );
    entry.worker = worker;
    entry.state = "reading";
    this.emit("shard", { shardId: entry.shardId, state: "reading" });
    const run = await worker.open();
    entry.run = run().then(
      (drained) => {
        if (!drained) return;
        entry.state = "drained";
        this.emit("shard", { shardId: entry.shardId, state: "drained" });
        // Its children (named in ChildShards, or found by listing) may start now.
        void this.requestSync();
      },
      (error) => {
        entry.state = "failed";
        this.emit("shard", { shardId: entry.shardId, state: "failed" });
        this.emit("warning", { shardId: entry.shardId, message: "shard worker stopped by an unexpected error", error });
      },
    );
  }

  private hooks(): ShardWorkerHooks {
    const c = this.counts;
    return {
      invoked: ({ shardId, requestId, batch }) => {
        c.invocations++;
        this.emit("invoke", {
          shardId,
          requestId,
          batchSize: batch.length,
          firstSequenceNumber: batch[0]!.event.kinesis.sequenceNumber,
          lastSequenceNumber: batch.at(-1)!.event.kinesis.sequenceNumber,
        });
      },
      result: ({ shardId, requestId, batchSize, outcome, durationMs }) => {
        let kind: EsmPollerEvents["result"]["outcome"] = outcome.kind;
        if (outcome.kind === "error") {
          c.functionErrors++;
          if (outcome.timedOut) {
            c.timeouts++;
            kind = "timeout";
          }
        } else if (outcome.kind === "partial") c.partialFailures++;
        this.emit("result", {
          shardId,
          requestId,
          batchSize,
          outcome: kind,
          durationMs,
          ...(outcome.kind === "error" ? { error: outcome.error } : {}),
        });
      },
      read: ({ records }) => {
        c.recordsRead += records;
      },
      processed: ({ records }) => {
        c.recordsDelivered += records;
      },
      discarded: ({ shardId, failure, records }) => {
        c.recordsDiscarded += records;
        this.emit("discard", { shardId, failure });
      },
      warning: (e) => this.emit("warning", e),
    };
  }
}

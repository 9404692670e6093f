import { decodeValue } from "../core/codec.js";
import type { Duration } from "../core/duration.js";
import { MemoryObjectStore } from "./memory-object-store.js";
import type { Pipeline } from "../api/define-pipeline.js";
import type { FinalizeResult } from "../serverless/finalizer.js";
import { PREFIXES } from "../serverless/runtime-deps.js";
import { PipelineRuntime } from "../serverless/runtime.js";
import { readKeyedState } from "../serverless/keyed-state.js";
import type { TickResult } from "../serverless/ticker.js";
import { MemoryPipelineStore } from "./memory-pipeline-store.js";
import { batchTimeOf, jsonObjects, printedBlocks, serverlessFiles } from "./outputs.js";
import { b64, kinesisEvent, lambdaContext, sequenceNumber, shardName, SimShards, type SimRecord } from "./simulated-stream.js";

/** Options of a {@link PipelineTestDriver}. */
export interface PipelineTestDriverOptions {
  /**
   * The stream's shards: how many, named as Kinesis names them (`shardId-000000000000` …).
   * @default 1
   */
  readonly shards?: number;
  /**
   * The clock's start, epoch ms. Records sent without `at` arrive at the clock's current time.
   * @default 0
   */
  readonly startTime?: number;
}

/** Where and when one record arrives. */
export interface SendOptions {
  /** The shard, by index (0 …) or id. @default 0 */
  readonly shard?: number | string;
  /** Arrival time on the stream (Kinesis' `approximateArrivalTimestamp`), epoch ms. @default - the driver's clock */
  readonly at?: number;
  /** @default "pk" */
  readonly partitionKey?: string;
}

/** How one Lambda invocation went wrong, for {@link DeliverOptions.fail}. */
export type InvocationFailure =
  /** The invocation dies before its commit: nothing it did counts, and Lambda delivers the same records again. */
  | "before-commit"
  /** The commit takes effect, then the invocation dies (a timeout, say): Lambda delivers the records again. */
  | "after-commit";

/** What a delivery does. */
export interface DeliverOptions {
  /** Only this shard (index or id). @default - every shard with records waiting */
  readonly shard?: number | string;
  /** At most this many records per invocation (the event source mapping's BatchSize). @default - all waiting */
  readonly batchSize?: number;
  /** Makes the (first) invocation fail; Lambda will deliver its records again on the next delivery. */
  readonly fail?: InvocationFailure;
}

/** One Lambda invocation of the shard handler, as the driver made it. */
export interface Invocation {
  readonly shardId: string;
  /** Records in the event. */
  readonly records: number;
  /** Records this invocation processed (not already committed by an earlier one). */
  readonly processed: number;
  readonly deadLetters: number;
  readonly late: number;
  /** Batch times the inline finalizer completed. */
  readonly finalized: readonly number[];
  /** The error the handler threw (Lambda retries), if it did. */
  readonly error?: Error;
}

/** A record that could not be processed (it failed to decode, or a user function threw on it). */
export interface DeadLetter {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly error: string;
  /** Everything else the shard stage wrote: raw bytes, stage, operator … */
  readonly [field: string]: unknown;
}

interface ShardModel {
  readonly id: string;
  readonly index: number;
  /** Index of the first record Lambda has not seen acknowledged (its iterator position). */
  position: number;
  /** The records of the last invocation, for {@link PipelineTestDriver.deliverAgain}. */
  last: SimRecord[];
}

/**
 * Drives a pipeline (a `definePipeline` module) through its serverless runtime — the code the Lambda functions
 * run — on in-memory stores and a simulated Kinesis stream: no AWS, no emulator, no wall clock. Send records
 * with the arrival times and shards you choose, deliver them as Lambda would (in batches, again, or with a
 * failing invocation), move the clock, and read what a deployed pipeline would leave: output files, printed
 * blocks, state and dead letters. In the spirit of Kafka Streams' `TopologyTestDriver`.
 *
 * Time is the driver's clock: records arrive at it (or at `at`), and {@link advanceTime} moves it and runs the
 * ticker, which lets quiet shards' watermarks follow the clock so their batches complete.
 *
 * @example
 * import { definePipeline, Seconds } from "sparkless";
 * import { PipelineTestDriver } from "sparkless/testing";
 *
 * const wordCount = definePipeline("word-count", { batchInterval: Seconds(1) }, (lines) => {
 *   lines.flatMap((l) => l.split(" ")).map((w) => [w, 1] as [string, number]).reduceByKey((a, b) => a + b).saveAsTextFiles("counts");
 * });
 *
 * const driver = new PipelineTestDriver(wordCount, { shards: 2 });
 * driver.send("a b a", { shard: 0, at: 100 });
 * driver.send("b", { shard: 1, at: 1_500 });
 * await driver.deliver();                   // one invocation per shard
 * await driver.advanceTime(Seconds(5));     // quiet shards go idle; batches 1000 and 2000 complete
 * await driver.output("counts");            // Map { 1000 => ["(a,2)", "(b,1)"], 2000 => ["(b,1)"], … }
 */
export class PipelineTestDriver<T> {
  /** The pipeline's DynamoDB table, in memory (`failNext` injects store faults). */
  readonly store = new MemoryPipelineStore();
  /** The pipeline's S3 bucket, in memory. */
  readonly objects = new MemoryObjectStore();
  /** Every line the functions logged: printed blocks, EMF metrics, warnings. */
  readonly logs: string[] = [];
  /** The simulated stream: records per shard and what ListShards shows. */
  readonly stream: SimShards;
  readonly runtime: PipelineRuntime<T>;
  private readonly shardModels: ShardModel[];
  private clock: number;
  private attempts = 0;

  constructor(
    readonly pipeline: Pipeline<T>,
    options: PipelineTestDriverOptions = {},
  ) {
    const count = options.shards ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`shards must be a positive whole number (received ${count})`);
    this.clock = options.startTime ?? 0;
    this.shardModels = Array.from({ length: count }, (_, index) => ({ id: shardName(index), index, position: 0, last: [] }));
    this.stream = new SimShards(new Map(this.shardModels.map((s) => [s.id, []])), this.shardModels.map((s) => ({ shardId: s.id, closed: false })));
    this.runtime = new PipelineRuntime(pipeline, {
      store: this.store,
      objects: this.objects,
      shards: this.stream,
      now: () => this.clock,
      log: (text) => void this.logs.push(text),
      newAttemptId: () => `attempt-${this.attempts++}`,
    });
  }

  /** The driver's clock, epoch ms. */
  get now(): number {
    return this.clock;
  }

  /**
   * Puts one record on a shard (it waits there until {@link deliver}). A string is sent as UTF-8, bytes as they
   * are, anything else as JSON — what the pipeline's decoder (UTF-8 text by default) reads back.
   */
  send(value: unknown, options: SendOptions = {}): SimRecord {
    const shard = this.shard(options.shard ?? 0);
    const records = this.stream.records.get(shard.id)!;
    const bytes = typeof value === "string" || value instanceof Uint8Array ? value : JSON.stringify(value);
    const record: SimRecord = {
      shardId: shard.id,
      seq: sequenceNumber(shard.index, records.length),
      arrival: options.at ?? this.clock,
      data: b64(bytes),
      partitionKey: options.partitionKey ?? "pk",
    };
    records.push(record);
    return record;
  }

  /**
   * Invokes the shard handler as Lambda's event source mapping would: per shard, the records after its
   * iterator, in order. A partial-batch response rewinds the iterator to the first record reported; a failed
   * invocation leaves it where it was (Lambda retries the batch). Successful commits finalize inline what they
   * completed, as on AWS.
   */
  async deliver(options: DeliverOptions = {}): Promise<Invocation[]> {
    const shards = options.shard === undefined ? this.shardModels : [this.shard(options.shard)];
    const invocations: Invocation[] = [];
    let fail = options.fail;
    for (const shard of shards) {
      const waiting = this.stream.records.get(shard.id)!.slice(shard.position);
      if (waiting.length === 0) continue;
      const batch = options.batchSize === undefined ? waiting : waiting.slice(0, options.batchSize);
      invocations.push(await this.invoke(shard, batch, fail));
      fail = undefined;
    }
    return invocations;
  }

  /**
   * Delivers a shard's last invocation again, as Lambda may (at-least-once): the runtime must skip what it
   * committed. The shard's iterator does not move.
   */
  async deliverAgain(shard: number | string = 0): Promise<Invocation> {
    const model = this.shard(shard);
    if (model.last.length === 0) throw new Error(`${model.id} has had no invocation to deliver again`);
    const position = model.position;
    const invocation = await this.invoke(model, model.last, undefined);
    model.position = position;
    return invocation;
  }

  /**
   * Moves the clock by `duration` and runs the ticker once, as the schedule would: shards with nothing new
   * let their watermark follow the clock (less the pipeline's `idleAfter`), and complete batches finalize.
   */
  async advanceTime(duration: Duration | number): Promise<{ probe: TickResult; finalized: FinalizeResult }> {
    const ms = typeof duration === "number" ? duration : duration.milliseconds;
    if (ms < 0) throw new RangeError(`time only moves forward (received ${ms} ms)`);
    this.clock += ms;
    return this.runtime.tick(lambdaContext());
  }

  /** The last batch time whose outputs are complete, or undefined before the pipeline started. */
  async lastFinalized(): Promise<number | undefined> {
    const status = await this.store.getStatus();
    return status && status.lastFinalized > status.zeroTime ? status.lastFinalized : undefined;
  }

  /**
   * The committed saveAsTextFiles output under `prefix` (as given to saveAsTextFiles), by batch time: the lines
   * of every part file, in order. Only directories with `_SUCCESS` exist for a reader, as on S3.
   */
  async output(prefix: string): Promise<Map<number, string[]>> {
    const wanted = prefix.replace(/^(\.\/|\/)+/, "");
    const byTime = new Map<number, string[]>();
    for (const [dir, text] of await serverlessFiles(this.objects, this.pipeline.name)) {
      // `prefix-<time>` or `prefix-<time>.<suffix>` (Spark's directory names)
      if (dir.slice(0, dir.lastIndexOf("-")) !== wanted) continue;
      byTime.set(batchTimeOf(dir), text.split("\n").filter((l) => l !== ""));
    }
    return new Map([...byTime].sort(([a], [b]) => a - b));
  }

  /** The blocks `print()` wrote, by batch time, exactly as Spark prints them (one per print() in the graph). */
  printed(): Map<number, string[]> {
    return printedBlocks(this.logs);
  }

  /**
   * The elements a named stateful operator (`updateStateByKey(fn, { name })`, a named window …) holds at
   * `time`: for updateStateByKey and mapWithState, its `[key, state]` pairs (mapWithState's for the last
   * finalized batch only: its state is kept per key, without history). Undefined when nothing is stored for that time.
   * With `finalizerPartitions` > 1, every partition's share, in partition order.
   * @param time a finalized batch time @default - the last finalized batch
   */
  async state<E = unknown>(name: string, time?: number): Promise<E[] | undefined> {
    const at = time ?? (await this.lastFinalized());
    if (at === undefined) return undefined;
    const shares = await this.partitionShares(name, at);
    const payloads = shares.some((x) => x !== undefined) ? shares : [await this.store.getMemory(name, at)];
    if (payloads.every((x) => x === undefined)) {
      // mapWithState keeps its state per key (per finalizer partition): its `[key, state]` pairs after the batch.
      const scopes = Array.from({ length: this.pipeline.partitions }, (_, partition) => readKeyedState(this.store.keyedState(), { nodeId: name, partition }, at));
      const entries = await Promise.all(scopes);
      if (entries.every((e) => e === undefined)) return undefined;
      return entries.flatMap((e) => e ?? []).map((e) => [e.key, e.state] as E);
    }
    return payloads.flatMap((payload) => (payload === undefined ? [] : (decodeValue<E[][] | null>(payload) ?? []).flat()));
  }

  /** Each finalizer partition's memory of `name` at `time` (none with one partition: it is the pipeline's own). */
  private async partitionShares(name: string, time: number): Promise<Array<string | undefined>> {
    const partitions = this.pipeline.partitions;
    if (partitions === 1) return [];
    return Promise.all(Array.from({ length: partitions }, (_, p) => this.store.getMemory(name, time, p)));
  }

  /**
   * Runs the finalizer function as invoked for finalizer partition `partition` (with `finalizerPartitions` > 1):
   * that partition's share of the complete batches, then the completion step. Tests race two of these, or crash
   * one at a write (`store.failNext`), as Lambda may.
   */
  finalizePartition(partition: number): Promise<FinalizeResult> {
    return this.runtime.finalize(lambdaContext(), { partition });
  }

  /** Records that went to the dead-letter prefix (undecodable, or a user function threw on them). */
  async deadLetters(): Promise<DeadLetter[]> {
    return [...(await jsonObjects<DeadLetter>(this.objects, `${PREFIXES.deadLetter}${this.pipeline.name}/`)).entries()]
      .filter(([key]) => !key.includes("/batches/"))
      .map(([, entry]) => entry);
  }

  /** Records older than the watermark in event time, written to the late-data prefix. */
  async lateRecords(): Promise<Array<Record<string, unknown>>> {
    return [...(await jsonObjects(this.objects, `${PREFIXES.late}${this.pipeline.name}/`)).values()];
  }

  private shard(which: number | string): ShardModel {
    const model = typeof which === "number" ? this.shardModels[which] : this.shardModels.find((s) => s.id === which);
    if (!model) throw new RangeError(`no shard ${JSON.stringify(which)}: the driver has ${this.shardModels.length} (0 … ${this.shardModels.length - 1})`);
    return model;
  }

  private async invoke(shard: ShardModel, batch: SimRecord[], fail: InvocationFailure | undefined): Promise<Invocation> {
    shard.last = batch;
    if (fail) this.store.failNext("commit", fail === "before-commit" ? "before" : "after");
    try {
      const result = await this.runtime.handleShardEvent(kinesisEvent(batch), lambdaContext());
      const firstFailed = result.batchItemFailures[0]?.itemIdentifier;
      const all = this.stream.records.get(shard.id)!;
      shard.position = firstFailed === undefined ? all.indexOf(batch.at(-1)!) + 1 : all.findIndex((r) => r.seq === firstFailed);
      const { processed, deadLetters, late } = result.stage;
      return { shardId: shard.id, records: batch.length, processed, deadLetters, late, finalized: result.finalized?.finalized ?? [] };
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      return { shardId: shard.id, records: batch.length, processed: 0, deadLetters: 0, late: 0, finalized: [], error };
    }
  }
}

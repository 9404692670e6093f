import { Duration, Time } from "../core/duration.js";
import { StreamingContext, type StreamingContextProps } from "./streaming-context.js";
import { forgetLocalEvaluation, type DStream } from "./dstream.js";
import { ManualClock } from "../exec/clock.js";
import type { InputNode } from "../graph/ops/input.js";
import type { KafkaRecordMeta } from "../io/kafka/record-meta.js";
import type { Source } from "../io/source.js";
import { checkPipelineName } from "../contract/index.js";
import { MAX_FINALIZER_PARTITIONS } from "../core/partitioner.js";
import { ValidationError } from "../core/errors.js";
import { planGraph, type Plan } from "../graph/stage-split.js";

/**
 * What a record looked like on the log, for decoders and timestamp extractors. On Kafka, `shardId` is
 * `<topic>-<partition>`, `sequenceNumber` the offset, `partitionKey` the key's base64, `arrivalTime` the record's
 * timestamp, and `kafka` has the rest.
 */
export interface RecordMeta {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly subSequenceNumber?: number;
  readonly partitionKey: string;
  /** Kinesis' arrival time, epoch ms. */
  readonly arrivalTime: number;
  /** Topic, partition, offset, timestamp, key bytes and headers of a Kafka record; absent on Kinesis. */
  readonly kafka?: KafkaRecordMeta;
}

export interface PipelineProps<T> {
  /** How often a batch is cut; batch times are aligned to the epoch, so every shard and function agrees. */
  readonly batchInterval: Duration;
  /** Turns a record's bytes into the input stream's element. @default - the bytes as UTF-8 text */
  readonly decoder?: (bytes: Uint8Array, meta: RecordMeta) => T;
  /**
   * Event time of an element, epoch ms. With it, batches follow event time, the watermark is the maximum
   * event time seen minus `allowedLateness`, and older records go to `late/`.
   * @default - arrival time: a record joins the batch during which Kinesis received it, and none is late
   */
  readonly timestampExtractor?: (value: T, meta: RecordMeta) => number;
  /** How far behind the newest event time a record may be and still count. @default Duration 0 */
  readonly allowedLateness?: Duration;
  /** A decoded record larger than this goes to the dead-letter prefix. @default 1 MiB (Kinesis' own limit) */
  readonly maxRecordBytes?: number;
  /**
   * When the pipeline's batches start (epoch ms; aligned down to the slides). Records before it join the first
   * batch (arrival time) or are late (event time) — set it early to replay old data in event time.
   * @default - the first tick or the first record (less `allowedLateness`), whichever comes first
   */
  readonly startTime?: number;
  /**
   * How long a shard must have nothing new before the ticker lets its watermark follow the clock.
   * @default Seconds(2)
   */
  readonly idleAfter?: Duration;
  /**
   * How many finalizer partitions share the keyed stage on AWS (an integer from 1 to 256). The shard stage
   * splits its partial aggregates by a stable hash of each key (`partitionOf`), and each partition finalizes
   * its keys — shuffles, windows, joins, state — in its own invocation under its own lease; a batch completes
   * when all partitions have. Cannot change on a running pipeline (the runtime refuses a mismatch until
   * repartitioning exists). Local runs ignore it. @default 1
   */
  readonly finalizerPartitions?: number;
}

/** What the CDK construct needs to know of a pipeline (infra's PipelineInfo, less the entry path). */
export interface PipelineSummary {
  readonly name: string;
  readonly batchIntervalMs: number;
  readonly stateful: boolean;
  /** The finalizer partitions P (`finalizerPartitions`, default 1). */
  readonly finalizerPartitions: number;
}

/** A built graph for one use: the context that owns it, its input node and its serverless plan. */
export interface BuiltPipeline<T> {
  readonly ssc: StreamingContext;
  readonly input: InputNode<T>;
  readonly plan: Plan;
}

/** How `on`/`getOrCreate` run the pipeline locally: the clock, where prints and batch directories go. */
export type LocalRunOptions = Pick<StreamingContextProps, "clock" | "out" | "writeBatch">;

const PIPELINE_BRAND: unique symbol = Symbol.for("sparkless.Pipeline");

/** Stands in for the Kinesis stream inside Lambda: the shard stage and the finalizer supply its data. */
class ShardInputSource<T> implements Source<T> {
  readonly kind = "kinesisStream";
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  take(): T[] | undefined {
    return undefined;
  }
}

/**
 * A pipeline defined once and run anywhere: in the local engine on any source, or on AWS where the
 * Kinesis stream's batches invoke the shard handler and the finalizer completes each batch time.
 *
 * @example
 * export const wordCount = definePipeline("word-count", { batchInterval: Seconds(10) }, (lines) => {
 *   lines.flatMap((l) => l.split(" ")).map((w) => [w, 1] as [string, number]).reduceByKey((a, b) => a + b).print();
 * });
 */
export class Pipeline<T> {
  /**
   * True for a Pipeline from any copy of this module: a user's pipeline module and the generated Lambda handlers
   * can load sparkless from different paths (the package and a workspace link), where `instanceof` says no.
   */
  static isPipeline(value: unknown): value is Pipeline<unknown> {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[PIPELINE_BRAND] === true;
  }

  /** @internal The brand {@link Pipeline.isPipeline} looks for. */
  readonly [PIPELINE_BRAND] = true;

  constructor(
    readonly name: string,
    readonly props: PipelineProps<T>,
    private readonly build: (input: DStream<T>, ssc: StreamingContext) => void,
  ) {
    checkPipelineName(name);
    checkFinalizerPartitions(props.finalizerPartitions);
  }

  /** The finalizer partitions the runtime splits the keyed stage into (`finalizerPartitions`, default 1). */
  get partitions(): number {
    return this.props.finalizerPartitions ?? 1;
  }

  /** Builds the graph on `source` in a fresh context (the local engine's way to run this pipeline). */
  on(source: Source<T>, options: LocalRunOptions & { checkpointDir?: string } = {}): StreamingContext {
    const { checkpointDir: _, ...props } = options;
    const ssc = new StreamingContext({ batchInterval: this.props.batchInterval, ...props });
    if (options.checkpointDir) ssc.checkpoint(options.checkpointDir);
    this.build(ssc.receiverStream(source, "input"), ssc);
    return ssc;
  }

  /**
   * As `on`, recovering from the checkpoint in `checkpointDir` when there is one (Spark's getOrCreate): the
   * same zero time, state, windows and source position, then the batches that were pending or fell due
   * while the program was down.
   */
  getOrCreate(checkpointDir: string, source: Source<T>, options: LocalRunOptions = {}): StreamingContext {
    return StreamingContext.getOrCreate(checkpointDir, () => this.on(source, { ...options, checkpointDir }));
  }

  /** Builds and starts the graph at `zeroTime` without a scheduler: the serverless runtime drives it batch by batch. */
  instantiate(zeroTime: number): BuiltPipeline<T> {
    const ssc = new StreamingContext({ batchInterval: this.props.batchInterval, clock: new ManualClock(zeroTime) });
    // State lives in the pipeline's table and bucket, which play the checkpoint directory's part.
    ssc.checkpoint("serverless");
    forgetLocalEvaluation(ssc.graph);
    const stream = ssc.receiverStream(new ShardInputSource<T>(), "input");
    this.build(stream, ssc);
    ssc.graph.start(new Time(zeroTime));
    const plan = planGraph(ssc.graph);
    return { ssc, input: stream.node as InputNode<T>, plan };
  }

  /** What infra needs: the name, the batch interval, whether anything keeps state across batches, and P. */
  get summary(): PipelineSummary {
    const { plan } = this.instantiate(0);
    return { name: this.name, batchIntervalMs: this.props.batchInterval.milliseconds, stateful: plan.stateful, finalizerPartitions: this.partitions };
  }
}

function checkFinalizerPartitions(value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 1 || value > MAX_FINALIZER_PARTITIONS) {
    throw new ValidationError(
      "InvalidFinalizerPartitions",
      `finalizerPartitions must be an integer from 1 to ${MAX_FINALIZER_PARTITIONS}, got ${String(value)}`,
      { finalizerPartitions: value },
    );
  }
}

export function definePipeline<T = string>(
  name: string,
  props: PipelineProps<T>,
  build: (input: DStream<T>, ssc: StreamingContext) => void,
): Pipeline<T> {
  return new Pipeline(name, props, build);
}

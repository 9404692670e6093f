/**
 * The props of {@link SparklessPipeline}, their defaults (applied in {@link resolveProps} and nowhere else)
 * and the resolved configuration the construct's parts read.
 */
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as events from "aws-cdk-lib/aws-events";
import type * as kinesis from "aws-cdk-lib/aws-kinesis";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { AuthenticationMethod } from "aws-cdk-lib/aws-lambda-event-sources";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { defaultConsumerGroupId, type FunctionKind } from "../lib/contract/index.js";
import type { PipelineBundling } from "./bundling.js";

/**
 * What the construct needs to know about a pipeline whose module exports the handlers itself
 * (`export const { shardHandler, tickerHandler, finalizerHandler } = lambdaHandlers(pipeline)`).
 * `definePipeline(...).summary` gives the first three fields.
 */
export interface PipelineInfo {
  /** The pipeline's name (the one rule: lib/contract/pipeline-name.ts). */
  readonly name: string;
  /**
   * Path of the pipeline module (`.ts` or `.js`), absolute or relative to the working directory of
   * `cdk synth`. It must export the handlers `shardHandler`, `tickerHandler` and `finalizerHandler`.
   */
  readonly entry: string;
  /** The batch interval B in milliseconds: a positive whole number. */
  readonly batchIntervalMs: number;
  /** Whether the pipeline has windows or keyed state (updateStateByKey, mapWithState, *AndWindow ...). */
  readonly stateful: boolean;
  /**
   * The pipeline's finalizer partitions P (its `finalizerPartitions`): an integer from 1 to 256. The functions
   * refuse a module whose pipeline has another number.
   *
   * @default 1
   */
  readonly finalizerPartitions?: number;
}

/** Settings of one of the pipeline's functions. */
export interface PipelineFunctionOptions {
  /**
   * Memory in MiB (also buys CPU: 1769 MiB is one vCPU).
   *
   * @default - `memorySize`
   */
  readonly memorySize?: number;
  /**
   * Timeout of the function.
   *
   * @default - `timeout` for the shard function, `finalizerTimeout` for the finalizer, 60 seconds for the ticker
   */
  readonly timeout?: Duration;
}

/**
 * A Kafka topic as the pipeline's source (Amazon MSK or self-managed Kafka), read by Lambda's Kafka event source
 * mapping in provisioned mode — the mode in which Lambda offers, for Kafka, what the commit protocol relies on:
 * partial-batch responses, bisection, finite retries, a maximum record age and an on-failure destination. Each
 * topic-partition is a shard to the pipeline; `batchSize`, `maxBatchingWindow`, `retryAttempts` and
 * `maxRecordAge` apply as for Kinesis.
 */
export interface KafkaSourceProps {
  /** The topic to read (1 to 249 of `a-z A-Z 0-9 . _ -`). */
  readonly topic: string;
  /**
   * The Amazon MSK cluster's ARN. Give this or `bootstrapServers`. Without `secret`, the cluster's IAM access
   * control is used, and the functions are granted the `kafka-cluster:` actions they need on this topic and group.
   *
   * @default - `bootstrapServers` is given instead
   */
  readonly clusterArn?: string;
  /**
   * The brokers of a self-managed Kafka cluster, `host:port`. Give this or `clusterArn`.
   *
   * @default - `clusterArn` is given instead
   */
  readonly bootstrapServers?: string[];
  /**
   * The consumer group Lambda's poller joins (1 to 200 of `a-z A-Z 0-9 - / * : _ + = . @`). It cannot change after
   * the mapping is created. The pipeline keeps its own offsets (the shard progress); the group's are Lambda's.
   *
   * @default - `sparkless-<pipeline name>`
   */
  readonly consumerGroupId?: string;
  /**
   * Where a new consumer group starts: `TRIM_HORIZON` (the earliest record) or `LATEST`.
   *
   * @default StartingPosition.TRIM_HORIZON
   */
  readonly startingPosition?: lambda.StartingPosition;
  /**
   * The secret with the credentials: `username`/`password` for SASL, the client certificate and key for mTLS.
   * Lambda's poller and the functions (reading the topic's offsets) may read it.
   *
   * @default - none: MSK's IAM access control, or a self-managed cluster reachable without authentication in `vpc`
   */
  readonly secret?: secretsmanager.ISecret;
  /**
   * What `secret` holds. MSK accepts `SASL_SCRAM_512_AUTH` and `CLIENT_CERTIFICATE_TLS_AUTH`; self-managed Kafka
   * also `SASL_SCRAM_256_AUTH` and `BASIC_AUTH` (SASL/PLAIN).
   *
   * @default AuthenticationMethod.SASL_SCRAM_512_AUTH (when `secret` is given)
   */
  readonly authenticationMethod?: AuthenticationMethod;
  /**
   * The secret with the CA certificate (`certificate`, PEM) the brokers of a self-managed cluster are signed by,
   * when that CA is a private one (Lambda's `SERVER_ROOT_CA_CERTIFICATE`). Lambda's poller and the functions trust it.
   *
   * @default - the brokers' certificates are signed by a public CA (always so on MSK)
   */
  readonly rootCaCertificate?: secretsmanager.ISecret;
  /**
   * The VPC the brokers are reachable in. The three functions run in it (they read the topic's offsets), and for
   * self-managed Kafka Lambda's poller connects from its subnets and security groups. The subnets need a route to
   * DynamoDB and S3 (gateway endpoints or NAT).
   *
   * @default - the brokers are reachable from Lambda's own network (public endpoints)
   */
  readonly vpc?: ec2.IVpc;
  /**
   * The subnets of `vpc` to use.
   *
   * @default - the VPC's private subnets (with egress)
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Security groups of the functions and the poller in `vpc`; they must be allowed to reach the brokers.
   * Required with `vpc`.
   *
   * @default - none (no `vpc`)
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /**
   * Lambda's provisioned pollers for the mapping (provisioned mode is what enables Kafka's error handling).
   *
   * @default - minimum 1, maximum 200 (Lambda's own maximum default)
   */
  readonly provisionedPollers?: { readonly minimum?: number; readonly maximum?: number };
  /**
   * Where Lambda sends a batch it discards after `retryAttempts` or `maxRecordAge` (SQS, SNS, S3 or a Kafka
   * topic, as `lambda.IEventSourceDlq`). Only S3 keeps the records' payload, which is why it is the default.
   *
   * @default - the pipeline's bucket, under `aws/lambda/`, granted on that prefix only
   */
  readonly onFailure?: lambda.IEventSourceDlq;
  /**
   * The shard function's `OffsetLag` (records behind the newest, maximum over 1 minute) above which the lag alarm
   * (`iteratorAgeAlarm`) fires. Batches cannot finalize while a partition lags behind them.
   *
   * @default 100000
   */
  readonly offsetLagAlarmThreshold?: number;
}

/** Properties of a {@link SparklessPipeline}. Give `entry` or `pipeline`, not both. */
export interface SparklessPipelineProps {
  /**
   * Path of the module that defines the pipeline with `definePipeline` (`.ts` or `.js`, absolute or relative to
   * the working directory of `cdk synth`). The module's default export is the pipeline, or else its only
   * exported `Pipeline`; the construct bundles it with generated handlers, and reads the pipeline's name, batch
   * interval and statefulness by loading the bundle once at synth time.
   *
   * @default - `pipeline` is given instead
   */
  readonly entry?: string;
  /**
   * The pipeline as a plain shape, for a module that exports the three handlers itself.
   *
   * @default - `entry` is given instead
   */
  readonly pipeline?: PipelineInfo;
  /**
   * The finalizer partitions P the keyed stage is spread over. The pipeline's own `finalizerPartitions` is the
   * truth (read from `entry` at synth time, or `pipeline.finalizerPartitions`): when given here it must be the
   * same number, or the synth fails — a way to pin P in the CDK app. With P > 1 the shard function and the ticker
   * invoke the finalizer function asynchronously once per partition (`lambda:InvokeFunction` on it alone).
   *
   * @default - the pipeline's `finalizerPartitions` (1 when it sets none)
   */
  readonly finalizerPartitions?: number;

  // ----- the stream, or a Kafka topic -----

  /**
   * Read a Kafka topic instead of a Kinesis stream (then none of `stream`, `shardCount`, `onDemand`,
   * `retentionPeriod` and `parallelizationFactor` may be given).
   *
   * @default - the pipeline reads a Kinesis stream
   */
  readonly kafka?: KafkaSourceProps;
  /**
   * An existing stream to read. When given, `shardCount`, `onDemand` and `retentionPeriod` must not be (they
   * configure the stream this construct would create).
   *
   * @default - a stream is created
   */
  readonly stream?: kinesis.IStream;
  /**
   * Shards of the created stream (provisioned mode).
   *
   * @default 1
   */
  readonly shardCount?: number;
  /**
   * Create the stream in on-demand mode (Kinesis adds and removes shards by itself; the ticker follows the
   * lineage). Excludes `shardCount`.
   *
   * @default false
   */
  readonly onDemand?: boolean;
  /**
   * How long the created stream keeps records (24 hours to 365 days).
   *
   * @default Duration.hours(24)
   */
  readonly retentionPeriod?: Duration;

  // ----- the functions -----

  /**
   * Memory of each function, in MiB (also buys CPU: 1769 MiB is one vCPU).
   *
   * @default 1024
   */
  readonly memorySize?: number;
  /**
   * Timeout of the shard handler.
   *
   * @default Duration.seconds(60)
   */
  readonly timeout?: Duration;
  /**
   * Timeout of the finalizer function: it merges a batch's partials, evaluates the rest of the graph and writes
   * the outputs, so it gets more time than a shard batch.
   *
   * @default Duration.minutes(5)
   */
  readonly finalizerTimeout?: Duration;
  /**
   * Per-function memory and timeout, over `memorySize`, `timeout` and `finalizerTimeout`.
   *
   * @default - the settings for all functions
   */
  readonly functions?: { readonly [kind in FunctionKind]?: PipelineFunctionOptions };
  /**
   * The instruction set of every function.
   *
   * @default lambda.Architecture.ARM_64
   */
  readonly architecture?: lambda.Architecture;
  /**
   * How the pipeline module is bundled (esbuild, run locally; never Docker).
   *
   * @default - ESM, Node 22, minified off, source map on, the AWS SDK bundled in
   */
  readonly bundling?: PipelineBundling;
  /**
   * When the ticker runs (lists shards, advances idle shards' watermarks, finalizes complete batches).
   * EventBridge schedules cannot run more often than once a minute.
   *
   * @default Schedule.rate(Duration.minutes(1))
   */
  readonly tickerSchedule?: events.Schedule;
  /**
   * Reserve a concurrency of 1 for the finalizer function, so that Lambda itself runs one finalization at a
   * time. Off by default: Lambda refuses any reservation in an account whose concurrency quota is below 110
   * (new accounts can start at 10), which would fail the first deploy. The DynamoDB lease keeps finalization
   * serial either way; the reservation only keeps a second invocation from starting and finding the lease taken.
   *
   * @default false
   */
  readonly reserveFinalizerConcurrency?: boolean;
  /**
   * Extra environment variables for all the functions (for the pipeline's own configuration). Names starting
   * with `SPARKLESS_`, and `NODE_OPTIONS`, are the construct's.
   *
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * How long the functions' log groups keep events.
   *
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  // ----- the event-source mapping -----

  /**
   * Records per shard-handler invocation (1 to 10000). A batch is also capped by Lambda's 6 MB payload.
   * Each invocation costs a handful of requests whatever its size, so large batches are cheap batches.
   *
   * @default 10000
   */
  readonly batchSize?: number;
  /**
   * How long Lambda gathers records before invoking the shard handler, in whole seconds (0 to 300).
   * A shard's watermark, and so the finalization of a batch, can lag by this much.
   *
   * @default - half the batch interval, rounded down to whole seconds (the unit Lambda accepts), at most
   * 5 minutes: 5 s for a 10 s batch interval, 2 s for 5 s, 0 s below 2 s
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Retries of a failing batch before Lambda discards it to the on-failure destination (0 to 10000; the
   * infinite -1 is refused, as one poison batch would stop its shard until the records expire). Bisected
   * halves do not count against it.
   *
   * @default 10
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this are discarded to the on-failure destination instead of being retried (60 s to
   * 7 days). Must be below the created stream's retention period: a record must be discarded — and written,
   * payload included, to the bucket — before Kinesis trims it, or it would vanish without a trace.
   *
   * @default Duration.hours(12) (half the default 24 h retention)
   */
  readonly maxRecordAge?: Duration;
  /**
   * Batches of one shard processed at once (1 to 10). Must be 1 for now, for every pipeline: the commit
   * protocol tracks progress per shard and assumes one batch per shard at a time (add shards to scale).
   *
   * @default 1
   */
  readonly parallelizationFactor?: number;

  // ----- storage -----

  /**
   * An existing table to keep the pipeline's state in, with partition key `pk` (S), sort key `sk` (S) and TTL
   * on `ttl` (lib/contract/table.ts). Pipelines may share a table: every key starts with the pipeline's name.
   *
   * @default - a table is created
   */
  readonly table?: dynamodb.ITable;
  /**
   * An existing bucket for outputs, checkpoints, spills and dead letters. The construct cannot add lifecycle
   * rules to it: expire `spill/<pipeline>/parts/` after 7 days yourself.
   *
   * @default - a bucket is created, with its server access logs bucket
   */
  readonly bucket?: s3.IBucket;
  /**
   * A customer-managed key for the stream, table and bucket the construct creates; every function may use it to
   * encrypt and decrypt. Give the key of an existing stream or bucket here too when it is customer-managed.
   *
   * @default - AWS-managed keys (aws/kinesis, aws/dynamodb) and SSE-S3: no key policy to manage
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * What happens to the table, bucket, stream and log groups the construct creates when they leave the stack.
   * With `DESTROY` the buckets' objects are deleted too (`autoDeleteObjects`).
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Keep old versions of the bucket's objects (they expire 30 days after being replaced).
   *
   * @default false
   */
  readonly versioned?: boolean;
  /**
   * Where the created bucket's server access logs go.
   *
   * @default - a bucket created for them, whose logs expire after 90 days
   */
  readonly serverAccessLogsBucket?: s3.IBucket;

  // ----- monitoring -----

  /**
   * The shard handler's `IteratorAge` (age of the last record of a batch when it was read) above which the
   * iterator-age alarm fires. Batches cannot finalize while a shard lags behind them.
   *
   * @default Duration.minutes(5)
   */
  readonly iteratorAgeAlarmThreshold?: Duration;
}

/** The defaults of {@link SparklessPipelineProps}, applied in {@link resolveProps} and nowhere else. */
export const DEFAULTS = {
  shardCount: 1,
  onDemand: false,
  retentionPeriod: Duration.hours(24),
  memorySize: 1024,
  timeout: Duration.seconds(60),
  finalizerTimeout: Duration.minutes(5),
  /** One schedule period, so that ticks do not pile up behind a slow one. */
  tickerTimeout: Duration.seconds(60),
  architecture: lambda.Architecture.ARM_64,
  reserveFinalizerConcurrency: false,
  logRetention: logs.RetentionDays.ONE_MONTH,
  batchSize: 10_000,
  retryAttempts: 10,
  maxRecordAge: Duration.hours(12),
  parallelizationFactor: 1,
  removalPolicy: RemovalPolicy.RETAIN,
  versioned: false,
  iteratorAgeAlarmThreshold: Duration.minutes(5),
  kafkaStartingPosition: lambda.StartingPosition.TRIM_HORIZON,
  kafkaAuthenticationMethod: AuthenticationMethod.SASL_SCRAM_512_AUTH,
  kafkaMinimumPollers: 1,
  kafkaMaximumPollers: 200,
  offsetLagAlarmThreshold: 100_000,
} as const;

/** The Kafka source with its defaults. */
export interface ResolvedKafka {
  readonly topic: string;
  readonly clusterArn: string | undefined;
  readonly bootstrapServers: string[] | undefined;
  readonly consumerGroupId: string;
  readonly startingPosition: lambda.StartingPosition;
  readonly secret: secretsmanager.ISecret | undefined;
  /** Set exactly when `secret` is. */
  readonly authenticationMethod: AuthenticationMethod | undefined;
  readonly rootCaCertificate: secretsmanager.ISecret | undefined;
  readonly vpc: ec2.IVpc | undefined;
  readonly vpcSubnets: ec2.SubnetSelection | undefined;
  readonly securityGroups: ec2.ISecurityGroup[];
  readonly minimumPollers: number;
  readonly maximumPollers: number;
  readonly onFailure: lambda.IEventSourceDlq | undefined;
  readonly offsetLagAlarmThreshold: number;
}

function resolveKafka(kafka: KafkaSourceProps, pipelineName: string): ResolvedKafka {
  return {
    topic: kafka.topic,
    clusterArn: kafka.clusterArn,
    bootstrapServers: kafka.bootstrapServers,
    consumerGroupId: kafka.consumerGroupId ?? defaultConsumerGroupId(pipelineName),
    startingPosition: kafka.startingPosition ?? DEFAULTS.kafkaStartingPosition,
    secret: kafka.secret,
    authenticationMethod: kafka.secret ? (kafka.authenticationMethod ?? DEFAULTS.kafkaAuthenticationMethod) : undefined,
    rootCaCertificate: kafka.rootCaCertificate,
    vpc: kafka.vpc,
    vpcSubnets: kafka.vpcSubnets,
    securityGroups: kafka.securityGroups ?? [],
    minimumPollers: kafka.provisionedPollers?.minimum ?? DEFAULTS.kafkaMinimumPollers,
    maximumPollers: kafka.provisionedPollers?.maximum ?? DEFAULTS.kafkaMaximumPollers,
    onFailure: kafka.onFailure,
    offsetLagAlarmThreshold: kafka.offsetLagAlarmThreshold ?? DEFAULTS.offsetLagAlarmThreshold,
  };
}

/** The pipeline as the construct uses it: from `pipeline`, or read from the bundle of `entry`. */
export interface ResolvedPipeline {
  readonly name: string;
  readonly batchIntervalMs: number;
  readonly stateful: boolean;
  /** P, 1 when the pipeline sets none. */
  readonly finalizerPartitions: number;
  /** Absolute path of the module given. */
  readonly entry: string;
  /** Whether the module exposes a pipeline (generated handlers) or exports the handlers itself. */
  readonly exposes: "pipeline" | "handlers";
}

/** Every optional prop with its default. */
export interface Resolved {
  /** The Kafka source; undefined: the pipeline reads a Kinesis stream. */
  readonly kafka: ResolvedKafka | undefined;
  readonly stream: kinesis.IStream | undefined;
  readonly shardCount: number;
  readonly onDemand: boolean;
  readonly retentionPeriod: Duration;
  readonly functions: { readonly [kind in FunctionKind]: { readonly memorySize: number; readonly timeout: Duration } };
  readonly architecture: lambda.Architecture;
  readonly bundling: PipelineBundling;
  readonly tickerSchedule: events.Schedule;
  readonly reserveFinalizerConcurrency: boolean;
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  readonly batchSize: number;
  readonly maxBatchingWindow: Duration;
  readonly retryAttempts: number;
  readonly maxRecordAge: Duration;
  readonly parallelizationFactor: number;
  readonly table: dynamodb.ITable | undefined;
  readonly bucket: s3.IBucket | undefined;
  readonly encryptionKey: kms.IKey | undefined;
  readonly removalPolicy: RemovalPolicy;
  readonly versioned: boolean;
  readonly serverAccessLogsBucket: s3.IBucket | undefined;
  readonly iteratorAgeAlarmThreshold: Duration;
}

export function resolveProps(props: SparklessPipelineProps, batchIntervalMs: number, pipelineName: string): Resolved {
  const memorySize = props.memorySize ?? DEFAULTS.memorySize;
  const fn = (kind: FunctionKind, timeout: Duration) => ({
    memorySize: props.functions?.[kind]?.memorySize ?? memorySize,
    timeout: props.functions?.[kind]?.timeout ?? timeout,
  });
  return {
    kafka: props.kafka ? resolveKafka(props.kafka, pipelineName) : undefined,
    stream: props.stream,
    shardCount: props.shardCount ?? DEFAULTS.shardCount,
    onDemand: props.onDemand ?? DEFAULTS.onDemand,
    retentionPeriod: props.retentionPeriod ?? DEFAULTS.retentionPeriod,
    functions: {
      shard: fn("shard", props.timeout ?? DEFAULTS.timeout),
      ticker: fn("ticker", DEFAULTS.tickerTimeout),
      finalizer: fn("finalizer", props.finalizerTimeout ?? DEFAULTS.finalizerTimeout),
    },
    architecture: props.architecture ?? DEFAULTS.architecture,
    bundling: props.bundling ?? {},
    tickerSchedule: props.tickerSchedule ?? events.Schedule.rate(Duration.minutes(1)),
    reserveFinalizerConcurrency: props.reserveFinalizerConcurrency ?? DEFAULTS.reserveFinalizerConcurrency,
    environment: props.environment ?? {},
    logRetention: props.logRetention ?? DEFAULTS.logRetention,
    batchSize: props.batchSize ?? DEFAULTS.batchSize,
    maxBatchingWindow: props.maxBatchingWindow ?? defaultBatchingWindow(batchIntervalMs),
    retryAttempts: props.retryAttempts ?? DEFAULTS.retryAttempts,
    maxRecordAge: props.maxRecordAge ?? DEFAULTS.maxRecordAge,
    parallelizationFactor: props.parallelizationFactor ?? DEFAULTS.parallelizationFactor,
    table: props.table,
    bucket: props.bucket,
    encryptionKey: props.encryptionKey,
    removalPolicy: props.removalPolicy ?? DEFAULTS.removalPolicy,
    versioned: props.versioned ?? DEFAULTS.versioned,
    serverAccessLogsBucket: props.serverAccessLogsBucket,
    iteratorAgeAlarmThreshold: props.iteratorAgeAlarmThreshold ?? DEFAULTS.iteratorAgeAlarmThreshold,
  };
}

/**
 * Half the batch interval in whole seconds, at most 300 s. An invocation costs a few requests whatever its
 * record count (npm run bench -- serverless), so gathering records for half a batch keeps the pipeline's own
 * cost per million records low; a batch still finalizes within about half an interval of its end.
 */
export function defaultBatchingWindow(batchIntervalMs: number): Duration {
  const seconds = Number.isFinite(batchIntervalMs) && batchIntervalMs > 0 ? Math.floor(batchIntervalMs / 2_000) : 0;
  return Duration.seconds(Math.min(seconds, 300));
}

/**
 * `SparklessPipeline`: everything one sparkless pipeline needs on AWS — a Kinesis stream, the shard handler
 * behind an event-source mapping (stage 1), P finalizer functions (stage 2), the ticker on a schedule, one
 * DynamoDB table, one S3 bucket, alarms and a dashboard. See docs/architecture.md, "How a pipeline runs on AWS", and
 * infra/README.md for the decisions taken here.
 *
 * This file only provisions: it never imports the engine (`lib/` is runtime code; a pipeline reaches the
 * construct as the plain {@link PipelineInfo} shape).
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { Duration, RemovalPolicy, Stack, Token, Validations } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kinesis from "aws-cdk-lib/aws-kinesis";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { KinesisEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { ValidationError } from "../lib/errors.js";

/**
 * What the construct needs to know about a pipeline. The object a pipeline module's `definePipeline(...)`
 * returns satisfies this shape, so it can be passed as it is.
 */
export interface PipelineInfo {
  /**
   * The pipeline's name: prefixes its DynamoDB keys, names its metrics' `Pipeline` dimension and is given to
   * the functions as `SPARKLESS_PIPELINE`. Letters, digits, `-` and `_`, at most 64 characters, starting with
   * a letter or digit.
   */
  readonly name: string;
  /**
   * Path of the pipeline module (`.ts` or `.js`), absolute or relative to the working directory of
   * `cdk synth` (the repository root). It must export the handlers `shardHandler`, `tickerHandler` and
   * `finalizerHandler`.
   */
  readonly entry: string;
  /** The batch interval B in milliseconds: a positive whole number. */
  readonly batchIntervalMs: number;
  /** Whether the pipeline has windows or keyed state (updateStateByKey, mapWithState, *AndWindow ...). */
  readonly stateful: boolean;
}

/** Properties of a {@link SparklessPipeline}. */
export interface SparklessPipelineProps {
  /** The pipeline to deploy. */
  readonly pipeline: PipelineInfo;

  // ----- the stream -----

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
   * Timeout of each finalizer: it merges a batch's partials, evaluates the rest of the graph and writes the
   * outputs, so it gets more time than a shard batch.
   *
   * @default Duration.minutes(5)
   */
  readonly finalizerTimeout?: Duration;
  /**
   * When the ticker runs (lists shards, advances idle shards' watermarks, emits empty batches, sweeps
   * garbage). EventBridge schedules cannot run more often than once a minute.
   *
   * @default Schedule.rate(Duration.minutes(1))
   */
  readonly tickerSchedule?: events.Schedule;
  /**
   * Number P of finalizer partitions: keys hash-partitioned over P finalizer functions, each running one
   * invocation at a time. The store keys are laid out for P > 1, but the runtime does not split keys yet, so
   * only 1 is accepted for now.
   *
   * @default 1
   */
  readonly finalizerPartitions?: number;
  /**
   * Reserve a concurrency of 1 for each finalizer function, so that Lambda itself runs one finalization per
   * partition at a time. Lambda refuses any reservation in an account whose concurrency quota is below 110
   * (new accounts start at 10); set `false` there. The DynamoDB lease keeps finalization serial either way —
   * the reservation only keeps a second invocation from starting and finding the lease taken.
   *
   * @default true
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
   * @default Duration.hours(12) (half the default 24 h retention: a stuck shard gives up and keeps its records
   * in S3 while the stream still holds everything after them)
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
   * What happens to the table, bucket, stream and log groups when they leave the stack. With `DESTROY` the
   * buckets' objects are deleted too (`autoDeleteObjects`).
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
   * How long shuffle chunks live in the bucket (whole days). A chunk is read once, when its batch is
   * finalized; what is left after that is garbage the ticker sweeps, and this is the backstop.
   *
   * @default Duration.days(7)
   */
  readonly shuffleExpiration?: Duration;
  /**
   * Where the bucket's server access logs go.
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

/** Names of the handlers a pipeline module exports. */
export const HANDLERS = {
  shard: "shardHandler",
  ticker: "tickerHandler",
  finalizer: "finalizerHandler",
} as const;

/** The bucket's layout (docs/architecture.md, "Storage"). The functions' S3 permissions are scoped to these prefixes. */
export const BUCKET_PREFIXES = {
  output: "output/",
  checkpoint: "checkpoint/",
  shuffle: "shuffle/",
  /** DynamoDB items that would pass ~350 KB, stored as objects the item points to. */
  spill: "spill/",
  deadLetter: "dead-letter/",
  late: "late/",
  /**
   * Records the event-source mapping discards (retries or age exhausted). Lambda chooses these keys —
   * `aws/lambda/<mapping UUID>/<shard id>/YYYY/MM/DD/<time>-<uuid>` — and offers no prefix setting.
   */
  esmFailures: "aws/lambda/",
} as const;

/** CloudWatch namespace of the metrics the functions emit (dimension `Pipeline`). */
export const METRIC_NAMESPACE = "Sparkless";

/** The defaults of {@link SparklessPipelineProps}, applied in {@link resolveProps} and nowhere else. */
export const DEFAULTS = {
  shardCount: 1,
  onDemand: false,
  retentionPeriod: Duration.hours(24),
  memorySize: 1024,
  timeout: Duration.seconds(60),
  finalizerTimeout: Duration.minutes(5),
  finalizerPartitions: 1,
  reserveFinalizerConcurrency: true,
  logRetention: logs.RetentionDays.ONE_MONTH,
  batchSize: 10_000,
  retryAttempts: 10,
  maxRecordAge: Duration.hours(12),
  parallelizationFactor: 1,
  removalPolicy: RemovalPolicy.RETAIN,
  versioned: false,
  shuffleExpiration: Duration.days(7),
  iteratorAgeAlarmThreshold: Duration.minutes(5),
} as const;

/** The ticker's timeout: one schedule period, so that ticks do not pile up behind a slow one. */
const TICKER_TIMEOUT = Duration.seconds(60);

/** Runtime of all functions (see infra/README.md for why 22 and not 24). */
const RUNTIME = lambda.Runtime.NODEJS_22_X;

/**
 * Makes `require` exist in the ESM bundle: esbuild turns a CommonJS dependency's `require("x")` of a Node
 * built-in into a call that throws "Dynamic require is not supported" unless a `require` is in scope.
 */
const ESM_REQUIRE_BANNER = "import { createRequire as __sparklessCreateRequire } from 'node:module'; const require = __sparklessCreateRequire(import.meta.url);";

type Resolved = Required<Omit<SparklessPipelineProps, "stream" | "tickerSchedule" | "maxBatchingWindow" | "serverAccessLogsBucket">> & {
  stream: kinesis.IStream | undefined;
  tickerSchedule: events.Schedule;
  maxBatchingWindow: Duration;
  serverAccessLogsBucket: s3.IBucket | undefined;
};

/**
 * One pipeline on AWS.
 *
 * @example
 * const stack = new Stack(app, "WordCount");
 * const pipeline = new SparklessPipeline(stack, "WordCount", {
 *   pipeline: { name: "word-count", entry: "functions/word-count.ts", batchIntervalMs: 10_000, stateful: true },
 *   shardCount: 2,
 * });
 * pipeline.grantPutRecords(producerRole);
 * pipeline.iteratorAgeAlarm.addAlarmAction(new SnsAction(topic));
 */
export class SparklessPipeline extends Construct {
  /** The stream the pipeline reads (created, or the one given). */
  readonly stream: kinesis.IStream;
  /** Progress, partials, window panes, keyed state, leases and batch status (pk, sk, ttl). */
  readonly table: dynamodb.Table;
  /** Outputs, checkpoints, shuffle chunks, spills, dead letters, late records (see {@link BUCKET_PREFIXES}). */
  readonly bucket: s3.Bucket;
  /** Stage 1: the target of the Kinesis event-source mapping. */
  readonly shardFunction: NodejsFunction;
  /** Runs on {@link SparklessPipelineProps.tickerSchedule}. */
  readonly tickerFunction: NodejsFunction;
  /** The finalizer of partition 0 (the only one unless `finalizerPartitions` > 1). */
  readonly finalizerFunction: NodejsFunction;
  /** The finalizers of partitions 0 … P-1, in partition order. */
  readonly finalizerFunctions: readonly NodejsFunction[];
  /** The Kinesis event-source mapping of the shard function. */
  readonly eventSource: KinesisEventSource;
  /** The EventBridge rule that runs the ticker. */
  readonly tickerRule: events.Rule;
  /** Fires when the shard handler falls behind the stream (add an action to be told). */
  readonly iteratorAgeAlarm: cloudwatch.Alarm;
  /** Fires when records were dead-lettered (bad input, or a user function threw). */
  readonly deadLetterAlarm: cloudwatch.Alarm;
  /** Fires when Lambda could not write discarded records to the bucket (they are then lost). */
  readonly discardDeliveryAlarm: cloudwatch.Alarm;
  /** Iterator age, invocations, errors, duration, throttles, dead letters and the mapping's event counts. */
  readonly dashboard: cloudwatch.Dashboard;
  /** The pipeline's name (the `Pipeline` dimension of its metrics). */
  readonly pipelineName: string;

  constructor(scope: Construct, id: string, props: SparklessPipelineProps) {
    super(scope, id);
    const config = resolveProps(props);
    validate(config, props);
    const { pipeline } = config;
    this.pipelineName = pipeline.name;
    const removeAll = config.removalPolicy === RemovalPolicy.DESTROY;

    // ----- stream -----
    this.stream =
      config.stream ??
      new kinesis.Stream(this, "Stream", {
        ...(config.onDemand ? { streamMode: kinesis.StreamMode.ON_DEMAND } : { shardCount: config.shardCount }),
        retentionPeriod: config.retentionPeriod,
        // aws/kinesis key: no key policy to manage, and the consumers need no kms: permissions.
        encryption: kinesis.StreamEncryption.MANAGED,
        removalPolicy: config.removalPolicy,
      });

    // ----- table -----
    this.table = new dynamodb.Table(this, "Table", {
      partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
      sortKey: { name: "sk", type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: "ttl",
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: config.removalPolicy,
    });

    // ----- buckets -----
    let accessLogsBucket = config.serverAccessLogsBucket;
    if (!accessLogsBucket) {
      const created = new s3.Bucket(this, "AccessLogsBucket", {
        // Server access logging delivers only to SSE-S3 buckets.
        encryption: s3.BucketEncryption.S3_MANAGED,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        enforceSSL: true,
        lifecycleRules: [{ id: "ExpireAccessLogs", expiration: Duration.days(90) }],
        removalPolicy: config.removalPolicy,
        autoDeleteObjects: removeAll,
      });
      // No access logs of its own (logging it into itself would log its own deliveries); cdk-nag's S1
      // recognises a bucket that receives another bucket's access logs and does not ask for them.
      accessLogsBucket = created;
    }
    this.bucket = new s3.Bucket(this, "Bucket", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: config.versioned,
      serverAccessLogsBucket: accessLogsBucket,
      serverAccessLogsPrefix: "sparkless-bucket/",
      lifecycleRules: [
        { id: "ExpireShuffle", prefix: BUCKET_PREFIXES.shuffle, expiration: config.shuffleExpiration },
        // Spilled parts are read once, by the finalizer of their batch; spilled node memory (windows, state)
        // lives as long as its DynamoDB item, whose TTL is the batch time + what later batches read + 14 days.
        { id: "ExpireSpilledParts", prefix: `${BUCKET_PREFIXES.spill}${props.pipeline.name}/parts/`, expiration: config.shuffleExpiration },
        { id: "ExpireSpilledMemory", prefix: `${BUCKET_PREFIXES.spill}${props.pipeline.name}/mem/`, expiration: Duration.days(30) },
        { id: "AbortIncompleteUploads", abortIncompleteMultipartUploadAfter: Duration.days(1) },
        ...(config.versioned ? [{ id: "ExpireOldVersions", noncurrentVersionExpiration: Duration.days(30) }] : []),
      ],
      removalPolicy: config.removalPolicy,
      autoDeleteObjects: removeAll,
    });
    if (removeAll) suppressAutoDeleteProvider(this);

    // ----- functions -----
    const partitions = config.finalizerPartitions;
    const baseEnvironment: Record<string, string> = {
      ...config.environment,
      SPARKLESS_PIPELINE: pipeline.name,
      SPARKLESS_TABLE: this.table.tableName,
      SPARKLESS_BUCKET: this.bucket.bucketName,
      SPARKLESS_STREAM_NAME: this.stream.streamName,
      SPARKLESS_STREAM_ARN: this.stream.streamArn,
      SPARKLESS_BATCH_INTERVAL_MS: String(pipeline.batchIntervalMs),
      SPARKLESS_PARTITIONS: String(partitions),
      NODE_OPTIONS: "--enable-source-maps",
    };
    const entry = path.resolve(pipeline.entry);
    const makeFunction = (fnId: string, role: string, handler: string, extra: Partial<lambda.FunctionOptions>, environment: Record<string, string>) => {
      const logGroup = new logs.LogGroup(this, `${fnId}Logs`, {
        retention: config.logRetention,
        removalPolicy: config.removalPolicy,
      });
      // An own role, so that logging is a grant on this log group instead of the AWSLambdaBasicExecutionRole
      // managed policy (which allows writing to any log group).
      const fnRole = new iam.Role(this, `${fnId}Role`, {
        assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
        description: `sparkless ${pipeline.name}: ${role}`,
      });
      logGroup.grantWrite(fnRole);
      const fn = new NodejsFunction(this, fnId, {
        entry,
        handler,
        description: `sparkless ${pipeline.name}: ${role}`,
        runtime: RUNTIME,
        architecture: lambda.Architecture.ARM_64,
        memorySize: config.memorySize,
        role: fnRole,
        logGroup,
        environment,
        bundling: {
          format: OutputFormat.ESM,
          target: "node22",
          mainFields: ["module", "main"],
          banner: ESM_REQUIRE_BANNER,
          sourceMap: true,
          // The bundle carries the SDK it was tested with instead of the runtime's, and stays runnable on
          // its own (the embedded local stack imports it from cdk.out).
          bundleAwsSDK: true,
        },
        ...extra,
      });
      Validations.of(fn).acknowledge({
        id: "AwsSolutions-L1",
        reason: "Node.js 22 is the runtime sparkless is built and tested for (esbuild target node22; the local stack runs the same bundle). Moving to a newer runtime is a deliberate upgrade with its own test run, not a lint fix.",
      });
      return fn;
    };

    const finalizers: NodejsFunction[] = [];
    for (let p = 0; p < partitions; p++) {
      // Partition 0 keeps the plain id, so raising P later adds functions without replacing the first.
      const fnId = p === 0 ? "FinalizerFunction" : `FinalizerFunction${p}`;
      finalizers.push(
        makeFunction(
          fnId,
          `finalizer of partition ${p} of ${partitions} (stage 2)`,
          HANDLERS.finalizer,
          {
            timeout: config.finalizerTimeout,
            ...(config.reserveFinalizerConcurrency ? { reservedConcurrentExecutions: 1 } : {}),
            // A lost finalization is redone by the next tick: two retries are enough, and an event that
            // waited (throttled behind the running one) longer than an hour is stale.
            retryAttempts: 2,
            maxEventAge: Duration.hours(1),
          },
          // No SPARKLESS_FINALIZER_FUNCTION here: a function's environment cannot name the function itself
          // (or a sibling that names it back) without a CloudFormation cycle. A finalizer knows its partition.
          { ...baseEnvironment, SPARKLESS_PARTITION: String(p) },
        ),
      );
    }
    this.finalizerFunctions = finalizers;
    this.finalizerFunction = finalizers[0]!;
    const finalizerNames = finalizers.map((fn) => fn.functionName).join(",");

    this.shardFunction = makeFunction(
      "ShardFunction",
      "shard handler (stage 1)",
      HANDLERS.shard,
      { timeout: config.timeout },
      { ...baseEnvironment, SPARKLESS_FINALIZER_FUNCTION: finalizerNames },
    );
    this.tickerFunction = makeFunction(
      "TickerFunction",
      "ticker",
      HANDLERS.ticker,
      // Every tick redoes what the last one left: no retries, and a tick older than two minutes is moot.
      { timeout: TICKER_TIMEOUT, retryAttempts: 0, maxEventAge: Duration.minutes(2) },
      { ...baseEnvironment, SPARKLESS_FINALIZER_FUNCTION: finalizerNames },
    );

    // ----- grants -----
    for (const fn of [this.shardFunction, this.tickerFunction, ...finalizers]) this.table.grantReadWriteData(fn);
    const P = BUCKET_PREFIXES;
    this.grantBucket(this.shardFunction, {
      read: [P.checkpoint, P.spill],
      write: [P.shuffle, P.spill, P.output, P.deadLetter, P.late],
      delete: [],
    });
    for (const fn of finalizers) {
      this.grantBucket(fn, {
        read: [P.output, P.checkpoint, P.shuffle, P.spill],
        write: [P.output, P.checkpoint, P.spill, P.deadLetter, P.late],
        delete: [P.output, P.shuffle, P.spill],
      });
    }
    this.grantBucket(this.tickerFunction, {
      read: [P.checkpoint, P.spill],
      write: [],
      delete: [P.output, P.shuffle, P.spill],
    });
    // The ticker probes quiet shards (ListShards, GetShardIterator, GetRecords).
    this.stream.grantRead(this.tickerFunction);
    // A finalizer decides completeness from the shard set; it reads shard metadata, never records.
    for (const fn of finalizers) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ["kinesis:ListShards", "kinesis:DescribeStreamSummary"],
          resources: [this.stream.streamArn],
        }),
      );
    }
    // Finalization is asynchronous: the shard handler and the ticker invoke the finalizers (and nothing else).
    const invokeFinalizers = new iam.PolicyStatement({
      actions: ["lambda:InvokeFunction"],
      resources: finalizers.map((fn) => fn.functionArn),
    });
    this.shardFunction.addToRolePolicy(invokeFinalizers);
    this.tickerFunction.addToRolePolicy(invokeFinalizers);

    // ----- event-source mapping -----
    this.eventSource = new KinesisEventSource(this.stream, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: config.batchSize,
      maxBatchingWindow: config.maxBatchingWindow,
      parallelizationFactor: config.parallelizationFactor,
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      retryAttempts: config.retryAttempts,
      maxRecordAge: config.maxRecordAge,
      onFailure: new ScopedS3OnFailureDestination(this.bucket, BUCKET_PREFIXES.esmFailures),
      metricsConfig: { metrics: [lambda.MetricType.EVENT_COUNT] },
    });
    this.shardFunction.addEventSource(this.eventSource);

    // ----- schedule -----
    this.tickerRule = new events.Rule(this, "TickerSchedule", {
      description: `sparkless ${pipeline.name}: runs the ticker`,
      schedule: config.tickerSchedule,
      targets: [new targets.LambdaFunction(this.tickerFunction, { retryAttempts: 2, maxEventAge: Duration.minutes(2) })],
    });

    // ----- object wildcards, explained (cdk-nag acknowledges each finding by its exact resource) -----
    const bucketLogicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
    for (const prefix of Object.values(BUCKET_PREFIXES)) {
      Validations.of(this).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${prefix}*]`,
        reason: `Keys under ${prefix} are data (batch times, attempt ids, shard ids) and not known at deploy time, so object permissions name the prefix with a trailing wildcard; the actions are listed one by one.`,
      });
    }

    // ----- alarms and dashboard -----
    this.iteratorAgeAlarm = this.metricIteratorAge().createAlarm(this, "IteratorAgeAlarm", {
      alarmDescription: `sparkless ${pipeline.name}: the shard handler lags the stream by more than ${config.iteratorAgeAlarmThreshold.toHumanString()}; batches after the lag cannot finalize.`,
      threshold: config.iteratorAgeAlarmThreshold.toMilliseconds(),
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      // No invocations, no data points: an idle stream is not a lagging one.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.deadLetterAlarm = this.metricDeadLetterRecords().createAlarm(this, "DeadLetterAlarm", {
      alarmDescription: `sparkless ${pipeline.name}: records were written to ${BUCKET_PREFIXES.deadLetter} (undecodable, or a user function threw).`,
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.discardDeliveryAlarm = this.shardFunction
      .metric("DestinationDeliveryFailures", { statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) })
      .createAlarm(this, "DiscardDeliveryAlarm", {
        alarmDescription: `sparkless ${pipeline.name}: Lambda discarded records and could not write them to ${BUCKET_PREFIXES.esmFailures} in the bucket.`,
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    this.dashboard = this.buildDashboard(config.iteratorAgeAlarmThreshold.toMilliseconds());
  }

  /** Lets `grantee` put records into the pipeline's stream (a producer). */
  grantPutRecords(grantee: iam.IGrantable): iam.Grant {
    return this.stream.grantWrite(grantee);
  }

  /** Lets `grantee` list the bucket and read what the pipeline's sinks wrote under `output/`. */
  grantReadOutput(grantee: iam.IGrantable): iam.Grant {
    return this.grantReadPrefixes(grantee, [BUCKET_PREFIXES.output]);
  }

  /** Lets `grantee` list the bucket and read dead letters, late records and records Lambda discarded. */
  grantReadDeadLetters(grantee: iam.IGrantable): iam.Grant {
    return this.grantReadPrefixes(grantee, [BUCKET_PREFIXES.deadLetter, BUCKET_PREFIXES.late, BUCKET_PREFIXES.esmFailures]);
  }

  /** A metric the functions emit in namespace {@link METRIC_NAMESPACE}, dimension `Pipeline`. */
  metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE,
      metricName,
      dimensionsMap: { Pipeline: this.pipelineName },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...props,
    });
  }

  /** Records written to the dead-letter prefix (sum over 5 minutes). */
  metricDeadLetterRecords(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric("DeadLetterRecords", props);
  }

  /** Age of the last record of the shard handler's batches (maximum over 1 minute). */
  metricIteratorAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.shardFunction.metric("IteratorAge", { statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(1), ...props });
  }

  /** One of the event-source mapping's `EventCount` metrics (PolledEventCount, DroppedEventCount, ...). */
  metricEventSource(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: "AWS/Lambda",
      metricName,
      dimensionsMap: { EventSourceMappingUUID: this.eventSource.eventSourceMappingId },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...props,
    });
  }

  private grantReadPrefixes(grantee: iam.IGrantable, prefixes: readonly string[]): iam.Grant {
    const read = iam.Grant.addToPrincipal({
      grantee,
      actions: ["s3:GetObject"],
      resourceArns: prefixes.map((prefix) => this.bucket.arnForObjects(`${prefix}*`)),
    });
    iam.Grant.addToPrincipal({ grantee, actions: ["s3:ListBucket"], resourceArns: [this.bucket.bucketArn] });
    return read;
  }

  /** Object permissions by prefix (no `s3:*`, no action wildcards) plus ListBucket, see infra/README.md. */
  private grantBucket(fn: lambda.IFunction, access: { read: string[]; write: string[]; delete: string[] }): void {
    const objects = (prefixes: string[]) => prefixes.map((prefix) => this.bucket.arnForObjects(`${prefix}*`));
    // ListBucket turns a missing key's 403 into the 404 the engine expects, and lets the sweepers list.
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["s3:ListBucket"], resources: [this.bucket.bucketArn] }));
    if (access.read.length) fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["s3:GetObject"], resources: objects(access.read) }));
    if (access.write.length) {
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["s3:PutObject", "s3:AbortMultipartUpload"], resources: objects(access.write) }));
    }
    if (access.delete.length) fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["s3:DeleteObject"], resources: objects(access.delete) }));
  }

  private buildDashboard(thresholdMs: number): cloudwatch.Dashboard {
    const functions: Array<[string, lambda.IFunction]> = [
      ["shard", this.shardFunction],
      ["ticker", this.tickerFunction],
      ...this.finalizerFunctions.map((fn, p): [string, lambda.IFunction] => [`finalizer ${p}`, fn]),
    ];
    const perFunction = (title: string, metric: (fn: lambda.IFunction) => cloudwatch.IMetric) =>
      new cloudwatch.GraphWidget({
        title,
        width: 6,
        left: functions.map(([label, fn]) => (metric(fn) as cloudwatch.Metric).with({ label })),
      });
    const dashboard = new cloudwatch.Dashboard(this, "Dashboard");
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Iterator age (ms)",
        width: 12,
        left: [
          this.metricIteratorAge({ label: "shard handler IteratorAge" }),
          this.stream.metricGetRecordsIteratorAgeMilliseconds({ statistic: cloudwatch.Stats.MAXIMUM, label: "stream GetRecords.IteratorAgeMilliseconds" }),
        ],
        leftAnnotations: [{ value: thresholdMs, label: "iterator-age alarm" }],
      }),
      new cloudwatch.GraphWidget({
        title: "Dead letters and discarded batches",
        width: 12,
        left: [this.metricDeadLetterRecords({ label: "DeadLetterRecords" })],
        right: [
          this.metricEventSource("OnFailureDestinationDeliveredEventCount", { label: "discarded to S3 (records)" }),
          this.shardFunction.metric("DestinationDeliveryFailures", { statistic: cloudwatch.Stats.SUM, label: "discard delivery failures" }),
        ],
      }),
    );
    dashboard.addWidgets(
      perFunction("Invocations", (fn) => fn.metricInvocations({ statistic: cloudwatch.Stats.SUM })),
      perFunction("Errors", (fn) => fn.metricErrors({ statistic: cloudwatch.Stats.SUM })),
      perFunction("Duration (p99, ms)", (fn) => fn.metricDuration({ statistic: cloudwatch.Stats.p(99) })),
      perFunction("Throttles", (fn) => fn.metricThrottles({ statistic: cloudwatch.Stats.SUM })),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Event-source mapping (records)",
        width: 24,
        left: ["PolledEventCount", "InvokedEventCount", "FailedInvokeEventCount", "DroppedEventCount"].map((name) =>
          this.metricEventSource(name, { label: name }),
        ),
      }),
    );
    return dashboard;
  }

}

/**
 * The S3 on-failure destination of the event-source mapping, with permissions scoped to the keys Lambda
 * writes. aws-cdk-lib's `S3OnFailureDestination` (which does support Kinesis) grants the function
 * `bucket.grantReadWrite` — read, write and delete on every object — which would undo the prefix scoping
 * of the pipeline's own permissions.
 */
class ScopedS3OnFailureDestination implements lambda.IEventSourceDlq {
  constructor(
    private readonly bucket: s3.IBucket,
    private readonly prefix: string,
  ) {}

  bind(_target: lambda.IEventSourceMapping, targetHandler: lambda.IFunction): lambda.DlqDestinationConfig {
    // Lambda documents s3:PutObject and s3:ListBucket for S3 destinations; the bucket is SSE-S3, so no kms:.
    targetHandler.addToRolePolicy(new iam.PolicyStatement({ actions: ["s3:PutObject"], resources: [this.bucket.arnForObjects(`${this.prefix}*`)] }));
    targetHandler.addToRolePolicy(new iam.PolicyStatement({ actions: ["s3:ListBucket"], resources: [this.bucket.bucketArn] }));
    return { destination: this.bucket.bucketArn };
  }
}

/** Every optional prop with its default, in one place. */
function resolveProps(props: SparklessPipelineProps): Resolved {
  return {
    pipeline: props.pipeline,
    stream: props.stream,
    shardCount: props.shardCount ?? DEFAULTS.shardCount,
    onDemand: props.onDemand ?? DEFAULTS.onDemand,
    retentionPeriod: props.retentionPeriod ?? DEFAULTS.retentionPeriod,
    memorySize: props.memorySize ?? DEFAULTS.memorySize,
    timeout: props.timeout ?? DEFAULTS.timeout,
    finalizerTimeout: props.finalizerTimeout ?? DEFAULTS.finalizerTimeout,
    tickerSchedule: props.tickerSchedule ?? events.Schedule.rate(Duration.minutes(1)),
    finalizerPartitions: props.finalizerPartitions ?? DEFAULTS.finalizerPartitions,
    reserveFinalizerConcurrency: props.reserveFinalizerConcurrency ?? DEFAULTS.reserveFinalizerConcurrency,
    environment: props.environment ?? {},
    logRetention: props.logRetention ?? DEFAULTS.logRetention,
    batchSize: props.batchSize ?? DEFAULTS.batchSize,
    maxBatchingWindow: props.maxBatchingWindow ?? defaultBatchingWindow(props.pipeline.batchIntervalMs),
    retryAttempts: props.retryAttempts ?? DEFAULTS.retryAttempts,
    maxRecordAge: props.maxRecordAge ?? DEFAULTS.maxRecordAge,
    parallelizationFactor: props.parallelizationFactor ?? DEFAULTS.parallelizationFactor,
    removalPolicy: props.removalPolicy ?? DEFAULTS.removalPolicy,
    versioned: props.versioned ?? DEFAULTS.versioned,
    shuffleExpiration: props.shuffleExpiration ?? DEFAULTS.shuffleExpiration,
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

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Checks the props as given and with defaults; each error names the value received. */
function validate(config: Resolved, props: SparklessPipelineProps): void {
  const { pipeline } = config;
  if (!pipeline || typeof pipeline !== "object") {
    throw new ValidationError("PipelineMissing", `props.pipeline must be the pipeline's { name, entry, batchIntervalMs, stateful } (received ${String(pipeline)})`);
  }
  if (typeof pipeline.name !== "string" || !NAME_PATTERN.test(pipeline.name)) {
    throw new ValidationError(
      "InvalidPipelineName",
      `pipeline name must be 1 to 64 letters, digits, '-' or '_', starting with a letter or digit (received ${JSON.stringify(pipeline.name)})`,
      { name: pipeline.name },
    );
  }
  const batch = pipeline.batchIntervalMs;
  if (!isNumberToken(batch) && !(Number.isInteger(batch) && batch > 0)) {
    throw new ValidationError(
      "InvalidBatchInterval",
      `batch interval of pipeline "${pipeline.name}" must be a positive whole number of milliseconds (received ${String(batch)})`,
      { batchIntervalMs: batch },
    );
  }
  if (typeof pipeline.stateful !== "boolean") {
    throw new ValidationError("InvalidStateful", `pipeline.stateful must be true or false (received ${String(pipeline.stateful)})`, { stateful: pipeline.stateful });
  }
  if (typeof pipeline.entry !== "string" || !/\.(m?[jt]s|c[jt]s)$/.test(pipeline.entry)) {
    throw new ValidationError("InvalidPipelineEntry", `pipeline entry must be the path of a .ts or .js module (received ${JSON.stringify(pipeline.entry)})`, {
      entry: pipeline.entry,
    });
  }
  if (!existsSync(path.resolve(pipeline.entry))) {
    throw new ValidationError(
      "PipelineEntryNotFound",
      `pipeline entry ${JSON.stringify(pipeline.entry)} does not exist (resolved against ${process.cwd()} to ${path.resolve(pipeline.entry)})`,
      { entry: pipeline.entry },
    );
  }

  // Stream.
  if (props.stream) {
    const own = (["shardCount", "onDemand", "retentionPeriod"] as const).filter((key) => props[key] !== undefined);
    if (own.length) {
      throw new ValidationError(
        "StreamPropsWithExistingStream",
        `${own.join(", ")} configure the stream the construct creates, but an existing stream was given (received ${own.map((key) => `${key}=${describe(props[key])}`).join(", ")})`,
        { props: own },
      );
    }
  } else {
    if (props.onDemand && props.shardCount !== undefined) {
      throw new ValidationError("ShardCountWithOnDemand", `shardCount cannot be set for an on-demand stream (received shardCount=${props.shardCount})`, {
        shardCount: props.shardCount,
      });
    }
    integerIn("shardCount", config.shardCount, 1, 10_000, "InvalidShardCount");
    durationIn("retentionPeriod", config.retentionPeriod, Duration.hours(24), Duration.days(365), "InvalidRetentionPeriod");
    if (!config.maxRecordAge.isUnresolved() && !config.retentionPeriod.isUnresolved() && config.maxRecordAge.toSeconds() >= config.retentionPeriod.toSeconds()) {
      throw new ValidationError(
        "MaxRecordAgeNotBelowRetention",
        `maxRecordAge (received ${config.maxRecordAge.toHumanString()}) must be below the stream's retention period (${config.retentionPeriod.toHumanString()}): a stuck record must be discarded to the bucket before Kinesis trims it`,
        { maxRecordAge: config.maxRecordAge.toSeconds(), retentionPeriod: config.retentionPeriod.toSeconds() },
      );
    }
  }

  // Functions.
  integerIn("memorySize", config.memorySize, 128, 10_240, "InvalidMemorySize");
  durationIn("timeout", config.timeout, Duration.seconds(1), Duration.minutes(15), "InvalidTimeout");
  durationIn("finalizerTimeout", config.finalizerTimeout, Duration.seconds(1), Duration.minutes(15), "InvalidTimeout");
  integerIn("finalizerPartitions", config.finalizerPartitions, 1, 64, "InvalidFinalizerPartitions");
  if (config.finalizerPartitions > 1) {
    // The key layout and the functions are ready for P > 1, but the runtime does not split keys yet: every
    // finalizer would take the same lease and do all the work. Refused rather than provisioned for nothing.
    throw new ValidationError(
      "FinalizerPartitionsNotSupported",
      `finalizerPartitions above 1 is not supported yet (received ${config.finalizerPartitions}): the runtime finalizes all keys under one lease; use 1`,
      { finalizerPartitions: config.finalizerPartitions },
    );
  }
  const reserved = Object.keys(config.environment).filter((key) => key.startsWith("SPARKLESS_") || key === "NODE_OPTIONS");
  if (reserved.length) {
    throw new ValidationError("ReservedEnvironmentVariable", `environment names ${reserved.join(", ")} are set by the construct (received them in props.environment)`, {
      names: reserved,
    });
  }

  // Event-source mapping.
  integerIn("batchSize", config.batchSize, 1, 10_000, "InvalidBatchSize");
  if (!config.maxBatchingWindow.isUnresolved()) {
    const ms = config.maxBatchingWindow.toMilliseconds();
    if (ms % 1000 !== 0 || ms < 0 || ms > 300_000) {
      throw new ValidationError(
        "InvalidBatchingWindow",
        `maxBatchingWindow must be a whole number of seconds from 0 to 300 (received ${config.maxBatchingWindow.toHumanString()})`,
        { maxBatchingWindowMs: ms },
      );
    }
  }
  if (config.retryAttempts === -1) {
    throw new ValidationError(
      "InfiniteRetries",
      "retryAttempts must be finite (received -1): with infinite retries one failing batch stops its shard, and every batch time after it, until Kinesis trims the records",
      { retryAttempts: -1 },
    );
  }
  integerIn("retryAttempts", config.retryAttempts, 0, 10_000, "InvalidRetryAttempts");
  durationIn("maxRecordAge", config.maxRecordAge, Duration.seconds(60), Duration.days(7), "InvalidMaxRecordAge");
  integerIn("parallelizationFactor", config.parallelizationFactor, 1, 10, "InvalidParallelizationFactor");
  if (config.parallelizationFactor > 1) {
    // Not only stateful pipelines: every pipeline commits through the shard's progress
    // item: with batches of one shard in flight at once, a commit of later records would make the shard stage
    // skip earlier, uncommitted ones as "already committed" — lost, with or without state.
    throw new ValidationError(
      pipeline.stateful ? "ParallelizationWithState" : "ParallelizationNotSupported",
      `parallelizationFactor ${config.parallelizationFactor} is not allowed for pipeline "${pipeline.name}"${pipeline.stateful ? ", which has windows or keyed state" : ""}: ` +
        "the commit protocol tracks progress per shard and assumes one batch per shard at a time, while a factor above 1 runs " +
        "several batches of one shard at once. Use 1 and add shards to scale.",
      { parallelizationFactor: config.parallelizationFactor, pipeline: pipeline.name },
    );
  }

  // Storage and monitoring.
  if (!config.shuffleExpiration.isUnresolved()) {
    const days = config.shuffleExpiration.toHours() / 24;
    if (!Number.isInteger(days) || days < 1) {
      throw new ValidationError("InvalidShuffleExpiration", `shuffleExpiration must be a whole number of days, at least 1 (received ${config.shuffleExpiration.toHumanString()})`, {
        shuffleExpirationHours: config.shuffleExpiration.toHours(),
      });
    }
  }
  if (!config.iteratorAgeAlarmThreshold.isUnresolved() && config.iteratorAgeAlarmThreshold.toMilliseconds() <= 0) {
    throw new ValidationError("InvalidAlarmThreshold", `iteratorAgeAlarmThreshold must be positive (received ${config.iteratorAgeAlarmThreshold.toHumanString()})`);
  }
}

function isNumberToken(value: unknown): boolean {
  return typeof value === "number" && Token.isUnresolved(value);
}

function integerIn(name: string, value: number, min: number, max: number, code: string): void {
  if (isNumberToken(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(code, `${name} must be a whole number from ${min} to ${max} (received ${String(value)})`, { [name]: value });
  }
}

function durationIn(name: string, value: Duration, min: Duration, max: Duration, code: string): void {
  if (value.isUnresolved()) return;
  const ms = value.toMilliseconds();
  if (ms < min.toMilliseconds() || ms > max.toMilliseconds()) {
    throw new ValidationError(code, `${name} must be from ${min.toHumanString()} to ${max.toHumanString()} (received ${value.toHumanString()})`, { [`${name}Ms`]: ms });
  }
}

function describe(value: unknown): string {
  return value instanceof Duration ? value.toHumanString() : String(value);
}

/**
 * `autoDeleteObjects` (only with RemovalPolicy.DESTROY) adds aws-cdk-lib's stack-wide custom-resource
 * provider, whose function and role the construct does not shape.
 */
function suppressAutoDeleteProvider(scope: Construct): void {
  const provider = Stack.of(scope).node.tryFindChild("Custom::S3AutoDeleteObjectsCustomResourceProvider");
  if (!provider) return;
  Validations.of(provider).acknowledge(
    {
      id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
      reason: "aws-cdk-lib's S3 auto-delete provider uses AWSLambdaBasicExecutionRole; it exists only with RemovalPolicy.DESTROY (development stacks) and its role is not configurable.",
    },
    {
      id: "AwsSolutions-L1",
      reason: "aws-cdk-lib chooses the runtime of its S3 auto-delete provider; it is not configurable.",
    },
  );
}

/**
 * `SparklessPipeline`: everything one sparkless pipeline needs on AWS — a Kinesis stream (or a Kafka topic), the shard handler
 * behind an event-source mapping (stage 1), the ticker on a schedule, a finalizer to invoke on demand, one
 * DynamoDB table, one S3 bucket, alarms and a dashboard. See docs/architecture.md, "How a pipeline runs on AWS",
 * and infra/README.md for the decisions taken here.
 *
 * This file wires; the knowledge sits in the parts it calls: the contract (lib/contract: handler names,
 * environment, prefixes, who reads and writes what), props.ts (props and defaults), validate.ts, storage.ts,
 * bundling.ts, pipeline-function.ts (role, log group, grants), event-source.ts and monitoring.ts.
 */
import * as path from "node:path";
import { Duration, Stack, Validations } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kinesis from "aws-cdk-lib/aws-kinesis";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type { KinesisEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { BUCKET_PREFIXES, type BucketPrefix, environmentVariables, METRICS } from "../lib/contract/index.js";
import { pipelineCode, readPipelineSummary } from "./bundling.js";
import { shardEventSource } from "./event-source.js";
import { kafkaEventSource } from "./kafka-event-source.js";
import { ValidationError } from "../lib/core/errors.js";
import { pipelineAlarms, pipelineDashboard, pipelineMetric } from "./monitoring.js";
import { pipelineFunction } from "./pipeline-function.js";
import { type ResolvedPipeline, resolveProps, type SparklessPipelineProps } from "./props.js";
import { pipelineBucket, pipelineStream, pipelineTable } from "./storage.js";
import { validateFinalizerPartitions, validateFunctions, validateMapping, validatePipeline, validateSource, validateStorage, validateStream } from "./validate.js";

export { BUCKET_PREFIXES, HANDLERS } from "../lib/contract/index.js";
export type { PipelineBundling } from "./bundling.js";
export { DEFAULTS, defaultBatchingWindow, type KafkaSourceProps, type PipelineFunctionOptions, type PipelineInfo, type SparklessPipelineProps } from "./props.js";

/** CloudWatch namespace of the metrics the functions emit (dimension `Pipeline`). */
export const METRIC_NAMESPACE = METRICS.namespace;

/**
 * One pipeline on AWS.
 *
 * @example
 * // pipelines/clicks.ts: export default definePipeline("clicks", { batchInterval: Seconds(10) }, (lines) => ...);
 * const pipeline = new SparklessPipeline(stack, "Clicks", { entry: "pipelines/clicks.ts", shardCount: 2 });
 * pipeline.grantPutRecords(producerRole);
 * pipeline.iteratorAgeAlarm.addAlarmAction(new SnsAction(topic));
 */
export class SparklessPipeline extends Construct {
  /** The Kinesis stream, or undefined when the pipeline reads a Kafka topic. */
  private readonly kinesisStream: kinesis.IStream | undefined;
  /** Progress, partials, window panes, keyed state, leases and batch status (pk, sk, ttl). */
  readonly table: dynamodb.ITable;
  /** Outputs, checkpoints, spills, dead letters, late records (see {@link BUCKET_PREFIXES}). */
  readonly bucket: s3.IBucket;
  /** Stage 1: the target of the Kinesis event-source mapping; finalizes inline what its commits complete. */
  readonly shardFunction: lambda.Function;
  /** Runs on {@link SparklessPipelineProps.tickerSchedule}. */
  readonly tickerFunction: lambda.Function;
  /**
   * Finalizes one partition when invoked (`{ "partition": n }`; absent: 0). With {@link finalizerPartitions} > 1
   * the shard function and the ticker invoke it asynchronously for each partition; with 1 they finalize inline and
   * nothing invokes it but you (`aws lambda invoke`).
   */
  readonly finalizerFunction: lambda.Function;
  /** The finalizer partitions P the keyed stage is spread over (the pipeline's `finalizerPartitions`). */
  readonly finalizerPartitions: number;
  /** The Kinesis event-source mapping of the shard function; undefined when the pipeline reads Kafka. */
  readonly eventSource: KinesisEventSource | undefined;
  /** The Kafka event-source mapping of the shard function; undefined when the pipeline reads Kinesis. */
  readonly kafkaEventSource: lambda.EventSourceMapping | undefined;
  /** The EventBridge rule that runs the ticker. */
  readonly tickerRule: events.Rule;
  /** Fires when the shard handler falls behind the stream, or the topic (OffsetLag) (add an action to be told). */
  readonly iteratorAgeAlarm: cloudwatch.Alarm;
  /** Fires when records were dead-lettered (bad input, or a user function threw). */
  readonly deadLetterAlarm: cloudwatch.Alarm;
  /** Fires when Lambda could not write discarded records to the bucket (they are then lost). */
  readonly discardDeliveryAlarm: cloudwatch.Alarm;
  /** Fires when batches stop being finalized (more than five minutes' worth, at least 30, for 3 minutes). */
  readonly backlogAlarm: cloudwatch.Alarm;
  /** Iterator age, invocations, errors, duration, throttles, dead letters and the mapping's event counts. */
  readonly dashboard: cloudwatch.Dashboard;
  /** The pipeline's name (the `Pipeline` dimension of its metrics). */
  readonly pipelineName: string;

  constructor(scope: Construct, id: string, props: SparklessPipelineProps) {
    super(scope, id);
    const pipeline = resolvePipeline(props);
    const config = resolveProps(props, pipeline.batchIntervalMs, pipeline.name);
    validateStream(config, props);
    validateFunctions(config);
    validateMapping(config, pipeline);
    validateStorage(config, props);
    validateFinalizerPartitions(props, pipeline);
    this.pipelineName = pipeline.name;
    this.finalizerPartitions = pipeline.finalizerPartitions;

    const kafka = config.kafka;
    this.kinesisStream = kafka ? undefined : pipelineStream(this, config);
    this.table = pipelineTable(this, config);
    this.bucket = pipelineBucket(this, config, pipeline.name);
    const stores = { stream: this.kinesisStream, ...(kafka ? { kafka } : {}), table: this.table, bucket: this.bucket, ...(config.encryptionKey ? { encryptionKey: config.encryptionKey } : {}) };

    const code = pipelineCode(pipeline.entry, pipeline.exposes, config.bundling, config.architecture);
    const environment = {
      ...config.environment,
      ...environmentVariables({
        pipeline: pipeline.name,
        table: this.table.tableName,
        bucket: this.bucket.bucketName,
        batchIntervalMs: pipeline.batchIntervalMs,
        finalizerPartitions: pipeline.finalizerPartitions,
        ...(kafka
          ? {
              kafka: {
                topic: kafka.topic,
                ...(kafka.bootstrapServers ? { bootstrapServers: kafka.bootstrapServers } : {}),
                ...(kafka.clusterArn !== undefined ? { clusterArn: kafka.clusterArn } : {}),
                ...(kafka.secret ? { secretArn: kafka.secret.secretArn, authentication: kafka.authenticationMethod! } : {}),
                ...(kafka.rootCaCertificate ? { rootCaSecretArn: kafka.rootCaCertificate.secretArn } : {}),
              },
            }
          : { streamName: this.stream.streamName, streamArn: this.stream.streamArn }),
      }),
    };
    // With one partition every function finalizes inline; with more, a batch's partitions run as separate
    // finalizer invocations, which the shard function and the ticker ask for.
    const fanOut = pipeline.finalizerPartitions > 1;
    const fn = (kind: "shard" | "ticker" | "finalizer") =>
      pipelineFunction(this, { kind, pipelineName: pipeline.name, code, environment, stores, config, ...(fanOut ? { invokes: { finalizer: this.finalizerFunction } } : {}) });
    this.finalizerFunction = fn("finalizer");
    this.shardFunction = fn("shard");
    this.tickerFunction = fn("ticker");

    if (kafka) {
      this.eventSource = undefined;
      this.kafkaEventSource = kafkaEventSource(this.shardFunction, this.bucket, { ...config, kafka });
      this.acknowledgeKafkaNetwork(kafka);
    } else {
      this.kafkaEventSource = undefined;
      this.eventSource = shardEventSource(this.stream, this.bucket, config);
      this.shardFunction.addEventSource(this.eventSource);
    }
    this.tickerRule = new events.Rule(this, "TickerSchedule", {
      description: `sparkless ${pipeline.name}: runs the ticker`,
      schedule: config.tickerSchedule,
      targets: [new targets.LambdaFunction(this.tickerFunction, { retryAttempts: 2, maxEventAge: Duration.minutes(2) })],
    });
    this.acknowledgePrefixWildcards();

    const monitored = {
      pipelineName: pipeline.name,
      stream: this.kinesisStream,
      shardFunction: this.shardFunction,
      functions: [["shard", this.shardFunction], ["ticker", this.tickerFunction], ["finalizer", this.finalizerFunction]] as Array<[string, lambda.IFunction]>,
      iteratorAgeAlarmThreshold: config.iteratorAgeAlarmThreshold,
      ...(kafka ? { offsetLagAlarmThreshold: kafka.offsetLagAlarmThreshold } : {}),
      batchIntervalMs: pipeline.batchIntervalMs,
      metricIteratorAge: (p?: cloudwatch.MetricOptions) => this.metricIteratorAge(p),
      metricDeadLetterRecords: (p?: cloudwatch.MetricOptions) => this.metricDeadLetterRecords(p),
      metricEventSource: (name: string, p?: cloudwatch.MetricOptions) => this.metricEventSource(name, p),
    };
    ({ iteratorAgeAlarm: this.iteratorAgeAlarm, deadLetterAlarm: this.deadLetterAlarm, discardDeliveryAlarm: this.discardDeliveryAlarm, backlogAlarm: this.backlogAlarm } = pipelineAlarms(this, monitored));
    this.dashboard = pipelineDashboard(this, monitored);
  }

  /** The stream the pipeline reads (created, or the one given). A pipeline on a Kafka topic has none: asking throws. */
  get stream(): kinesis.IStream {
    if (!this.kinesisStream) {
      throw new ValidationError("NoStreamOnKafka", `pipeline "${this.pipelineName}" reads a Kafka topic, not a Kinesis stream: it has no stream (its topic is in the kafka prop)`);
    }
    return this.kinesisStream;
  }

  /** Whether the pipeline reads a Kinesis stream (else a Kafka topic). */
  get readsKinesis(): boolean {
    return this.kinesisStream !== undefined;
  }

  /** Lets `grantee` put records into the pipeline's stream (a producer). A Kafka topic's producers are granted on the cluster. */
  grantPutRecords(grantee: iam.IGrantable): iam.Grant {
    if (!this.kinesisStream) {
      throw new ValidationError("GrantPutRecordsOnKafka", `pipeline "${this.pipelineName}" reads a Kafka topic, not a stream: grant producers on the Kafka cluster (kafka-cluster:WriteData for MSK IAM, or its ACLs)`);
    }
    return this.kinesisStream.grantWrite(grantee);
  }

  /** Lets `grantee` list the bucket and read what the pipeline's sinks wrote under `output/`. */
  grantReadOutput(grantee: iam.IGrantable): iam.Grant {
    return this.grantReadPrefixes(grantee, ["output"]);
  }

  /** Lets `grantee` list the bucket and read dead letters, late records and records Lambda discarded. */
  grantReadDeadLetters(grantee: iam.IGrantable): iam.Grant {
    return this.grantReadPrefixes(grantee, ["deadLetter", "late", "esmFailures"]);
  }

  /** A metric the functions emit in namespace {@link METRIC_NAMESPACE}, dimension `Pipeline`. */
  metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return pipelineMetric(this.pipelineName, metricName, props);
  }

  /** Records written to the dead-letter prefix (sum over 5 minutes). */
  metricDeadLetterRecords(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRICS.deadLetterRecords, props);
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
      dimensionsMap: { EventSourceMappingUUID: (this.eventSource ?? this.kafkaEventSource!).eventSourceMappingId },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...props,
    });
  }

  private grantReadPrefixes(grantee: iam.IGrantable, prefixes: readonly BucketPrefix[]): iam.Grant {
    const read = iam.Grant.addToPrincipal({
      grantee,
      actions: ["s3:GetObject"],
      resourceArns: prefixes.map((prefix) => this.bucket.arnForObjects(`${BUCKET_PREFIXES[prefix]}*`)),
    });
    iam.Grant.addToPrincipal({ grantee, actions: ["s3:ListBucket"], resourceArns: [this.bucket.bucketArn] });
    return read;
  }

  /** Lambda's poller creates network interfaces in the brokers' VPC; EC2 offers those actions no resource-level permissions. */
  private acknowledgeKafkaNetwork(kafka: { clusterArn: string | undefined; vpc: unknown }): void {
    if (kafka.clusterArn === undefined && !kafka.vpc) return;
    Validations.of(this.shardFunction.role!).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason: "Lambda's Kafka poller creates and deletes network interfaces in the brokers' VPC with the shard function's role (ec2:CreateNetworkInterface, Describe*, DeleteNetworkInterface); EC2 offers these actions no resource-level permissions. Every other action names its resource.",
    });
  }

  /** Object permissions name each prefix with a trailing wildcard; cdk-nag acknowledges each by its exact resource. */
  private acknowledgePrefixWildcards(): void {
    if (!(this.bucket instanceof s3.Bucket)) return;
    const bucketLogicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
    for (const prefix of Object.values(BUCKET_PREFIXES)) {
      Validations.of(this).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${prefix}*]`,
        reason: `Keys under ${prefix} are data (batch times, attempt ids, shard ids) and not known at deploy time, so object permissions name the prefix with a trailing wildcard; the actions are listed one by one.`,
      });
    }
  }
}

/** The pipeline from `pipeline`, or read from the module `entry` names; validated either way. */
function resolvePipeline(props: SparklessPipelineProps): ResolvedPipeline {
  validateSource(props);
  if (props.pipeline) {
    validatePipeline(props.pipeline);
    return { ...props.pipeline, finalizerPartitions: props.pipeline.finalizerPartitions ?? 1, entry: path.resolve(props.pipeline.entry), exposes: "handlers" };
  }
  const entry = path.resolve(props.entry!);
  const summary = readPipelineSummary(entry);
  validatePipeline(summary);
  // A module built against a sparkless without partitions has none in its summary: it runs with one.
  return { ...summary, finalizerPartitions: summary.finalizerPartitions ?? 1, entry, exposes: "pipeline" };
}

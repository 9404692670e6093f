/**
 * Checks of the props as given and with defaults, one concern per function; each error names the value
 * received. Run in the constructor, before anything is created.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { Duration, Token } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { AuthenticationMethod } from "aws-cdk-lib/aws-lambda-event-sources";
import { checkPipelineName, FUNCTION_KINDS, isReservedEnvironmentName } from "../lib/contract/index.js";
import { ValidationError } from "../lib/core/errors.js";
import { MAX_FINALIZER_PARTITIONS } from "../lib/core/partitioner.js";
import type { PipelineInfo, Resolved, SparklessPipelineProps } from "./props.js";

/** Exactly one of `entry` and `pipeline`, naming a module that exists. */
export function validateSource(props: SparklessPipelineProps): void {
  if ((props.entry === undefined) === (props.pipeline === undefined)) {
    throw new ValidationError(
      props.entry === undefined ? "PipelineMissing" : "EntryWithPipeline",
      `give either entry (the module that defines the pipeline) or pipeline (a module exporting the handlers, with its name, batch interval and statefulness), not ${props.entry === undefined ? "neither" : "both"}`,
    );
  }
  if (props.pipeline !== undefined && (typeof props.pipeline !== "object" || props.pipeline === null)) {
    throw new ValidationError("PipelineMissing", `props.pipeline must be the pipeline's { name, entry, batchIntervalMs, stateful } (received ${String(props.pipeline)})`);
  }
  validateEntry(props.entry ?? props.pipeline!.entry);
}

function validateEntry(entry: unknown): void {
  if (typeof entry !== "string" || !/\.(m?[jt]s|c[jt]s)$/.test(entry)) {
    throw new ValidationError("InvalidPipelineEntry", `pipeline entry must be the path of a .ts or .js module (received ${JSON.stringify(entry)})`, { entry });
  }
  if (!existsSync(path.resolve(entry))) {
    throw new ValidationError(
      "PipelineEntryNotFound",
      `pipeline entry ${JSON.stringify(entry)} does not exist (resolved against ${process.cwd()} to ${path.resolve(entry)})`,
      { entry },
    );
  }
}

/** The name, batch interval and statefulness, however they were learned. */
export function validatePipeline(pipeline: Omit<PipelineInfo, "entry">): void {
  checkPipelineName(pipeline.name);
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
  const partitions = pipeline.finalizerPartitions;
  if (partitions !== undefined && !(Number.isInteger(partitions) && partitions >= 1 && partitions <= MAX_FINALIZER_PARTITIONS)) {
    throw new ValidationError(
      "InvalidFinalizerPartitions",
      `finalizerPartitions of pipeline "${pipeline.name}" must be a whole number from 1 to ${MAX_FINALIZER_PARTITIONS} (received ${String(partitions)})`,
      { finalizerPartitions: partitions },
    );
  }
}

/** The construct's `finalizerPartitions`, when given, pins the pipeline's own: a difference fails the synth. */
export function validateFinalizerPartitions(props: SparklessPipelineProps, pipeline: { name: string; finalizerPartitions: number }): void {
  if (props.finalizerPartitions === undefined || props.finalizerPartitions === pipeline.finalizerPartitions) return;
  throw new ValidationError(
    "FinalizerPartitionsMismatch",
    `finalizerPartitions is ${String(props.finalizerPartitions)} on the construct but ${pipeline.finalizerPartitions} in pipeline "${pipeline.name}": the pipeline's own setting is the one the functions run with; change it there (definePipeline's finalizerPartitions) or drop the construct's`,
    { finalizerPartitions: props.finalizerPartitions },
  );
}

export function validateStream(config: Resolved, props: SparklessPipelineProps): void {
  if (config.kafka) return validateKafka(config, props);
  if (props.stream) {
    const own = (["shardCount", "onDemand", "retentionPeriod"] as const).filter((key) => props[key] !== undefined);
    if (own.length) {
      throw new ValidationError(
        "StreamPropsWithExistingStream",
        `${own.join(", ")} configure the stream the construct creates, but an existing stream was given (received ${own.map((key) => `${key}=${describe(props[key])}`).join(", ")})`,
        { props: own },
      );
    }
    return;
  }
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

export function validateFunctions(config: Resolved): void {
  for (const kind of FUNCTION_KINDS) {
    const fn = config.functions[kind];
    integerIn(kind === "shard" ? "memorySize" : `functions.${kind}.memorySize`, fn.memorySize, 128, 10_240, "InvalidMemorySize");
    durationIn(kind === "shard" ? "timeout" : `functions.${kind}.timeout`, fn.timeout, Duration.seconds(1), Duration.minutes(15), "InvalidTimeout");
  }
  const reserved = Object.keys(config.environment).filter(isReservedEnvironmentName);
  if (reserved.length) {
    throw new ValidationError("ReservedEnvironmentVariable", `environment names ${reserved.join(", ")} are set by the construct (received them in props.environment)`, {
      names: reserved,
    });
  }
}

export function validateMapping(config: Resolved, pipeline: { name: string; stateful: boolean }): void {
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
    // Not only stateful pipelines: every pipeline commits through the shard's progress item. With batches of one
    // shard in flight at once, a commit of later records would make the shard stage skip earlier, uncommitted
    // ones as "already committed" — lost, with or without state.
    throw new ValidationError(
      pipeline.stateful ? "ParallelizationWithState" : "ParallelizationNotSupported",
      `parallelizationFactor ${config.parallelizationFactor} is not allowed for pipeline "${pipeline.name}"${pipeline.stateful ? ", which has windows or keyed state" : ""}: ` +
        "the commit protocol tracks progress per shard and assumes one batch per shard at a time, while a factor above 1 runs " +
        "several batches of one shard at once. Use 1 and add shards to scale.",
      { parallelizationFactor: config.parallelizationFactor, pipeline: pipeline.name },
    );
  }
}

export function validateStorage(config: Resolved, props: SparklessPipelineProps): void {
  if (props.bucket) {
    const own = (["versioned", "serverAccessLogsBucket"] as const).filter((key) => props[key] !== undefined);
    if (own.length) {
      throw new ValidationError("BucketPropsWithExistingBucket", `${own.join(", ")} configure the bucket the construct creates, but an existing bucket was given`, { props: own });
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

/** Kafka's own rules: where the brokers are, the topic and group names, authentication, network, pollers. */
export function validateKafka(config: Resolved, props: SparklessPipelineProps): void {
  const kafka = config.kafka;
  if (!kafka) return;
  const kinesisProps = (["stream", "shardCount", "onDemand", "retentionPeriod", "parallelizationFactor"] as const).filter((key) => props[key] !== undefined);
  if (kinesisProps.length) {
    throw new ValidationError(
      "KafkaWithStreamProps",
      `${kinesisProps.join(", ")} configure a Kinesis stream, but the pipeline reads the Kafka topic ${JSON.stringify(kafka.topic)} (received both kafka and ${kinesisProps.join(", ")})`,
      { props: kinesisProps },
    );
  }
  if ((kafka.clusterArn === undefined) === (kafka.bootstrapServers === undefined)) {
    throw new ValidationError(
      "KafkaClusterOrBootstrapServers",
      `kafka needs exactly one of clusterArn (Amazon MSK) and bootstrapServers (self-managed Kafka) (received ${kafka.clusterArn === undefined ? "neither" : "both"})`,
    );
  }
  if (kafka.bootstrapServers !== undefined && (kafka.bootstrapServers.length === 0 || kafka.bootstrapServers.some((s) => !Token.isUnresolved(s) && !/^[^\s:,]+:\d{1,5}$/.test(s)))) {
    throw new ValidationError("InvalidKafkaBootstrapServers", `kafka.bootstrapServers must be host:port addresses, at least one (received ${JSON.stringify(kafka.bootstrapServers)})`, {
      bootstrapServers: kafka.bootstrapServers,
    });
  }
  if (kafka.clusterArn !== undefined && !Token.isUnresolved(kafka.clusterArn) && !/^arn:[\w-]+:kafka:[\w-]+:\d{12}:cluster\/[^/]+\/[^/]+$/.test(kafka.clusterArn)) {
    throw new ValidationError("InvalidKafkaClusterArn", `kafka.clusterArn must be an MSK cluster ARN, arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid> (received ${JSON.stringify(kafka.clusterArn)})`, {
      clusterArn: kafka.clusterArn,
    });
  }
  if (!Token.isUnresolved(kafka.topic) && !/^[a-zA-Z0-9._-]{1,249}$/.test(kafka.topic)) {
    throw new ValidationError("InvalidKafkaTopic", `kafka.topic must be 1 to 249 of a-z A-Z 0-9 . _ - (received ${JSON.stringify(kafka.topic)})`, { topic: kafka.topic });
  }
  if (!Token.isUnresolved(kafka.consumerGroupId) && !/^[a-zA-Z0-9\-/*:_+=.@]{1,200}$/.test(kafka.consumerGroupId)) {
    throw new ValidationError("InvalidKafkaConsumerGroupId", `kafka.consumerGroupId must be 1 to 200 of a-z A-Z 0-9 - / * : _ + = . @ (received ${JSON.stringify(kafka.consumerGroupId)})`, {
      consumerGroupId: kafka.consumerGroupId,
    });
  }
  if (kafka.startingPosition !== lambda.StartingPosition.TRIM_HORIZON && kafka.startingPosition !== lambda.StartingPosition.LATEST) {
    throw new ValidationError("InvalidKafkaStartingPosition", `kafka.startingPosition must be TRIM_HORIZON or LATEST (received ${kafka.startingPosition})`, {
      startingPosition: kafka.startingPosition,
    });
  }
  if (props.kafka?.authenticationMethod !== undefined && !kafka.secret) {
    throw new ValidationError("KafkaAuthenticationWithoutSecret", `kafka.authenticationMethod ${props.kafka.authenticationMethod} needs kafka.secret, the credentials it names`);
  }
  const msk = kafka.clusterArn !== undefined;
  const mskMethods: string[] = [AuthenticationMethod.SASL_SCRAM_512_AUTH, AuthenticationMethod.CLIENT_CERTIFICATE_TLS_AUTH];
  if (msk && kafka.authenticationMethod !== undefined && !mskMethods.includes(kafka.authenticationMethod)) {
    throw new ValidationError("KafkaAuthenticationNotForMsk", `Amazon MSK takes SASL_SCRAM_512_AUTH or CLIENT_CERTIFICATE_TLS_AUTH with a secret (received ${kafka.authenticationMethod})`, {
      authenticationMethod: kafka.authenticationMethod,
    });
  }
  if (msk && kafka.rootCaCertificate) {
    throw new ValidationError("KafkaRootCaOnMsk", "kafka.rootCaCertificate is for a self-managed cluster whose brokers a private CA signed; Amazon MSK's brokers have public certificates: leave it out");
  }
  if (!kafka.vpc && (kafka.vpcSubnets || kafka.securityGroups.length)) {
    throw new ValidationError("KafkaNetworkWithoutVpc", "kafka.vpcSubnets and kafka.securityGroups place the functions and the poller in kafka.vpc, which is not given");
  }
  if (kafka.vpc && kafka.securityGroups.length === 0) {
    throw new ValidationError("KafkaVpcWithoutSecurityGroups", "kafka.vpc needs kafka.securityGroups: the functions and Lambda's poller connect to the brokers through them");
  }
  if (!msk && !kafka.vpc && !kafka.secret) {
    throw new ValidationError(
      "KafkaUnauthenticatedOverInternet",
      "a self-managed Kafka cluster reached over the internet needs kafka.secret (Lambda requires credentials there); or give kafka.vpc if the brokers are in a VPC",
    );
  }
  integerIn("kafka.provisionedPollers.minimum", kafka.minimumPollers, 1, 200, "InvalidKafkaPollers");
  integerIn("kafka.provisionedPollers.maximum", kafka.maximumPollers, 1, 2000, "InvalidKafkaPollers");
  if (kafka.minimumPollers > kafka.maximumPollers) {
    throw new ValidationError("InvalidKafkaPollers", `kafka.provisionedPollers.minimum (${kafka.minimumPollers}) must not exceed the maximum (${kafka.maximumPollers})`);
  }
  integerIn("kafka.offsetLagAlarmThreshold", kafka.offsetLagAlarmThreshold, 1, Number.MAX_SAFE_INTEGER, "InvalidAlarmThreshold");
}

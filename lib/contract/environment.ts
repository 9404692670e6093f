import { ValidationError } from "../core/errors.js";
import { checkPipelineName } from "./pipeline-name.js";

/** The environment variables the construct sets on every function, by what they hold. */
export const ENV = {
  /** The pipeline's name; the function refuses a module that defines another pipeline. */
  pipeline: "SPARKLESS_PIPELINE",
  table: "SPARKLESS_TABLE",
  bucket: "SPARKLESS_BUCKET",
  /** The stream the shard function's mapping reads (on Kafka, {@link KAFKA_ENV} instead). */
  streamName: "SPARKLESS_STREAM_NAME",
  streamArn: "SPARKLESS_STREAM_ARN",
  /** The batch interval B in ms, decimal; the function refuses a module with another one. Tools read it too. */
  batchIntervalMs: "SPARKLESS_BATCH_INTERVAL_MS",
  /**
   * The pipeline's finalizer partitions P, decimal; the function refuses a module with another number. Absent:
   * 1 (a function deployed before partitions existed).
   */
  finalizerPartitions: "SPARKLESS_FINALIZER_PARTITIONS",
  /**
   * The name of the pipeline's finalizer function, set (with P > 1) on the functions that fan a batch out to its
   * partitions ({@link FUNCTIONS}' `invokes`); absent: nothing is fanned out.
   */
  finalizerFunction: "SPARKLESS_FINALIZER_FUNCTION",
} as const;

/**
 * The variables a Kafka pipeline's functions get in place of the stream's (the topic's presence says the pipeline
 * reads Kafka), saying how to reach the cluster for the topic's offsets.
 */
export const KAFKA_ENV = {
  topic: "SPARKLESS_KAFKA_TOPIC",
  /** Comma-separated `host:port` (self-managed Kafka). */
  bootstrapServers: "SPARKLESS_KAFKA_BOOTSTRAP_SERVERS",
  /** The MSK cluster's ARN. */
  clusterArn: "SPARKLESS_KAFKA_CLUSTER_ARN",
  /** The authentication secret's ARN, and the method it is for (a Lambda SourceAccessConfiguration type). */
  secretArn: "SPARKLESS_KAFKA_SECRET_ARN",
  authentication: "SPARKLESS_KAFKA_AUTHENTICATION",
  /** The secret with the CA certificate of a self-managed cluster's brokers (Lambda's SERVER_ROOT_CA_CERTIFICATE). */
  rootCaSecretArn: "SPARKLESS_KAFKA_ROOT_CA_SECRET_ARN",
} as const;

/** Names a user's `environment` prop may not set: the construct's own, and `NODE_OPTIONS` (source maps). */
export function isReservedEnvironmentName(name: string): boolean {
  return name.startsWith("SPARKLESS_") || name === "NODE_OPTIONS";
}

/** Where a Kafka pipeline's functions read the topic's partitions and offsets. */
export interface KafkaEnvironment {
  readonly topic: string;
  /** Self-managed Kafka. */
  readonly bootstrapServers?: readonly string[];
  /** Amazon MSK. */
  readonly clusterArn?: string;
  readonly secretArn?: string;
  /** `SASL_SCRAM_512_AUTH`, `SASL_SCRAM_256_AUTH`, `BASIC_AUTH`, `CLIENT_CERTIFICATE_TLS_AUTH`; absent: MSK IAM or none. */
  readonly authentication?: string;
  /** The brokers' CA certificate (self-managed Kafka with a private CA). */
  readonly rootCaSecretArn?: string;
}

/** What a deployed function is told about its pipeline and stores: a Kinesis stream or a Kafka topic. */
export type FunctionEnvironment = {
  readonly pipeline: string;
  readonly table: string;
  readonly bucket: string;
  readonly batchIntervalMs: number;
  /** The finalizer partitions P the function was deployed for (1 when the variable is absent). */
  readonly finalizerPartitions: number;
  /** The finalizer function to invoke for each partition; absent: this function fans nothing out. */
  readonly finalizerFunction?: string;
  /** Per-service endpoints (the SDK's own variable names), so the embedded stack and LocalStack can stand in. */
  readonly endpoints: { readonly kinesis?: string; readonly dynamodb?: string; readonly s3?: string; readonly lambda?: string };
} & ({ readonly streamName: string; readonly streamArn: string; readonly kafka?: undefined } | { readonly kafka: KafkaEnvironment; readonly streamName?: undefined; readonly streamArn?: undefined });

type DistributeOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The variables for `values`, as the construct sets them. */
export function environmentVariables(
  values: DistributeOmit<FunctionEnvironment, "endpoints" | "batchIntervalMs" | "finalizerPartitions"> & { batchIntervalMs: number | string; finalizerPartitions?: number | string },
): Record<string, string> {
  const k = values.kafka;
  const source: Record<string, string> = k
    ? {
        [KAFKA_ENV.topic]: k.topic,
        ...(k.bootstrapServers ? { [KAFKA_ENV.bootstrapServers]: k.bootstrapServers.join(",") } : {}),
        ...(k.clusterArn ? { [KAFKA_ENV.clusterArn]: k.clusterArn } : {}),
        ...(k.secretArn ? { [KAFKA_ENV.secretArn]: k.secretArn } : {}),
        ...(k.authentication ? { [KAFKA_ENV.authentication]: k.authentication } : {}),
        ...(k.rootCaSecretArn ? { [KAFKA_ENV.rootCaSecretArn]: k.rootCaSecretArn } : {}),
      }
    : { [ENV.streamName]: values.streamName!, [ENV.streamArn]: values.streamArn! };
  return {
    [ENV.pipeline]: values.pipeline,
    [ENV.table]: values.table,
    [ENV.bucket]: values.bucket,
    ...source,
    [ENV.batchIntervalMs]: String(values.batchIntervalMs),
    [ENV.finalizerPartitions]: String(values.finalizerPartitions ?? 1),
    ...(values.finalizerFunction !== undefined ? { [ENV.finalizerFunction]: values.finalizerFunction } : {}),
  };
}

/**
 * Reads and checks the variables once, at cold start: a function deployed without the construct (or a local
 * run missing one) fails with the name of what is missing, before any event is touched.
 */
export function readEnvironment(env: Readonly<Record<string, string | undefined>> = process.env): FunctionEnvironment {
  const need = (name: string): string => {
    const value = env[name];
    if (!value) {
      throw new ValidationError(
        "MissingEnvironment",
        `environment variable ${name} is not set: deploy this function with the SparklessPipeline construct (or set it for a local run)`,
        { name },
      );
    }
    return value;
  };
  const pipeline = need(ENV.pipeline);
  checkPipelineName(pipeline);
  const batchIntervalMs = Number(need(ENV.batchIntervalMs));
  if (!Number.isSafeInteger(batchIntervalMs) || batchIntervalMs <= 0) {
    throw new ValidationError(
      "InvalidEnvironment",
      `environment variable ${ENV.batchIntervalMs} must be a positive whole number of milliseconds (received ${JSON.stringify(env[ENV.batchIntervalMs])})`,
      { name: ENV.batchIntervalMs },
    );
  }
  const partitionsText = env[ENV.finalizerPartitions];
  const finalizerPartitions = partitionsText === undefined || partitionsText === "" ? 1 : Number(partitionsText);
  if (!Number.isSafeInteger(finalizerPartitions) || finalizerPartitions < 1) {
    throw new ValidationError(
      "InvalidEnvironment",
      `environment variable ${ENV.finalizerPartitions} must be a positive whole number (received ${JSON.stringify(partitionsText)})`,
      { name: ENV.finalizerPartitions },
    );
  }
  const finalizerFunction = env[ENV.finalizerFunction] || undefined;
  const endpoint = (service: string) => env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
  const endpoints = { kinesis: endpoint("KINESIS"), dynamodb: endpoint("DYNAMODB"), s3: endpoint("S3"), lambda: endpoint("LAMBDA") };
  const common = {
    pipeline,
    table: need(ENV.table),
    bucket: need(ENV.bucket),
    batchIntervalMs,
    finalizerPartitions,
    ...(finalizerFunction ? { finalizerFunction } : {}),
    endpoints: Object.fromEntries(Object.entries(endpoints).filter(([, url]) => url !== undefined)),
  };
  const topic = env[KAFKA_ENV.topic];
  if (!topic) return { ...common, streamName: need(ENV.streamName), streamArn: need(ENV.streamArn) };
  const optional = (name: string) => env[name] || undefined;
  const servers = optional(KAFKA_ENV.bootstrapServers)?.split(",").filter(Boolean);
  const clusterArn = optional(KAFKA_ENV.clusterArn);
  if (!servers?.length && !clusterArn) {
    throw new ValidationError(
      "MissingEnvironment",
      `environment variable ${KAFKA_ENV.topic} is set but neither ${KAFKA_ENV.bootstrapServers} nor ${KAFKA_ENV.clusterArn} is: deploy this function with the SparklessPipeline construct (or set one for a local run)`,
      { name: KAFKA_ENV.bootstrapServers },
    );
  }
  const secretArn = optional(KAFKA_ENV.secretArn);
  const authentication = optional(KAFKA_ENV.authentication);
  const rootCaSecretArn = optional(KAFKA_ENV.rootCaSecretArn);
  return {
    ...common,
    kafka: { topic, ...(servers?.length ? { bootstrapServers: servers } : {}), ...(clusterArn ? { clusterArn } : {}), ...(secretArn ? { secretArn } : {}), ...(authentication ? { authentication } : {}), ...(rootCaSecretArn ? { rootCaSecretArn } : {}) },
  };
}

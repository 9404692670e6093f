/**
 * The template's Kafka event source mappings (self-managed Apache Kafka or Amazon MSK) on the embedded stack: one
 * local broker (librdkafka's mock cluster) stands in for every cluster the templates name, each mapping's topic is
 * created there, the mapping is pointed at it (as streams, tables and buckets are substituted by local ones), and
 * each mapping runs with the local {@link KafkaEsmPoller} against the function's sandboxes. Discarded batches go
 * to an S3 on-failure destination as Lambda writes them.
 */
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { KAFKA_ENV } from "../../lib/contract/index.js";
import { ValidationError } from "../../lib/core/errors.js";
import { KafkaEsmPoller, type KafkaFailureRecord, type StartingPosition } from "../esm-poller/index.js";
import { startMockKafka, type MockKafka } from "../kafka/mock-broker.js";
import type { CfnTemplate } from "./assembly.js";
import type { FunctionHost } from "./function-host.js";
import { resolve } from "./intrinsics.js";
import { failureDestination, onFailureObjectKey } from "./mapping-runner.js";
import { mappingUuid, nameFromArn } from "./physical-names.js";
import type { DeployedFunction, DeployedStack } from "./template-deployer.js";

/** Partitions of a topic the local broker creates. @default of `kafkaPartitions` */
export const DEFAULT_KAFKA_PARTITIONS = 2;

/** An `AWS::Lambda::EventSourceMapping` on a Kafka topic, with its properties resolved. */
export interface KafkaMapping {
  readonly stackName: string;
  readonly logicalId: string;
  readonly uuid: string;
  readonly functionName: string;
  readonly topic: string;
  /** `SelfManagedKafkaEventSourceConfig` / `AmazonManagedKafkaEventSourceConfig` `.ConsumerGroupId`, else the UUID (Lambda's default). */
  readonly consumerGroupId: string;
  /** What the template points at: the cluster's bootstrap servers, or an MSK cluster's ARN. */
  readonly source: { readonly kind: "self-managed"; readonly bootstrapServers: readonly string[] } | { readonly kind: "msk"; readonly clusterArn: string };
  readonly enabled: boolean;
  readonly properties: Readonly<Record<string, unknown>>;
}

/** True for a mapping on a Kafka topic (the Kinesis deployer leaves these to this module). */
export function isKafkaMapping(properties: Readonly<Record<string, unknown>>): boolean {
  if (properties.SelfManagedEventSource !== undefined) return true;
  const arn = properties.EventSourceArn;
  return typeof arn === "string" && arn.startsWith("arn:aws:kafka:");
}

/** The Kafka mappings of one deployed stack, resolved against its local resources; what cannot run is noted. */
export function kafkaMappingsOf(template: CfnTemplate, deployed: DeployedStack): { mappings: KafkaMapping[]; notes: string[] } {
  const mappings: KafkaMapping[] = [];
  const notes: string[] = [];
  for (const [logicalId, r] of Object.entries(template.Resources ?? {})) {
    if (r.Type !== "AWS::Lambda::EventSourceMapping") continue;
    const raw = (r.Properties ?? {}) as Record<string, unknown>;
    if (raw.SelfManagedEventSource === undefined && !JSON.stringify(raw.EventSourceArn ?? "").includes("kafka")) continue;
    const p = resolve(raw, deployed.context, `${deployed.stackName}.Resources.${logicalId}.Properties`) as Record<string, unknown>;
    if (!isKafkaMapping(p)) continue;
    const where = `Kafka event source mapping ${logicalId}`;
    const fnRef = String(p.FunctionName ?? "");
    const fn = findFunction(deployed.functions, fnRef);
    if (!fn) {
      notes.push(`${where} targets ${fnRef}, which is not a function that runs locally; skipped`);
      continue;
    }
    const topics = (p.Topics as unknown[] | undefined) ?? [];
    if (topics.length !== 1 || typeof topics[0] !== "string") {
      throw new ValidationError("TemplateInvalid", `${where}: Topics must name exactly one topic, got ${JSON.stringify(topics)}`, { logicalId });
    }
    const uuid = mappingUuid(deployed.stackName, logicalId);
    const config = (p.SelfManagedKafkaEventSourceConfig ?? p.AmazonManagedKafkaEventSourceConfig) as { ConsumerGroupId?: unknown } | undefined;
    const servers = (p.SelfManagedEventSource as { Endpoints?: { KafkaBootstrapServers?: unknown[] } } | undefined)?.Endpoints?.KafkaBootstrapServers;
    const source: KafkaMapping["source"] =
      p.SelfManagedEventSource !== undefined ? { kind: "self-managed", bootstrapServers: (servers ?? []).map(String) } : { kind: "msk", clusterArn: String(p.EventSourceArn) };
    mappings.push({
      stackName: deployed.stackName,
      logicalId,
      uuid,
      functionName: fn.name,
      topic: topics[0],
      consumerGroupId: typeof config?.ConsumerGroupId === "string" && config.ConsumerGroupId !== "" ? config.ConsumerGroupId : uuid,
      source,
      enabled: p.Enabled !== false && p.Enabled !== "false",
      properties: p,
    });
    for (const key of ["FilterCriteria", "ProvisionedPollerConfig", "SchemaRegistryConfig", "KMSKeyArn", "MetricsConfig"]) {
      if (p[key] !== undefined) notes.push(`${where}: ${key} is not applied locally`);
    }
    if (p.SourceAccessConfigurations !== undefined) {
      notes.push(`${where}: SourceAccessConfigurations (SASL/mTLS secret, root CA, VPC) are not applied: the local broker takes plaintext connections without authentication, so the secret is never read`);
    }
    const d = failureDestination(p);
    if (d.kind === "unsupported") notes.push(`${where}: on-failure destination ${d.arn} is not emulated (only S3); discarded batches are reported as events only`);
  }
  return { mappings, notes };
}

function findFunction(functions: readonly DeployedFunction[], ref: string): DeployedFunction | undefined {
  return (
    functions.find((f) => f.name === ref || f.arn === ref || ref.startsWith(`${f.arn}:`) || f.logicalId === ref) ??
    functions.find((f) => f.name === nameFromArn(ref))
  );
}

/** The local broker every Kafka mapping of the stack reads, with each mapping's topic created on it. */
export interface KafkaBroker {
  readonly broker: MockKafka;
  readonly topics: ReadonlyArray<{ readonly name: string; readonly partitions: number }>;
  readonly partitions: number;
}

/**
 * Starts the local broker and creates the mappings' topics. The stack starts it before the functions, so that
 * their environment names it instead of the template's cluster (the ticker and finalizer read partitions and
 * offsets from it, as they do from the real cluster on AWS).
 */
export async function startKafkaBroker(mappings: readonly KafkaMapping[], partitions = DEFAULT_KAFKA_PARTITIONS): Promise<KafkaBroker> {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new ValidationError("KafkaPartitionCountInvalid", `Kafka partitions must be a whole number of at least 1, got ${partitions}`, { partitions });
  }
  const topics = [...new Set(mappings.map((m) => m.topic))].map((name) => ({ name, partitions }));
  const broker = await startMockKafka({ topics: topics.map((t) => ({ name: t.name, partitions: t.partitions })) });
  return { broker, topics, partitions };
}

/**
 * A function's environment pointed at the local broker: the template's cluster (bootstrap servers or MSK ARN) and
 * its credentials are replaced by the local broker, which needs none.
 */
export function localKafkaEnvironment(environment: Readonly<Record<string, string>>, bootstrapServers: string): Record<string, string> {
  if (environment[KAFKA_ENV.topic] === undefined) return { ...environment };
  const { [KAFKA_ENV.clusterArn]: _arn, [KAFKA_ENV.secretArn]: _secret, [KAFKA_ENV.authentication]: _auth, [KAFKA_ENV.rootCaSecretArn]: _ca, ...rest } = environment;
  return { ...rest, [KAFKA_ENV.bootstrapServers]: bootstrapServers };
}

export interface KafkaRuntimeOptions {
  readonly mappings: readonly KafkaMapping[];
  /** The broker started earlier with {@link startKafkaBroker}; the runtime stops it. @default - started here */
  readonly broker?: KafkaBroker;
  /** The function host of each function name. */
  readonly hosts: ReadonlyMap<string, { readonly host: FunctionHost; readonly fn: DeployedFunction }>;
  readonly s3: S3Client;
  readonly region: string;
  /** Partitions of each topic created on the local broker. @default DEFAULT_KAFKA_PARTITIONS */
  readonly partitions?: number;
  /** Lets a mapping's poller report (invocations, results, discards, warnings). */
  readonly observe?: (mapping: KafkaMapping, poller: KafkaEsmPoller) => void;
  readonly onDiscard?: (mapping: KafkaMapping, failure: KafkaFailureRecord, delivered: { key?: string; error?: unknown }) => void;
}

/** The local broker, its topics and the running pollers. */
export interface KafkaRuntime {
  readonly bootstrapServers: string;
  readonly topics: ReadonlyArray<{ readonly name: string; readonly partitions: number }>;
  readonly pollers: ReadonlyArray<{ readonly mapping: KafkaMapping; readonly poller: KafkaEsmPoller }>;
  readonly limitations: readonly string[];
  /** Pollers first (after their invocation in flight and its commit), then the broker. Idempotent. */
  stop(): Promise<void>;
}

const int = (v: unknown): number | undefined => (v === undefined || v === null ? undefined : Number(v));

/**
 * Starts the local broker, creates every mapping's topic on it and starts the enabled mappings' pollers. The
 * broker lives as long as the stack: its topics and the consumer groups' offsets start empty on each start.
 */
export async function startKafkaRuntime(o: KafkaRuntimeOptions): Promise<KafkaRuntime> {
  const { broker, topics, partitions } = o.broker ?? (await startKafkaBroker(o.mappings, o.partitions));
  const pollers: Array<{ mapping: KafkaMapping; poller: KafkaEsmPoller }> = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.all(pollers.map((p) => p.poller.stop()));
      await broker.stop();
    })());
  try {
    for (const m of o.mappings) {
      if (!m.enabled) continue;
      const poller = kafkaMappingPoller(m, broker, o);
      o.observe?.(m, poller);
      pollers.push({ mapping: m, poller });
      await poller.start();
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    bootstrapServers: broker.bootstrapServers,
    topics,
    pollers,
    limitations: [
      `Kafka: every cluster the templates name (bootstrap servers or an MSK ARN) is one local broker (librdkafka's mock cluster) with topics of ${partitions} partitions; it keeps nothing across restarts.`,
      ...(pollers[0]?.poller.limitations ?? []),
    ],
    stop,
  };
}

function kafkaMappingPoller(m: KafkaMapping, broker: MockKafka, o: KafkaRuntimeOptions): KafkaEsmPoller {
  const p = m.properties;
  const entry = o.hosts.get(m.functionName)!;
  const where = `Kafka event source mapping ${m.logicalId}`;
  const startingPosition = String(p.StartingPosition ?? "TRIM_HORIZON") as StartingPosition;
  const timestamp = int(p.StartingPositionTimestamp);
  if (startingPosition === "AT_TIMESTAMP" && timestamp === undefined) {
    throw new ValidationError("TemplateInvalid", `${where}: StartingPosition AT_TIMESTAMP without StartingPositionTimestamp`, { logicalId: m.logicalId });
  }
  const destination = failureDestination(p);
  const onFailure =
    destination.kind === "none"
      ? undefined
      : async (failure: KafkaFailureRecord) => {
          if (destination.kind === "unsupported") {
            o.onDiscard?.(m, failure, { error: new Error(`on-failure destination ${destination.arn} is not emulated locally (only S3 buckets)`) });
            return;
          }
          // Lambda's key names the shard for Kinesis; for Kafka the topic-partitions of the batch stand in its place.
          const key = onFailureObjectKey(m.uuid, Object.keys(failure.KafkaBatchInfo.recordsInfo).join("+"), new Date(failure.timestamp));
          await o.s3.send(new PutObjectCommand({ Bucket: destination.bucket, Key: key, Body: JSON.stringify(failure), ContentType: "application/json" }));
          o.onDiscard?.(m, failure, { key });
        };
  const host = entry.host;
  return new KafkaEsmPoller({
    brokers: broker.brokers,
    topic: m.topic,
    consumerGroupId: m.consumerGroupId,
    // The mapping is pointed at the local broker: the event names it, as the function would reach it.
    bootstrapServers: broker.bootstrapServers,
    ...(m.source.kind === "msk" ? { eventSourceArn: m.source.clusterArn } : {}),
    handler: (event, context) => host.invoke(event, { requestId: context.awsRequestId }),
    batchSize: int(p.BatchSize) ?? 100,
    maximumBatchingWindowMs: (int(p.MaximumBatchingWindowInSeconds) ?? 0.5) * 1000,
    startingPosition,
    ...(timestamp !== undefined ? { startingPositionTimestamp: new Date(timestamp * 1000) } : {}),
    maximumRetryAttempts: int(p.MaximumRetryAttempts) ?? -1,
    maximumRecordAgeSeconds: int(p.MaximumRecordAgeInSeconds) ?? -1,
    reportBatchItemFailures: ((p.FunctionResponseTypes as unknown[] | undefined) ?? []).includes("ReportBatchItemFailures"),
    bisectBatchOnFunctionError: p.BisectBatchOnFunctionError === true || p.BisectBatchOnFunctionError === "true",
    functionTimeoutMs: host.spec.timeoutMs + host.spec.initTimeoutMs + 1_000,
    ...(onFailure ? { onFailure } : {}),
    functionName: entry.fn.name,
    memoryLimitInMB: String(entry.fn.memoryMb),
    region: o.region,
  });
}

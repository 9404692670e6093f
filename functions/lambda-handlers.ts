/**
 * The Lambda adapter: environment and SDK clients once per container (module scope), then each handler
 * turns its AWS event into a call on the pipeline's runtime in lib/. Nothing here knows about batches.
 */
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent, MSKEvent, ScheduledEvent, SelfManagedKafkaEvent } from "aws-lambda";
import { isLambdaKafkaEvent, type KafkaBatchResponse } from "../lib/io/kafka/lambda-event.js";
import { KafkaPartitionDirectory } from "../lib/serverless/kafka-partitions.js";
import { kafkaOffsetsReader } from "./kafka-offsets.js";
import { dynamoDbClient, kinesisClient, lambdaClient, s3Client } from "../lib/io/aws-clients.js";
import { finalizerInvoker } from "./finalizer-invoker.js";
import { S3ObjectStore } from "../lib/io/s3-object-store.js";
import type { Pipeline } from "../lib/api/define-pipeline.js";
import { KinesisShardDirectory } from "../lib/serverless/kinesis-shards.js";
import { PipelineRuntime } from "../lib/serverless/runtime.js";
import { DynamoDbPipelineStore } from "../lib/pipeline-store/dynamodb-pipeline-store.js";
import { ENV, type FinalizerEvent, HANDLERS, readEnvironment } from "../lib/contract/index.js";
import { ValidationError } from "../lib/core/errors.js";

function createRuntime<T>(pipeline: Pipeline<T>): { runtime: PipelineRuntime<T>; partitions: number } {
  const env = readEnvironment();
  if (env.pipeline !== pipeline.name) {
    throw new ValidationError("PipelineMismatch", `this function was deployed for pipeline "${env.pipeline}" but its module defines "${pipeline.name}"`);
  }
  if (env.batchIntervalMs !== pipeline.props.batchInterval.milliseconds) {
    throw new ValidationError(
      "PipelineMismatch",
      `this function was deployed for a batch interval of ${env.batchIntervalMs} ms but its module's pipeline "${pipeline.name}" has ${pipeline.props.batchInterval.milliseconds} ms: synthesize and deploy again`,
    );
  }
  if (env.finalizerPartitions !== pipeline.partitions) {
    throw new ValidationError(
      "PipelineMismatch",
      `this function was deployed for ${env.finalizerPartitions} finalizer partition(s) (${ENV.finalizerPartitions}) but its module's pipeline "${pipeline.name}" has finalizerPartitions ${pipeline.partitions}: synthesize and deploy again`,
    );
  }
  const objects = new S3ObjectStore({ client: s3Client({ endpoint: env.endpoints.s3 }), bucket: env.bucket });
  const store = new DynamoDbPipelineStore({ client: dynamoDbClient({ endpoint: env.endpoints.dynamodb }), tableName: env.table, pipeline: pipeline.name, objects });
  const shards = env.kafka
    ? new KafkaPartitionDirectory(env.kafka.topic, kafkaOffsetsReader(env.kafka))
    : new KinesisShardDirectory(kinesisClient({ endpoint: env.endpoints.kinesis }), { streamName: env.streamName });
  // Only the functions the construct lets invoke the finalizer (P > 1: the shard function and the ticker) fan out.
  const invokeFinalizer = env.finalizerFunction ? finalizerInvoker(lambdaClient({ endpoint: env.endpoints.lambda }), env.finalizerFunction) : undefined;
  const runtime = new PipelineRuntime(pipeline, {
    store,
    objects,
    shards,
    now: Date.now,
    log: (text) => process.stdout.write(text.endsWith("\n") ? text : text + "\n"),
    ...(invokeFinalizer ? { invokeFinalizer } : {}),
  });
  return { runtime, partitions: env.finalizerPartitions };
}

/** The partition a finalizer event names: absent (or not an object) finalizes as one invocation for every partition. */
function eventPartition(event: unknown, partitions: number): number | undefined {
  const partition = event !== null && typeof event === "object" ? (event as FinalizerEvent).partition : undefined;
  if (partition === undefined) return undefined;
  if (!Number.isInteger(partition) || partition < 0 || partition >= partitions) {
    throw new ValidationError(
      "InvalidFinalizerEvent",
      `the finalizer was invoked for partition ${JSON.stringify(partition)}, but the pipeline has ${partitions} finalizer partition(s): give { "partition": n } with n from 0 to ${partitions - 1}, or no partition`,
    );
  }
  return partition;
}

/**
 * The three handlers of a pipeline module, under the names the construct wires (`HANDLERS` in the contract).
 * The runtime is built on the first invocation, not at import, so the module can be loaded (for its summary,
 * or by a test) without the Lambda environment.
 */
export function lambdaHandlers<T>(pipeline: Pipeline<T>) {
  let created: ReturnType<typeof createRuntime<T>> | undefined;
  const get = () => (created ??= createRuntime(pipeline)).runtime;
  return {
    /**
     * Kinesis or Kafka (MSK, self-managed) event source mapping target; answers with the first record not
     * committed of each shard or topic-partition that stopped early, if any.
     */
    [HANDLERS.shard]: async (event: KinesisStreamEvent | MSKEvent | SelfManagedKafkaEvent, context: Context): Promise<KinesisStreamBatchResponse | KafkaBatchResponse> => {
      if (isLambdaKafkaEvent(event)) {
        const { batchItemFailures } = await get().handleKafkaEvent(event, context);
        return { batchItemFailures };
      }
      const { batchItemFailures } = await get().handleShardEvent(event as KinesisStreamEvent, context);
      return { batchItemFailures };
    },
    /** EventBridge schedule: probes quiet shards and finalizes complete batch times. */
    [HANDLERS.ticker]: async (_event: ScheduledEvent | Record<string, unknown>, context: Context): Promise<void> => {
      const { probe, finalized } = await get().tick(context);
      process.stdout.write(JSON.stringify({ tick: { shards: probe.shards, idle: probe.idle.length, drained: probe.drained.length, finalized: finalized.finalized } }) + "\n");
    },
    /**
     * Finalizes one partition (`{ "partition": n }`, as the shard function and the ticker invoke it with P > 1),
     * then completes the batches every partition has finalized; without a partition (`aws lambda invoke`), every
     * partition in turn.
     */
    [HANDLERS.finalizer]: async (event: FinalizerEvent | null | undefined, context: Context): Promise<void> => {
      const runtime = get();
      const partition = eventPartition(event, created!.partitions);
      await runtime.finalize(context, partition === undefined ? {} : { partition });
    },
  };
}

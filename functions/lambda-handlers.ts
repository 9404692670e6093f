/**
 * The Lambda adapter: environment and SDK clients once per container (module scope), then each handler
 * turns its AWS event into a call on the pipeline's runtime in lib/. Nothing here knows about batches.
 */
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent, MSKEvent, ScheduledEvent, SelfManagedKafkaEvent } from "aws-lambda";
import { isLambdaKafkaEvent, type KafkaBatchResponse } from "../lib/io/kafka/lambda-event.js";
import { KafkaPartitionDirectory } from "../lib/serverless/kafka-partitions.js";
import { kafkaOffsetsReader } from "./kafka-offsets.js";
import { dynamoDbClient, kinesisClient, s3Client } from "../lib/io/aws-clients.js";
import { S3ObjectStore } from "../lib/io/s3-object-store.js";
import type { Pipeline } from "../lib/api/define-pipeline.js";
import { KinesisShardDirectory } from "../lib/serverless/kinesis-shards.js";
import { PipelineRuntime } from "../lib/serverless/runtime.js";
import { DynamoDbPipelineStore } from "../lib/pipeline-store/dynamodb-pipeline-store.js";
import { HANDLERS, readEnvironment } from "../lib/contract/index.js";
import { ValidationError } from "../lib/core/errors.js";

function createRuntime<T>(pipeline: Pipeline<T>): PipelineRuntime<T> {
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
  const objects = new S3ObjectStore({ client: s3Client({ endpoint: env.endpoints.s3 }), bucket: env.bucket });
  const store = new DynamoDbPipelineStore({ client: dynamoDbClient({ endpoint: env.endpoints.dynamodb }), tableName: env.table, pipeline: pipeline.name, objects });
  const shards = env.kafka
    ? new KafkaPartitionDirectory(env.kafka.topic, kafkaOffsetsReader(env.kafka))
    : new KinesisShardDirectory(kinesisClient({ endpoint: env.endpoints.kinesis }), { streamName: env.streamName });
  return new PipelineRuntime(pipeline, { store, objects, shards, now: Date.now, log: (text) => process.stdout.write(text.endsWith("\n") ? text : text + "\n") });
}

/**
 * The three handlers of a pipeline module, under the names the construct wires (`HANDLERS` in the contract).
 * The runtime is built on the first invocation, not at import, so the module can be loaded (for its summary,
 * or by a test) without the Lambda environment.
 */
export function lambdaHandlers<T>(pipeline: Pipeline<T>) {
  let runtime: PipelineRuntime<T> | undefined;
  const get = () => (runtime ??= createRuntime(pipeline));
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
    /** Finalizes complete batch times when invoked (`aws lambda invoke`), outside a shard invocation and the schedule. */
    [HANDLERS.finalizer]: async (_event: unknown, context: Context): Promise<void> => {
      await get().finalize(context);
    },
  };
}

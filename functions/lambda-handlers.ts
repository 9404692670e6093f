/**
 * The Lambda adapter: environment and SDK clients once per container (module scope), then each handler
 * turns its AWS event into a call on the pipeline's runtime in lib/. Nothing here knows about batches.
 */
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent, ScheduledEvent } from "aws-lambda";
import { dynamoDbClient, kinesisClient, s3Client } from "../lib/io/aws-clients.js";
import { S3ObjectStore } from "../lib/io/s3-object-store.js";
import type { Pipeline } from "../lib/serverless/define-pipeline.js";
import { KinesisShardDirectory } from "../lib/serverless/kinesis-shards.js";
import { PipelineRuntime } from "../lib/serverless/runtime.js";
import { DynamoDbPipelineStore } from "../lib/state/dynamodb-pipeline-store.js";
import { ValidationError } from "../lib/errors.js";

/** The variables the SparklessPipeline construct sets; read and checked once, at cold start. */
function environment() {
  const need = (name: string): string => {
    const v = process.env[name];
    if (!v) throw new ValidationError("MissingEnvironment", `environment variable ${name} is not set: deploy this function with the SparklessPipeline construct (or set it for a local run)`);
    return v;
  };
  return {
    pipeline: need("SPARKLESS_PIPELINE"),
    table: need("SPARKLESS_TABLE"),
    bucket: need("SPARKLESS_BUCKET"),
    streamName: process.env.SPARKLESS_STREAM_NAME,
    streamArn: process.env.SPARKLESS_STREAM_ARN,
    // Per-service endpoints (the SDK's own variable names) let the embedded stack and LocalStack stand in.
    endpoints: {
      kinesis: process.env.AWS_ENDPOINT_URL_KINESIS ?? process.env.AWS_ENDPOINT_URL,
      dynamodb: process.env.AWS_ENDPOINT_URL_DYNAMODB ?? process.env.AWS_ENDPOINT_URL,
      s3: process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL,
    },
  };
}

function createRuntime<T>(pipeline: Pipeline<T>): PipelineRuntime<T> {
  const env = environment();
  if (env.pipeline !== pipeline.name) {
    throw new ValidationError("PipelineMismatch", `this function was deployed for pipeline "${env.pipeline}" but its module defines "${pipeline.name}"`);
  }
  const objects = new S3ObjectStore({ client: s3Client({ endpoint: env.endpoints.s3 }), bucket: env.bucket });
  const store = new DynamoDbPipelineStore({ client: dynamoDbClient({ endpoint: env.endpoints.dynamodb }), tableName: env.table, pipeline: pipeline.name, objects });
  const shards = new KinesisShardDirectory(kinesisClient({ endpoint: env.endpoints.kinesis }), {
    ...(env.streamName ? { streamName: env.streamName } : {}),
    ...(env.streamArn && !env.streamName ? { streamArn: env.streamArn } : {}),
  });
  return new PipelineRuntime(pipeline, { store, objects, shards, now: Date.now, log: (text) => process.stdout.write(text.endsWith("\n") ? text : text + "\n") });
}

/**
 * The three handlers of a pipeline module. The runtime is built on the first invocation, not at import, so
 * the CDK app can import the module (for its summary) without the Lambda environment.
 */
export function lambdaHandlers<T>(pipeline: Pipeline<T>) {
  let runtime: PipelineRuntime<T> | undefined;
  const get = () => (runtime ??= createRuntime(pipeline));
  return {
    /** Kinesis event source mapping target; answers with the first record not committed, if any. */
    shardHandler: async (event: KinesisStreamEvent, context: Context): Promise<KinesisStreamBatchResponse> => {
      const { batchItemFailures } = await get().handleShardEvent(event, context);
      return { batchItemFailures };
    },
    /** EventBridge schedule: probes quiet shards and finalizes complete batch times. */
    tickerHandler: async (_event: ScheduledEvent | Record<string, unknown>, context: Context): Promise<void> => {
      const { probe, finalized } = await get().tick(context);
      process.stdout.write(JSON.stringify({ tick: { shards: probe.shards, idle: probe.idle.length, drained: probe.drained.length, finalized: finalized.finalized } }) + "\n");
    },
    /** Invoked asynchronously to finalize batch times outside a shard invocation. */
    finalizerHandler: async (_event: unknown, context: Context): Promise<void> => {
      await get().finalize(context);
    },
  };
}

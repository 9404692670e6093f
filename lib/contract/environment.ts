import { ValidationError } from "../core/errors.js";
import { checkPipelineName } from "./pipeline-name.js";

/** The environment variables the construct sets on every function, by what they hold. */
export const ENV = {
  /** The pipeline's name; the function refuses a module that defines another pipeline. */
  pipeline: "SPARKLESS_PIPELINE",
  table: "SPARKLESS_TABLE",
  bucket: "SPARKLESS_BUCKET",
  streamName: "SPARKLESS_STREAM_NAME",
  streamArn: "SPARKLESS_STREAM_ARN",
  /** The batch interval B in ms, decimal; the function refuses a module with another one. Tools read it too. */
  batchIntervalMs: "SPARKLESS_BATCH_INTERVAL_MS",
} as const;

/** Names a user's `environment` prop may not set: the construct's own, and `NODE_OPTIONS` (source maps). */
export function isReservedEnvironmentName(name: string): boolean {
  return name.startsWith("SPARKLESS_") || name === "NODE_OPTIONS";
}

/** What a deployed function is told about its pipeline and stores. */
export interface FunctionEnvironment {
  readonly pipeline: string;
  readonly table: string;
  readonly bucket: string;
  readonly streamName: string;
  readonly streamArn: string;
  readonly batchIntervalMs: number;
  /** Per-service endpoints (the SDK's own variable names), so the embedded stack and LocalStack can stand in. */
  readonly endpoints: { readonly kinesis?: string; readonly dynamodb?: string; readonly s3?: string };
}

/** The variables for `values`, as the construct sets them. */
export function environmentVariables(values: Omit<FunctionEnvironment, "endpoints" | "batchIntervalMs"> & { batchIntervalMs: number | string }): Record<string, string> {
  return {
    [ENV.pipeline]: values.pipeline,
    [ENV.table]: values.table,
    [ENV.bucket]: values.bucket,
    [ENV.streamName]: values.streamName,
    [ENV.streamArn]: values.streamArn,
    [ENV.batchIntervalMs]: String(values.batchIntervalMs),
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
  const endpoint = (service: string) => env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
  const endpoints = { kinesis: endpoint("KINESIS"), dynamodb: endpoint("DYNAMODB"), s3: endpoint("S3") };
  return {
    pipeline,
    table: need(ENV.table),
    bucket: need(ENV.bucket),
    streamName: need(ENV.streamName),
    streamArn: need(ENV.streamArn),
    batchIntervalMs,
    endpoints: Object.fromEntries(Object.entries(endpoints).filter(([, url]) => url !== undefined)),
  };
}

/**
 * Which pipeline a command looks at and where its resources are: the running local stack (stack.json) by
 * default, or resources named on the command line (LocalStack, AWS) with `--endpoint` or the SDK's own
 * settings (AWS_ENDPOINT_URL, AWS_REGION, AWS_PROFILE, credentials chain).
 */
import type { Command } from "commander";
import type { Credentials } from "./clients.js";
import { CliError, type CliIo } from "./io.js";
import { choosePipeline, requireRunningStack, stateDirOf } from "./stack-file.js";

/** Per-service endpoints; undefined = the SDK's default (real AWS, or AWS_ENDPOINT_URL). */
export interface Endpoints {
  readonly kinesis?: string;
  readonly dynamodb?: string;
  readonly s3?: string;
}

export interface Connection {
  readonly region?: string;
  readonly endpoints: Endpoints;
  /** The local stack's (stack.json); otherwise the SDK's chain. */
  readonly credentials?: Credentials;
}

export interface PipelineTarget extends Connection {
  readonly pipeline: string;
  readonly stream: string;
  readonly table: string;
  readonly bucket: string;
  readonly batchIntervalMs?: number;
  /** Resources of the running local stack (its logs directory is readable too). */
  readonly local: boolean;
  /** The running local stack's state directory and process (its invocation counts are read from there). */
  readonly localStack?: { readonly stateDir: string; readonly pid: number };
  /** "the local stack", the endpoint or "AWS", for headers and messages. */
  readonly where: string;
}

export interface TargetOptions {
  readonly stateDir?: string;
  readonly pipeline?: string;
  readonly stream?: string;
  readonly table?: string;
  readonly bucket?: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly batchIntervalMs?: number;
}

/** The options every command that reads a pipeline takes. */
export function addTargetOptions(cmd: Command): Command {
  return cmd
    .option("--pipeline <name>", "the pipeline to look at (default: the local stack's only pipeline)")
    .option("--stream <name>", "the pipeline's Kinesis stream, when not using the local stack")
    .option("--table <name>", "the pipeline's DynamoDB table, when not using the local stack")
    .option("--bucket <name>", "the pipeline's S3 bucket, when not using the local stack")
    .option("--endpoint <url>", "one endpoint for every service, e.g. LocalStack's http://localhost:4566 (default: AWS_ENDPOINT_URL, else AWS)")
    .option("--region <region>", "AWS region (default: AWS_REGION, else the local stack's, else us-east-1)");
}

/**
 * The explicit endpoint and region: `--endpoint` for every service, else the SDK's variables — per service
 * (`AWS_ENDPOINT_URL_KINESIS`, `_DYNAMODB`, `_S3`) before the general `AWS_ENDPOINT_URL` — else AWS itself.
 */
export function explicitConnection(opts: { endpoint?: string; region?: string }, io: CliIo): Connection {
  const region = opts.region ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION;
  const pick = (service: string) => opts.endpoint ?? io.env[`AWS_ENDPOINT_URL_${service}`] ?? io.env.AWS_ENDPOINT_URL;
  const [kinesis, dynamodb, s3] = [pick("KINESIS"), pick("DYNAMODB"), pick("S3")];
  return {
    ...(region ? { region } : {}),
    endpoints: { ...(kinesis ? { kinesis } : {}), ...(dynamodb ? { dynamodb } : {}), ...(s3 ? { s3 } : {}) },
  };
}

/**
 * Named resources (--table/--bucket/--stream) win; otherwise the running local stack's pipeline. Naming
 * resources needs --pipeline too, since the pipeline name starts every key in the table and bucket.
 */
export function resolvePipelineTarget(opts: TargetOptions, io: CliIo): PipelineTarget {
  if (opts.table !== undefined || opts.bucket !== undefined) {
    const missing = (["pipeline", "table", "bucket", "stream"] as const).filter((k) => opts[k] === undefined);
    if (missing.length > 0) {
      throw new CliError("IncompleteTarget", `naming the resources needs ${missing.map((m) => `--${m}`).join(", ")} as well (or none of them, to use the running local stack)`, 2);
    }
    const conn = explicitConnection(opts, io);
    return {
      ...conn,
      pipeline: opts.pipeline!,
      stream: opts.stream!,
      table: opts.table!,
      bucket: opts.bucket!,
      ...(opts.batchIntervalMs !== undefined ? { batchIntervalMs: opts.batchIntervalMs } : {}),
      local: false,
      where: conn.endpoints.kinesis ?? "AWS",
    };
  }
  const stateDir = stateDirOf(io.cwd, opts.stateDir);
  const file = requireRunningStack(stateDir);
  const p = choosePipeline(file, opts.pipeline);
  const batchIntervalMs = opts.batchIntervalMs ?? p.batchIntervalMs;
  return {
    region: opts.region ?? file.region,
    endpoints: file.endpoints,
    ...(file.credentials ? { credentials: file.credentials } : {}),
    pipeline: p.name,
    stream: opts.stream ?? p.stream,
    table: p.table,
    bucket: p.bucket,
    ...(batchIntervalMs !== undefined ? { batchIntervalMs } : {}),
    local: true,
    localStack: { stateDir, pid: file.pid },
    where: "the local stack",
  };
}

/**
 * An `AWS::Lambda::EventSourceMapping` of the template, run by the local poller ({@link EsmPoller}) against the
 * function's {@link FunctionHost}, with the mapping's settings taken from the template property by property,
 * positions kept in a file under the state directory, and discarded batches written where Lambda writes them.
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { KinesisClient } from "@aws-sdk/client-kinesis";
import { EsmPoller, FileCheckpointStore, type KinesisFailureRecord, type StartingPosition, type StreamsEventResponseLike } from "../esm-poller/index.js";
import { ValidationError } from "../../lib/core/errors.js";
import type { FunctionHost } from "./function-host.js";
import { nameFromArn } from "./physical-names.js";
import type { DeployedFunction, DeployedMapping } from "./template-deployer.js";

/**
 * Lambda's object key for a discarded batch in an S3 on-failure destination ("Retaining records from Kinesis":
 * `aws/lambda/<ESM UUID>/<shard ID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID>`, UTC).
 */
export function onFailureObjectKey(mappingUuid: string, shardId: string, at: Date, id: string = randomUUID()): string {
  const iso = at.toISOString(); // 2024-05-06T07:08:09.123Z
  const [y, m, d] = [iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10)];
  const time = iso.slice(11, 19).replace(/:/g, ".");
  return `aws/lambda/${mappingUuid}/${shardId}/${y}/${m}/${d}/${y}-${m}-${d}T${time}-${id}`;
}

/** Where a mapping's discarded batches go, from `DestinationConfig.OnFailure.Destination`. */
export type FailureDestination =
  | { readonly kind: "s3"; readonly bucket: string; readonly arn: string }
  | { readonly kind: "unsupported"; readonly arn: string }
  | { readonly kind: "none" };

export function failureDestination(properties: Readonly<Record<string, unknown>>): FailureDestination {
  const arn = (properties.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)?.OnFailure?.Destination;
  if (typeof arn !== "string" || arn === "") return { kind: "none" };
  if (arn.startsWith("arn:aws:s3:::")) return { kind: "s3", bucket: nameFromArn(arn)!, arn };
  return { kind: "unsupported", arn };
}

const int = (v: unknown): number | undefined => (v === undefined || v === null ? undefined : Number(v));

export interface MappingRunnerOptions {
  readonly mapping: DeployedMapping;
  readonly fn: DeployedFunction;
  readonly host: FunctionHost;
  readonly kinesis: KinesisClient;
  readonly s3: S3Client;
  readonly region: string;
  /** The poller's positions file lives here (`<dir>/<uuid>.json`). */
  readonly checkpointDir: string;
  /** Told about each discarded batch after it was delivered (or could not be). */
  readonly onDiscard?: (failure: KinesisFailureRecord, delivered: { key?: string; error?: unknown }) => void;
  /** @default 1_000 */
  readonly pollIntervalMs?: number;
}

/**
 * Builds the poller for one mapping. Its function timeout is the function's `Timeout` plus the cold-start
 * allowance, so the host's own deadline (which terminates the sandbox) is what ends a slow invocation; the
 * poller's is a backstop.
 *
 * @example
 * const poller = mappingPoller({ mapping, fn, host, kinesis, s3, region, checkpointDir: ".sparkless/esm" });
 * await poller.start();
 */
export function mappingPoller(o: MappingRunnerOptions): EsmPoller {
  const p = o.mapping.properties;
  const where = `event source mapping ${o.mapping.logicalId}`;
  const destination = failureDestination(p);
  const startingPosition = String(p.StartingPosition ?? "TRIM_HORIZON") as StartingPosition;
  const timestamp = int(p.StartingPositionTimestamp);
  if (startingPosition === "AT_TIMESTAMP" && timestamp === undefined) {
    throw new ValidationError("TemplateInvalid", `${where}: StartingPosition AT_TIMESTAMP without StartingPositionTimestamp`, { logicalId: o.mapping.logicalId });
  }
  const responseTypes = (p.FunctionResponseTypes as unknown[] | undefined) ?? [];
  const onFailure =
    destination.kind === "none"
      ? undefined
      : async (failure: KinesisFailureRecord) => {
          if (destination.kind === "unsupported") {
            o.onDiscard?.(failure, { error: new Error(`on-failure destination ${destination.arn} is not emulated locally (only S3 buckets)`) });
            return;
          }
          const key = onFailureObjectKey(o.mapping.uuid, failure.KinesisBatchInfo.shardId, new Date(failure.timestamp));
          // A failed write is retried by the poller (it holds the shard until the record is kept).
          await o.s3.send(new PutObjectCommand({ Bucket: destination.bucket, Key: key, Body: JSON.stringify(failure), ContentType: "application/json" }));
          o.onDiscard?.(failure, { key });
        };
  const host = o.host;
  return new EsmPoller({
    kinesis: o.kinesis,
    streamName: o.mapping.streamName,
    // The response comes back JSON round-tripped from the sandbox; the poller reads it as Lambda does.
    handler: (event, context) => host.invoke(event, { requestId: context.awsRequestId }) as Promise<StreamsEventResponseLike | null>,
    batchSize: int(p.BatchSize) ?? 100,
    maximumBatchingWindowMs: (int(p.MaximumBatchingWindowInSeconds) ?? 0) * 1000,
    startingPosition,
    ...(timestamp !== undefined ? { startingPositionTimestamp: new Date(timestamp * 1000) } : {}),
    bisectBatchOnFunctionError: p.BisectBatchOnFunctionError === true || p.BisectBatchOnFunctionError === "true",
    maximumRetryAttempts: int(p.MaximumRetryAttempts) ?? -1,
    maximumRecordAgeSeconds: int(p.MaximumRecordAgeInSeconds) ?? -1,
    reportBatchItemFailures: responseTypes.includes("ReportBatchItemFailures"),
    parallelizationFactor: int(p.ParallelizationFactor) ?? 1,
    functionTimeoutMs: host.spec.timeoutMs + host.spec.initTimeoutMs + 1_000,
    ...(onFailure ? { onFailure } : {}),
    checkpointStore: new FileCheckpointStore(join(o.checkpointDir, `${o.mapping.uuid}.json`)),
    pollIntervalMs: o.pollIntervalMs ?? 1_000,
    functionName: o.fn.name,
    memoryLimitInMB: String(o.fn.memoryMb),
    region: o.region,
    ...(o.fn.roleArn ? { roleArn: o.fn.roleArn } : {}),
  });
}

/** Settings of a mapping the local poller does not apply, for the start-up notes. */
export function unappliedSettings(mapping: DeployedMapping): string[] {
  const p = mapping.properties;
  const out: string[] = [];
  for (const key of ["FilterCriteria", "TumblingWindowInSeconds", "ScalingConfig", "MetricsConfig", "KMSKeyArn", "ProvisionedPollerConfig"]) {
    if (p[key] !== undefined) out.push(`${mapping.logicalId}: ${key} is not applied locally`);
  }
  const d = failureDestination(p);
  if (d.kind === "unsupported") out.push(`${mapping.logicalId}: on-failure destination ${d.arn} is not emulated (only S3); discarded batches are reported as events only`);
  return out;
}

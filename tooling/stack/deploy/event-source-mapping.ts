/**
 * `AWS::Lambda::EventSourceMapping`: resolved to the stream the local poller reads and the function it invokes.
 * Only Kinesis sources are polled; a mapping on anything else, or on a function that does not run locally, is
 * skipped with a note.
 */
import type { CfnResource } from "../assembly.js";
import { resolve } from "../intrinsics.js";
import { isKafkaMapping } from "../kafka-mappings.js";
import { mappingUuid, nameFromArn } from "../physical-names.js";
import { at, type DeployContext } from "./deploy-context.js";
import { findFunction, type DeployedFunction } from "./function.js";
import type { DeployedStream } from "./stream.js";

/** An `AWS::Lambda::EventSourceMapping` on a Kinesis stream, with its properties resolved. */
export interface DeployedMapping {
  readonly logicalId: string;
  /** The mapping's UUID (its `Ref`; Lambda's key prefix for on-failure records in S3). */
  readonly uuid: string;
  readonly functionLogicalId: string;
  readonly functionName: string;
  readonly streamName: string;
  readonly streamArn: string;
  readonly enabled: boolean;
  /** The template's properties, every intrinsic resolved. */
  readonly properties: Readonly<Record<string, unknown>>;
}

/** What a mapping refers to, deployed before it. */
export interface MappingTargets {
  readonly streams: readonly DeployedStream[];
  readonly functions: readonly DeployedFunction[];
}

export function deployMapping(d: DeployContext, logicalId: string, r: CfnResource, targets: MappingTargets): DeployedMapping | undefined {
  const properties = resolve(r.Properties ?? {}, d.ctx, at(d, logicalId, "Properties")) as Record<string, unknown>;
  if (isKafkaMapping(properties)) return undefined; // run by kafka-mappings.ts, on the local broker
  const source = String(properties.EventSourceArn ?? "");
  const fnRef = String(properties.FunctionName ?? "");
  const fn = findFunction(targets.functions, fnRef);
  if (!source.startsWith("arn:aws:kinesis:")) {
    d.notes.push(`event source mapping ${logicalId} reads ${source || "(no EventSourceArn)"}: only Kinesis streams are polled locally; skipped`);
    return undefined;
  }
  if (!fn) {
    d.notes.push(`event source mapping ${logicalId} targets ${fnRef}, which is not a function that runs locally; skipped`);
    return undefined;
  }
  // An enhanced fan-out consumer ARN is `<stream arn>/consumer/<name>:<ts>`: poll the stream itself.
  const streamArn = source.replace(/\/consumer\/.*$/, "");
  const stream = targets.streams.find((s) => s.arn === streamArn) ?? targets.streams.find((s) => s.name === nameFromArn(streamArn));
  const streamName = stream?.name ?? nameFromArn(streamArn);
  if (!streamName) {
    d.notes.push(`event source mapping ${logicalId}: cannot tell the stream of ${source}; skipped`);
    return undefined;
  }
  if (streamArn !== source) d.notes.push(`event source mapping ${logicalId} uses an enhanced fan-out consumer: polled with GetRecords locally`);
  return {
    logicalId,
    uuid: mappingUuid(d.stack.stackName, logicalId),
    functionLogicalId: fn.logicalId,
    functionName: fn.name,
    streamName,
    streamArn: stream?.arn ?? streamArn,
    enabled: properties.Enabled !== false && properties.Enabled !== "false",
    properties,
  };
}

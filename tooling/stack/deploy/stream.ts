/**
 * `AWS::Kinesis::Stream`: created with the template's shard count (an ON_DEMAND stream with `onDemandShards`) and
 * retention, or kept as it is when it exists.
 */
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  IncreaseStreamRetentionPeriodCommand,
  type KinesisClient,
} from "@aws-sdk/client-kinesis";
import { ValidationError } from "../../../lib/core/errors.js";
import type { CfnResource } from "../assembly.js";
import { resolve } from "../intrinsics.js";
import { arns } from "../physical-names.js";
import { at, errorName, num, unlessNotFound, type DeployContext } from "./deploy-context.js";

export interface DeployedStream {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly shards: number;
  /** False when it existed already (resumed). */
  readonly created: boolean;
}

export async function deployStream(d: DeployContext, logicalId: string, r: CfnResource): Promise<DeployedStream> {
  const p = r.Properties ?? {};
  const { kinesis } = d.clients;
  const name = d.resources.name(logicalId);
  const mode = resolve(p.StreamModeDetails ?? {}, d.ctx, at(d, logicalId, "StreamModeDetails")) as { StreamMode?: string };
  const onDemand = mode.StreamMode === "ON_DEMAND";
  const wanted = onDemand ? (d.options.onDemandShards ?? 2) : (num(p.ShardCount, d.ctx, at(d, logicalId, "ShardCount")) ?? 1);
  let created = false;
  let summary = await describeStream(kinesis, name);
  if (!summary) {
    try {
      await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: wanted }));
      created = true;
    } catch (err) {
      if (errorName(err) !== "ResourceInUseException") throw err;
    }
    summary = await waitForStream(kinesis, name);
    if (onDemand) d.notes.push(`stream ${name} is ON_DEMAND in the template: created with ${wanted} provisioned shards locally (no automatic scaling)`);
    const retention = num(p.RetentionPeriodHours, d.ctx, at(d, logicalId, "RetentionPeriodHours"));
    if (created && retention !== undefined && retention > 24) await applyRetention(d, name, retention);
  } else if (summary.OpenShardCount !== undefined && summary.OpenShardCount !== wanted) {
    d.notes.push(`stream ${name} kept with ${summary.OpenShardCount} open shard(s) (the template asks for ${wanted}): start fresh to recreate it`);
  }
  const arn = summary.StreamARN ?? arns.stream(d.region, name);
  d.resources.actual.set(logicalId, { ref: name, atts: { Arn: arn } });
  return { logicalId, name, arn, shards: summary.OpenShardCount ?? wanted, created };
}

async function applyRetention(d: DeployContext, name: string, hours: number): Promise<void> {
  try {
    await d.clients.kinesis.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: hours }));
  } catch (err) {
    d.notes.push(`stream ${name}: retention of ${hours} h not applied (${errorName(err)})`);
  }
}

async function describeStream(kinesis: KinesisClient, name: string) {
  return (await unlessNotFound(kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }))))?.StreamDescriptionSummary;
}

/** Waits until the stream is ACTIVE (our emulator creates it ACTIVE at once; AWS takes seconds). */
async function waitForStream(kinesis: KinesisClient, name: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const s = await describeStream(kinesis, name);
    if (s?.StreamStatus === "ACTIVE") return s;
    if (Date.now() > deadline) {
      throw new ValidationError("StreamNotActive", `stream ${name} did not become ACTIVE within 30 s (status ${s?.StreamStatus ?? "missing"})`, { name });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

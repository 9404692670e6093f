/**
 * Deploys a synthesized stack's templates to the emulators: creates its Kinesis streams, DynamoDB tables and S3
 * buckets, and resolves what the local stack runs — each Lambda function's environment, handler and limits, each
 * event source mapping's settings, each scheduled EventBridge rule — to the local resources. One deployer per
 * resource type (deploy/), run in the order their references need; this file only dispatches.
 *
 * Idempotent: a resource that exists (a second start on the same state directory) is kept with its data, never
 * recreated or changed; a difference from the template is reported in `notes`.
 *
 * The resources a template holds that have no local meaning (IAM, alarms, dashboards, log groups, bucket
 * policies, permissions, ...) are counted in `ignored`, so the caller can say what the stack left out. IAM roles
 * and policies are not deployed: tooling/iam/ reads them from the template to enforce them.
 */
import type { AssemblyStack, CfnResource } from "./assembly.js";
import type { ResolveContext } from "./intrinsics.js";
import { deployBucket, type DeployedBucket } from "./deploy/bucket.js";
import { deployContext, type DeployContext, type DeployerClients, type DeployOptions } from "./deploy/deploy-context.js";
import { deployMapping, type DeployedMapping } from "./deploy/event-source-mapping.js";
import { deployFunction, type DeployedFunction } from "./deploy/function.js";
import { deploySchedule, type DeployedSchedule } from "./deploy/schedule.js";
import { deployStream, type DeployedStream } from "./deploy/stream.js";
import { deployTable, type DeployedTable } from "./deploy/table.js";

export type { DeployedBucket, DeployedFunction, DeployedMapping, DeployedSchedule, DeployedStream, DeployedTable, DeployerClients, DeployOptions };

export interface DeployedStack {
  readonly stackName: string;
  readonly streams: readonly DeployedStream[];
  readonly tables: readonly DeployedTable[];
  readonly buckets: readonly DeployedBucket[];
  readonly functions: readonly DeployedFunction[];
  readonly mappings: readonly DeployedMapping[];
  readonly schedules: readonly DeployedSchedule[];
  /** Resource types present in the template that have no local counterpart, with their counts. */
  readonly ignored: Readonly<Record<string, number>>;
  /** What the deployer decided or could not do, for this stack (printed at start-up). */
  readonly notes: readonly string[];
  /** Resolves any other template value against the deployed resources. */
  readonly context: ResolveContext;
}

const STREAM = "AWS::Kinesis::Stream";
const TABLE = "AWS::DynamoDB::Table";
const BUCKET = "AWS::S3::Bucket";
const FUNCTION = "AWS::Lambda::Function";
const MAPPING = "AWS::Lambda::EventSourceMapping";
const RULE = "AWS::Events::Rule";
/** Resource types the deployer acts on (CDK's metadata resource is read by nothing and worth no note). */
const HANDLED = new Set([STREAM, TABLE, BUCKET, FUNCTION, MAPPING, RULE, "AWS::CDK::Metadata"]);

/** What the deployer never does, whatever the template (printed at start-up beside the poller's limitations). */
export const DEPLOYER_LIMITATIONS: readonly string[] = [
  "IAM is not enforced: roles, policies, bucket policies and Lambda permissions are ignored (the emulators allow every call), so a missing grant shows only on AWS.",
  "CloudWatch alarms, dashboards, metrics and log groups are not created: function output is printed instead (EMF metric lines appear as JSON).",
  "Only Kinesis streams, DynamoDB tables, S3 buckets, Lambda functions (Node.js, code in the assembly), Kinesis event source mappings and scheduled EventBridge rules are deployed; other resource types are skipped and listed.",
  "Existing streams, tables and buckets are kept as they are on a second start (no update or replacement): start with --fresh after changing their properties.",
  "Stream encryption, table PITR/SSE, bucket encryption, lifecycle rules, versioning and access logging are not applied; DynamoDB TTL is not applied when the emulator lacks UpdateTimeToLive (dynalite), so expired items stay (readers filter them by time).",
  "Cross-stack references (Fn::ImportValue), custom resources and nested CloudFormation stacks are not supported.",
];

/**
 * Deploys one stack of the assembly to the emulators the clients point at: storage first (functions' environments
 * name it), then functions, then what invokes functions (mappings, schedules).
 *
 * @example
 * const deployed = await deployStack(assembly.stacks[0], { kinesis, dynamodb, s3 }, { region: "us-east-1" });
 * deployed.functions.map((f) => f.environment.SPARKLESS_TABLE); // the local table's name
 */
export async function deployStack(stack: AssemblyStack, clients: DeployerClients, options: DeployOptions): Promise<DeployedStack> {
  const d = deployContext(stack, clients, options);
  noteConditions(d);
  const streams = await deployEach(d, STREAM, deployStream);
  const tables = await deployEach(d, TABLE, deployTable);
  const buckets = await deployEach(d, BUCKET, deployBucket);
  const functions = await deployEach(d, FUNCTION, deployFunction);
  const mappings = await deployEach(d, MAPPING, (d, id, r) => deployMapping(d, id, r, { streams, functions }));
  const schedules = await deployEach(d, RULE, (d, id, r) => deploySchedule(d, id, r, functions));
  return { stackName: stack.stackName, streams, tables, buckets, functions, mappings, schedules, ignored: ignoredTypes(stack), notes: d.notes, context: d.ctx };
}

type Deployer<T> = (d: DeployContext, logicalId: string, r: CfnResource) => Promise<T | undefined> | T | undefined;

/** Runs `deploy` on each resource of `type`, in template order, one at a time; a skipped one (undefined) is left out. */
async function deployEach<T>(d: DeployContext, type: string, deploy: Deployer<T>): Promise<T[]> {
  const deployed: T[] = [];
  for (const [logicalId, r] of Object.entries(d.stack.template.Resources)) {
    if (r.Type !== type) continue;
    const one = await deploy(d, logicalId, r);
    if (one !== undefined) deployed.push(one);
  }
  return deployed;
}

function noteConditions(d: DeployContext): void {
  for (const [logicalId, r] of Object.entries(d.stack.template.Resources)) {
    if (r.Condition !== undefined && HANDLED.has(r.Type) && r.Type !== "AWS::CDK::Metadata") {
      d.notes.push(`${logicalId} has Condition ${r.Condition}: deployed unconditionally`);
    }
  }
}

function ignoredTypes(stack: AssemblyStack): Record<string, number> {
  const ignored: Record<string, number> = {};
  for (const r of Object.values(stack.template.Resources)) {
    if (!HANDLED.has(r.Type)) ignored[r.Type] = (ignored[r.Type] ?? 0) + 1;
  }
  return ignored;
}

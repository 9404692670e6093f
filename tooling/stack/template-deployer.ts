/**
 * Deploys a synthesized stack's templates to the emulators: creates its Kinesis streams, DynamoDB tables and S3
 * buckets, and resolves what the local stack runs — each Lambda function's environment, handler and limits, each
 * event source mapping's settings, each scheduled EventBridge rule — to the local resources.
 *
 * Idempotent: a resource that exists (a second start on the same state directory) is kept with its data, never
 * recreated or changed; a difference from the template is reported in `notes`.
 *
 * The resources a template holds that have no local meaning (IAM, alarms, dashboards, log groups, bucket
 * policies, permissions, ...) are counted in `ignored`, so the caller can say what the stack left out.
 */
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  IncreaseStreamRetentionPeriodCommand,
  type KinesisClient,
} from "@aws-sdk/client-kinesis";
import {
  CreateTableCommand,
  DescribeTableCommand,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { ValidationError } from "../../lib/core/errors.js";
import { functionCode, type AssemblyStack, type CfnResource, type FunctionCode } from "./assembly.js";
import { resolve, resolveString, type ResolveContext, type ResourceLookup } from "./intrinsics.js";
import { isKafkaMapping } from "./kafka-mappings.js";
import { arns, bucketName, LOCAL_ACCOUNT_ID, mappingUuid, nameFromArn, physicalName } from "./physical-names.js";

export interface DeployerClients {
  readonly kinesis: KinesisClient;
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
}

export interface DeployOptions {
  readonly region: string;
  /** Shards of a stream whose template says `StreamMode: ON_DEMAND` (kinesis-mock would make 4). @default 2 */
  readonly onDemandShards?: number;
  /** Values for template parameters (else their defaults). */
  readonly parameters?: Readonly<Record<string, string>>;
}

export interface DeployedStream {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly shards: number;
  /** False when it existed already (resumed). */
  readonly created: boolean;
}

export interface DeployedTable {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly created: boolean;
}

export interface DeployedBucket {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly created: boolean;
}

/** A Lambda function as the local stack runs it. */
export interface DeployedFunction {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly handler: string;
  readonly runtime: string;
  readonly code: FunctionCode;
  /** The template's `Environment.Variables`, resolved. */
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly memoryMb: number;
  readonly reservedConcurrency?: number;
  readonly roleArn?: string;
}

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

/** An `AWS::Events::Rule` with a schedule, and the functions it targets. */
export interface DeployedSchedule {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly scheduleExpression: string;
  readonly targets: ReadonlyArray<{ readonly id: string; readonly functionName: string; readonly input?: unknown }>;
}

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

/** Resource types the deployer acts on. */
const HANDLED = new Set([
  "AWS::Kinesis::Stream",
  "AWS::DynamoDB::Table",
  "AWS::S3::Bucket",
  "AWS::Lambda::Function",
  "AWS::Lambda::EventSourceMapping",
  "AWS::Events::Rule",
  "AWS::CDK::Metadata",
]);

/** What the deployer never does, whatever the template (printed at start-up beside the poller's limitations). */
export const DEPLOYER_LIMITATIONS: readonly string[] = [
  "IAM is not enforced: roles, policies, bucket policies and Lambda permissions are ignored (the emulators allow every call), so a missing grant shows only on AWS.",
  "CloudWatch alarms, dashboards, metrics and log groups are not created: function output is printed instead (EMF metric lines appear as JSON).",
  "Only Kinesis streams, DynamoDB tables, S3 buckets, Lambda functions (Node.js, code in the assembly), Kinesis event source mappings and scheduled EventBridge rules are deployed; other resource types are skipped and listed.",
  "Existing streams, tables and buckets are kept as they are on a second start (no update or replacement): start with --fresh after changing their properties.",
  "Stream encryption, table PITR/SSE, bucket encryption, lifecycle rules, versioning and access logging are not applied; DynamoDB TTL is not applied when the emulator lacks UpdateTimeToLive (dynalite), so expired items stay (readers filter them by time).",
  "Cross-stack references (Fn::ImportValue), custom resources and nested CloudFormation stacks are not supported.",
];

/** `Ref`/`GetAtt` answers for one stack, from the names chosen up front and the ARNs the emulators returned. */
class StackResources implements ResourceLookup {
  /** Attributes known after creation (e.g. the stream ARN the emulator reports). */
  readonly actual = new Map<string, { ref: string; atts: Record<string, string> }>();
  private readonly resolving = new Set<string>();
  ctx!: ResolveContext;

  constructor(
    private readonly stack: AssemblyStack,
    private readonly region: string,
  ) {}

  private resource(logicalId: string): CfnResource | undefined {
    return this.stack.template.Resources[logicalId];
  }

  /** The resource's name: its name property when the template sets one, else the deterministic physical name. */
  name(logicalId: string): string {
    const r = this.resource(logicalId)!;
    const prop = NAME_PROPERTY[r.Type];
    const given = prop ? r.Properties?.[prop] : undefined;
    if (given !== undefined) {
      if (this.resolving.has(logicalId)) {
        throw new ValidationError("CircularReference", `${this.stack.stackName}/${logicalId}.${prop} refers to itself`, { logicalId });
      }
      this.resolving.add(logicalId);
      try {
        return resolveString(given, this.ctx, `${this.stack.stackName}/${logicalId}.Properties.${prop}`);
      } finally {
        this.resolving.delete(logicalId);
      }
    }
    if (r.Type === "AWS::S3::Bucket") return bucketName(this.stack.stackName, logicalId);
    if (r.Type === "AWS::DynamoDB::Table" || r.Type === "AWS::Kinesis::Stream") return physicalName(this.stack.stackName, logicalId, 128);
    return physicalName(this.stack.stackName, logicalId, 64);
  }

  ref(logicalId: string): string | undefined {
    const r = this.resource(logicalId);
    if (!r) return undefined;
    const actual = this.actual.get(logicalId);
    if (actual) return actual.ref;
    switch (r.Type) {
      case "AWS::Lambda::EventSourceMapping":
        return mappingUuid(this.stack.stackName, logicalId);
      case "AWS::SQS::Queue":
        return `http://sqs.${this.region}.localhost/${LOCAL_ACCOUNT_ID}/${this.name(logicalId)}`;
      case "AWS::SNS::Topic":
        return arns.topic(this.region, this.name(logicalId));
      default:
        return this.name(logicalId);
    }
  }

  getAtt(logicalId: string, attribute: string): string | undefined {
    const r = this.resource(logicalId);
    if (!r) return undefined;
    const known = this.actual.get(logicalId)?.atts[attribute];
    if (known !== undefined) return known;
    const name = () => this.name(logicalId);
    const region = this.region;
    const byType: Record<string, Record<string, () => string>> = {
      "AWS::Kinesis::Stream": { Arn: () => arns.stream(region, name()) },
      "AWS::DynamoDB::Table": { Arn: () => arns.table(region, name()) },
      "AWS::S3::Bucket": {
        Arn: () => arns.bucket(name()),
        DomainName: () => `${name()}.s3.amazonaws.com`,
        RegionalDomainName: () => `${name()}.s3.${region}.amazonaws.com`,
        DualStackDomainName: () => `${name()}.s3.dualstack.${region}.amazonaws.com`,
        WebsiteURL: () => `http://${name()}.s3-website-${region}.amazonaws.com`,
      },
      "AWS::Lambda::Function": { Arn: () => arns.function(region, name()) },
      "AWS::Lambda::EventSourceMapping": {
        Id: () => mappingUuid(this.stack.stackName, logicalId),
        EventSourceMappingArn: () => arns.mapping(region, mappingUuid(this.stack.stackName, logicalId)),
      },
      "AWS::Events::Rule": { Arn: () => arns.rule(region, name()) },
      "AWS::Logs::LogGroup": { Arn: () => arns.logGroup(region, name()) },
      "AWS::IAM::Role": { Arn: () => arns.role(name()), RoleId: () => `AROA${name().toUpperCase().replace(/[^A-Z0-9]/g, "").slice(0, 17)}` },
      "AWS::SQS::Queue": { Arn: () => arns.queue(region, name()), QueueName: name, QueueUrl: () => this.ref(logicalId)! },
      "AWS::SNS::Topic": { TopicArn: () => arns.topic(region, name()), TopicName: name },
    };
    const getter = byType[r.Type]?.[attribute];
    if (getter) return getter();
    if (attribute === "Arn") {
      const service = r.Type.split("::")[1]?.toLowerCase() ?? "unknown";
      return `arn:aws:${service}:${region}:${LOCAL_ACCOUNT_ID}:${name()}`;
    }
    throw new ValidationError(
      "UnknownAttribute",
      `Fn::GetAtt ${logicalId}.${attribute}: the embedded local stack does not know attribute ${attribute} of ${r.Type}`,
      { logicalId, attribute, type: r.Type },
    );
  }
}

const NAME_PROPERTY: Record<string, string> = {
  "AWS::Kinesis::Stream": "Name",
  "AWS::DynamoDB::Table": "TableName",
  "AWS::S3::Bucket": "BucketName",
  "AWS::Lambda::Function": "FunctionName",
  "AWS::Events::Rule": "Name",
  "AWS::Logs::LogGroup": "LogGroupName",
  "AWS::IAM::Role": "RoleName",
  "AWS::SQS::Queue": "QueueName",
  "AWS::SNS::Topic": "TopicName",
};

function errorName(err: unknown): string {
  return (err as { name?: string })?.name ?? "";
}

/** A template value, resolved, as a number (CloudFormation accepts numbers as strings too). */
function num(value: unknown, ctx: ResolveContext, path: string): number | undefined {
  if (value === undefined) return undefined;
  const r = resolve(value, ctx, path);
  const n = typeof r === "number" ? r : Number(r);
  if (!Number.isFinite(n)) throw new ValidationError("TemplateInvalid", `${path}: expected a number, got ${JSON.stringify(r)}`, { path });
  return n;
}

/**
 * Deploys one stack of the assembly to the emulators the clients point at.
 *
 * @example
 * const deployed = await deployStack(assembly.stacks[0], { kinesis, dynamodb, s3 }, { region: "us-east-1" });
 * deployed.functions.map((f) => f.environment.SPARKLESS_TABLE); // the local table's name
 */
export async function deployStack(stack: AssemblyStack, clients: DeployerClients, options: DeployOptions): Promise<DeployedStack> {
  const region = options.region;
  const resources = new StackResources(stack, region);
  const ctx: ResolveContext = {
    pseudo: { region, accountId: LOCAL_ACCOUNT_ID, stackName: stack.stackName },
    resources,
    template: stack.template,
    ...(options.parameters ? { parameters: options.parameters } : {}),
  };
  resources.ctx = ctx;
  const notes: string[] = [];
  const ignored: Record<string, number> = {};
  const entries = Object.entries(stack.template.Resources);
  const at = (logicalId: string, suffix: string) => `${stack.stackName}/${logicalId}.${suffix}`;

  for (const [, r] of entries) {
    if (!HANDLED.has(r.Type)) ignored[r.Type] = (ignored[r.Type] ?? 0) + 1;
  }
  for (const [logicalId, r] of entries) {
    if (r.Condition !== undefined && HANDLED.has(r.Type) && r.Type !== "AWS::CDK::Metadata") {
      notes.push(`${logicalId} has Condition ${r.Condition}: deployed unconditionally`);
    }
  }

  // 1. Storage: streams, tables, buckets (their ARNs come from the emulators).
  const streams: DeployedStream[] = [];
  const tables: DeployedTable[] = [];
  const buckets: DeployedBucket[] = [];
  for (const [logicalId, r] of entries) {
    const p = r.Properties ?? {};
    if (r.Type === "AWS::Kinesis::Stream") {
      streams.push(await deployStreamResource(logicalId, p));
    } else if (r.Type === "AWS::DynamoDB::Table") {
      tables.push(await deployTableResource(logicalId, p));
    } else if (r.Type === "AWS::S3::Bucket") {
      buckets.push(await deployBucketResource(logicalId));
    }
  }

  async function deployStreamResource(logicalId: string, p: Record<string, unknown>): Promise<DeployedStream> {
    const name = resources.name(logicalId);
    const mode = resolve(p.StreamModeDetails ?? {}, ctx, at(logicalId, "StreamModeDetails")) as { StreamMode?: string };
    const onDemand = mode.StreamMode === "ON_DEMAND";
    const wanted = onDemand ? (options.onDemandShards ?? 2) : (num(p.ShardCount, ctx, at(logicalId, "ShardCount")) ?? 1);
    let created = false;
    let summary = await describeStream(clients.kinesis, name);
    if (!summary) {
      try {
        await clients.kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: wanted }));
        created = true;
      } catch (err) {
        if (errorName(err) !== "ResourceInUseException") throw err;
      }
      summary = await waitForStream(clients.kinesis, name);
      if (onDemand) notes.push(`stream ${name} is ON_DEMAND in the template: created with ${wanted} provisioned shards locally (no automatic scaling)`);
      const retention = num(p.RetentionPeriodHours, ctx, at(logicalId, "RetentionPeriodHours"));
      if (created && retention !== undefined && retention > 24) {
        try {
          await clients.kinesis.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: retention }));
        } catch (err) {
          notes.push(`stream ${name}: retention of ${retention} h not applied (${errorName(err)})`);
        }
      }
    } else if (summary.OpenShardCount !== undefined && summary.OpenShardCount !== wanted) {
      notes.push(`stream ${name} kept with ${summary.OpenShardCount} open shard(s) (the template asks for ${wanted}): start fresh to recreate it`);
    }
    const arn = summary.StreamARN ?? arns.stream(region, name);
    resources.actual.set(logicalId, { ref: name, atts: { Arn: arn } });
    return { logicalId, name, arn, shards: summary.OpenShardCount ?? wanted, created };
  }

  async function deployTableResource(logicalId: string, p: Record<string, unknown>): Promise<DeployedTable> {
    const name = resources.name(logicalId);
    const props = resolve(p, ctx, at(logicalId, "Properties")) as Record<string, unknown>;
    let created = false;
    let described = await describeTable(clients.dynamodb, name);
    if (!described) {
      const billing = (props.BillingMode as string | undefined) ?? "PROVISIONED";
      const throughput = props.ProvisionedThroughput ?? (billing === "PROVISIONED" ? { ReadCapacityUnits: 5, WriteCapacityUnits: 5 } : undefined);
      const input: CreateTableCommandInput = {
        TableName: name,
        KeySchema: props.KeySchema as CreateTableCommandInput["KeySchema"],
        AttributeDefinitions: props.AttributeDefinitions as CreateTableCommandInput["AttributeDefinitions"],
        BillingMode: billing as CreateTableCommandInput["BillingMode"],
        ...(throughput ? { ProvisionedThroughput: throughput as CreateTableCommandInput["ProvisionedThroughput"] } : {}),
        ...(props.GlobalSecondaryIndexes ? { GlobalSecondaryIndexes: props.GlobalSecondaryIndexes as CreateTableCommandInput["GlobalSecondaryIndexes"] } : {}),
        ...(props.LocalSecondaryIndexes ? { LocalSecondaryIndexes: props.LocalSecondaryIndexes as CreateTableCommandInput["LocalSecondaryIndexes"] } : {}),
        ...(props.StreamSpecification ? { StreamSpecification: { StreamEnabled: true, ...(props.StreamSpecification as object) } } : {}),
      };
      try {
        await clients.dynamodb.send(new CreateTableCommand(input));
        created = true;
      } catch (err) {
        if (errorName(err) !== "ResourceInUseException") {
          throw new ValidationError("TableCreateFailed", `could not create table ${name} (${stack.stackName}/${logicalId}): ${(err as Error).message}`, { logicalId }, { cause: err });
        }
      }
      const ttl = props.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
      if (created && ttl?.Enabled && ttl.AttributeName) {
        try {
          await clients.dynamodb.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true } }));
        } catch (err) {
          // dynalite has no UpdateTimeToLive: tolerated (expired items stay; readers filter them by time).
          notes.push(`table ${name}: TTL on "${ttl.AttributeName}" not applied (${errorName(err) || "error"}: the emulator does not support it); expired items are kept`);
        }
      }
      described = await describeTable(clients.dynamodb, name);
    }
    const arn = described?.TableArn ?? arns.table(region, name);
    const atts: Record<string, string> = { Arn: arn };
    if (described?.LatestStreamArn) atts.StreamArn = described.LatestStreamArn;
    resources.actual.set(logicalId, { ref: name, atts });
    return { logicalId, name, arn, created };
  }

  async function deployBucketResource(logicalId: string): Promise<DeployedBucket> {
    const name = resources.name(logicalId);
    let created = false;
    const exists = await clients.s3.send(new HeadBucketCommand({ Bucket: name })).then(
      () => true,
      () => false,
    );
    if (!exists) {
      try {
        await clients.s3.send(new CreateBucketCommand({ Bucket: name }));
        created = true;
      } catch (err) {
        if (!["BucketAlreadyOwnedByYou", "BucketAlreadyExists"].includes(errorName(err))) {
          throw new ValidationError("BucketCreateFailed", `could not create bucket ${name} (${stack.stackName}/${logicalId}): ${(err as Error).message}`, { logicalId }, { cause: err });
        }
      }
    }
    return { logicalId, name, arn: arns.bucket(name), created };
  }

  // 2. Functions.
  const functions: DeployedFunction[] = [];
  for (const [logicalId, r] of entries) {
    if (r.Type !== "AWS::Lambda::Function") continue;
    const p = r.Properties ?? {};
    const runtime = p.Runtime === undefined ? "nodejs" : resolveString(p.Runtime, ctx, at(logicalId, "Runtime"));
    if (!runtime.startsWith("nodejs")) {
      notes.push(`function ${logicalId} (${runtime}) is skipped: only Node.js functions run locally`);
      continue;
    }
    const name = resources.name(logicalId);
    const variables = resolve((p.Environment as { Variables?: unknown } | undefined)?.Variables ?? {}, ctx, at(logicalId, "Properties.Environment.Variables"));
    const environment: Record<string, string> = {};
    for (const [k, v] of Object.entries(variables as Record<string, unknown>)) {
      environment[k] = typeof v === "string" ? v : JSON.stringify(v);
    }
    const reserved = num(p.ReservedConcurrentExecutions, ctx, at(logicalId, "ReservedConcurrentExecutions"));
    const roleArn = p.Role === undefined ? undefined : resolveString(p.Role, ctx, at(logicalId, "Role"));
    functions.push({
      logicalId,
      name,
      arn: arns.function(region, name),
      handler: resolveString(p.Handler ?? "index.handler", ctx, at(logicalId, "Handler")),
      runtime,
      code: await functionCode(stack, logicalId),
      environment,
      timeoutMs: (num(p.Timeout, ctx, at(logicalId, "Timeout")) ?? 3) * 1000,
      memoryMb: num(p.MemorySize, ctx, at(logicalId, "MemorySize")) ?? 128,
      ...(reserved !== undefined ? { reservedConcurrency: reserved } : {}),
      ...(roleArn !== undefined ? { roleArn } : {}),
    });
  }
  const functionByRef = (value: string): DeployedFunction | undefined =>
    functions.find((f) => f.name === value || f.arn === value || value.startsWith(`${f.arn}:`) || f.logicalId === value) ??
    functions.find((f) => f.name === nameFromArn(value));

  // 3. Event source mappings on Kinesis streams.
  const mappings: DeployedMapping[] = [];
  for (const [logicalId, r] of entries) {
    if (r.Type !== "AWS::Lambda::EventSourceMapping") continue;
    const properties = resolve(r.Properties ?? {}, ctx, at(logicalId, "Properties")) as Record<string, unknown>;
    if (isKafkaMapping(properties)) continue; // run by kafka-mappings.ts, on the local broker
    const source = String(properties.EventSourceArn ?? "");
    const fnRef = String(properties.FunctionName ?? "");
    const fn = functionByRef(fnRef);
    if (!source.startsWith("arn:aws:kinesis:")) {
      notes.push(`event source mapping ${logicalId} reads ${source || "(no EventSourceArn)"}: only Kinesis streams are polled locally; skipped`);
      continue;
    }
    if (!fn) {
      notes.push(`event source mapping ${logicalId} targets ${fnRef}, which is not a function that runs locally; skipped`);
      continue;
    }
    // An enhanced fan-out consumer ARN is `<stream arn>/consumer/<name>:<ts>`: poll the stream itself.
    const streamArn = source.replace(/\/consumer\/.*$/, "");
    const stream = streams.find((s) => s.arn === streamArn) ?? streams.find((s) => s.name === nameFromArn(streamArn));
    const streamName = stream?.name ?? nameFromArn(streamArn);
    if (!streamName) {
      notes.push(`event source mapping ${logicalId}: cannot tell the stream of ${source}; skipped`);
      continue;
    }
    if (streamArn !== source) notes.push(`event source mapping ${logicalId} uses an enhanced fan-out consumer: polled with GetRecords locally`);
    mappings.push({
      logicalId,
      uuid: mappingUuid(stack.stackName, logicalId),
      functionLogicalId: fn.logicalId,
      functionName: fn.name,
      streamName,
      streamArn: stream?.arn ?? streamArn,
      enabled: properties.Enabled !== false && properties.Enabled !== "false",
      properties,
    });
  }

  // 4. Scheduled rules targeting functions.
  const schedules: DeployedSchedule[] = [];
  for (const [logicalId, r] of entries) {
    if (r.Type !== "AWS::Events::Rule") continue;
    const p = r.Properties ?? {};
    if (p.ScheduleExpression === undefined) {
      notes.push(`rule ${logicalId} matches an event pattern: there is no EventBridge bus locally; skipped`);
      continue;
    }
    const state = p.State === undefined ? "ENABLED" : resolveString(p.State, ctx, at(logicalId, "State"));
    if (state !== "ENABLED") {
      notes.push(`rule ${logicalId} is ${state}; not scheduled`);
      continue;
    }
    const name = resources.name(logicalId);
    const targets: Array<{ id: string; functionName: string; input?: unknown }> = [];
    const listed = resolve(p.Targets ?? [], ctx, at(logicalId, "Targets")) as Array<Record<string, unknown>>;
    for (const t of listed) {
      const fn = functionByRef(String(t.Arn ?? ""));
      if (!fn) {
        notes.push(`rule ${logicalId}: target ${String(t.Id)} (${String(t.Arn)}) is not a local function; skipped`);
        continue;
      }
      if (t.InputPath !== undefined || t.InputTransformer !== undefined) {
        notes.push(`rule ${logicalId}: target ${String(t.Id)} has InputPath/InputTransformer, not applied (the scheduled event is sent)`);
      }
      let input: unknown;
      if (typeof t.Input === "string") {
        try {
          input = JSON.parse(t.Input);
        } catch {
          throw new ValidationError("TemplateInvalid", `${at(logicalId, "Targets")}: Input of target ${String(t.Id)} is not JSON`, { logicalId });
        }
      }
      targets.push({ id: String(t.Id ?? fn.name), functionName: fn.name, ...(input !== undefined ? { input } : {}) });
    }
    schedules.push({
      logicalId,
      name,
      arn: arns.rule(region, name),
      scheduleExpression: resolveString(p.ScheduleExpression, ctx, at(logicalId, "ScheduleExpression")),
      targets,
    });
  }

  return { stackName: stack.stackName, streams, tables, buckets, functions, mappings, schedules, ignored, notes, context: ctx };
}

async function describeStream(kinesis: KinesisClient, name: string) {
  try {
    return (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary;
  } catch (err) {
    if (errorName(err) === "ResourceNotFoundException") return undefined;
    throw err;
  }
}

/** Waits until the stream is ACTIVE (kinesis-mock here is configured with no transition delay: at once). */
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

async function describeTable(dynamodb: DynamoDBClient, name: string) {
  try {
    return (await dynamodb.send(new DescribeTableCommand({ TableName: name }))).Table;
  } catch (err) {
    if (errorName(err) === "ResourceNotFoundException") return undefined;
    throw err;
  }
}

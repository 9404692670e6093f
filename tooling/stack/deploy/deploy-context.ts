/**
 * What every resource deployer of a stack shares: the clients, the options, the stack's `Ref`/`GetAtt` answers,
 * the notes it reports, and the few helpers that read template values.
 */
import type { KinesisClient } from "@aws-sdk/client-kinesis";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import { ValidationError } from "../../../lib/core/errors.js";
import type { AssemblyStack } from "../assembly.js";
import { resolve, type ResolveContext } from "../intrinsics.js";
import { LOCAL_ACCOUNT_ID } from "../physical-names.js";
import { StackResources } from "./stack-resources.js";

export interface DeployerClients {
  readonly kinesis: KinesisClient;
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
}

export interface DeployOptions {
  readonly region: string;
  /** Shards of a stream whose template says `StreamMode: ON_DEMAND` (AWS starts one with 4). @default 2 */
  readonly onDemandShards?: number;
  /** Values for template parameters (else their defaults). */
  readonly parameters?: Readonly<Record<string, string>>;
}

export interface DeployContext {
  readonly stack: AssemblyStack;
  readonly clients: DeployerClients;
  readonly options: DeployOptions;
  readonly region: string;
  readonly resources: StackResources;
  readonly ctx: ResolveContext;
  /** What the deployers decided or could not do (printed at start-up). */
  readonly notes: string[];
}

export function deployContext(stack: AssemblyStack, clients: DeployerClients, options: DeployOptions): DeployContext {
  const region = options.region;
  const resources = new StackResources(stack, region);
  const ctx: ResolveContext = {
    pseudo: { region, accountId: LOCAL_ACCOUNT_ID, stackName: stack.stackName },
    resources,
    template: stack.template,
    ...(options.parameters ? { parameters: options.parameters } : {}),
  };
  resources.ctx = ctx;
  return { stack, clients, options, region, resources, ctx, notes: [] };
}

/** The template path of a resource's value, for error messages: `<stack>/<logicalId>.<suffix>`. */
export function at(d: DeployContext, logicalId: string, suffix: string): string {
  return `${d.stack.stackName}/${logicalId}.${suffix}`;
}

export function errorName(err: unknown): string {
  return (err as { name?: string })?.name ?? "";
}

/** A describe call's answer, or undefined when the resource does not exist (yet). */
export async function unlessNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if (errorName(err) === "ResourceNotFoundException") return undefined;
    throw err;
  }
}

/** A template value, resolved, as a number (CloudFormation accepts numbers as strings too). */
export function num(value: unknown, ctx: ResolveContext, path: string): number | undefined {
  if (value === undefined) return undefined;
  const r = resolve(value, ctx, path);
  const n = typeof r === "number" ? r : Number(r);
  if (!Number.isFinite(n)) throw new ValidationError("TemplateInvalid", `${path}: expected a number, got ${JSON.stringify(r)}`, { path });
  return n;
}

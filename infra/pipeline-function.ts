/**
 * One of a pipeline's functions: its own role (logging is a grant on its own log group, not the
 * AWSLambdaBasicExecutionRole managed policy, which allows writing to any log group), its own log group, the
 * shared bundle, and the permissions the contract gives its kind.
 */
import { Duration, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { ENV, FUNCTIONS, type FunctionKind, type InvokedFunction } from "../lib/contract/index.js";
import { grantFunction, grantInvokes, type PipelineStores } from "./grants.js";
import type { Resolved } from "./props.js";

/** Runtime of all functions (see infra/README.md for why 22 and not 24). */
const RUNTIME = lambda.Runtime.NODEJS_22_X;

/** Construct ids, kept stable: a changed id replaces the function. */
const IDS: Record<FunctionKind, string> = { shard: "ShardFunction", ticker: "TickerFunction", finalizer: "FinalizerFunction" };

/**
 * How each kind is invoked asynchronously. The ticker: every tick redoes what the last one left, so no retries,
 * and a tick older than two minutes is moot. The finalizer: a lost finalization is redone by the next tick.
 */
const ASYNC: Partial<Record<FunctionKind, Pick<lambda.FunctionOptions, "retryAttempts" | "maxEventAge">>> = {
  ticker: { retryAttempts: 0, maxEventAge: Duration.minutes(2) },
  finalizer: { retryAttempts: 2, maxEventAge: Duration.hours(1) },
};

export interface PipelineFunctionProps {
  readonly kind: FunctionKind;
  readonly pipelineName: string;
  readonly code: lambda.Code;
  readonly environment: Record<string, string>;
  readonly stores: PipelineStores;
  readonly config: Resolved;
  /**
   * The functions this one fans out to, when the pipeline has more than one finalizer partition: the function
   * gets their names in its environment and `lambda:InvokeFunction` on them, as far as its contract's `invokes` says.
   */
  readonly invokes?: Partial<Record<InvokedFunction, lambda.IFunction>>;
}

export function pipelineFunction(scope: Construct, props: PipelineFunctionProps): lambda.Function {
  const { kind, config } = props;
  const id = IDS[kind];
  const contract = FUNCTIONS[kind];
  const description = `sparkless ${props.pipelineName}: ${contract.role}`;
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: config.logRetention, removalPolicy: config.removalPolicy });
  const role = new iam.Role(scope, `${id}Role`, { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"), description });
  logGroup.grantWrite(role);
  const invokes = props.invokes ?? {};
  const targets = contract.invokes.filter((k) => invokes[k] !== undefined);
  // The finalizer is created first and never refers to the functions that invoke it: no dependency cycle.
  const fanOut: Record<string, string> = targets.includes("finalizer") ? { [ENV.finalizerFunction]: invokes.finalizer!.functionName } : {};
  const fn = new lambda.Function(scope, id, {
    code: props.code,
    handler: `index.${contract.handler}`,
    description,
    runtime: RUNTIME,
    architecture: config.architecture,
    memorySize: config.functions[kind].memorySize,
    timeout: config.functions[kind].timeout,
    role,
    logGroup,
    environment: { ...props.environment, ...fanOut, NODE_OPTIONS: "--enable-source-maps" },
    ...(kind === "finalizer" && config.reserveFinalizerConcurrency ? { reservedConcurrentExecutions: 1 } : {}),
    // Reading a Kafka topic's offsets means reaching its brokers: in their VPC when they are in one.
    ...(config.kafka?.vpc ? { vpc: config.kafka.vpc, vpcSubnets: config.kafka.vpcSubnets, securityGroups: config.kafka.securityGroups } : {}),
    ...ASYNC[kind],
  });
  grantFunction(role, contract, props.stores);
  grantInvokes(role, contract, invokes);
  if (config.kafka?.vpc) {
    Validations.of(fn).acknowledge({
      id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]",
      reason: "aws-cdk-lib attaches it to a function placed in a VPC: Lambda creates the function's network interfaces with it, and EC2 offers those actions no resource-level permissions.",
    });
  }
  Validations.of(fn).acknowledge({
    id: "AwsSolutions-L1",
    reason: "Node.js 22 is the runtime sparkless is built and tested for (esbuild target node22; the local stack runs the same bundle). Moving to a newer runtime is a deliberate upgrade with its own test run, not a lint fix.",
  });
  return fn;
}

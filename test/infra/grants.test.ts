/**
 * Each function's role grants exactly what the contract says the function does (lib/contract/functions.ts): the
 * actions on the table, the stream and the bucket's prefixes — no more, no less — plus writing to its own log
 * group. The runtime side (that the code stays inside the contract) is test/serverless/contract-calls.test.ts.
 */
import { fileURLToPath } from "node:url";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { describe, expect, it } from "vitest";
import { granted } from "../support/template-grants.js";
import { BUCKET_PREFIXES, FUNCTION_KINDS, FUNCTIONS, type FunctionContract, type FunctionKind } from "../../lib/contract/index.js";
import { KEY_ACTIONS } from "../../infra/grants.js";
import { SparklessPipeline, type SparklessPipelineProps } from "../../infra/sparkless-pipeline.js";

/**
 * Synthesizing (and bundling, and cdk-nag) takes seconds on an idle machine and minutes on a loaded one: the cap
 * ends a hung synth, it does not measure one.
 */
const SYNTH = { timeout: 600_000 };

const FIXTURE = fileURLToPath(new URL("./fixtures/pipeline.ts", import.meta.url));


function synth(props: Partial<SparklessPipelineProps> = {}) {
  const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Test");
  const pipeline = new SparklessPipeline(stack, "Pipeline", {
    pipeline: { name: "word-count", entry: FIXTURE, batchIntervalMs: 10_000, stateful: true },
    ...props,
  });
  return { stack, pipeline, template: Template.fromStack(stack).toJSON() };
}

/** What the contract says `kind` may do, in the same form. */
function expected(stack: Stack, pipeline: SparklessPipeline, kind: FunctionKind, fn: lambda.Function, keyId?: string): string[] {
  const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const contract: FunctionContract = FUNCTIONS[kind];
  const table = `${id(pipeline.table as never)}.Arn`;
  const stream = `${id(pipeline.stream as never)}.Arn`;
  const bucket = `${id(pipeline.bucket as never)}.Arn`;
  const writes = [...contract.writes, ...(contract.mapping?.writes ?? [])];
  const out = new Set<string>([
    ...contract.table.map((action) => `${action} on ${table}`),
    ...[...contract.stream, ...(contract.mapping?.stream ?? [])].map((action) => `${action} on ${stream}`),
    ...(contract.reads.length || writes.length ? [`s3:ListBucket on ${bucket}`] : []),
    ...contract.reads.map((prefix) => `s3:GetObject on ${bucket}/${BUCKET_PREFIXES[prefix]}*`),
    ...writes.map((prefix) => `s3:PutObject on ${bucket}/${BUCKET_PREFIXES[prefix]}*`),
    // Lambda writes the function's logs with its role: its own log group only.
    ...["logs:CreateLogStream", "logs:PutLogEvents"].map((action) => `${action} on ${id(fn.logGroup as never)}.Arn`),
    ...(keyId ? KEY_ACTIONS.map((action) => `${action} on ${keyId}.Arn`) : []),
  ]);
  return [...out].sort();
}

function functionOf(pipeline: SparklessPipeline, kind: FunctionKind): lambda.Function {
  return { shard: pipeline.shardFunction, ticker: pipeline.tickerFunction, finalizer: pipeline.finalizerFunction }[kind];
}

describe("each function's role", SYNTH, () => {
  const { stack, pipeline, template } = synth();

  it.each(FUNCTION_KINDS)("grants the %s function exactly what the contract says it does", (kind) => {
    const fn = functionOf(pipeline, kind);
    expect(granted(stack, template, fn)).toEqual(expected(stack, pipeline, kind, fn));
  });

  it("lets every function write outputs and checkpoints, since every one of them finalizes", () => {
    for (const kind of FUNCTION_KINDS) {
      const text = granted(stack, template, functionOf(pipeline, kind));
      for (const prefix of ["output/*", "checkpoint/*", "spill/*", "dead-letter/*"]) expect(text.some((g) => g.startsWith("s3:PutObject") && g.endsWith(prefix))).toBe(true);
    }
  });

  it("lets no function delete objects or invoke another function: no code does", () => {
    const all = FUNCTION_KINDS.flatMap((kind) => granted(stack, template, functionOf(pipeline, kind)));
    expect(all.filter((g) => g.startsWith("s3:DeleteObject") || g.startsWith("lambda:"))).toEqual([]);
  });
});

describe("with a customer-managed key", SYNTH, () => {
  it.each(FUNCTION_KINDS)("also lets the %s function use the key, and nothing more", (kind) => {
    const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Test");
    const key = new kms.Key(stack, "Key", { enableKeyRotation: true });
    const pipeline = new SparklessPipeline(stack, "Pipeline", {
      pipeline: { name: "word-count", entry: FIXTURE, batchIntervalMs: 10_000, stateful: true },
      encryptionKey: key,
    });
    const template = Template.fromStack(stack).toJSON();
    const fn = functionOf(pipeline, kind);
    const keyId = stack.getLogicalId(key.node.defaultChild as kms.CfnKey);
    // Kinesis' own grantRead (the mapping) adds kms:Decrypt for an encrypted stream: the shard function has it anyway.
    expect(granted(stack, template, fn)).toEqual(expected(stack, pipeline, kind, fn, keyId));
  });
});

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
// cdk-nag is CommonJS whose exports Node's ESM loader cannot list by name: take the module object.
import cdkNag from "cdk-nag";
import { describe, expect, it } from "vitest";
import { granted } from "../support/template-grants.js";
import { BUCKET_PREFIXES, ENV, FUNCTION_KINDS, FUNCTIONS, type FunctionContract, type FunctionKind, INVOKE_ACTION } from "../../lib/contract/index.js";
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

/** What the contract says `kind` may do, in the same form (with P > 1 the fan-out's invoke too). */
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
    ...(pipeline.finalizerPartitions > 1 ? contract.invokes.map((target) => `${INVOKE_ACTION} on ${id(functionOf(pipeline, target))}.Arn`) : []),
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

  it("lets no function delete objects, nor, with one finalizer partition, invoke another function: no code does", () => {
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

/** The resources each resource refers to (Ref, Fn::GetAtt, DependsOn). */
function references(template: Record<string, any>): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  const walk = (value: unknown, into: Set<string>) => {
    if (Array.isArray(value)) value.forEach((v) => walk(v, into));
    else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) {
        if (k === "Ref" && typeof v === "string") into.add(v);
        else if (k === "Fn::GetAtt") into.add((v as string[])[0]!);
        else walk(v, into);
      }
    }
  };
  for (const [id, resource] of Object.entries(template.Resources as Record<string, any>)) {
    const into = new Set<string>([resource.DependsOn ?? []].flat() as string[]);
    walk(resource.Properties, into);
    edges.set(id, new Set([...into].filter((r) => r in template.Resources)));
  }
  return edges;
}

/** A cycle of references, if any: CloudFormation refuses such a template (`Circular dependency between resources`). */
function cycle(edges: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === "done") return undefined;
    if (state.get(id) === "open") return [...path.slice(path.indexOf(id)), id];
    state.set(id, "open");
    path.push(id);
    for (const next of edges.get(id) ?? []) {
      const found = visit(next);
      if (found) return found;
    }
    path.pop();
    state.set(id, "done");
    return undefined;
  };
  for (const id of edges.keys()) {
    const found = visit(id);
    if (found) return found;
  }
  return undefined;
}

describe("with finalizer partitions", SYNTH, () => {
  const { stack, pipeline, template } = synth({ pipeline: { name: "word-count", entry: FIXTURE, batchIntervalMs: 10_000, stateful: true, finalizerPartitions: 4 } });
  const finalizerId = stack.getLogicalId(pipeline.finalizerFunction.node.defaultChild as never);

  it.each(FUNCTION_KINDS)("grants the %s function exactly the contract, the invoke of the finalizer included when it fans out", (kind) => {
    const fn = functionOf(pipeline, kind);
    expect(granted(stack, template, fn)).toEqual(expected(stack, pipeline, kind, fn));
  });

  it("lets the shard function and the ticker invoke the finalizer function and nothing else; the finalizer invokes nothing", () => {
    const invokes = (kind: FunctionKind) => granted(stack, template, functionOf(pipeline, kind)).filter((g) => g.startsWith("lambda:"));
    expect(invokes("shard")).toEqual([`lambda:InvokeFunction on ${finalizerId}.Arn`]);
    expect(invokes("ticker")).toEqual([`lambda:InvokeFunction on ${finalizerId}.Arn`]);
    expect(invokes("finalizer")).toEqual([]);
  });

  it("tells every function P, and the functions that fan out the finalizer's name", () => {
    const env = (kind: FunctionKind) => template.Resources[stack.getLogicalId(functionOf(pipeline, kind).node.defaultChild as never)].Properties.Environment.Variables;
    for (const kind of FUNCTION_KINDS) expect(env(kind)[ENV.finalizerPartitions]).toBe("4");
    expect(env("shard")[ENV.finalizerFunction]).toEqual({ Ref: finalizerId });
    expect(env("ticker")[ENV.finalizerFunction]).toEqual({ Ref: finalizerId });
    expect(env("finalizer")[ENV.finalizerFunction]).toBeUndefined();
  });

  it("passes cdk-nag's AwsSolutions checks: the invoke names the finalizer's ARN, no wildcard", () => {
    expect(new cdkNag.AwsSolutionsChecks().validateScope(stack).violations.map((v) => v.ruleName)).toEqual([]);
  });

  it("has no circular reference between resources (the finalizer never refers to the functions that invoke it)", () => {
    expect(cycle(references(template))).toBeUndefined();
    expect(cycle(new Map([["a", new Set(["b"])], ["b", new Set(["a"])]]))).toEqual(["a", "b", "a"]);
  });

  it("refuses a construct prop that disagrees with the pipeline's own P, and takes one that agrees", () => {
    expect(() => synth({ pipeline: { name: "word-count", entry: FIXTURE, batchIntervalMs: 10_000, stateful: true, finalizerPartitions: 4 }, finalizerPartitions: 2 })).toThrow(/finalizerPartitions is 2 on the construct but 4 in pipeline "word-count"/);
    expect(synth({ pipeline: { name: "word-count", entry: FIXTURE, batchIntervalMs: 10_000, stateful: true, finalizerPartitions: 4 }, finalizerPartitions: 4 }).pipeline.finalizerPartitions).toBe(4);
    expect(() => synth({ pipeline: { name: "word-count", entry: FIXTURE, batchIntervalMs: 10_000, stateful: true, finalizerPartitions: 0 } })).toThrow(/finalizerPartitions of pipeline "word-count" must be a whole number from 1 to 256/);
  });
});

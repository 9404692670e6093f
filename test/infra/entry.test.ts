/**
 * SparklessPipeline for a user's own pipeline module: `{ entry }` alone bundles the module with generated
 * handlers (esbuild, in this process) and reads the pipeline's name, batch interval and statefulness from it;
 * and the props a CDK user expects to pass.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { App, Duration, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as s3 from "aws-cdk-lib/aws-s3";
import { describe, expect, it } from "vitest";
import { SparklessPipeline, type SparklessPipelineProps } from "../../infra/sparkless-pipeline.js";
import { sparklessErrorOf } from "../support/errors.js";

/**
 * Synthesizing (and bundling, and cdk-nag) takes seconds on an idle machine and minutes on a loaded one: the cap
 * ends a hung synth, it does not measure one.
 */
const SYNTH = { timeout: 600_000 };

const USER_PIPELINE = fileURLToPath(new URL("./fixtures/word-count-pipeline.ts", import.meta.url));
const BROKEN = fileURLToPath(new URL("./fixtures/broken-pipeline.ts", import.meta.url));
const CLICKS = fileURLToPath(new URL("./fixtures/clicks-pipeline.ts", import.meta.url));
const HANDLERS_ONLY = fileURLToPath(new URL("./fixtures/pipeline.ts", import.meta.url));

type Json = Record<string, any>;

function synth(props: SparklessPipelineProps, options: { bundle?: boolean } = {}) {
  const app = new App(options.bundle ? {} : { context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new Stack(app, "User");
  const pipeline = new SparklessPipeline(stack, "Clicks", props);
  return { app, stack, pipeline, template: Template.fromStack(stack) };
}

const functionsOf = (template: Template) => Object.values(template.findResources("AWS::Lambda::Function")) as Json[];

describe("SparklessPipeline({ entry })", SYNTH, () => {
  it("reads the name and batch interval from the module and bundles it once, with handlers that run", async () => {
    const { app, template } = synth({ entry: USER_PIPELINE }, { bundle: true });
    const fns = functionsOf(template);
    expect(fns.map((fn) => fn.Properties.Handler).sort()).toEqual(["index.finalizerHandler", "index.shardHandler", "index.tickerHandler"]);
    for (const fn of fns) expect(fn.Properties.Environment.Variables).toMatchObject({ SPARKLESS_PIPELINE: "word-count", SPARKLESS_BATCH_INTERVAL_MS: "5000" });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", { MaximumBatchingWindowInSeconds: 2 });
    // One asset for the three functions.
    expect(new Set(fns.map((fn) => JSON.stringify(fn.Properties.Code.S3Key))).size).toBe(1);

    const assembly = app.synth();
    const [asset] = readdirSync(assembly.directory).filter((name) => name.startsWith("asset."));
    const bundle = (await import(pathToFileURL(path.join(assembly.directory, asset!, "index.mjs")).href)) as Record<string, (...args: unknown[]) => Promise<unknown>>;
    expect(Object.keys(bundle).sort()).toEqual(["finalizerHandler", "shardHandler", "tickerHandler"]);
    // The generated handlers wrap the module's pipeline: outside Lambda they stop at the missing environment.
    await expect(bundle.tickerHandler!({}, { getRemainingTimeInMillis: () => 60_000 })).rejects.toThrow(/environment variable SPARKLESS_\w+ is not set/);
  });

  it("bundles each module of one directory on its own (two pipelines in one app)", async () => {
    const app = new App();
    const stack = new Stack(app, "Two");
    new SparklessPipeline(stack, "WordCount", { entry: USER_PIPELINE });
    new SparklessPipeline(stack, "Clicks", { entry: CLICKS });
    const assembly = app.synth();
    const fns = functionsOf(Template.fromStack(stack));
    const byPipeline = new Map(fns.map((fn) => [fn.Properties.Environment.Variables.SPARKLESS_PIPELINE, fn.Properties.Code.S3Key]));
    expect(byPipeline.size).toBe(2);
    expect(byPipeline.get("word-count")).not.toEqual(byPipeline.get("clicks"));
    const assets = readdirSync(assembly.directory).filter((name) => name.startsWith("asset."));
    const bundles = assets.map((asset) => readFileSync(path.join(assembly.directory, asset, "index.mjs"), "utf8"));
    expect(bundles.filter((code) => code.includes('definePipeline("clicks"'))).toHaveLength(1);
    expect(bundles.filter((code) => code.includes('definePipeline("word-count"'))).toHaveLength(1);
  });

  it("fails if the module exposes no pipeline, and says what to export", () => {
    const error = sparklessErrorOf(() => synth({ entry: HANDLERS_ONLY }));
    expect(error.code).toBe("PipelineModuleWithoutPipeline");
    expect(error.message).toMatch(/pipeline\.ts exports no Pipeline: export the one to deploy as its default/);
  });

  it("fails if both entry and pipeline are given, or neither", () => {
    expect(sparklessErrorOf(() => synth({ entry: USER_PIPELINE, pipeline: { name: "x", entry: HANDLERS_ONLY, batchIntervalMs: 1000, stateful: false } })).code).toBe("EntryWithPipeline");
    expect(sparklessErrorOf(() => synth({})).code).toBe("PipelineMissing");
  });

  it("fails if the module throws while it loads, with the module's own error", () => {
    const error = sparklessErrorOf(() => synth({ entry: BROKEN }));
    expect(error.code).toBe("PipelineModuleFailed");
    expect(error.message).toMatch(/loading the pipeline module .*broken-pipeline\.ts failed: [\s\S]*this module cannot load/);
  });
});

describe("SparklessPipeline function settings", SYNTH, () => {
  const pipeline = { name: "clicks", entry: HANDLERS_ONLY, batchIntervalMs: 10_000, stateful: false };

  it("takes memory and timeout per function, and the architecture", () => {
    const { stack, pipeline: p, template } = synth({
      pipeline,
      memorySize: 512,
      architecture: lambda.Architecture.X86_64,
      functions: { ticker: { memorySize: 256 }, finalizer: { timeout: Duration.minutes(10), memorySize: 3008 } },
    });
    const props = (fn: lambda.Function) => template.toJSON().Resources[stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction)].Properties;
    expect(props(p.shardFunction)).toMatchObject({ MemorySize: 512, Timeout: 60, Architectures: ["x86_64"] });
    expect(props(p.tickerFunction)).toMatchObject({ MemorySize: 256, Timeout: 60 });
    expect(props(p.finalizerFunction)).toMatchObject({ MemorySize: 3008, Timeout: 600 });
  });

  it("fails if a function's memory is out of range, naming the function", () => {
    expect(sparklessErrorOf(() => synth({ pipeline, functions: { ticker: { memorySize: 64 } } })).message).toMatch(/functions\.ticker\.memorySize must be a whole number from 128 to 10240 \(received 64\)/);
  });
});

describe("SparklessPipeline with an existing table and bucket", SYNTH, () => {
  it("creates neither, and grants on the ones given", () => {
    const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "User");
    const table = dynamodb.Table.fromTableName(stack, "Table", "shared-sparkless");
    const bucket = s3.Bucket.fromBucketName(stack, "Bucket", "shared-sparkless-data");
    new SparklessPipeline(stack, "Clicks", { pipeline: { name: "clicks", entry: HANDLERS_ONLY, batchIntervalMs: 10_000, stateful: false }, table, bucket });
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::DynamoDB::Table", 0);
    template.resourceCountIs("AWS::S3::Bucket", 0);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: { SPARKLESS_TABLE: "shared-sparkless", SPARKLESS_BUCKET: "shared-sparkless-data" } as Json },
    });
    const policies = JSON.stringify(template.findResources("AWS::IAM::Policy"));
    expect(policies).toContain(":table/shared-sparkless");
    expect(policies).toContain(":s3:::shared-sparkless-data/output/*");
  });

  it("fails if bucket settings are given with an existing bucket", () => {
    const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "User");
    const bucket = s3.Bucket.fromBucketName(stack, "Bucket", "shared-sparkless-data");
    const error = sparklessErrorOf(() => new SparklessPipeline(stack, "Clicks", { pipeline: { name: "clicks", entry: HANDLERS_ONLY, batchIntervalMs: 10_000, stateful: false }, bucket, versioned: true }));
    expect(error.code).toBe("BucketPropsWithExistingBucket");
  });
});

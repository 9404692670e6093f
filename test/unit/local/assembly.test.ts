/**
 * Reading a real cloud assembly: the word-count app synthesized once (the project's CDK CLI, ~7-10 s), then its
 * stack, template, function code and environments as the local stack reads them.
 */
import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SparklessError, ValidationError } from "../../../lib/core/errors.js";
import { functionCode, readAssembly, type AssemblyStack, type CloudAssembly } from "../../../tooling/stack/assembly.js";
import { resolve } from "../../../tooling/stack/intrinsics.js";
import { synthesize } from "../../../tooling/stack/synth.js";

let dir: string;
let assembly: CloudAssembly;
let stack: AssemblyStack;
const synthLines: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sparkless-assembly-"));
  await synthesize({ outdir: join(dir, "cdk.out"), log: (l) => synthLines.push(l) });
  assembly = await readAssembly(join(dir, "cdk.out"));
  stack = assembly.stacks[0]!;
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const ofType = (type: string) => Object.entries(stack.template.Resources).filter(([, r]) => r.Type === type);

describe("readAssembly on the synthesized word-count app", () => {
  it("finds the stack, its template and its bundled asset", () => {
    expect(assembly.stacks.map((s) => s.stackName)).toEqual(["SparklessWordCount"]);
    expect(stack.templateFile).toBe(join(dir, "cdk.out", "SparklessWordCount.template.json"));
    expect(ofType("AWS::Kinesis::Stream")).toHaveLength(1);
    expect(ofType("AWS::DynamoDB::Table")).toHaveLength(1);
    expect(ofType("AWS::S3::Bucket")).toHaveLength(2);
    expect(ofType("AWS::Lambda::Function")).toHaveLength(3);
    expect(ofType("AWS::Lambda::EventSourceMapping")).toHaveLength(1);
    expect(ofType("AWS::Events::Rule")).toHaveLength(1);
    expect(stack.assets.some((a) => a.packaging === "zip" && a.path.includes("asset."))).toBe(true);
  });

  it("locates each function's code in the asset directory, with the handler module beside it", async () => {
    const codes = await Promise.all(ofType("AWS::Lambda::Function").map(([id]) => functionCode(stack, id)));
    const dirs = new Set(codes.map((c) => (c.kind === "directory" ? c.directory : "inline")));
    expect(dirs.size).toBe(1); // one bundle, three handlers
    const [only] = [...dirs];
    expect(only).toMatch(/asset\.[0-9a-f]{64}$/);
    await access(join(only!, "index.mjs"));
    const handlers = ofType("AWS::Lambda::Function").map(([, r]) => r.Properties?.Handler).sort();
    expect(handlers).toEqual(["index.finalizerHandler", "index.shardHandler", "index.tickerHandler"]);
  });

  it("finds the code by Code.S3Key in the asset manifest when the metadata is gone", async () => {
    const [id, fn] = ofType("AWS::Lambda::Function")[0]!;
    const bare: AssemblyStack = { ...stack, template: { ...stack.template, Resources: { [id]: { ...fn, Metadata: {} } } } };
    const code = await functionCode(bare, id);
    expect(code.kind).toBe("directory");
    expect(code).toEqual(await functionCode(stack, id));
  });

  it("resolves every function's environment to strings, given the local resources", () => {
    const names: Record<string, string> = {};
    const ctx = {
      pseudo: { region: "us-east-1", accountId: "000000000000", stackName: stack.stackName },
      resources: {
        ref: (id: string) => (stack.template.Resources[id] ? (names[id] = `local-${id}`) : undefined),
        getAtt: (id: string, att: string) => (stack.template.Resources[id] ? `arn:local:${id}:${att}` : undefined),
      },
      template: stack.template,
    };
    for (const [id, fn] of ofType("AWS::Lambda::Function")) {
      const env = resolve((fn.Properties?.Environment as { Variables: unknown }).Variables, ctx, id) as Record<string, unknown>;
      expect(Object.values(env).every((v) => typeof v === "string")).toBe(true);
      expect(env.SPARKLESS_PIPELINE).toBe("word-count");
      expect(env.SPARKLESS_TABLE).toBe(`local-${ofType("AWS::DynamoDB::Table")[0]![0]}`);
      expect(env.SPARKLESS_STREAM_ARN).toBe(`arn:local:${ofType("AWS::Kinesis::Stream")[0]![0]}:Arn`);
      expect(env.SPARKLESS_BATCH_INTERVAL_MS).toBe("5000");
    }
  });

  it("resolves the event source mapping to the stream, the function and the bucket", () => {
    const [, esm] = ofType("AWS::Lambda::EventSourceMapping")[0]!;
    const ctx = {
      pseudo: { region: "us-east-1", accountId: "000000000000", stackName: stack.stackName },
      resources: { ref: (id: string) => `ref:${id}`, getAtt: (id: string, att: string) => `${att}:${id}` },
    };
    const p = resolve(esm.Properties, ctx) as Record<string, unknown>;
    expect(p).toMatchObject({
      StartingPosition: "TRIM_HORIZON",
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      EventSourceArn: `Arn:${ofType("AWS::Kinesis::Stream")[0]![0]}`,
      DestinationConfig: { OnFailure: { Destination: expect.stringMatching(/^Arn:WordCountBucket/) } },
    });
  });
});

describe("failures", () => {
  it("fails if there is no assembly, saying how to make one", async () => {
    const empty = await mkdtemp(join(tmpdir(), "sparkless-empty-"));
    try {
      await expect(readAssembly(empty)).rejects.toThrow(ValidationError);
      await expect(readAssembly(empty)).rejects.toThrow(/manifest\.json is missing\): synthesize the CDK app first \(npx cdk synth\)/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it("fails if a function is a container image", async () => {
    const image: AssemblyStack = { ...stack, template: { Resources: { Fn: { Type: "AWS::Lambda::Function", Properties: { Code: { ImageUri: "x" }, PackageType: "Image" } } } } };
    await expect(functionCode(image, "Fn")).rejects.toThrow(/container image function/);
  });

  it("fails if a function's asset is not in the assembly", async () => {
    const missing: AssemblyStack = { ...stack, template: { Resources: { Fn: { Type: "AWS::Lambda::Function", Properties: { Code: { S3Key: "nope.zip" } } } } } };
    await expect(functionCode(missing, "Fn")).rejects.toThrow(/no asset in .* holds its code/);
  });

  it("fails if cdk synth fails, with the app's own output in the message", async () => {
    const app = await mkdtemp(join(tmpdir(), "sparkless-badapp-"));
    try {
      await writeFile(join(app, "cdk.json"), JSON.stringify({ app: `node -e "console.error('the app is broken'); process.exit(3)"` }));
      const lines: string[] = [];
      const err = await synthesize({ outdir: join(app, "out"), cwd: app, log: (l) => lines.push(l) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SparklessError);
      expect((err as SparklessError).code).toBe("SynthFailed");
      expect((err as Error).message).toMatch(/cdk synth failed \(exit code \d+\)/);
      expect((err as Error).message).toContain("the app is broken");
      expect(lines.join("\n")).toContain("the app is broken");
    } finally {
      await rm(app, { recursive: true, force: true });
    }
  }, 60_000);
});

/**
 * The local stack on a small hand-written cloud assembly (no synth, a tiny function module): what the deployer
 * creates and resolves, how the event source mapping and the schedule invoke the functions, where a discarded
 * batch goes, stack.json, resuming on the same state directory, and that nothing is left running after stop.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListShardsCommand, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IllegalStateError } from "../../lib/core/errors.js";
import { kinesisClient, s3Client } from "../../lib/io/aws-clients.js";
import type { KinesisFailureRecord } from "../../tooling/esm-poller/index.js";
import { readStackFile, startLocalStack, type LocalStack, type LocalStackEvent } from "../../tooling/stack/index.js";
import { writeDemoAssembly } from "../support/cdk-assembly.js";
import { accepts } from "../support/net.js";
import { until } from "../support/wait.js";

// The function module: `consume` appends each record's text to OUT_FILE (failing the whole batch, before writing
// anything, if it holds "poison"); `tick` appends the event it got; `env` returns its environment.
const MODULE = `
import { appendFileSync } from "node:fs";
export const consume = async (event) => {
  const texts = event.Records.map((r) => Buffer.from(r.kinesis.data, "base64").toString());
  if (texts.includes("poison")) throw new Error("poison record");
  for (const t of texts) appendFileSync(process.env.OUT_FILE, t + "\\n");
  console.log("consumed " + texts.length);
};
export const tick = async (event) => { appendFileSync(process.env.TICK_FILE, JSON.stringify(event) + "\\n"); };
export const env = async () => ({ ...process.env });
`;

let root: string;
let cdkOut: string;
let stateDir: string;
let outFile: string;
let tickFile: string;

function template() {
  const asset = { "aws:asset:path": "asset.0123abcd", "aws:asset:property": "Code" };
  const code = { S3Bucket: { "Fn::Sub": "cdk-assets-${AWS::AccountId}-${AWS::Region}" }, S3Key: "0123abcd.zip" };
  return {
    Resources: {
      Stream: { Type: "AWS::Kinesis::Stream", Properties: { ShardCount: 1 } },
      Burst: { Type: "AWS::Kinesis::Stream", Properties: { StreamModeDetails: { StreamMode: "ON_DEMAND" } } },
      Table: {
        Type: "AWS::DynamoDB::Table",
        Properties: {
          KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
          AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "S" }],
          BillingMode: "PAY_PER_REQUEST",
          TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true },
        },
      },
      Bucket: { Type: "AWS::S3::Bucket" },
      Named: { Type: "AWS::S3::Bucket", Properties: { BucketName: { "Fn::Sub": "${AWS::AccountId}-named-bucket" } } },
      Role: { Type: "AWS::IAM::Role", Properties: {} },
      Alarm: { Type: "AWS::CloudWatch::Alarm", Properties: {} },
      Consume: {
        Type: "AWS::Lambda::Function",
        Properties: {
          Code: code,
          Handler: "index.consume",
          Runtime: "nodejs22.x",
          Timeout: 5,
          MemorySize: 256,
          Role: { "Fn::GetAtt": ["Role", "Arn"] },
          Environment: {
            Variables: {
              OUT_FILE: outFile,
              SPARKLESS_PIPELINE: "demo",
              SPARKLESS_TABLE: { Ref: "Table" },
              SPARKLESS_BUCKET: { Ref: "Bucket" },
              SPARKLESS_STREAM_NAME: { Ref: "Stream" },
              SPARKLESS_STREAM_ARN: { "Fn::GetAtt": ["Stream", "Arn"] },
              SPARKLESS_BATCH_INTERVAL_MS: "1000",
              BUCKET_ARN: { "Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}" },
              STREAM_FROM_ARN: { "Fn::Select": [1, { "Fn::Split": ["/", { "Fn::GetAtt": ["Stream", "Arn"] }] }] },
              OBJECTS: { "Fn::Join": ["", [{ "Fn::GetAtt": ["Named", "Arn"] }, "/*"]] },
            },
          },
        },
        Metadata: asset,
      },
      Tick: {
        Type: "AWS::Lambda::Function",
        Properties: { Code: code, Handler: "index.tick", Runtime: "nodejs22.x", Environment: { Variables: { TICK_FILE: tickFile } } },
        Metadata: asset,
      },
      Env: { Type: "AWS::Lambda::Function", Properties: { Code: code, Handler: "index.env", Runtime: "nodejs22.x" }, Metadata: asset },
      Python: { Type: "AWS::Lambda::Function", Properties: { Code: code, Handler: "index.handler", Runtime: "python3.12" } },
      Mapping: {
        Type: "AWS::Lambda::EventSourceMapping",
        Properties: {
          EventSourceArn: { "Fn::GetAtt": ["Stream", "Arn"] },
          FunctionName: { Ref: "Consume" },
          StartingPosition: "TRIM_HORIZON",
          BatchSize: 10,
          BisectBatchOnFunctionError: true,
          MaximumRetryAttempts: 0,
          DestinationConfig: { OnFailure: { Destination: { "Fn::GetAtt": ["Bucket", "Arn"] } } },
          TumblingWindowInSeconds: 30,
        },
      },
      Schedule: {
        Type: "AWS::Events::Rule",
        Properties: { ScheduleExpression: "rate(5 minutes)", State: "ENABLED", Targets: [{ Arn: { "Fn::GetAtt": ["Tick", "Arn"] }, Id: "T", Input: '{"hello":"world"}' }] },
      },
      Pattern: { Type: "AWS::Events::Rule", Properties: { EventPattern: { source: ["aws.s3"] }, Targets: [] } },
    },
  };
}

function writeAssembly(): Promise<void> {
  return writeDemoAssembly(cdkOut, { id: "0123abcd", module: MODULE }, template());
}

const lines = async (file: string) => (await readFile(file, "utf8").catch(() => "")).split("\n").filter(Boolean);

// IAM enforcement (on by default) has its own test, iam-enforcement.test.ts: here the functions talk to the emulators.
function start(events: LocalStackEvent[], logs: string[], fresh: boolean): Promise<LocalStack> {
  return startLocalStack({ cdkOut, stateDir, synth: false, fresh, iam: false, tickerIntervalMs: 300, pollIntervalMs: 200, watchIntervalMs: 200, onEvent: (e) => events.push(e), log: (l) => logs.push(l) });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "sparkless-localstack-"));
  cdkOut = join(root, "cdk.out");
  stateDir = join(root, "state");
  outFile = join(root, "out.txt");
  tickFile = join(root, "ticks.txt");
  await writeAssembly();
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe("startLocalStack on a hand-written assembly", () => {
  const events: LocalStackEvent[] = [];
  const logs: string[] = [];
  let stack: LocalStack | undefined;

  afterAll(async () => {
    await stack?.stop();
  });

  it("deploys the template's resources and says what it left out", async () => {
    stack = await start(events, logs, true);
    const [d] = stack.stacks;
    expect(d!.streams.map((s) => [s.name, s.shards, s.created])).toEqual([
      ["Demo-Stream", 1, true],
      ["Demo-Burst", 2, true],
    ]);
    expect(d!.buckets.map((b) => b.name)).toEqual(["demo-bucket", "000000000000-named-bucket"]);
    expect(d!.tables.map((t) => t.name)).toEqual(["Demo-Table"]);
    expect(d!.functions.map((f) => f.name)).toEqual(["Demo-Consume", "Demo-Tick", "Demo-Env"]);
    expect(d!.ignored).toEqual({ "AWS::IAM::Role": 1, "AWS::CloudWatch::Alarm": 1 });
    const text = logs.join("\n");
    expect(text).toContain("stream Demo-Burst is ON_DEMAND in the template: created with 2 provisioned shards");
    expect(text).toContain('table Demo-Table: TTL on "ttl" not applied');
    expect(text).toContain("function Python (python3.12) is skipped");
    expect(text).toContain("rule Pattern matches an event pattern");
    expect(text).toContain("Mapping: TumblingWindowInSeconds is not applied locally");
    expect(text).toContain("not deployed locally: AWS::IAM::Role ×1, AWS::CloudWatch::Alarm ×1");
    expect(text).toContain("IAM is not enforced");
    expect(text).toContain("Schedules run every 300 ms instead of their template's expression");
    expect(stack.limitations.some((l) => l.includes("handler's promise is abandoned"))).toBe(true); // the poller's own
    const kinesis = kinesisClient({ endpoint: stack.endpoints.kinesis });
    try {
      expect((await kinesis.send(new ListShardsCommand({ StreamName: "Demo-Burst" }))).Shards).toHaveLength(2);
    } finally {
      kinesis.destroy();
    }
  });

  it("gives each function the template's environment resolved to local resources, plus the emulators", async () => {
    const own = (await stack!.invoke("Demo-Env", {})) as Record<string, string>;
    expect(own.OUT_FILE).toBeUndefined();
    expect(own).toMatchObject({
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_ENDPOINT_URL_KINESIS: stack!.endpoints.kinesis,
      AWS_ENDPOINT_URL_DYNAMODB: stack!.endpoints.dynamodb,
      AWS_ENDPOINT_URL_S3: stack!.endpoints.s3,
      AWS_LAMBDA_FUNCTION_NAME: "Demo-Env",
      _HANDLER: "index.env",
    });
    const consume = stack!.stacks[0]!.functions.find((f) => f.logicalId === "Consume")!;
    expect(consume.environment).toEqual({
      OUT_FILE: outFile,
      SPARKLESS_PIPELINE: "demo",
      SPARKLESS_TABLE: "Demo-Table",
      SPARKLESS_BUCKET: "demo-bucket",
      SPARKLESS_STREAM_NAME: "Demo-Stream",
      SPARKLESS_STREAM_ARN: "arn:aws:kinesis:us-east-1:000000000000:stream/Demo-Stream",
      SPARKLESS_BATCH_INTERVAL_MS: "1000",
      BUCKET_ARN: "arn:aws:s3:::demo-bucket",
      STREAM_FROM_ARN: "Demo-Stream",
      OBJECTS: "arn:aws:s3:::000000000000-named-bucket/*",
    });
    expect(consume).toMatchObject({ timeoutMs: 5_000, memoryMb: 256, roleArn: "arn:aws:iam::000000000000:role/Demo-Role" });
  }, 30_000);

  it("writes stack.json for the CLI", async () => {
    const file = await readStackFile(stateDir);
    expect(file).toMatchObject({
      version: 1,
      pid: process.pid,
      region: "us-east-1",
      endpoints: stack!.endpoints,
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    });
    expect(file!.stacks[0]).toMatchObject({
      name: "Demo",
      streams: [{ logicalId: "Stream", name: "Demo-Stream" }, { logicalId: "Burst", name: "Demo-Burst", shards: 2 }],
      functions: expect.arrayContaining([{ logicalId: "Tick", name: "Demo-Tick", handler: "index.tick", arn: "arn:aws:lambda:us-east-1:000000000000:function:Demo-Tick" }]),
      eventSourceMappings: [{ logicalId: "Mapping", functionName: "Demo-Consume", streamName: "Demo-Stream" }],
      schedules: [{ logicalId: "Schedule", scheduleExpression: "rate(5 minutes)", localIntervalMs: 300, functions: ["Demo-Tick"] }],
      pipelines: [{ name: "demo", stream: "Demo-Stream", table: "Demo-Table", bucket: "demo-bucket", batchIntervalMs: 1000, outputPrefix: "output/demo/" }],
    });
  });

  it("refuses a second stack on the same state directory", async () => {
    await expect(start([], [], false)).rejects.toThrow(IllegalStateError);
    await expect(start([], [], false)).rejects.toThrow(/is already running on/);
  });

  it("runs the schedule with the target's Input", async () => {
    const ticks = await until("two ticks", async () => ((await lines(tickFile)).length >= 2 ? lines(tickFile) : undefined));
    expect(JSON.parse(ticks[0]!)).toEqual({ hello: "world" });
    expect(events.some((e) => e.type === "invoke" && e.source === "schedule" && e.functionName === "Demo-Tick")).toBe(true);
  });

  it("delivers records through the mapping and keeps a discarded batch in the bucket as Lambda does", async () => {
    const kinesis = kinesisClient({ endpoint: stack!.endpoints.kinesis });
    const s3 = s3Client({ endpoint: stack!.endpoints.s3 });
    try {
      await kinesis.send(new PutRecordsCommand({ StreamName: "Demo-Stream", Records: ["a", "b", "poison", "c"].map((t) => ({ Data: Buffer.from(t), PartitionKey: t })) }));
      const got = await until("a, b, c consumed", async () => ((await lines(outFile)).length >= 3 ? lines(outFile) : undefined));
      expect(got).toEqual(["a", "b", "c"]);
      const discard = await until("the discard event", () => events.find((e) => e.type === "discard"));
      expect(discard).toMatchObject({ mapping: "Mapping", shardId: "shardId-000000000000", records: 1, condition: "RetryAttemptsExhausted" });
      const uuid = stack!.stacks[0]!.mappings[0]!.uuid;
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: "demo-bucket", Prefix: "aws/lambda/" }));
      const keys = (listed.Contents ?? []).map((o) => o.Key!);
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatch(new RegExp(`^aws/lambda/${uuid}/shardId-000000000000/\\d{4}/\\d{2}/\\d{2}/\\d{4}-\\d{2}-\\d{2}T\\d{2}\\.\\d{2}\\.\\d{2}-[0-9a-f-]{36}$`));
      const body = await (await s3.send(new GetObjectCommand({ Bucket: "demo-bucket", Key: keys[0] }))).Body!.transformToString();
      const record = JSON.parse(body) as KinesisFailureRecord;
      expect(record).toMatchObject({
        version: "1.0",
        requestContext: { condition: "RetryAttemptsExhausted", functionArn: "arn:aws:lambda:us-east-1:000000000000:function:Demo-Consume" },
        responseContext: { functionError: "Unhandled" },
        KinesisBatchInfo: { shardId: "shardId-000000000000", batchSize: 1, streamArn: "arn:aws:kinesis:us-east-1:000000000000:stream/Demo-Stream" },
      });
      expect(record.requestContext.approximateInvokeCount).toBeGreaterThanOrEqual(1);
      const payload = JSON.parse(record.payload!) as { Records: { kinesis: { data: string } }[] };
      expect(payload.Records.map((r) => Buffer.from(r.kinesis.data, "base64").toString())).toEqual(["poison"]);
      expect(events.some((e) => e.type === "log" && e.functionName === "Demo-Consume" && e.line.startsWith("consumed"))).toBe(true);
      expect(events.some((e) => e.type === "result" && e.source === "mapping" && e.outcome === "error")).toBe(true);
    } finally {
      kinesis.destroy();
      s3.destroy();
    }
  }, 30_000);

  it("stops everything: no emulator port, no sandbox, no stack.json", async () => {
    const kinesisPort = Number(new URL(stack!.endpoints.kinesis).port);
    expect(await accepts(kinesisPort)).toBe(true);
    await stack!.stop();
    await stack!.stop(); // idempotent
    await stack!.stopped;
    expect(await accepts(kinesisPort)).toBe(false);
    expect(stack!.stats().functions.every((f) => f.sandboxes === 0)).toBe(true);
    expect(stack!.stats().mappings.every((m) => m.poller.state === "stopped")).toBe(true);
    expect(await readStackFile(stateDir, { includeStale: true })).toBeUndefined();
    expect(events.at(-1)).toEqual({ type: "stopped" });
  });

  it("resumes on the same state directory: same resources, and the mapping goes on after its position", async () => {
    const again: LocalStackEvent[] = [];
    const logs2: string[] = [];
    stack = await start(again, logs2, false);
    expect(stack.stacks[0]!.streams.every((s) => !s.created)).toBe(true);
    expect(logs2.join("\n")).toContain("Demo-Stream (kept)");
    const kinesis = kinesisClient({ endpoint: stack.endpoints.kinesis });
    try {
      await kinesis.send(new PutRecordsCommand({ StreamName: "Demo-Stream", Records: [{ Data: Buffer.from("d"), PartitionKey: "d" }] }));
      const got = await until("d consumed", async () => ((await lines(outFile)).includes("d") ? lines(outFile) : undefined));
      expect(got).toEqual(["a", "b", "c", "d"]); // nothing delivered twice, nothing lost
    } finally {
      kinesis.destroy();
    }
    await stack.stop();
  }, 30_000);
});


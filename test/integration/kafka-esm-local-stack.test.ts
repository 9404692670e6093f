/**
 * The embedded stack on a hand-written assembly with Kafka event source mappings (a self-managed cluster and an
 * MSK one): the local broker and its topics, the mappings pointed at it, lines pushed with `push --kafka` reaching
 * the function as Lambda's Kafka events, a poison batch discarded to the S3 on-failure destination, per-partition
 * progress in `local status`, and nothing left listening after stop.
 */
import { createConnection } from "node:net";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { s3Client } from "../../lib/io/aws-clients.js";
import { main } from "../../tooling/cli/index.js";
import type { KafkaEventLike, KafkaFailureRecord } from "../../tooling/esm-poller/index.js";
import { readStackFile, startLocalStack, type LocalStack, type LocalStackEvent } from "../../tooling/stack/index.js";
import { testIo } from "../support/cli.js";

// `consume` appends one JSON line per invocation: the event's source, servers and decoded records; a batch
// holding "poison" fails before anything is written.
const MODULE = `
import { appendFileSync } from "node:fs";
export const consume = async (event) => {
  const records = Object.entries(event.records).flatMap(([group, rs]) => rs.map((r) => ({ group, partition: r.partition, offset: r.offset, value: Buffer.from(r.value, "base64").toString() })));
  if (records.some((r) => r.value === "poison")) throw new Error("poison record");
  appendFileSync(process.env.OUT_FILE, JSON.stringify({ eventSource: event.eventSource, eventSourceArn: event.eventSourceArn, bootstrapServers: event.bootstrapServers, records }) + "\\n");
};
`;
const MSK_ARN = "arn:aws:kafka:us-east-1:123456789012:cluster/orders/abcd-1";

let root: string;
let cdkOut: string;
let stateDir: string;
let outFile: string;

function template() {
  const code = { S3Bucket: "cdk-assets", S3Key: "0123abcd.zip" };
  const metadata = { "aws:asset:path": "asset.0123abcd", "aws:asset:property": "Code" };
  const fn = { Code: code, Handler: "index.consume", Runtime: "nodejs22.x", Timeout: 5, Environment: { Variables: { OUT_FILE: outFile } } };
  return {
    Resources: {
      Failures: { Type: "AWS::S3::Bucket" },
      Words: { Type: "AWS::Lambda::Function", Properties: fn, Metadata: metadata },
      Clicks: { Type: "AWS::Lambda::Function", Properties: fn, Metadata: metadata },
      WordsMapping: {
        Type: "AWS::Lambda::EventSourceMapping",
        Properties: {
          FunctionName: { Ref: "Words" },
          SelfManagedEventSource: { Endpoints: { KafkaBootstrapServers: ["kafka-1.example.com:9092", "kafka-2.example.com:9092"] } },
          Topics: ["words"],
          SelfManagedKafkaEventSourceConfig: { ConsumerGroupId: "word-count" },
          StartingPosition: "TRIM_HORIZON",
          BatchSize: 50,
          MaximumBatchingWindowInSeconds: 1,
          SourceAccessConfigurations: [{ Type: "SASL_SCRAM_512_AUTH", URI: "arn:aws:secretsmanager:us-east-1:123456789012:secret:kafka" }],
        },
      },
      ClicksMapping: {
        Type: "AWS::Lambda::EventSourceMapping",
        Properties: {
          FunctionName: { "Fn::GetAtt": ["Clicks", "Arn"] },
          EventSourceArn: MSK_ARN,
          Topics: ["clicks"],
          StartingPosition: "LATEST",
          MaximumBatchingWindowInSeconds: 0,
          MaximumRetryAttempts: 0,
          DestinationConfig: { OnFailure: { Destination: { "Fn::GetAtt": ["Failures", "Arn"] } } },
        },
      },
    },
  };
}

async function writeAssembly(): Promise<void> {
  await mkdir(join(cdkOut, "asset.0123abcd"), { recursive: true });
  await writeFile(join(cdkOut, "asset.0123abcd", "index.mjs"), MODULE);
  await writeFile(
    join(cdkOut, "manifest.json"),
    JSON.stringify({
      version: "55.0.0",
      artifacts: {
        "Kafka.assets": { type: "cdk:asset-manifest", properties: { file: "Kafka.assets.json" } },
        Kafka: { type: "aws:cloudformation:stack", properties: { templateFile: "Kafka.template.json" }, dependencies: ["Kafka.assets"] },
      },
    }),
  );
  await writeFile(
    join(cdkOut, "Kafka.assets.json"),
    JSON.stringify({ version: "55.0.0", files: { "0123abcd": { source: { path: "asset.0123abcd", packaging: "zip" }, destinations: { d: { objectKey: "0123abcd.zip" } } } } }),
  );
  await writeFile(join(cdkOut, "Kafka.template.json"), JSON.stringify(template()));
}

async function until<T>(probe: () => Promise<T | undefined | false> | T | undefined | false): Promise<T> {
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Invocation {
  eventSource: KafkaEventLike["eventSource"];
  eventSourceArn?: string;
  bootstrapServers: string;
  records: Array<{ group: string; partition: number; offset: number; value: string }>;
}
const invocations = async (): Promise<Invocation[]> =>
  (await readFile(outFile, "utf8").catch(() => ""))
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Invocation);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "sparkless-kafka-stack-"));
  cdkOut = join(root, "cdk.out");
  stateDir = join(root, "state");
  outFile = join(root, "out.jsonl");
  await writeAssembly();
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe("the embedded stack with Kafka event source mappings", () => {
  const events: LocalStackEvent[] = [];
  const logs: string[] = [];
  let stack: LocalStack | undefined;

  afterAll(async () => {
    await stack?.stop();
  });

  it("starts a local broker with each mapping's topic and points the mappings at it", async () => {
    stack = await startLocalStack({ cdkOut, stateDir, synth: false, fresh: true, iam: false, kafkaPartitions: 3, onEvent: (e) => events.push(e), log: (l) => logs.push(l) });
    const kafka = stack.stackFile.kafka!;
    expect(kafka.bootstrapServers).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(kafka.topics).toEqual([
      { name: "words", partitions: 3 },
      { name: "clicks", partitions: 3 },
    ]);
    expect(kafka.mappings.map((m) => [m.logicalId, m.topic, m.functionName, m.consumerGroupId === "word-count" ? "word-count" : m.consumerGroupId === m.uuid ? "uuid" : m.consumerGroupId])).toEqual([
      ["WordsMapping", "words", "Kafka-Words", "word-count"],
      ["ClicksMapping", "clicks", "Kafka-Clicks", "uuid"],
    ]);
    const text = logs.join("\n");
    expect(text).toContain(`kafka broker up — bootstrap servers ${kafka.bootstrapServers}; topics words (3 partitions), clicks (3 partitions)`);
    expect(text).toContain("mapping WordsMapping: kafka topic words (group word-count) -> Kafka-Words (template: kafka-1.example.com:9092,kafka-2.example.com:9092; locally the broker above)");
    expect(text).toContain("WordsMapping: SourceAccessConfigurations (SASL/mTLS secret, root CA, VPC) are not applied");
    // The Kinesis deployer leaves Kafka mappings to the broker: no "only Kinesis streams" note for them.
    expect(text).not.toContain("only Kinesis streams are polled locally");
    expect(stack.limitations.some((l) => l.startsWith("Kafka: one consumer per mapping"))).toBe(true);
  });

  it("delivers lines pushed with `push --kafka` as Lambda's self-managed Kafka events naming the local broker", async () => {
    const lines = Array.from({ length: 30 }, (_, i) => `word ${i}`);
    const t = testIo({ cwd: root, stdin: lines.join("\n") + "\n" });
    expect(await main(["--state-dir", stateDir, "push", "--kafka", "words", "--partition-key", "line"], t.io)).toBe(0);
    const got = await until(async () => {
      const all = (await invocations()).filter((i) => i.eventSource === "SelfManagedKafka");
      return all.flatMap((i) => i.records).length >= 30 && all;
    });
    expect(got.every((i) => i.bootstrapServers === stack!.stackFile.kafka!.bootstrapServers)).toBe(true);
    expect(got.flatMap((i) => i.records.map((r) => r.value)).sort()).toEqual([...lines].sort());
    // Per partition, offsets come in order with none missing or repeated.
    const byPartition = new Map<number, number[]>();
    for (const r of got.flatMap((i) => i.records)) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r.offset]);
    for (const offsets of byPartition.values()) expect(offsets).toEqual(offsets.map((_, i) => i));
    for (const r of got.flatMap((i) => i.records)) expect(r.group).toBe(`words-${r.partition}`);
  }, 60_000);

  it("sends aws:kafka events for the MSK mapping, and discards a failing batch to the S3 on-failure destination", async () => {
    const t = testIo({ cwd: root, stdin: "poison\n" });
    expect(await main(["--state-dir", stateDir, "push", "--kafka", "clicks", "--partition-key", "line"], t.io)).toBe(0);
    const discard = await until(() => events.find((e): e is Extract<LocalStackEvent, { type: "discard" }> => e.type === "discard"));
    expect(discard).toMatchObject({ mapping: "ClicksMapping", records: 1, condition: "RetryAttemptsExhausted" });
    const uuid = stack!.stackFile.kafka!.mappings.find((m) => m.logicalId === "ClicksMapping")!.uuid;
    expect(discard.key).toMatch(new RegExp(`^aws/lambda/${uuid}/clicks-\\d/\\d{4}/\\d{2}/\\d{2}/`));
    const s3 = s3Client({ endpoint: stack!.endpoints.s3 });
    try {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: "kafka-failures" }));
      expect(listed.Contents?.map((o) => o.Key)).toEqual([discard.key]);
      const body = await (await s3.send(new GetObjectCommand({ Bucket: "kafka-failures", Key: discard.key! }))).Body!.transformToString();
      const failure = JSON.parse(body) as KafkaFailureRecord;
      expect(failure.requestContext).toMatchObject({ condition: "RetryAttemptsExhausted", approximateInvokeCount: 1 });
      expect(JSON.parse(failure.payload!)).toMatchObject({ eventSource: "aws:kafka", eventSourceArn: MSK_ARN });
    } finally {
      s3.destroy();
    }
    const t2 = testIo({ cwd: root, stdin: "click\n" });
    expect(await main(["--state-dir", stateDir, "push", "--kafka", "clicks"], t2.io)).toBe(0);
    const msk = await until(async () => (await invocations()).find((i) => i.eventSource === "aws:kafka"));
    expect(msk).toMatchObject({ eventSourceArn: MSK_ARN, records: [{ value: "click" }] });
  }, 60_000);

  it("shows each mapping's partitions in `local status`: committed offset, log end, records behind", async () => {
    const wordsDone = async () => {
      const t = testIo({ cwd: root });
      await main(["--state-dir", stateDir, "local", "status"], t.io);
      const rows = t.stdout().split("\n").filter((l) => l.startsWith("WordsMapping"));
      return rows.length === 3 && rows.every((r) => /\s0$/.test(r)) && t.stdout();
    };
    const out = await until(wordsDone);
    expect(out).toContain(`kafka  ${stack!.stackFile.kafka!.bootstrapServers} (words: 3 partitions, clicks: 3 partitions)`);
    expect(out).toMatch(/MAPPING\s+PARTITION\s+GROUP\s+COMMITTED\s+END\s+BEHIND/);
    expect(out).toMatch(/WordsMapping\s+words-0\s+word-count\s+\d+\s+\d+\s+0/);
  }, 60_000);

  it("stops the broker with the stack: nothing listens on its port afterwards", async () => {
    const [host, port] = stack!.stackFile.kafka!.bootstrapServers.split(":");
    await stack!.stop();
    const refused = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: host!, port: Number(port) });
      socket.once("connect", () => {
        socket.destroy();
        resolve(false);
      });
      socket.once("error", () => resolve(true));
    });
    expect(refused).toBe(true);
  });
});

describe("sparkless local up with a Kafka app", () => {
  it("prints the local broker and how to push to each topic, runs the mappings, and stops the broker on Ctrl-C", async () => {
    const upState = join(root, "up-state");
    const t = testIo({ cwd: root });
    const up = main(["--state-dir", upState, "local", "up", "--no-synth", "--cdk-out", cdkOut, "--no-iam", "--no-sample", "--kafka-partitions", "2"], t.io);
    const file = await until(() => readStackFile(upState)?.kafka && readStackFile(upState));
    const kafka = file.kafka!;
    expect(kafka.topics).toEqual([
      { name: "words", partitions: 2 },
      { name: "clicks", partitions: 2 },
    ]);
    await until(() => t.stdout().includes("push lines to clicks"));
    expect(t.stdout()).toContain(`kafka: bootstrap servers ${kafka.bootstrapServers} (words: 2 partitions, clicks: 2 partitions)`);
    expect(t.stdout()).toContain(`push lines to words:  npx sparkless push --state-dir up-state --kafka words < some.txt`);

    const push = testIo({ cwd: root, stdin: "via local up\n" });
    expect(await main(["--state-dir", upState, "push", "--kafka", "words"], push.io)).toBe(0);
    await until(async () => (await invocations()).some((i) => i.bootstrapServers === kafka.bootstrapServers && i.records.some((r) => r.value === "via local up")));

    const status = testIo({ cwd: root });
    await until(async () => {
      await main(["--state-dir", upState, "local", "status"], status.io);
      return /WordsMapping\s+words-1\s+word-count/.test(status.stdout());
    });

    t.interrupt();
    await up;
    expect(readStackFile(upState)).toBeUndefined();
    const [host, port] = kafka.bootstrapServers.split(":");
    const refused = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: host!, port: Number(port) });
      socket.once("connect", () => {
        socket.destroy();
        resolve(false);
      });
      socket.once("error", () => resolve(true));
    });
    expect(refused).toBe(true);
  }, 120_000);
});

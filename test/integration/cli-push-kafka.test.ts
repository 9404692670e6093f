/**
 * `sparkless push --kafka <topic>`: lines from a file or stdin to a Kafka topic, on the running local stack's
 * broker (from stack.json) or the `--bootstrap` servers, every line accounted for.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../tooling/cli/index.js";
import { MAX_KAFKA_RECORD_BYTES } from "../../tooling/cli/kafka-records.js";
import { startMockKafka, type MockKafka } from "../../tooling/kafka/mock-broker.js";
import { testIo, writeStackFile } from "../support/cli.js";

let broker: MockKafka;
let dir: string;

beforeAll(async () => {
  broker = await startMockKafka({ topics: [{ name: "words", partitions: 3 }, { name: "direct", partitions: 1 }, { name: "keyed", partitions: 3 }] });
  dir = mkdtempSync(join(tmpdir(), "sparkless-cli-push-kafka-"));
});
afterAll(async () => {
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Every record of the topic, from the start of each partition (a consumer group's join takes seconds on the mock: hence the tests' 60 s). */
async function readTopic(topic: string): Promise<Array<{ partition: number; key: string | undefined; value: string }>> {
  const admin = new Kafka({ clientId: "read", brokers: [...broker.brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = offsets.reduce((n, o) => n + Number(o.high), 0);
  const consumer = new Kafka({ clientId: "read", brokers: [...broker.brokers], logLevel: logLevel.NOTHING }).consumer({ groupId: `reader-${topic}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const got: Array<{ partition: number; key: string | undefined; value: string }> = [];
  await consumer.run({ eachMessage: async ({ partition, message }) => void got.push({ partition, key: message.key?.toString(), value: message.value!.toString() }) });
  while (got.length < total) await new Promise((r) => setTimeout(r, 50));
  await consumer.disconnect();
  return got;
}

function stackWithKafka(stateDir: string): void {
  writeStackFile(stateDir, {
    region: "us-east-1",
    endpoints: { kinesis: "http://127.0.0.1:1", dynamodb: "http://127.0.0.1:1", s3: "http://127.0.0.1:1" },
    stacks: [],
    kafka: {
      bootstrapServers: broker.bootstrapServers,
      topics: [{ name: "words", partitions: 3 }],
      mappings: [{ stack: "S", logicalId: "M", uuid: "u", functionName: "f", topic: "words", consumerGroupId: "u" }],
    },
  });
}

describe("sparkless push --kafka", () => {
  it("produces stdin's lines to the local stack's broker, one record per non-empty line", async () => {
    const stateDir = join(dir, "stack");
    stackWithKafka(stateDir);
    const t = testIo({ cwd: dir, stdin: "to be\n\nor not\nto be\n" });

    const code = await main(["--state-dir", stateDir, "push", "--kafka", "words"], t.io);

    expect(t.stderr()).toBe("");
    expect(code).toBe(0);
    expect(t.stdout()).toMatch(/^pushed 3 records \(.*\) to Kafka topic words on the local stack's Kafka broker in 1 produce request, [\d.]+ s \(1 empty line ignored\)\n$/);
    expect((await readTopic("words")).map((r) => r.value).sort()).toEqual(["or not", "to be", "to be"]);
  }, 60_000);

  it("produces a file's lines to the --bootstrap servers, in order within the partition", async () => {
    writeFileSync(join(dir, "lines.txt"), Array.from({ length: 1200 }, (_, i) => `line ${i}`).join("\n") + "\n");
    const t = testIo({ cwd: dir });

    const code = await main(["push", "--kafka", "direct", "lines.txt", "--bootstrap", broker.bootstrapServers], t.io);

    expect(code).toBe(0);
    expect(t.stdout()).toMatch(/pushed 1,200 records .* to Kafka topic direct on 127\.0\.0\.1:\d+ in 3 produce requests/);
    expect((await readTopic("direct")).map((r) => r.value)).toEqual(Array.from({ length: 1200 }, (_, i) => `line ${i}`));
  }, 60_000);

  it("keys each record by a JSON field with --partition-key, so one key's records share a partition", async () => {
    const t = testIo({ cwd: dir, stdin: ['{"user":"a","n":1}', '{"user":"b","n":2}', '{"user":"a","n":3}', '{"user":"a","n":4}'].join("\n") + "\n" });

    const code = await main(["push", "--kafka", "keyed", "--json", "--partition-key", "user", "--bootstrap", broker.bootstrapServers], t.io);

    expect(code).toBe(0);
    const got = await readTopic("keyed");
    const a = got.filter((r) => r.key === "a");
    expect(a.map((r) => JSON.parse(r.value).n)).toEqual([1, 3, 4]);
    expect(new Set(a.map((r) => r.partition)).size).toBe(1);
  }, 60_000);

  it("skips a line over the broker's record limit, says which, and exits 1", async () => {
    writeFileSync(join(dir, "big.txt"), `small\n${"x".repeat(MAX_KAFKA_RECORD_BYTES + 1)}\n`);
    const t = testIo({ cwd: dir });

    const code = await main(["push", "--kafka", "direct", "big.txt", "--bootstrap", broker.bootstrapServers], t.io);

    expect(code).toBe(1);
    expect(t.stderr()).toContain(`sparkless: line 2: skipped: ${MAX_KAFKA_RECORD_BYTES + 1} bytes is over the broker's default record limit`);
    expect(t.stdout()).toMatch(/^pushed 1 record /);
  });

  it("fails if the local stack's broker has no such topic, naming the ones it has", async () => {
    const stateDir = join(dir, "stack-topics");
    stackWithKafka(stateDir);
    const t = testIo({ cwd: dir, stdin: "x\n" });

    const code = await main(["--state-dir", stateDir, "push", "--kafka", "nope"], t.io);

    expect(code).toBe(1);
    expect(t.stderr()).toContain("the local Kafka broker has no topic nope: its mappings read words");
  });

  it("fails if the running local stack has no Kafka broker, saying to give --bootstrap", async () => {
    const stateDir = join(dir, "stack-no-kafka");
    writeStackFile(stateDir, { region: "us-east-1", endpoints: { kinesis: "http://127.0.0.1:1", dynamodb: "http://127.0.0.1:1", s3: "http://127.0.0.1:1" }, stacks: [] });
    const t = testIo({ cwd: dir, stdin: "x\n" });

    const code = await main(["--state-dir", stateDir, "push", "--kafka", "words"], t.io);

    expect(code).toBe(1);
    expect(t.stderr()).toContain("has no Kafka broker");
    expect(t.stderr()).toContain("--bootstrap host:port");
  });

  it("fails if --bootstrap is not host:port", async () => {
    const t = testIo({ cwd: dir, stdin: "x\n" });
    expect(await main(["push", "--kafka", "words", "--bootstrap", "localhost"], t.io)).toBe(2);
    expect(t.stderr()).toContain("--bootstrap localhost: give host:port[,host:port...]");
  });
});

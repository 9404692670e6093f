/**
 * `npm start -- --kafka <topic> --bootstrap <host:port>`: the example pipeline on the local engine, reading a
 * Kafka topic of librdkafka's mock cluster.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { produce } from "../../lib/io/kafka/produce.js";
import { startArgv } from "../../tooling/cli/commands/start.js";
import { main } from "../../tooling/cli/index.js";
import { type MockKafka, startMockKafka } from "../../tooling/kafka/mock-broker.js";
import { testIo } from "../support/cli.js";

const WORD_COUNT = resolve("functions/word-count.ts");
let kafka: MockKafka;
let dir: string;
beforeAll(async () => {
  kafka = await startMockKafka({ brokers: 1, topics: [{ name: "lines", partitions: 2 }] });
  dir = mkdtempSync(join(tmpdir(), "sparkless-kafka-cli-"));
});
afterAll(async () => {
  await kafka?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Spark's print() blocks in a text, as [time, element lines]. */
function blocks(text: string): Array<[number, string[]]> {
  const re = /-{43}\nTime: (\d+) ms\n-{43}\n((?:.+\n)*)\n/g;
  return [...text.matchAll(re)].map((m) => [Number(m[1]), m[2]!.split("\n").filter((l) => l !== "")]);
}

describe("npm start -- --kafka", { timeout: 120_000 }, () => {
  it("runs the example on the local engine", () => {
    expect(startArgv(["--kafka", "lines", "--bootstrap", "127.0.0.1:9092"])).toEqual([
      "run",
      "functions/word-count.ts",
      "--output-dir",
      join(".sparkless", "output"),
      "--kafka",
      "lines",
      "--bootstrap",
      "127.0.0.1:9092",
    ]);
  });

  it("counts the words of every partition from the earliest offset with --from-start, and commits its offsets to the group", async () => {
    await produce({ bootstrapServers: kafka.bootstrapServers }, "lines", [
      { value: "kafka spark", partition: 0 },
      { value: "spark streams", partition: 1 },
    ]);
    const t = testIo({ cwd: dir });

    const code = await main(["run", WORD_COUNT, "--kafka", "lines", "--bootstrap", kafka.bootstrapServers, "--from-start", "--batches", "1"], t.io);

    expect(code).toBe(0);
    expect(t.stderr()).toContain(`input: Kafka topic lines on ${kafka.bootstrapServers}, group sparkless-word-count, from the earliest offset`);
    // Produced before the start, so all in the first batch.
    expect(blocks(t.stdout())[0]![1].sort()).toEqual(["(kafka,1)", "(spark,2)", "(streams,1)"]);
    const admin = new Kafka({ brokers: [...kafka.brokers], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const [offsets] = await admin.fetchOffsets({ groupId: "sparkless-word-count", topics: ["lines"] });
    await admin.disconnect();
    expect(offsets!.partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([
      [0, "1"],
      [1, "1"],
    ]);
  });

  it("fails if no bootstrap server is given, saying how to give one", async () => {
    const t = testIo({ cwd: dir });
    expect(await main(["run", WORD_COUNT, "--kafka", "lines"], t.io)).toBe(2);
    expect(t.stderr()).toContain("--kafka needs --bootstrap host:port (or KAFKA_BOOTSTRAP_SERVERS): where the Kafka cluster is");
  });
});

import { type ChildProcessByStdio, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { IllegalStateError, ValidationError } from "../../lib/core/errors.js";

/*
 * A real Kafka protocol endpoint for tests, without a JVM or Docker: librdkafka's mock cluster (Debian's
 * librdkafka-dev, 2.0.2 on bookworm), hosted by the small C program beside this file. It is compiled on first
 * use into the OS temp directory (never into the repository), keyed by the hash of its source, so an edit
 * recompiles and parallel test files share one binary.
 *
 * What the mock does not do, and so neither does this starter: CreateTopics/CreatePartitions through the Admin
 * API (topics are created here, with their partition count, or auto-created by a producer), retention,
 * compaction, ACLs. Adding partitions to an existing topic is not possible with the 2.0.2 mock API.
 */

const SOURCE = join(import.meta.dirname, "mock-broker.c");

export interface MockKafkaTopic {
  readonly name: string;
  /** @default 1 */
  readonly partitions?: number;
}

export interface MockKafkaOptions {
  /** @default 1 */
  readonly brokers?: number;
  /** Topics to create before returning. @default - none (a producer's first send auto-creates a topic) */
  readonly topics?: readonly MockKafkaTopic[];
}

export interface MockKafka {
  /** "127.0.0.1:port,..." — every broker, as a client's bootstrap servers. */
  readonly bootstrapServers: string;
  /** The same, one broker an entry. */
  readonly brokers: readonly string[];
  createTopic(name: string, partitions: number): Promise<void>;
  /**
   * The next `count` requests of one Kafka API (`apiKey`: 0 Produce, 1 Fetch, 2 ListOffsets, 3 Metadata,
   * 8 OffsetCommit, 9 OffsetFetch, ...) fail with `errorCode` (a Kafka error code such as 6
   * NOT_LEADER_OR_FOLLOWER or 7 REQUEST_TIMED_OUT).
   */
  failRequests(apiKey: number, errorCode: number, count?: number): Promise<void>;
  /** Destroys the cluster and waits for its process to exit. */
  stop(): Promise<void>;
}

/**
 * Starts a mock Kafka cluster on loopback ports and creates the given topics.
 *
 * @example
 * const kafka = await startMockKafka({ brokers: 3, topics: [{ name: "clicks", partitions: 4 }] });
 * // new Kafka({ brokers: kafka.brokers }) ...
 * await kafka.stop();
 */
export async function startMockKafka(options: MockKafkaOptions = {}): Promise<MockKafka> {
  const brokerCount = options.brokers ?? 1;
  if (!Number.isInteger(brokerCount) || brokerCount < 1) {
    throw new ValidationError("KafkaMockBrokersInvalid", `brokers must be a whole number of at least 1, got ${brokerCount}`);
  }
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(mockBrokerBinary(), [String(brokerCount)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async (what: string): Promise<string> => {
    const next = await lines.next();
    if (next.done) throw new IllegalStateError("KafkaMockExited", `the mock Kafka cluster exited while ${what}: ${stderr.trim() || "no message"}`);
    return next.value;
  };

  // One command at a time: each is answered by exactly one line.
  let queue: Promise<unknown> = Promise.resolve();
  const command = (line: string): Promise<void> => {
    const run = queue.then(async () => {
      child.stdin.write(`${line}\n`);
      const answer = await nextLine(`running "${line}"`);
      if (answer !== "ok") throw new IllegalStateError("KafkaMockCommandFailed", `mock Kafka cluster: "${line}" failed: ${answer}`);
    });
    queue = run.catch(() => undefined);
    return run;
  };

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.stdin.end();
    await exited;
  };

  try {
    const bootstrapServers = await nextLine("starting");
    const mock: MockKafka = {
      bootstrapServers,
      brokers: bootstrapServers.split(","),
      createTopic: (name, partitions) => {
        if (!/^[A-Za-z0-9._-]{1,249}$/.test(name)) {
          return Promise.reject(new ValidationError("KafkaTopicNameInvalid", `a Kafka topic name is 1 to 249 of [A-Za-z0-9._-], got ${JSON.stringify(name)}`));
        }
        if (!Number.isInteger(partitions) || partitions < 1) {
          return Promise.reject(new ValidationError("KafkaPartitionCountInvalid", `topic ${name}: partitions must be a whole number of at least 1, got ${partitions}`));
        }
        return command(`create ${name} ${partitions}`);
      },
      failRequests: (apiKey, errorCode, count = 1) => command(`fail ${apiKey} ${errorCode} ${count}`),
      stop,
    };
    for (const t of options.topics ?? []) await mock.createTopic(t.name, t.partitions ?? 1);
    return mock;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The compiled mock-broker program, compiling it on first use. */
function mockBrokerBinary(): string {
  const source = readFileSync(SOURCE);
  const dir = join(tmpdir(), "sparkless-kafka-mock", createHash("sha256").update(source).digest("hex").slice(0, 16));
  const binary = join(dir, "mock-broker");
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  // Compiled under a private name and renamed: test files starting at once never run a half-written binary.
  const partial = `${binary}.${process.pid}.tmp`;
  try {
    execFileSync("gcc", ["-O1", "-o", partial, SOURCE, "-lrdkafka"], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    const detail = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
    throw new IllegalStateError(
      "KafkaMockUnavailable",
      `cannot build the mock Kafka cluster (${detail}); install gcc and librdkafka-dev (apt-get install -y gcc librdkafka-dev; .ci/run does it)`,
      {},
      { cause: err },
    );
  }
  renameSync(partial, binary);
  return binary;
}

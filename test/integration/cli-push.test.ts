import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { CreateStreamCommand, KinesisClient, PutRecordsCommand, type PutRecordsCommandOutput } from "@aws-sdk/client-kinesis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kinesisClient } from "../../lib/io/aws-clients.js";
import { push } from "../../tooling/cli/commands/push.js";
import { main } from "../../tooling/cli/index.js";
import { MAX_RECORD_BYTES, RecordPutter, type PutRecordsSender } from "../../tooling/cli/put-records.js";
import { readAllRecords, testIo, writeStackFile } from "../support/cli.js";
import { useKinesis } from "../support/emulators.js";

const emu = useKinesis();
let kinesis: KinesisClient;
let dir: string;

beforeAll(() => {
  kinesis = kinesisClient({ endpoint: emu.endpoint });
  dir = mkdtempSync(join(tmpdir(), "sparkless-cli-push-"));
});

afterAll(() => {
  kinesis?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** A new stream (the emulator makes it ACTIVE at once). */
async function createStream(name: string, shards = 2): Promise<string> {
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  return name;
}

/**
 * Forwards to the Kinesis emulator, but answers the first PutRecords as a throttled shard would: the entries at
 * `refuse` are not put and come back with ProvisionedThroughputExceededException, the others are put.
 */
class RefusingOnceClient implements PutRecordsSender {
  readonly calls: string[][] = [];

  constructor(
    private readonly real: KinesisClient,
    private readonly refuse: ReadonlySet<number>,
  ) {}

  async send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput> {
    const records = command.input.Records ?? [];
    this.calls.push(records.map((r) => Buffer.from(r.Data!).toString("utf8")));
    if (this.calls.length > 1) return this.real.send(command);
    const kept = records.filter((_, i) => !this.refuse.has(i));
    const res = await this.real.send(new PutRecordsCommand({ ...command.input, Records: kept }));
    const accepted = [...(res.Records ?? [])];
    return {
      $metadata: {},
      FailedRecordCount: this.refuse.size,
      Records: records.map((_, i) =>
        this.refuse.has(i) ? { ErrorCode: "ProvisionedThroughputExceededException", ErrorMessage: "Rate exceeded for shard shardId-000000000000" } : accepted.shift()!,
      ),
    };
  }
}

describe("sparkless push", () => {
  it("puts 1,200 lines from a file, all of them, in at least 3 PutRecords requests of at most 500", async () => {
    const stream = await createStream("push-many");
    const lines = Array.from({ length: 1200 }, (_, i) => `line ${i} of the big file`);
    writeFileSync(join(dir, "many.txt"), lines.join("\n") + "\n");
    const t = testIo({ cwd: dir });

    const code = await main(["push", stream, "many.txt", "--endpoint", emu.endpoint], t.io);

    expect(t.stderr()).toBe("");
    expect(code).toBe(0);
    expect(t.stdout()).toMatch(/^pushed 1,200 records \(.+\) to push-many on http:\/\/127\.0\.0\.1:\d+ in 3 PutRecords requests, [\d.]+ s\n$/);
    const got = await readAllRecords(kinesis, stream);
    expect(got.map((r) => r.data).sort()).toEqual([...lines].sort());
    // Random partition keys spread the lines over both shards.
    expect(new Set(got.map((r) => r.shardId)).size).toBe(2);
  });

  it("reports and skips a record over 1 MiB, puts the others and exits 1", async () => {
    const stream = await createStream("push-big");
    const big = "x".repeat(MAX_RECORD_BYTES + 10);
    writeFileSync(join(dir, "big.txt"), ["before", big, "after"].join("\n") + "\n");
    const t = testIo({ cwd: dir });

    const code = await main(["push", stream, "big.txt", "--endpoint", emu.endpoint], t.io);

    expect(code).toBe(1);
    expect(t.stderr()).toContain("sparkless: line 2: skipped: 1,048,602 bytes with its partition key, over Kinesis' limit of 1,048,576 bytes (1 MiB) per record");
    expect(t.stderr()).toContain("sparkless: 1 record was not put (1 too large)");
    expect(t.stdout()).toMatch(/^pushed 2 records /);
    expect((await readAllRecords(kinesis, stream)).map((r) => r.data).sort()).toEqual(["after", "before"]);
  });

  it("retries only the entries a partially failed PutRecords refused, and every line arrives once", async () => {
    const stream = await createStream("push-partial");
    const lines = ["a", "b", "c", "d", "e"];
    writeFileSync(join(dir, "partial.txt"), lines.join("\n") + "\n");
    const client = new RefusingOnceClient(kinesis, new Set([1, 3]));
    const t = testIo({ cwd: dir });

    const code = await push(t.io, stream, "partial.txt", { client });

    expect(code).toBe(0);
    expect(client.calls).toEqual([lines, ["b", "d"]]);
    expect(t.stdout()).toContain("pushed 5 records");
    expect(t.stdout()).toContain("in 2 PutRecords requests");
    expect(t.stdout()).toContain("(2 records retried)");
    expect((await readAllRecords(kinesis, stream)).map((r) => r.data).sort()).toEqual(lines);
  });

  it("fails the records still refused after the last try, naming their lines", async () => {
    const always: PutRecordsSender = {
      send: async (command) => ({
        $metadata: {},
        FailedRecordCount: command.input.Records!.length,
        Records: command.input.Records!.map(() => ({ ErrorCode: "ProvisionedThroughputExceededException", ErrorMessage: "Rate exceeded" })),
      }),
    };
    const sleeps: number[] = [];
    const putter = new RecordPutter({ client: always, stream: "s", maxAttempts: 3, sleep: async (ms) => void sleeps.push(ms), random: () => 1 });
    await putter.add({ data: Buffer.from("x"), partitionKey: "k", line: 7 });
    await putter.flush();
    expect(putter.stats.failed).toEqual([{ line: 7, reason: "ProvisionedThroughputExceededException: Rate exceeded (still refused after 3 tries)" }]);
    expect(putter.stats.requests).toBe(3);
    // Exponential backoff (full jitter, here at its cap): 100 ms, then 200 ms.
    expect(sleeps).toEqual([100, 200]);
  });

  it("resends a whole request that was throttled", async () => {
    let calls = 0;
    const client: PutRecordsSender = {
      send: async (command) => {
        if (++calls === 1) throw Object.assign(new Error("Rate exceeded for stream"), { name: "ProvisionedThroughputExceededException" });
        return { $metadata: {}, FailedRecordCount: 0, Records: command.input.Records!.map((_, i) => ({ SequenceNumber: String(i), ShardId: "shardId-0" })) };
      },
    };
    const putter = new RecordPutter({ client, stream: "s", sleep: async () => undefined });
    await putter.add({ data: Buffer.from("x"), partitionKey: "k", line: 1 });
    await putter.flush();
    expect(putter.stats).toMatchObject({ records: 1, requests: 2, retriedRequests: 1, failed: [] });
  });

  it("splits requests at 5 MiB, not only at 500 records", async () => {
    const sizes: number[] = [];
    const client: PutRecordsSender = {
      send: async (command) => {
        sizes.push(command.input.Records!.reduce((n, r) => n + r.Data!.byteLength + r.PartitionKey!.length, 0));
        return { $metadata: {}, FailedRecordCount: 0, Records: command.input.Records!.map(() => ({ SequenceNumber: "1", ShardId: "shardId-0" })) };
      },
    };
    const putter = new RecordPutter({ client, stream: "s" });
    // 12 records of 900 KB: 5 fit in 5 MiB (4.4 MiB), the 6th would not.
    for (let i = 0; i < 12; i++) await putter.add({ data: Buffer.alloc(900 * 1024), partitionKey: "k", line: i + 1 });
    await putter.flush();
    expect(sizes.map((s) => Math.round(s / 1024))).toEqual([4500, 4500, 1800]);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(5 * 1024 * 1024);
  });

  it("reads stdin and uses the running local stack's stream when none is named; JSON with a field as partition key", async () => {
    const stream = await createStream("push-stack", 1);
    const stateDir = join(dir, "stack-state");
    writeStackFile(stateDir, {
      region: "us-east-1",
      endpoints: { kinesis: emu.endpoint, dynamodb: "http://127.0.0.1:1", s3: "http://127.0.0.1:1" },
      stacks: [{ name: "S", streams: [{ logicalId: "Stream", name: stream }], tables: [], buckets: [], functions: [], pipelines: [{ name: "p", stream, table: "t", bucket: "b" }] }],
    });
    const t = testIo({ cwd: dir, stdin: '{"user":{"id":"u1"},"n":1}\n\nnot json\n{"user":{"id":"u2"},"n":2}\n{"n":3}\n' });

    const code = await main(["--state-dir", stateDir, "push", "-", "--json", "--partition-key", "user.id"], t.io);

    expect(code).toBe(1);
    expect(t.stdout()).toMatch(/^pushed 2 records .* to push-stack on the local stack in 1 PutRecords request, [\d.]+ s \(1 empty line ignored\)\n$/);
    expect(t.stderr()).toContain("sparkless: line 3: skipped: not JSON");
    expect(t.stderr()).toContain("sparkless: line 5: skipped: no field user.id to use as the partition key");
    const got = await readAllRecords(kinesis, stream);
    expect(got.map((r) => [r.partitionKey, JSON.parse(r.data).n])).toEqual([["u1", 1], ["u2", 2]]);
  });

  it("sends what was read and exits 130 when interrupted while waiting for more input", async () => {
    const stream = await createStream("push-interrupted", 1);
    const stdin = new PassThrough();
    const t = testIo({ cwd: dir, stdin });
    const pushing = main(["push", stream, "--endpoint", emu.endpoint], t.io);
    stdin.write("first\nsecond\n"); // and nothing more: a terminal waiting for its user
    await new Promise((r) => setTimeout(r, 200));
    t.interrupt();
    expect(await pushing).toBe(130);
    expect(t.stdout()).toMatch(/^pushed 2 records /);
    expect(t.stderr()).toBe("sparkless: interrupted after line 2\n");
    expect((await readAllRecords(kinesis, stream)).map((r) => r.data)).toEqual(["first", "second"]);
  });

  it("fails if a field partition key is asked of text lines", async () => {
    const t = testIo({ cwd: dir, stdin: "a\n" });
    expect(await main(["push", "some-stream", "-", "--partition-key", "user", "--endpoint", emu.endpoint], t.io)).toBe(2);
    expect(t.stderr()).toBe("sparkless: --partition-key user: a field name needs --json (text lines have no fields); use random or line\n");
  });

  it("fails if the stream does not exist, saying so", async () => {
    const t = testIo({ cwd: dir, stdin: "a\n" });
    expect(await main(["push", "no-such-stream", "--endpoint", emu.endpoint], t.io)).toBe(1);
    expect(t.stderr()).toMatch(/^sparkless: stream no-such-stream does not exist/);
  });

  it("fails if no stream is named and no local stack runs", async () => {
    const t = testIo({ cwd: join(dir, "nowhere") });
    expect(await main(["push", "-"], t.io)).toBe(1);
    expect(t.stderr()).toContain("sparkless: no local stack is running");
  });

  it("shows records and their rate on a terminal: a counter for a pipe, a bar for a file, nothing when not a terminal", async () => {
    const stream = await createStream("push-progress", 1);
    const lines = `${Array.from({ length: 1_200 }, (_, i) => `line ${i}`).join("\n")}\n`;
    writeFileSync(join(dir, "progress.txt"), lines);
    const onTerminal = (stdin?: string) => {
      const t = testIo({ cwd: dir, ...(stdin === undefined ? {} : { stdin }) });
      const drawn: string[] = [];
      return { t, drawn, io: { ...t.io, stderr: { write: (text: string) => void drawn.push(text), isTTY: true, columns: 120 } } };
    };

    const piped = onTerminal(lines);
    expect(await main(["push", stream, "-", "--endpoint", emu.endpoint], piped.io)).toBe(0);
    const counter = piped.drawn.join("");
    expect(counter).toMatch(/pushing to push-progress: 1,200 records \| [\d,]+ records\/s/);
    expect(counter).not.toContain("%");

    const file = onTerminal();
    expect(await main(["push", stream, "progress.txt", "--endpoint", emu.endpoint], file.io)).toBe(0);
    expect(file.drawn.join("")).toMatch(/pushing to push-progress \|[^|]+\| 100% \| 1,200 records \| [\d,]+ records\/s/);

    const plain = testIo({ cwd: dir, stdin: lines });
    expect(await main(["push", stream, "-", "--endpoint", emu.endpoint], plain.io)).toBe(0);
    expect(plain.stderr()).toBe("");
    expect(plain.stdout()).toMatch(/^pushed 1,200 records/);
  });
});

import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { s3Client } from "../../lib/io/aws-clients.js";
import { S3ObjectStore } from "../../lib/io/s3-object-store.js";
import { EventPrinter } from "../../tooling/cli/commands/tail.js";
import { main } from "../../tooling/cli/index.js";
import { testIo, writeStackFile } from "../support/cli.js";
import { useEmulators } from "../support/emulators.js";
import { waitFor } from "../support/wait.js";

const emu = useEmulators();
const BUCKET = "tail-bucket";
let dir: string;
let stateDir: string;
let objects: S3ObjectStore;

const BLOCK = "-------------------------------------------\nTime: 1700000005000 ms\n-------------------------------------------\n(spark,2)\n\n";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sparkless-cli-tail-"));
  stateDir = join(dir, ".sparkless");
  const s3 = s3Client({ endpoint: emu.s3.endpoint });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  objects = new S3ObjectStore({ client: s3, bucket: BUCKET });
  writeStackFile(stateDir, {
    region: "us-east-1",
    endpoints: { kinesis: emu.kinesis.endpoint, dynamodb: emu.dynamodb.endpoint, s3: emu.s3.endpoint },
    stacks: [{ name: "S", streams: [], tables: [], buckets: [], functions: [], pipelines: [{ name: "word-count", stream: "s", table: "t", bucket: BUCKET }] }],
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("sparkless tail", () => {
  it("shows what is there with --from-start, then follows new output directories, printed blocks and dead letters until Ctrl-C", async () => {
    // Already there: a complete output directory, one whose _SUCCESS is not written yet, a printed block.
    await objects.put("output/word-count/word-count/batch-1700000005000.txt/part-00000", "(spark,2)\n");
    await objects.put("output/word-count/word-count/batch-1700000005000.txt/_SUCCESS", "");
    await objects.put("output/word-count/word-count/batch-1700000010000.txt/part-00000", "(lambda,1)\n");
    mkdirSync(join(stateDir, "logs"), { recursive: true });
    writeFileSync(join(stateDir, "logs", "ShardFunction.log"), `{"_aws":{}}\n${BLOCK}`);

    const t = testIo({ cwd: dir });
    const tailing = main(["tail", "--from-start", "--interval-ms", "50"], t.io);
    await waitFor("the existing output", () => t.stdout().includes("(1 part, 1 line) <==\n--- part-00000: 1 line, 10 bytes\n(spark,2)\n"));
    expect(t.stdout()).toBe(
      `==> logs/ShardFunction.log <==\n{"_aws":{}}\n${BLOCK}\n` +
        `==> s3://${BUCKET}/output/word-count/word-count/batch-1700000005000.txt/ (1 part, 1 line) <==\n--- part-00000: 1 line, 10 bytes\n(spark,2)\n`,
    );

    // New: the second directory completes, a dead letter, a line still being written, then its end.
    await objects.put("output/word-count/word-count/batch-1700000010000.txt/_SUCCESS", "");
    await objects.put("dead-letter/word-count/shardId-000000000000/4960.json", JSON.stringify({ shardId: "shardId-000000000000", sequenceNumber: "4960", operator: "decoder", error: "not JSON", data: Buffer.from("{oops").toString("base64") }));
    appendFileSync(join(stateDir, "logs", "ShardFunction.log"), "partial");
    await waitFor("the dead letter", () => t.stdout().includes("dead letters"));
    appendFileSync(join(stateDir, "logs", "ShardFunction.log"), " line\n");
    await waitFor("the completed log line", () => t.stdout().includes("partial line"));
    t.interrupt();
    expect(await tailing).toBe(0);

    const before = "(1 part, 1 line) <==\n--- part-00000: 1 line, 10 bytes\n(spark,2)\n";
    expect(t.stdout().slice(t.stdout().indexOf(before) + before.length)).toBe(
      `\n==> s3://${BUCKET}/output/word-count/word-count/batch-1700000010000.txt/ (1 part, 1 line) <==\n--- part-00000: 1 line, 11 bytes\n(lambda,1)\n` +
        `\n==> dead letters <==\ns3://${BUCKET}/dead-letter/word-count/shardId-000000000000/4960.json: decoder: not JSON (shardId-000000000000 4960) data: "{oops"\n` +
        `\n==> logs/ShardFunction.log <==\npartial line\n`,
    );
    expect(t.stderr()).toBe("sparkless: following pipeline word-count on the local stack; Ctrl-C to stop\n");
  });

  it("shows only what appears after it starts, without --from-start", async () => {
    const t = testIo({ cwd: dir });
    const tailing = main(["tail", "--interval-ms", "50"], t.io);
    await new Promise((r) => setTimeout(r, 300));
    await objects.put("output/word-count/word-count/batch-1700000015000.txt/part-00000", "(kinesis,3)\n");
    await objects.put("output/word-count/word-count/batch-1700000015000.txt/part-00001", "");
    await objects.put("output/word-count/word-count/batch-1700000015000.txt/_SUCCESS", "");
    await waitFor("the new output", () => t.stdout().includes("(kinesis,3)"));
    t.interrupt();
    expect(await tailing).toBe(0);
    expect(t.stdout()).toBe(
      `==> s3://${BUCKET}/output/word-count/word-count/batch-1700000015000.txt/ (2 parts, 1 line) <==\n--- part-00000: 1 line, 12 bytes\n(kinesis,3)\n--- part-00001: 0 lines, 0 bytes\n`,
    );
  });
});

describe("sparkless tail's output files", () => {
  const dirKey = "output/p/word-count/batch-1000.txt";
  const event = (content: string) => ({ kind: "output" as const, dir: dirKey, parts: [{ key: `${dirKey}/part-00000`, content }] });
  const big = Array.from({ length: 300 }, (_, i) => `(word${i},${i})`).join("\n") + "\n";
  const printed = (full: boolean) => {
    const out: string[] = [];
    new EventPrinter({ write: (s: string) => void out.push(s) }, "b", { full }).print(event(big));
    return out.join("");
  };

  it("are a summary line per file (path, lines, bytes) and its first lines, not hundreds of lines every batch", () => {
    expect(printed(false)).toBe(
      `==> s3://b/${dirKey}/ (1 part, 300 lines) <==\n--- part-00000: 300 lines, ${Buffer.byteLength(big)} bytes\n` +
        `(word0,0)\n(word1,1)\n(word2,2)\n(word3,3)\n(word4,4)\n… 295 more lines (--full shows them)\n`,
    );
  });

  it("are shown whole with --full", () => {
    expect(printed(true)).toBe(`==> s3://b/${dirKey}/ (1 part, 300 lines) <==\n--- part-00000: 300 lines, ${Buffer.byteLength(big)} bytes\n${big}`);
  });
});

import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CreateStreamCommand, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kinesisClient } from "../../lib/io/aws-clients.js";
import { startArgv } from "../../tooling/cli/commands/start.js";
import { main } from "../../tooling/cli/index.js";
import { testIo } from "../support/cli.js";
import { useKinesis } from "../support/emulators.js";
import { waitFor } from "../support/wait.js";

const WORD_COUNT = resolve("functions/word-count.ts");
const kinesisMock = useKinesis();
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sparkless-cli-run-"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Spark's print() blocks in a text, as [time, element lines]. */
function blocks(text: string): Array<[number, string[]]> {
  const re = /-{43}\nTime: (\d+) ms\n-{43}\n((?:.+\n)*)\n/g;
  return [...text.matchAll(re)].map((m) => [Number(m[1]), m[2]!.split("\n").filter((l) => l !== "")]);
}

describe("sparkless run", () => {
  it("runs functions/word-count.ts on files moved into a directory for 2 batches and prints Spark's blocks", async () => {
    const input = join(dir, "incoming");
    mkdirSync(input);
    const t = testIo({ cwd: dir });

    const running = main(["run", WORD_COUNT, "--dir", "incoming", "--batches", "2"], t.io);
    await waitFor("the run to start", () => t.stderr().includes("on the local engine"));
    // The source takes files modified after it started, which is a little after that line (the checkpoint
    // directory is prepared first).
    await new Promise((r) => setTimeout(r, 500));
    // Written elsewhere and moved in, as textFileStream wants (a file is read once, when first seen).
    writeFileSync(join(dir, "a.txt"), "Spark streams\nspark, Lambda and Kinesis\n");
    writeFileSync(join(dir, "b.txt"), "kinesis shards\n");
    renameSync(join(dir, "a.txt"), join(input, "a.txt"));
    renameSync(join(dir, "b.txt"), join(input, "b.txt"));
    const code = await running;

    expect(code).toBe(0);
    expect(t.stderr()).toContain("sparkless: word-count on the local engine, a batch every 5000 ms, input: files moved into incoming, 2 batches; Ctrl-C to stop\n");
    expect(t.stderr()).toContain("sparkless: stopped after 2 batches, 3 records\n");
    const printed = blocks(t.stdout());
    expect(printed).toHaveLength(2);
    const [[t1, first], [t2, second]] = printed as [[number, string[]], [number, string[]]];
    expect(t1 % 5000).toBe(0);
    expect(t2).toBe(t1 + 5000);
    // The files land in one of the two batches (whichever was open when they were moved in); the other is empty.
    const withData = first.length > 0 ? first : second;
    expect(first.length === 0 || second.length === 0).toBe(true);
    expect([...withData].sort()).toEqual(["(and,1)", "(kinesis,2)", "(lambda,1)", "(shards,1)", "(spark,2)", "(streams,1)"]);
    // saveAsTextFiles("word-count/batch", "txt") resolves against the working directory, as in Spark.
    const batchDir = join(dir, "word-count", `batch-${first.length > 0 ? t1 : t2}.txt`);
    expect(existsSync(join(batchDir, "_SUCCESS"))).toBe(true);
    const saved = readdirSync(batchDir)
      .filter((f) => f.startsWith("part-"))
      .flatMap((f) => readFileSync(join(batchDir, f), "utf8").split("\n").filter((l) => l !== ""));
    expect(saved.sort()).toEqual([...withData].sort());
  });

  it("shows a status line per batch with --progress, and generated sample lines by default", async () => {
    const t = testIo({ cwd: dir });
    expect(await main(["run", WORD_COUNT, "--batches", "1", "--progress", "--lines", "2", "--output-dir", "progress-out"], t.io)).toBe(0);
    expect(t.stderr()).toContain("input: sample lines, 2 per batch (--socket, --dir or --kinesis for other input)");
    expect(t.stdout()).toMatch(/^batch \d+ ms \| 2 records \| \d+ ms processing \| \d+ ms scheduling delay \| 0 dead letters \| 1 batch, 2 records$/m);
    expect(blocks(t.stdout())).toHaveLength(1);
    expect(existsSync(join(dir, "progress-out", "word-count"))).toBe(true);
  });

  it("reads a Kinesis stream from its start with --kinesis --from-start", async () => {
    const kinesis = kinesisClient({ endpoint: kinesisMock.endpoint });
    await kinesis.send(new CreateStreamCommand({ StreamName: "run-input", ShardCount: 2 }));
    await kinesis.send(
      new PutRecordsCommand({ StreamName: "run-input", Records: ["kinesis shard", "shard shard"].map((l, i) => ({ Data: Buffer.from(l), PartitionKey: `k${i}` })) }),
    );
    kinesis.destroy();
    const t = testIo({ cwd: dir });

    const code = await main(["run", WORD_COUNT, "--kinesis", "run-input", "--from-start", "--batches", "2", "--endpoint", kinesisMock.endpoint], t.io);

    expect(code).toBe(0);
    expect(t.stderr()).toContain(`input: Kinesis stream run-input on ${kinesisMock.endpoint} from its start, 2 batches`);
    // The shard readers fetch in the background: each record is in the first batch or the second.
    const totals: Record<string, number> = {};
    for (const [, lines] of blocks(t.stdout())) {
      for (const l of lines) {
        const [, word, n] = /^\((.*),(\d+)\)$/.exec(l)!;
        totals[word!] = (totals[word!] ?? 0) + Number(n);
      }
    }
    expect(totals).toEqual({ kinesis: 1, shard: 3 });
  });

  it("fails if the module exports no pipeline", async () => {
    writeFileSync(join(dir, "nothing.ts"), "export const x = 1;\n");
    const t = testIo({ cwd: dir });
    expect(await main(["run", "nothing.ts"], t.io)).toBe(2);
    expect(t.stderr()).toBe('sparkless: nothing.ts exports no Pipeline: export the result of definePipeline(...), e.g. `export const wordCount = definePipeline("word-count", ...)`\n');
  });

  it("with nothing listening on --socket, says so once per attempt with backoff, on the status line too, and connects when a server comes", async () => {
    // A port that was free a moment ago: nothing listens there until the test starts a server on it.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));

    const t = testIo({ cwd: dir });
    const running = main(["run", WORD_COUNT, "--socket", `127.0.0.1:${port}`, "--batches", "2", "--progress"], t.io);
    const refused = (n: number, wait: number) =>
      new RegExp(`sparkless: cannot connect to 127\\.0\\.0\\.1:${port} \\(attempt ${n}\\): .*ECONNREFUSED.*; retrying in ${wait} ms\\n`);
    await waitFor("two refused attempts", () => refused(2, 1000).test(t.stdout()), { timeoutMs: 60_000 });
    expect(t.stdout()).toMatch(refused(1, 500)); // then 1000, 2000, 4000, 5000 … ms, as Spark's receiver keeps trying

    // The text once; the connection stays open and quiet (a closed one would be reconnected and sent again).
    const open: Array<import("node:net").Socket> = [];
    const server = createServer((socket) => {
      if (open.length === 0) socket.write("hello sockets\n");
      open.push(socket);
    });
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    try {
      const code = await running;
      expect(code, t.stderr()).toBe(0);
    } finally {
      for (const socket of open) socket.destroy();
      await new Promise((r) => server.close(r));
    }
    const out = t.stdout();
    expect(out).toContain(`sparkless: connected to 127.0.0.1:${port}\n`);
    expect(blocks(out).flatMap(([, elements]) => elements).sort()).toEqual(["(hello,1)", "(sockets,1)"]);
    // The status line of a batch that ran while the source could not connect says so.
    const statusLines = out.split("\n").filter((l) => l.startsWith("batch "));
    expect(statusLines).toHaveLength(2);
    if (out.indexOf(`connected to 127.0.0.1:${port}`) > out.indexOf(statusLines[0]!)) {
      expect(statusLines[0]).toMatch(new RegExp(`\\| input: cannot connect to 127\\.0\\.0\\.1:${port} \\(attempt \\d+\\): .*ECONNREFUSED`));
    }
    expect(statusLines.at(-1)).not.toContain("cannot connect");
  }, 120_000);

  it("fails if --socket is not [host:]port", async () => {
    const t = testIo({ cwd: dir });
    expect(await main(["run", WORD_COUNT, "--socket", "localhost:"], t.io)).toBe(2);
    expect(t.stderr()).toBe('sparkless: --socket takes [host:]port, e.g. 9999 or localhost:9999, got "localhost:"\n');
  });

  it("fails if two inputs are given", async () => {
    const t = testIo({ cwd: dir });
    expect(await main(["run", WORD_COUNT, "--dir", ".", "--generated"], t.io)).toBe(2);
    expect(t.stderr()).toBe("sparkless: choose one input: --dir, --generated were given\n");
  });

  it("fails if the input directory does not exist, before any batch", async () => {
    const t = testIo({ cwd: dir });
    expect(await main(["run", WORD_COUNT, "--dir", "missing"], t.io)).toBe(2);
    expect(t.stderr()).toContain(`sparkless: textFileStream directory ${join(dir, "missing")} does not exist or is not a directory\n`);
  });
});

describe("npm start (sparkless start)", () => {
  it("is `local up` without a source, and the local engine on the example with one", () => {
    expect(startArgv([])).toEqual(["local", "up"]);
    expect(startArgv(["--fresh"])).toEqual(["local", "up", "--fresh"]);
    expect(startArgv(["--socket", "9999", "--progress"])).toEqual(["run", "functions/word-count.ts", "--output-dir", join(".sparkless", "output"), "--socket", "9999", "--progress"]);
    expect(startArgv(["--dir=./incoming"])).toEqual(["run", "functions/word-count.ts", "--output-dir", join(".sparkless", "output"), "--dir=./incoming"]);
    expect(startArgv(["--progress"], "/var/state")).toEqual(["run", "functions/word-count.ts", "--output-dir", join("/var/state", "output"), "--progress"]);
    expect(startArgv(["--generated", "--output-dir", "out"])).toEqual(["run", "functions/word-count.ts", "--generated", "--output-dir", "out"]);
  });

  it("on the local engine writes its files under the state directory (not the repository) and says where", async () => {
    const state = join(dir, "state");
    const t = testIo({ cwd: resolve(".") });
    const code = await main(["--state-dir", state, "start", "--generated", "--batches", "1"], t.io);
    expect(code, t.stderr()).toBe(0);
    expect(t.stderr()).toContain(`sparkless: output files under ${join(state, "output")}/\n`);
    const written = readdirSync(join(state, "output", "word-count"));
    expect(written.some((d) => /^batch-\d+\.txt$/.test(d))).toBe(true);
    expect(existsSync(resolve("word-count"))).toBe(false);
  }, 60_000);

  it("counts the words a TCP server on a bare port sends (npm start -- --socket 9999, as with nc -lk 9999)", async () => {
    // The source reconnects when a server closes: send the text once, then keep later connections open and quiet.
    let sent = false;
    const open: Array<import("node:net").Socket> = [];
    const server = createServer((socket) => {
      if (sent) return void open.push(socket);
      sent = true;
      socket.end("to be or not to be\n");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const t = testIo({ cwd: resolve(".") });
      const code = await main(["start", "--socket", String(port), "--batches", "1", "--output-dir", dir], t.io);
      expect(code, t.stderr()).toBe(0);
      const [[, elements]] = blocks(t.stdout()) as [[number, string[]]];
      expect(elements.sort()).toEqual(["(be,2)", "(not,1)", "(or,1)", "(to,2)"]);
    } finally {
      for (const s of open) s.destroy();
      await new Promise((r) => server.close(r));
    }
  }, 20_000);
});

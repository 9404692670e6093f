import { mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Seconds, Time } from "../../lib/core/duration.js";
import { isHiddenOrTemporary, TextFileSource, type TextFileSourceOptions } from "../../lib/io/text-file-source.js";
import { FakeSourceContext } from "../support/fake-source-context.js";

// Batch times are synthetic epoch milliseconds; every file gets its modification time set explicitly, so the
// test does not depend on the wall clock. The context starts at START; batches are 1 s.
const START = 1_000_000;
const at = (s: number) => new Time(START + s * 1000);

let dir: string;
let staging: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sparkless-textfile-"));
  staging = mkdtempSync(join(tmpdir(), "sparkless-staging-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(staging, { recursive: true, force: true });
});

/** Writes a file elsewhere, sets its modification time, then renames it into the directory (atomic, as Spark asks). */
function moveIn(name: string, content: string | Buffer, mtimeMs: number, into = dir): void {
  const tmp = join(staging, name);
  writeFileSync(tmp, content);
  utimesSync(tmp, mtimeMs / 1000, mtimeMs / 1000);
  renameSync(tmp, join(into, name));
}

/** Writes a file in place (for names the source must ignore whatever their time). */
function writeIn(name: string, content: string, mtimeMs: number): void {
  writeFileSync(join(dir, name), content);
  utimesSync(join(dir, name), mtimeMs / 1000, mtimeMs / 1000);
}

async function started(options?: TextFileSourceOptions, position?: unknown, clock = START) {
  const ctx = new FakeSourceContext(Seconds(1), clock);
  const source = new TextFileSource(dir, options);
  if (position !== undefined) source.restore(position);
  await source.start(ctx);
  return { source, ctx };
}

describe("TextFileSource", () => {
  it("takes each new file once, in the first batch whose time reaches its modification time", async () => {
    moveIn("old.txt", "existing\n", START - 5_000);
    const { source, ctx } = await started();

    moveIn("b.txt", "b1\r\nb2", START + 1_500);
    moveIn("a.txt", "a1\na2\n", START + 1_500);
    moveIn("c.txt", "c1\rc2\n\nc4\n", START + 1_200);
    expect(source.take(at(1))).toEqual([]); // nothing modified by then (old.txt predates the start)
    // Modification-time order, then name; Hadoop's line endings; an empty line is a line.
    expect(source.take(at(2))).toEqual(["c1", "c2", "", "c4", "a1", "a2", "b1", "b2"]);
    expect(source.take(at(3))).toEqual([]);
    moveIn("d.txt", "", START + 3_100); // an empty file has no lines
    moveIn("e.txt", "late", START + 2_900); // moved in after batch 3 ran, modified before: still taken once
    expect(source.take(at(4))).toEqual(["late"]);
    expect(source.take(at(5))).toEqual([]);
    expect(ctx.deadLetters).toEqual([]);
  });

  it("ignores hidden and temporary files", async () => {
    const { source } = await started();
    const t = START + 500;
    for (const name of [".hidden", "_SUCCESS", "x.tmp", "x.TEMP", "x._COPYING_", "x.COPYING", "x.part", "x.crdownload", "x~", "x.swp"]) {
      writeIn(name, "ignored\n", t);
      expect(isHiddenOrTemporary(name)).toBe(true);
    }
    mkdirSync(join(dir, "subdir"));
    moveIn("in-subdir.txt", "ignored\n", t, join(dir, "subdir"));
    moveIn("real.txt", "taken\n", t);
    expect(source.take(at(1))).toEqual(["taken"]);
    // A temporary file renamed to its final name is taken then.
    renameSync(join(dir, "x.tmp"), join(dir, "x.txt"));
    expect(source.take(at(2))).toEqual(["ignored"]);
  });

  it("applies the user's filter on top of the hidden/temporary rule", async () => {
    const { source } = await started({ filter: (name) => name.endsWith(".log") });
    moveIn("a.log", "log line\n", START + 100);
    moveIn("a.csv", "csv line\n", START + 100);
    writeIn(".b.log", "hidden\n", START + 100);
    expect(source.take(at(1))).toEqual(["log line"]);
  });

  it("takes the files already there in the first batch with newFilesOnly: false", async () => {
    moveIn("ancient.txt", "from long ago\n", START - 900_000); // 15 minutes before the start
    moveIn("recent.txt", "from just before\n", START - 1_000);
    const { source } = await started({ newFilesOnly: false });
    expect(source.take(at(1))).toEqual(["from long ago", "from just before"]);
    expect(source.take(at(2))).toEqual([]);
  });

  it("ignores a file that shows up older than the remember window (Spark's minRememberDuration)", async () => {
    const { source } = await started({ minRememberDuration: Seconds(10) });
    expect(source.take(at(20))).toEqual([]);
    moveIn("too-old.txt", "modified at 5 s\n", START + 5_000); // 20 s - 10 s = 10 s > 5 s
    moveIn("in-window.txt", "modified at 15 s\n", START + 15_000);
    expect(source.take(at(21))).toEqual(["modified at 15 s"]);
  });

  it("dead-letters a file that is not valid UTF-8 and carries on with the others", async () => {
    const { source, ctx } = await started();
    const bad = Buffer.from([0x6f, 0x6b, 0x0a, 0xc3, 0x28, 0x0a]); // "ok\n", then an invalid 2-byte sequence
    moveIn("bad.bin", bad, START + 100);
    moveIn("good.txt", "fine\n", START + 200);
    expect(source.take(at(1))).toEqual(["fine"]);
    expect(ctx.deadLetters).toEqual([
      {
        source: `textFile ${dir}`,
        position: { file: "bad.bin" },
        reason: "not valid UTF-8 (The encoded data was not valid for encoding utf-8): the file was not read",
        raw: bad.toString("base64"),
      },
    ]);
    expect(source.take(at(2))).toEqual([]); // read once, dead-lettered once
    expect(ctx.deadLetters).toHaveLength(1);
  });

  it("does not re-read files after a restore from its position, and takes what arrived meanwhile", async () => {
    const first = await started({ minRememberDuration: Seconds(30) });
    moveIn("a.txt", "a\n", START + 500);
    expect(first.source.take(at(1))).toEqual(["a"]);
    moveIn("b.txt", "b\n", START + 1_500);
    expect(first.source.take(at(2))).toEqual(["b"]);
    const position = JSON.parse(JSON.stringify(first.source.position()));
    expect(position).toEqual({ version: 1, ignoreBefore: START, lastBatchTime: START + 2_000, files: [["a.txt", START + 500], ["b.txt", START + 1_500]] });

    // While the program is down: one file arrives; an old one is moved in (it predates the first start).
    moveIn("c.txt", "c\n", START + 4_000);
    moveIn("pre-start.txt", "never\n", START - 10);
    const second = await started({ minRememberDuration: Seconds(30) }, position, START + 9_000);
    expect(second.source.take(at(10))).toEqual(["c"]);
    expect(second.source.take(at(11))).toEqual([]);
  });

  it("keeps its position bounded: names leave it once their time is out of the remember window", async () => {
    const { source } = await started({ minRememberDuration: Seconds(3) });
    moveIn("a.txt", "a\n", START + 500);
    moveIn("b.txt", "b\n", START + 2_500);
    source.take(at(3));
    expect(source.position().files).toEqual([["a.txt", START + 500], ["b.txt", START + 2_500]]);
    source.take(at(4)); // floor 1 s: a.txt can never be taken again
    expect(source.position().files).toEqual([["b.txt", START + 2_500]]);
    source.take(at(6));
    expect(source.position().files).toEqual([]);
  });

  it("fails if the directory does not exist when the context starts", async () => {
    const missing = join(dir, "nope");
    await expect(new TextFileSource(missing).start(new FakeSourceContext())).rejects.toThrow(
      `textFileStream directory ${missing} does not exist or is not a directory`,
    );
  });

  it("fails if restored from a position it did not write", () => {
    expect(() => new TextFileSource(dir).restore({ files: "x" })).toThrow(
      `textFileStream ${dir}: the checkpointed position is not one it wrote`,
    );
  });

  it("reports a directory that vanished while running, with an empty batch", async () => {
    const { source } = await started();
    rmSync(dir, { recursive: true });
    expect(source.take(at(1))).toEqual([]);
    expect(source.lastError?.code).toBe("TextFileDirectoryUnreadable");
    expect(source.lastError?.message).toMatch(new RegExp(`^textFileStream cannot list ${dir} for the batch of ${START + 1000} ms: ENOENT`));
  });
});

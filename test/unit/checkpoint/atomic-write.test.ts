import { existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CheckpointError } from "../../../lib/index.js";
import { type CheckpointBody, CheckpointWriter, encodeCheckpoint, readLatestCheckpoint } from "../../../lib/exec/checkpoint.js";
import { tempDirs } from "../../support/temp-dirs.js";

const tempDir = tempDirs("sparkless-ckpt-write-");

function body(time: number): CheckpointBody {
  return {
    version: 1,
    time,
    zeroTime: 0,
    batchIntervalMs: 1000,
    checkpointIntervalMs: 1000,
    graphHash: "h",
    graph: { batchDurationMs: 1000, nodes: [] },
    checkpointIntervals: {},
    pendingTimes: [],
    sources: {},
    nodes: { "queueStream-1": { kind: "queueStream", rdds: [[time, [[time / 1000]]]] } },
    writtenAt: new Date(time).toISOString(),
  };
}

async function writeAll(writer: CheckpointWriter, times: number[]): Promise<void> {
  for (const t of times) await writer.write(t, encodeCheckpoint(body(t)));
}

const names = (dir: string) => readdirSync(dir).sort();

describe("checkpoint files", () => {
  it("are named checkpoint-<time>, and the newest is read", async () => {
    const dir = tempDir();
    const writer = new CheckpointWriter(dir);
    await writer.prepare();
    await writeAll(writer, [1000, 2000]);
    expect(names(dir)).toEqual(["checkpoint-1000", "checkpoint-2000"]);
    const read = readLatestCheckpoint(dir)!;
    expect(read.body).toEqual(body(2000));
    expect(read.file).toBe(join(dir, "checkpoint-2000"));
    expect(read.skipped).toEqual([]);
  });

  it("keep only the last few (3 by default), ordered by time, not by name", async () => {
    const dir = tempDir();
    const writer = new CheckpointWriter(dir);
    await writer.prepare();
    await writeAll(writer, [8000, 9000, 10000, 11000]);
    expect(names(dir)).toEqual(["checkpoint-10000", "checkpoint-11000", "checkpoint-9000"]);
    const two = new CheckpointWriter(tempDir(), { keep: 2 });
    await two.prepare();
    await writeAll(two, [1000, 2000, 3000]);
    expect(names(two.directory)).toEqual(["checkpoint-2000", "checkpoint-3000"]);
  });

  it("read nothing from a missing or empty directory", () => {
    expect(readLatestCheckpoint(join(tempDir(), "missing"))).toBeUndefined();
    expect(readLatestCheckpoint(tempDir())).toBeUndefined();
  });

  it("a write that dies after its temp file leaves the previous checkpoint in force", async () => {
    const dir = tempDir();
    const writer = new CheckpointWriter(dir);
    await writer.prepare();
    await writeAll(writer, [1000, 2000]);
    writer.onTempWritten = () => {
      throw new Error("killed");
    };
    await expect(writer.write(3000, encodeCheckpoint(body(3000)))).rejects.toThrow("killed");
    const leftovers = names(dir).filter((n) => n.startsWith(".checkpoint-3000.tmp-"));
    expect(leftovers).toHaveLength(1);
    // The temp file is whole (it was fsynced) but never renamed: readers ignore it.
    expect(readFileSync(join(dir, leftovers[0]), "utf8")).toBe(encodeCheckpoint(body(3000)));
    expect(readLatestCheckpoint(dir)!.body.time).toBe(2000);

    // The next writer removes the garbage.
    const next = new CheckpointWriter(dir);
    await next.prepare();
    expect(names(dir)).toEqual(["checkpoint-1000", "checkpoint-2000"]);
  });

  it("a leftover temp file of a newer time is ignored by readers", async () => {
    const dir = tempDir();
    const writer = new CheckpointWriter(dir);
    await writer.prepare();
    await writeAll(writer, [1000]);
    writeFileSync(join(dir, ".checkpoint-2000.tmp-0b5d"), encodeCheckpoint(body(2000)).slice(0, 40));
    expect(readLatestCheckpoint(dir)!.body.time).toBe(1000);
  });

  it.each<[string, (file: string) => void]>([
    ["truncated", (file) => truncateSync(file, Math.floor(readFileSync(file).length / 2))],
    ["empty", (file) => truncateSync(file, 0)],
    ["overwritten with garbage", (file) => writeFileSync(file, "\u0000\u0000garbage")],
    ["one with a flipped byte", (file) => {
      const bytes = readFileSync(file);
      bytes[bytes.length - 5] ^= 1;
      writeFileSync(file, bytes);
    }],
  ])("a newest file that is %s falls back to the previous checkpoint", async (_name, damage) => {
    const dir = tempDir();
    const writer = new CheckpointWriter(dir);
    await writer.prepare();
    await writeAll(writer, [1000, 2000, 3000]);
    damage(join(dir, "checkpoint-3000"));
    const read = readLatestCheckpoint(dir)!;
    expect(read.body).toEqual(body(2000));
    expect(read.skipped).toEqual([{ file: join(dir, "checkpoint-3000"), reason: expect.stringMatching(/checkpoint is corrupt/) }]);
  });

  it("a file whose name and content disagree is skipped", async () => {
    const dir = tempDir();
    const writer = new CheckpointWriter(dir);
    await writer.prepare();
    await writeAll(writer, [1000]);
    writeFileSync(join(dir, "checkpoint-5000"), encodeCheckpoint(body(4000)));
    const read = readLatestCheckpoint(dir)!;
    expect(read.body.time).toBe(1000);
    expect(read.skipped[0].reason).toMatch(/file name says 5000 ms, the content 4000 ms/);
  });

  it("fails if every checkpoint is unreadable, rather than starting fresh", async () => {
    const dir = tempDir();
    const writer = new CheckpointWriter(dir);
    await writer.prepare();
    await writeAll(writer, [1000, 2000]);
    truncateSync(join(dir, "checkpoint-1000"), 10);
    truncateSync(join(dir, "checkpoint-2000"), 10);
    expect(() => readLatestCheckpoint(dir)).toThrow(CheckpointError);
    expect(() => readLatestCheckpoint(dir)).toThrow(
      expect.objectContaining({
        code: "CheckpointUnreadable",
        message: expect.stringMatching(/no checkpoint in .* can be read .*checkpoint-2000.*checkpoint-1000.*; to start fresh, use a new checkpoint directory or delete this one/),
      }),
    );
    expect(existsSync(join(dir, "checkpoint-2000"))).toBe(true);
  });
});

/**
 * The Kinesis emulator's journal is compacted (tooling/kinesis/journal.ts): what expired or was deleted leaves
 * the file, every read is the same after it, sequence numbers never go back, and a kill -9 or a failure at any
 * step of it leaves a journal that reads the same as before.
 */
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JOURNAL_FILE, type CompactionStep } from "../../tooling/kinesis/journal.js";
import { HOUR, openJournaled, put, readEverything, START, writeHistory } from "../support/kinesis-journal.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const STEPS: readonly CompactionStep[] = ["opened", "written", "synced", "renamed", "directory-synced"];

let root: string;
/** A journal holding two days of history (see writeHistory), never compacted, and the time it ends at. */
let history: { dir: string; end: number; bytes: number };
/** What every read saw at the end of the history, before anything was compacted. */
let seen: unknown;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "sparkless-journal-"));
  const dir = join(root, "history");
  mkdirSync(dir);
  const end = writeHistory(dir);
  history = { dir, end, bytes: statSync(join(dir, JOURNAL_FILE)).size };
  const reader = openJournaled(dir, { now: end }, "never");
  seen = readEverything(reader.api);
  reader.journal.close();
  expect(statSync(join(dir, JOURNAL_FILE)).size).toBe(history.bytes);
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

function copyOf(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  copyFileSync(join(history.dir, JOURNAL_FILE), join(dir, JOURNAL_FILE));
  return dir;
}

const journalText = (dir: string) => readFileSync(join(dir, JOURNAL_FILE), "utf8");

describe("the Kinesis emulator's journal compaction", () => {
  it("drops expired records and deleted streams at open, and every read is the same", () => {
    const dir = copyOf("at-open");
    const emu = openJournaled(dir, { now: history.end });
    expect(emu.journal.bytes).toBeLessThan(history.bytes);
    expect(readEverything(emu.api)).toEqual(seen);
    emu.journal.close();

    const text = journalText(dir);
    for (const gone of ["s-day0-a", "g-a", "first-life"].map((v) => Buffer.from(v).toString("base64"))) expect(text).not.toContain(gone);
    expect(text).not.toContain('"op":"delete"');
    expect(text.split("\n")[0]).toMatch(/^\{"op":"sequence","next":"\d+"\}$/);

    // Nothing is dead any more: the next open leaves the file as it is, and reads the same.
    const again = openJournaled(dir, { now: history.end });
    expect(readEverything(again.api)).toEqual(seen);
    again.journal.close();
    expect(journalText(dir)).toBe(text);
  });

  it("never hands out a sequence number again, not even one of a dropped record", () => {
    const dir = join(root, "sequence");
    mkdirSync(dir);
    const first = openJournaled(dir, { now: START });
    first.api.handle("CreateStream", { StreamName: "kept", ShardCount: 1 });
    first.api.handle("CreateStream", { StreamName: "dropped", ShardCount: 1 });
    put(first.api, "kept", ["a"]);
    put(first.api, "dropped", ["b", "c", "d"]);
    const { SequenceNumber: highest } = first.api.handle("PutRecord", { StreamName: "dropped", PartitionKey: "k", Data: "ZQ==" });
    first.api.handle("DeleteStream", { StreamName: "dropped" });
    first.journal.close();

    openJournaled(dir, { now: START }).journal.close(); // compacts: the dropped stream's lines go
    expect(journalText(dir)).not.toContain("dropped");

    // The clock has not moved (numbers follow it too): only the sequence mark keeps them above the dropped ones.
    const third = openJournaled(dir, { now: START });
    const { SequenceNumber: next } = third.api.handle("PutRecord", { StreamName: "kept", PartitionKey: "k", Data: "Zg==" });
    third.journal.close();
    expect(BigInt(next as string)).toBeGreaterThan(BigInt(highest as string));
  });

  it.each(STEPS)("leaves a whole journal that reads the same when killed after step %s", async (step) => {
    const dir = copyOf(`kill-${step}`);
    const exit = await compactInChild(dir, history.end, step);
    expect(exit.signal).toBe("SIGKILL");

    const renamed = STEPS.indexOf(step) >= STEPS.indexOf("renamed");
    expect(statSync(join(dir, JOURNAL_FILE)).size < history.bytes).toBe(renamed);
    const emu = openJournaled(dir, { now: history.end });
    expect(existsSync(join(dir, `${JOURNAL_FILE}.compacting`))).toBe(false);
    expect(readEverything(emu.api)).toEqual(seen);
    emu.journal.close();
  }, 120_000);

  it.each(STEPS)("goes on appending to a whole journal when a compaction fails after step %s", (step) => {
    const dir = copyOf(`fail-${step}`);
    const failures: Error[] = [];
    const emu = openJournaled(dir, { now: history.end }, { afterStep: (s) => { if (s === step) throw new Error(`disk gone after ${s}`); }, onFailure: (e) => failures.push(e) });
    expect(failures.map((e) => e.message)).toEqual([expect.stringMatching(new RegExp(`could not compact .*journal\\.jsonl \\(disk gone after ${step}\\); it stays whole`))]);
    put(emu.api, "kept", ["after-the-failure"]);
    const expected = readEverything(emu.api);
    emu.journal.close();

    expect(existsSync(join(dir, `${JOURNAL_FILE}.compacting`))).toBe(false);
    const reopened = openJournaled(dir, { now: history.end });
    expect(readEverything(reopened.api)).toEqual(expected);
    reopened.journal.close();
  });

  it("compacts while running once half the file is dead, and reads the same", () => {
    const dir = join(root, "running");
    mkdirSync(dir);
    const clock = { now: START };
    const emu = openJournaled(dir, clock, { minDeadBytes: 1, checkEveryBytes: 4096 });
    emu.api.handle("CreateStream", { StreamName: "busy", ShardCount: 1 });
    const sizes: number[] = [];
    for (let hour = 0; hour < 72; hour++) {
      put(emu.api, "busy", Array.from({ length: 20 }, (_, i) => `hour ${hour} record ${i}`));
      sizes.push(emu.journal.bytes);
      clock.now += HOUR;
    }
    const expected = readEverything(emu.api);
    emu.journal.close();
    // 24 h of puts stay live (sizes[23] is about that much); without compaction the file would hold all 72 h.
    expect(Math.max(...sizes)).toBeLessThan(sizes[23]! * 2.5);
    expect(sizes.some((s, i) => i > 0 && s < sizes[i - 1]!)).toBe(true);
    const reopened = openJournaled(dir, clock);
    expect(readEverything(reopened.api)).toEqual(expected);
    reopened.journal.close();
  });
});

/** Opens the journal in a child process that compacts it (there is dead history) and kill -9s itself after `step`. */
async function compactInChild(dir: string, now: number, step: CompactionStep): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const script = join(root, `compact-${step}.mts`);
  writeFileSync(
    script,
    `import { openJournaled } from ${JSON.stringify(pathToFileURL(join(REPO, "test/support/kinesis-journal.ts")).href)};
openJournaled(${JSON.stringify(dir)}, { now: ${now} }, {
  afterStep: (s) => { if (s === ${JSON.stringify(step)}) process.kill(process.pid, "SIGKILL"); },
});
console.log("compacted without being killed");
`,
  );
  const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: REPO, stdio: ["ignore", "inherit", "inherit"] });
  return new Promise((ok) => child.once("exit", (code, signal) => ok({ code, signal })));
}

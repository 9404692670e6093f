import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CutJournal } from "../../../lib/io/kafka/cut-journal.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const journalPath = () => {
  const d = mkdtempSync(join(tmpdir(), "sparkless-cut-journal-"));
  dirs.push(d);
  return join(d, "kafka", "cuts.jsonl");
};

describe("the journal of batch cuts", () => {
  it("gives back each batch's end offsets by time", () => {
    const path = journalPath();
    const j = new CutJournal(path);
    j.append(1000, { t: { 0: "3" } });
    j.append(2000, { t: { 0: "5", 1: "1" } });
    j.close();
    expect([...new CutJournal(path).load()]).toEqual([
      [1000, { t: { 0: "3" } }],
      [2000, { t: { 0: "5", 1: "1" } }],
    ]);
  });

  it("ignores a torn last line (a kill in the middle of a write: that batch never ran)", () => {
    const path = journalPath();
    const j = new CutJournal(path);
    j.append(1000, { t: { 0: "3" } });
    j.close();
    appendFileSync(path, '{"time":2000,"offs');
    expect([...new CutJournal(path).load().keys()]).toEqual([1000]);
  });

  it("drops the batches up to a checkpoint, and keeps appending after", () => {
    const path = journalPath();
    const j = new CutJournal(path);
    for (const t of [1000, 2000, 3000]) j.append(t, { t: { 0: String(t / 1000) } });
    j.keepAfter(2000);
    j.append(4000, { t: { 0: "4" } });
    j.close();
    expect([...new CutJournal(path).load().keys()]).toEqual([3000, 4000]);
    expect(readFileSync(path, "utf8").trim().split("\n")).toHaveLength(2);
  });

  it("is emptied for a fresh start", () => {
    const path = journalPath();
    const j = new CutJournal(path);
    j.append(1000, { t: { 0: "3" } });
    j.keepAfter(undefined);
    expect(new CutJournal(path).load().size).toBe(0);
  });
});

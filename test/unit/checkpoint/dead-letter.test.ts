import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import {
  type BatchInfo,
  type DeadLetterEntry,
  ManualClock,
  Seconds,
  type Source,
  type SourceContext,
  StreamingContext,
} from "../../../lib/index.js";
import { tempDirs } from "../../support/temp-dirs.js";

const tempDir = tempDirs("sparkless-dead-letter-");

/** Lines of text per batch; a line that is not a number is dead-lettered, as a decoder would. */
class NumberLines implements Source<number> {
  readonly kind = "numberLines";
  private context: SourceContext | undefined;
  private batch = 0;
  constructor(private readonly batches: string[][]) {}
  async start(context: SourceContext): Promise<void> {
    this.context = context;
  }
  async stop(): Promise<void> {}
  take(): number[] {
    const lines = this.batches[this.batch++] ?? [];
    const out: number[] = [];
    lines.forEach((line, i) => {
      const n = Number(line);
      if (Number.isNaN(n)) this.context!.deadLetter({ source: this.kind, position: { batch: this.batch, line: i }, reason: "not a number", raw: line });
      else out.push(n);
    });
    return out;
  }
}

async function run(ssc: StreamingContext, clock: ManualClock, seconds: number): Promise<BatchInfo[]> {
  const infos: BatchInfo[] = [];
  ssc.addStreamingListener({ onBatchCompleted: (info) => void infos.push(info) });
  await ssc.start();
  await clock.advance(Seconds(seconds));
  await ssc.stop();
  return infos;
}

describe("dead letters", () => {
  it("go to <checkpoint dir>/dead-letter/dead-letter-<date>.jsonl, one JSON line each, and every batch counts its own", async () => {
    const dir = tempDir();
    const clock = new ManualClock(Date.UTC(2024, 4, 17, 23, 59, 58)); // the third batch falls on the next day
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock });
    ssc.checkpoint(dir);
    ssc.receiverStream(new NumberLines([["1", "x", "2", "y"], ["3"], ["zz"]])).foreachRDD(() => {});
    const infos = await run(ssc, clock, 3);

    expect(infos.map((i) => [i.numRecords, i.numDeadLetters])).toEqual([[2, 2], [1, 0], [0, 1]]);
    expect(readdirSync(join(dir, "dead-letter")).sort()).toEqual(["dead-letter-2024-05-17.jsonl", "dead-letter-2024-05-18.jsonl"]);
    const lines = (name: string) =>
      readFileSync(join(dir, "dead-letter", name), "utf8")
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines("dead-letter-2024-05-17.jsonl")).toEqual([
      { source: "numberLines", position: { batch: 1, line: 1 }, reason: "not a number", raw: "x", at: "2024-05-17T23:59:59.000Z" },
      { source: "numberLines", position: { batch: 1, line: 3 }, reason: "not a number", raw: "y", at: "2024-05-17T23:59:59.000Z" },
    ]);
    expect(lines("dead-letter-2024-05-18.jsonl")).toEqual([
      { source: "numberLines", position: { batch: 3, line: 0 }, reason: "not a number", raw: "zz", at: "2024-05-18T00:00:01.000Z" },
    ]);
    expect(ssc.deadLetterEntries()).toHaveLength(3);
  });

  it("go to onDeadLetter instead when it is given", async () => {
    const dir = tempDir();
    const clock = new ManualClock();
    const seen: DeadLetterEntry[] = [];
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, onDeadLetter: (e) => void seen.push(e) });
    ssc.checkpoint(dir);
    ssc.receiverStream(new NumberLines([["x"]])).foreachRDD(() => {});
    const infos = await run(ssc, clock, 1);
    expect(seen.map((e) => e.raw)).toEqual(["x"]);
    expect(infos[0].numDeadLetters).toBe(1);
    expect(existsSync(join(dir, "dead-letter"))).toBe(false);
  });

  it("go to stderr without a checkpoint directory", async () => {
    const clock = new ManualClock();
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const ssc = new StreamingContext({ batchInterval: Seconds(1), clock });
      ssc.receiverStream(new NumberLines([["x"]])).foreachRDD(() => {});
      const infos = await run(ssc, clock, 1);
      expect(infos[0].numDeadLetters).toBe(1);
      expect(stderr.mock.calls.map((c) => String(c[0])).join("")).toContain("unreadable input from numberLines");
    } finally {
      stderr.mockRestore();
    }
  });

  it("are counted as zero in batches without any", async () => {
    const clock = new ManualClock();
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock });
    ssc.queueStream([[1], [2]]).foreachRDD(() => {});
    expect((await run(ssc, clock, 2)).map((i) => i.numDeadLetters)).toEqual([0, 0]);
  });
});

/**
 * The UI's engine monitor on a local-engine program (what `sparkless run --ui` wires): fed the StreamingListener
 * events on a manual clock, it shows each batch's records, delays and outputs, the printed block and output
 * lines of a batch, a failed batch's error, dead letters from the checkpoint directory, and the stateful
 * operator's keys from the newest checkpoint — served by the UI server.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, Seconds, type Source, StreamingContext } from "../../lib/index.js";
import { EngineMonitor } from "../../tooling/ui/engine-monitor.js";
import { startUiServer } from "../../tooling/ui/server.js";
import type { BatchDetail, UiSnapshot } from "../../tooling/ui/snapshot.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Lines per batch; a line "bad" is dead-lettered by the source, as a decoder's refusal is. */
function lines(batches: string[][]): Source<string> {
  let i = 0;
  let ctx: Parameters<Source<string>["start"]>[0] | undefined;
  return {
    kind: "lines",
    start: async (c) => void (ctx = c),
    stop: async () => {},
    take: () => {
      const batch = batches[i++] ?? [];
      for (const l of batch.filter((l) => l === "bad")) ctx!.deadLetter({ source: "lines", position: { line: i }, reason: "not a word", raw: l });
      return batch.filter((l) => l !== "bad");
    },
  };
}

describe("the engine monitor", () => {
  it("shows a local run's batches, outputs, printed blocks, failures, dead letters and state", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sparkless-ui-engine-"));
    dirs.push(dir);
    const clock = new ManualClock();
    const monitor = new EngineMonitor({ pipeline: "words", batchIntervalMs: 1_000, checkpointDir: dir });
    const written: string[] = [];
    const writeBatch = async (path: string, partitions: string[][]) => {
      written.push(path);
      monitor.wrote(path, partitions);
    };
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, writeBatch });
    ssc.checkpoint(dir);
    const words = ssc.receiverStream(lines([["a b", "a"], ["bad", "b"], ["boom"]])).flatMap((l) => l.split(" ")).map((w) => [w, 1] as [string, number]);
    words.reduceByKey((a, b) => a + b).saveAsTextFiles("counts", "txt");
    words.updateStateByKey((vs: number[], s: number | undefined) => vs.reduce((a, b) => a + b, s ?? 0), { name: "totals" }).checkpoint(Seconds(1)).foreachRDD((rdd) => {
      if (rdd.collect().some(([w]) => w === "boom")) throw new Error("boom is not a word");
    });
    ssc.addStreamingListener(monitor);
    const server = await startUiServer({ monitor });
    try {
      await ssc.start();
      await clock.advance(Seconds(3));
      await ssc.stop();

      const s = (await (await fetch(new URL("api/snapshot", server.url))).json()) as UiSnapshot;
      expect(s).toMatchObject({ pipeline: "words", kind: "engine", where: "the local engine", lastFinalized: 3_000, summary: "3 batches, 4 records, 1 dead letter, 1 failure" });
      expect(s.batches.map((b) => [b.time, b.state, b.records, b.deadLetters, b.outputs])).toEqual([
        [3_000, "failed", 1, 0, 2],
        [2_000, "completed", 1, 1, 2],
        [1_000, "completed", 2, 0, 2],
      ]);
      for (const b of s.batches) expect(b.totalDelayMs).toBe(b.schedulingDelayMs! + b.processingMs!);
      expect(s.deadLetters).toMatchObject({ total: 1, items: [{ shard: "lines", reason: "not a word", data: "bad", bytes: 3 }] });
      // A failed batch is not checkpointed: the newest checkpoint is the one after 2 s, holding a and b.
      expect(s.operators).toEqual([{ id: "totals", kind: "updateStateByKey", batchTime: 2_000, keys: 2, bytes: expect.any(Number) }]);

      monitor.printed("-------------------------------------------\nTime: 1000 ms\n-------------------------------------------\n(a,2)\n(b,1)\n\n");
      const d = (await (await fetch(new URL("api/batches/1000", server.url))).json()) as BatchDetail;
      expect(d.outputs).toEqual([{ path: "counts-1000.txt", lines: ["(a,2)", "(b,1)"], truncated: false }]);
      expect(d.printed).toEqual(["(a,2)", "(b,1)"]);
      const failed = (await (await fetch(new URL("api/batches/3000", server.url))).json()) as BatchDetail;
      expect(failed.errors.join("\n")).toContain("boom is not a word");
    } finally {
      await server.close();
    }
  });
});

import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type BatchInfo, type DeadLetterEntry, ManualClock, Seconds, StreamingContext } from "../../../lib/index.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * The local engine's side of "every record accounted for": an element a checkpoint must write but cannot (a
 * circular object) is dead-lettered and left out of the checkpoint; the batch and the checkpoints after it
 * go on, where before every checkpoint that remembered it failed its batch.
 */
describe("an element a checkpoint cannot write", () => {
  it("is dead-lettered with its node, time and reason, and the checkpoint holds the rest", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sparkless-unwritable-"));
    dirs.push(dir);
    const clock = new ManualClock();
    const dead: DeadLetterEntry[] = [];
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, onDeadLetter: (e) => void dead.push(e) });
    ssc.checkpoint(dir);
    const counts: number[] = [];
    ssc
      .queueStream([["a", "loop"], ["b"], ["c"]])
      .map((w) => {
        if (w !== "loop") return { w };
        const o: Record<string, unknown> = { w };
        o.self = o;
        return o;
      })
      .window(Seconds(2))
      .count()
      .foreachRDD((rdd) => void counts.push(...rdd.collect()));
    const infos: BatchInfo[] = [];
    ssc.addStreamingListener({ onBatchCompleted: (info) => void infos.push(info) });
    await ssc.start();
    await clock.advance(Seconds(3));
    await ssc.stop();

    expect(infos.map((i) => i.failure)).toEqual([undefined, undefined, undefined]);
    expect(counts).toEqual([2, 3, 2]); // the running job still sees the element; only the checkpoint leaves it out
    // Once, though every checkpoint that remembers it meets it.
    expect(dead).toHaveLength(1);
    for (const e of dead) {
      expect(e).toMatchObject({
        source: expect.stringMatching(/^checkpoint of map at unwritable\.test\.ts:\d+$/),
        position: { node: expect.any(String), time: 1000 },
        reason: expect.stringMatching(/circular .*cannot be written to a checkpoint/),
        raw: expect.stringContaining("[Circular"),
      });
    }
    expect(readdirSync(dir).filter((f) => f.startsWith("checkpoint-"))).not.toEqual([]);
  });
});

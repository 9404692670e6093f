/** A pipeline module recovers from its checkpoint in the local engine (what `sparkless run --checkpoint` does). */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { definePipeline, ManualClock, QueueSource, Seconds } from "../../lib/index.js";

const totals = definePipeline("totals", { batchInterval: Seconds(1) }, (words) => {
  words
    .map((w) => [w, 1] as [string, number])
    .updateStateByKey((ones: number[], total: number | undefined) => (total ?? 0) + ones.length)
    .checkpoint(Seconds(1))
    .foreachRDD((rdd, time) => void seen.set(time.milliseconds, Object.fromEntries(rdd.collect())));
});
const seen = new Map<number, Record<string, number>>();
const input = () => [["a"], ["a", "b"], ["b"], ["a"], ["c"]];

describe("Pipeline.getOrCreate", () => {
  it("continues a killed run from its checkpoint with the same totals as an uninterrupted one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sparkless-pipeline-ckpt-"));
    const clock = new ManualClock();
    const first = totals.getOrCreate(dir, new QueueSource(input()), { clock });
    await first.start();
    await clock.advance(Seconds(3));
    await first.stop();
    seen.clear();

    // Restarted later: the same module, the same (replayable) input; batches 4 and 5 ran while it was down.
    await clock.advance(Seconds(2));
    const second = totals.getOrCreate(dir, new QueueSource(input()), { clock });
    await second.start();
    await second.stop({ stopGracefully: true }); // lets the replayed batches finish
    expect(seen.get(4000)).toEqual({ a: 3, b: 2 });
    expect(seen.get(5000)).toEqual({ a: 3, b: 2, c: 1 });
  });
});

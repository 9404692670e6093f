import { describe, expect, it } from "vitest";
import { Seconds } from "../../lib/core/duration.js";
import { definePipeline, type PipelineProps } from "../../lib/api/define-pipeline.js";
import { PipelineTestDriver } from "../../lib/testing/index.js";

async function zeroTimeFor(props: Partial<PipelineProps<string>>, firstArrival: number) {
  const pipeline = definePipeline("zero", { batchInterval: Seconds(1), ...props }, (lines) => {
    lines.map((l) => [l, 1] as [string, number]).reduceByKeyAndWindow((a, b) => a + b, Seconds(6), Seconds(3)).print();
  });
  const driver = new PipelineTestDriver(pipeline, { startTime: firstArrival });
  driver.send("a");
  await driver.deliver();
  return (await driver.store.getStatus())!.zeroTime;
}

describe("the pipeline's zero time", () => {
  it("is aligned to every slide of the graph, so windows end on multiples of their slide since the epoch", async () => {
    // Batch 1 s, slide 3 s: the first record's time aligned down to 3 s, not just to the batch.
    expect(await zeroTimeFor({}, 1_700_000_004_321)).toBe(Math.floor(1_700_000_004_321 / 3000) * 3000);
  });

  it("is startTime when the pipeline sets one (aligned the same way)", async () => {
    expect(await zeroTimeFor({ startTime: 1_700_000_001_500 }, 1_700_000_004_321)).toBe(Math.floor(1_700_000_001_500 / 3000) * 3000);
  });
});

import { describe, expect, it } from "vitest";
import { Seconds } from "../../lib/core/duration.js";
import { MemoryObjectStore } from "../../lib/io/memory-object-store.js";
import { definePipeline, type PipelineProps } from "../../lib/serverless/define-pipeline.js";
import { PipelineRuntime } from "../../lib/serverless/runtime.js";
import { MemoryPipelineStore } from "../../lib/state/memory-pipeline-store.js";
import { kinesisEvent, lambdaContext, sequenceNumber, SimShards } from "./support.js";

async function zeroTimeFor(props: Partial<PipelineProps<string>>, firstArrival: number) {
  const pipeline = definePipeline("zero", { batchInterval: Seconds(1), ...props }, (lines) => {
    lines.map((l) => [l, 1] as [string, number]).reduceByKeyAndWindow((a, b) => a + b, Seconds(6), Seconds(3)).print();
  });
  const store = new MemoryPipelineStore();
  const record = { shardId: "shardId-000000000000", seq: sequenceNumber(0, 0), arrival: firstArrival, partitionKey: "k", data: Buffer.from("a").toString("base64") };
  const runtime = new PipelineRuntime(pipeline, {
    store,
    objects: new MemoryObjectStore(),
    shards: new SimShards(new Map([[record.shardId, [record]]]), [{ shardId: record.shardId, closed: false }]),
    now: () => firstArrival,
    log: () => undefined,
  });
  await runtime.handleShardEvent(kinesisEvent([record]), lambdaContext());
  return (await store.getStatus())!.zeroTime;
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

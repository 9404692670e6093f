import { describe, expect, it } from "vitest";
import { Seconds } from "../../lib/core/duration.js";
import { MemoryObjectStore } from "../../lib/testing/memory-object-store.js";
import { definePipeline } from "../../lib/api/define-pipeline.js";
import { finalizeReady } from "../../lib/serverless/finalizer.js";
import type { ShardDirectory, ShardInfo } from "../../lib/serverless/runtime-deps.js";
import { MemoryPipelineStore } from "../../lib/testing/memory-pipeline-store.js";

const pipeline = definePipeline("reshard", { batchInterval: Seconds(1) }, (lines) => lines.print());

describe("the finalizer and a split that happens while it runs", () => {
  it("looks at the shards again when one it listed open is drained, and waits for the children", async () => {
    const store = new MemoryPipelineStore();
    const zero = 1_700_000_000_000;
    await store.createStatus({ zeroTime: zero, lastFinalized: zero, graphHash: pipeline.instantiate(zero).ssc.graph.hash() });
    const parent = "shardId-000000000000";
    // The first listing is from before the split; by the time the parent is drained, a child exists.
    const listings: ShardInfo[][] = [[{ shardId: parent, closed: false }], [{ shardId: parent, closed: true }, { shardId: "shardId-000000000001", closed: false, parentShardId: parent }]];
    let calls = 0;
    const shards: ShardDirectory = {
      list: async () => listings[Math.min(calls++, 1)]!,
      probe: async () => ({ hasRecords: false, ended: false }),
    };
    await store.advanceWatermark(parent, { watermark: 0 }, zero + 5_000, true);
    const result = await finalizeReady(pipeline, { store, objects: new MemoryObjectStore(), shards, now: () => zero + 10_000, log: () => undefined }, { maxBatches: 3 });
    // The child has no progress yet: nothing after the split can be complete. Without the second look, the
    // drained parent alone would have let batches through.
    expect(calls).toBe(2);
    expect(result).toMatchObject({ finalized: [], stopped: "incomplete" });
  });
});

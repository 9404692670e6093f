/**
 * A finalization stall does not grow any item without bound: ten thousand shard invocations, none finalized (a
 * second shard of the stream never commits), leave the shard's progress item as small as after the first, and
 * each commit marker a small item of its own. The backlog a tick reports grows by one per batch interval.
 */
import { describe, expect, it } from "vitest";
import { Milliseconds } from "../../lib/core/duration.js";
import { MemoryObjectStore } from "../../lib/testing/memory-object-store.js";
import { definePipeline } from "../../lib/api/define-pipeline.js";
import { PipelineRuntime } from "../../lib/serverless/runtime.js";
import { MemoryPipelineStore } from "../../lib/testing/memory-pipeline-store.js";
import type { ShardProgress } from "../../lib/pipeline-store/pipeline-store.js";
import { padTime } from "../../lib/pipeline-store/store-keys.js";
import { dynamoItemSize, kinesisEvent, lambdaContext, pendingBatchesOf, shardName, shardRecords, SimShards } from "./support.js";

const B = 1000;
const COMMITS = 10_000;
/** DynamoDB's item limit. */
const ITEM_LIMIT = 400 * 1024;

const pipeline = definePipeline("stall", { batchInterval: Milliseconds(B) }, (lines) => {
  lines.map((w) => [w, 1] as [string, number]).reduceByKey((a, b) => a + b).print();
});

/** The progress item as DynamoDbPipelineStore lays it out (see its key layout table). */
function progressItem(p: ShardProgress): Record<string, unknown> {
  return {
    pk: "stall#progress",
    sk: p.shardId,
    ...(p.seq !== undefined ? { seq: p.seq } : {}),
    watermark: p.watermark,
    drained: p.drained,
    ...(p.lastCommit ? { lastAttempt: p.lastCommit.attemptId, lastTimes: [...p.lastCommit.times] } : {}),
  };
}

describe("a finalization stall", () => {
  it(`keeps the progress item and every commit marker small after ${COMMITS} commits`, async () => {
    const base = 1_700_000_000_000;
    // One record every 2 s (an invocation each), on the first of two shards; the second has a record that its
    // failing invocations never commit (so a probe finds it busy, not idle).
    const records = shardRecords(0, shardName(0), Array.from({ length: COMMITS }, (_, i) => ({ arrival: base + i * 2_000, data: `w${i % 7}` })));
    const stuck = shardRecords(1, shardName(1), [{ arrival: base, data: "poison" }]);
    const shards = new SimShards(new Map([[shardName(0), records], [shardName(1), stuck]]), [0, 1].map((i) => ({ shardId: shardName(i), closed: false })));
    const store = new MemoryPipelineStore();
    let now = base;
    let n = 0;
    const logs: string[] = [];
    const runtime = new PipelineRuntime(pipeline, { store, objects: new MemoryObjectStore(), shards, now: () => now, log: (t) => logs.push(t), newAttemptId: () => `${"0".repeat(28)}${String(n++).padStart(8, "0")}` });

    const sizes: number[] = [];
    for (const [i, record] of records.entries()) {
      now = record.arrival + 1;
      const { stage } = await runtime.handleShardEvent(kinesisEvent([record]), lambdaContext());
      expect(stage.committed).toBe(true);
      if (i === 0 || i === COMMITS - 1) sizes.push(dynamoItemSize(progressItem((await store.getProgress(shardName(0)))!)));
    }
    expect((await store.getStatus())!.lastFinalized).toBe((await store.getStatus())!.zeroTime); // nothing finalized

    // The progress item: the same size after the last commit as after the first (a longer seq at most).
    expect(sizes[1]).toBeLessThan(sizes[0]! + 16);
    expect(sizes[1]).toBeLessThan(1024);
    // A marker per earlier commit, each a separate small item.
    let markers = 0;
    let largest = 0;
    for (let t = Math.floor(base / B) * B; t <= now + B; t += B) {
      for (const m of await store.getCommitMarkers(t)) {
        markers++;
        const item = { pk: `stall#commits#${padTime(t)}`, sk: `${m.shardId}#${m.attemptId}`, shardId: m.shardId, attemptId: m.attemptId, time: t, ttl: Math.floor(now / 1000) };
        largest = Math.max(largest, dynamoItemSize(item));
      }
    }
    expect(markers).toBe(COMMITS - 1);
    expect(largest).toBeLessThan(256);
    expect(Math.max(...sizes, largest)).toBeLessThan(ITEM_LIMIT / 100);

    // The backlog a tick reports: a batch per second of the stall.
    await runtime.tick(lambdaContext());
    const [pending] = pendingBatchesOf(logs);
    expect(pending).toBe(Math.floor((now - (await store.getStatus())!.lastFinalized) / B));
    expect(pending).toBeGreaterThanOrEqual((COMMITS - 1) * 2);
  }, 120_000);
});

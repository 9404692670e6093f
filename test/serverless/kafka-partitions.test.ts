/**
 * The ticker's view of a Kafka topic: every partition is a shard that never closes, and a partition is idle when
 * its committed offset has reached the high watermark — one offsets read per tick, shared by its probes.
 */
import { describe, expect, it } from "vitest";
import { KafkaPartitionDirectory } from "../../lib/serverless/kafka-partitions.js";

describe("KafkaPartitionDirectory", () => {
  const offsets = [{ partition: 0, earliest: "5", highWatermark: "9" }, { partition: 1, earliest: "0", highWatermark: "0" }];
  it("lists each partition as a shard that never closes", async () => {
    const dir = new KafkaPartitionDirectory("t", async () => offsets);
    expect(await dir.list()).toEqual([{ shardId: "t-0", closed: false }, { shardId: "t-1", closed: false }]);
  });
  it.each([
    ["t-0", undefined, true],
    ["t-0", "7", true],
    ["t-0", "8", false], // committed the record just below the high watermark: idle
    ["t-1", undefined, false], // an empty partition
    ["t-9", undefined, false], // a partition no longer listed
  ] as const)("probes %s after %s: records waiting = %s", async (shardId, after, hasRecords) => {
    const dir = new KafkaPartitionDirectory("t", async () => offsets);
    expect(await dir.probe(shardId, after)).toEqual({ hasRecords, ended: false });
  });
  it("reads the offsets once for a list and the probes that follow it", async () => {
    let reads = 0;
    let now = 0;
    const dir = new KafkaPartitionDirectory("t", async () => (reads++, offsets), 5_000, () => now);
    await dir.list();
    await dir.probe("t-0", "1");
    await dir.probe("t-1", undefined);
    expect(reads).toBe(1);
    now = 6_000;
    await dir.probe("t-0", "1");
    expect(reads).toBe(2);
  });
});

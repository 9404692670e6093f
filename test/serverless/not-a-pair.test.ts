/**
 * A pair operation on elements that are not [key, value] pairs, in plain JavaScript (no compiler to stop it),
 * on the shard stage: the record is dead-lettered naming the operator and where it was written, as a record
 * whose function throws is, and the good records of the batch reach the output.
 */
import { describe, expect, it } from "vitest";
import { Seconds } from "../../lib/core/duration.js";
import { MemoryObjectStore } from "../../lib/testing/memory-object-store.js";
import { definePipeline } from "../../lib/api/define-pipeline.js";
import { PipelineRuntime } from "../../lib/serverless/runtime.js";
import { MemoryPipelineStore } from "../../lib/testing/memory-pipeline-store.js";
import { jsonObjects, kinesisEvent, lambdaContext, serverlessFiles, shardName, shardRecords, SimShards } from "./support.js";

const SHARD = shardName(0);
const T0 = 1_700_000_000_000;
const B = 1000;

/** "k=v" lines become [k, v] pairs; any other line is left a string, as a careless map in plain JS would. */
const pipeline = definePipeline<string>("not-a-pair", { batchInterval: Seconds(1) }, (lines) => {
  const pairs = lines.map((l) => (l.includes("=") ? l.split("=") : l)) as any;
  pairs.reduceByKey((a: string, b: string) => a + b).saveAsTextFiles("out/reduced");
  pairs.mapValues((v: string) => v.toUpperCase()).saveAsTextFiles("out/upper");
});

describe("a pair operation on the shard stage gets a record that is not a pair", () => {
  it("dead-letters it with the operator and where it was written, and keeps the good records", async () => {
    const objects = new MemoryObjectStore();
    const records = shardRecords(0, SHARD, [
      { data: "a=x", arrival: T0 + 100 },
      { data: "oops", arrival: T0 + 200 },
      { data: "b=y", arrival: T0 + 300 },
    ]);
    let now = T0 + 1_000;
    const runtime = new PipelineRuntime(pipeline, {
      store: new MemoryPipelineStore(),
      objects,
      shards: new SimShards(new Map([[SHARD, records]]), [{ shardId: SHARD, closed: false }]),
      now: () => now,
      log: () => {},
    });
    const result = await runtime.handleShardEvent(kinesisEvent(records), lambdaContext());
    expect(result.batchItemFailures).toEqual([]);
    expect(result.stage).toMatchObject({ processed: 3, deadLetters: 1, committed: true });

    const dead = [...(await jsonObjects<Record<string, unknown>>(objects, `dead-letter/${pipeline.name}/`)).values()];
    expect(dead).toHaveLength(1);
    // Whichever pair operation meets it first names itself; the record is dead-lettered once, whole.
    expect(dead[0]).toMatchObject({ shardId: SHARD, sequenceNumber: records[1]!.seq, data: records[1]!.data });
    expect(dead[0]!.operator).toMatch(/^(reduceByKey|mapValues) at not-a-pair\.test\.ts:\d+$/);
    expect(dead[0]!.error).toMatch(/needs \[key, value\] pairs and got "oops" \(a string\)/);

    now = T0 + 10_000;
    await runtime.tick();
    const files = await serverlessFiles(objects, pipeline.name, now);
    const batchTime = Math.floor((T0 + 100) / B) * B + B;
    expect(files.get(`out/reduced-${batchTime}`)!.split("\n").filter(Boolean).sort()).toEqual(["(a,x)", "(b,y)"]);
    expect(files.get(`out/upper-${batchTime}`)!.split("\n").filter(Boolean).sort()).toEqual(["(a,X)", "(b,Y)"]);
  });
});

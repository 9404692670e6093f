/**
 * Bad input never stops a shard and is never lost (docs/architecture.md "Bad input"): one Kinesis batch mixing good
 * records with every kind of bad one. Exactly the bad ones land in `dead-letter/<pipeline>/<shard>/<seq>[-<sub>].json`
 * with their raw bytes, shard, sequence number, operator and error; the good ones reach the output; the
 * counts add up; the EMF line says how many; and a retried or duplicated batch adds nothing twice.
 */
import { createHash } from "node:crypto";
import agg from "aws-kinesis-agg";
import { describe, expect, it } from "vitest";
import { Seconds } from "../../lib/core/duration.js";
import { KPL_MAGIC } from "../../lib/io/kinesis/kpl.js";
import { MemoryObjectStore } from "../../lib/testing/memory-object-store.js";
import { definePipeline } from "../../lib/api/define-pipeline.js";
import { PipelineRuntime } from "../../lib/serverless/runtime.js";
import { MemoryPipelineStore, SimulatedCrash } from "../../lib/testing/memory-pipeline-store.js";
import { jsonObjects, kinesisEvent, lambdaContext, metricLines, serverlessFiles, shardName, shardRecords, SimShards } from "./support.js";

// The package's producer-side aggregator (the format the KPL writes); its typings do not declare it.
const { RecordAggregator } = agg as unknown as {
  RecordAggregator: new () => {
    addUserRecord(r: { partitionKey: string; data: Buffer }): void;
    build(): { partitionKey: string; data: Buffer };
  };
};

function aggregate(records: Array<{ partitionKey: string; data: string }>): Buffer {
  const a = new RecordAggregator();
  for (const r of records) a.addUserRecord({ partitionKey: r.partitionKey, data: Buffer.from(r.data) });
  return a.build().data;
}

type Ev = { w: string; n: number };
const MAX_BYTES = 200;
const B = 1000;

const pipeline = definePipeline<Ev>(
  "bad-input",
  {
    batchInterval: Seconds(1),
    decoder: (bytes) => JSON.parse(Buffer.from(bytes).toString("utf8")) as Ev,
    maxRecordBytes: MAX_BYTES,
  },
  (input) => {
    const pairs = input.map((e) => {
      if (e.w === "boom") throw new Error("boom is not a word");
      return [e.w, e.n] as [string, number];
    });
    pairs.reduceByKey((a, b) => a + b).saveAsTextFiles("out/sum");
    input.count().saveAsTextFiles("out/count");
  },
);

const json = (w: string, n: number) => JSON.stringify({ w, n });
const SHARD = shardName(0);
const T0 = 1_700_000_000_000;

/** One batch: the good, the bad and the aggregated. What each record is expected to become is beside it. */
function batch() {
  const goodAggregate = aggregate([
    { partitionKey: "a", data: json("a", 1) }, // sub 0: good
    { partitionKey: "c", data: json("c", 3) }, // sub 1: good
    { partitionKey: "x", data: "{not json" }, // sub 2: dead (decoder)
    { partitionKey: "boom", data: json("boom", 1) }, // sub 3: dead (map)
    { partitionKey: "b", data: json("b", 1) }, // sub 4: good
  ]);
  const badMd5 = Buffer.from(aggregate([{ partitionKey: "a", data: json("a", 100) }]));
  badMd5[badMd5.length - 1]! ^= 0xff;
  const garbage = Buffer.concat([Buffer.from(KPL_MAGIC), Buffer.from("this is no protobuf and no md5 trailer either")]);
  const truncated = Buffer.concat([Buffer.from(KPL_MAGIC), Buffer.from([1, 2, 3])]);
  const oversize = JSON.stringify({ w: "a", n: 1000, pad: "x".repeat(MAX_BYTES) });
  const at = (i: number) => T0 + 100 + i;
  return shardRecords(0, SHARD, [
    { data: json("a", 1), arrival: at(0) }, // 0 good
    { base64: "%%% not base64 %%%", arrival: at(1) }, // 1 dead (decode)
    { data: json("b", 2), arrival: at(2) }, // 2 good
    { data: "{w: a", arrival: at(3) }, // 3 dead (decoder)
    { data: garbage, arrival: at(4) }, // 4 dead (deaggregate: checksum)
    { data: badMd5, arrival: at(5) }, // 5 dead (deaggregate: checksum)
    { data: goodAggregate, arrival: at(6) }, // 6 subs 0, 1, 4 good; 2, 3 dead
    { data: oversize, arrival: at(7) }, // 7 dead (over maxRecordBytes)
    { data: json("boom", 1), arrival: at(8) }, // 8 dead (map)
    { data: json("c", 1), arrival: at(9) }, // 9 good
    { data: truncated, arrival: at(10) }, // 10 dead (deaggregate: truncated)
  ]);
}

/** Dead letters by their id (`<seq>` or `<seq>-<sub>`, as the record's index in the batch): operator and error. */
const MAP = expect.stringMatching(/^map at bad-input\.test\.ts:\d+$/); // the operator and where the user wrote it
const EXPECTED_DEAD: Array<[id: string, operator: string | ReturnType<typeof expect.stringMatching>, error: RegExp]> = [
  ["1", "decode", /not valid base64/],
  ["3", "decoder", /JSON/],
  ["4", "deaggregate", /KplChecksumMismatch/],
  ["5", "deaggregate", /KplChecksumMismatch/],
  ["6-2", "decoder", /JSON/],
  ["6-3", MAP, /boom is not a word/],
  ["7", "decode", new RegExp(`over the limit of ${MAX_BYTES} bytes`)],
  ["8", MAP, /map at bad-input\.test\.ts:\d+: boom is not a word/],
  ["10", "deaggregate", /KplTruncated/],
];
const GOOD_USER_RECORDS = 6; // 0, 2, 6-0, 6-1, 6-4, 9
const TOTAL_USER_RECORDS = 15; // 11 Kinesis records, one of them an aggregate of 5

/** A runtime over memory stores; the stream holds `delivered` (all of the batch unless given). */
function setup(delivered?: (records: ReturnType<typeof batch>) => ReturnType<typeof batch>) {
  const records = batch();
  const store = new MemoryPipelineStore();
  const objects = new MemoryObjectStore();
  let now = T0 + 1_000;
  const logs: string[] = [];
  const runtime = new PipelineRuntime(pipeline, {
    store,
    objects,
    shards: new SimShards(new Map([[SHARD, delivered ? delivered(records) : records]]), [{ shardId: SHARD, closed: false }]),
    now: () => now,
    log: (t) => logs.push(t),
  });
  const finish = async () => {
    now = T0 + 10_000;
    await runtime.tick();
    return serverlessFiles(objects, pipeline.name, T0 + 10_000);
  };
  return { records, store, objects, logs, runtime, finish };
}

const idOf = (records: ReturnType<typeof batch>, key: string) => {
  const m = /\/(\d+)(?:-(\d+))?\.json$/.exec(key)!;
  const i = records.findIndex((r) => r.seq === m[1]);
  return m[2] === undefined ? String(i) : `${i}-${m[2]}`;
};

describe("bad input in a shard batch", () => {
  it("dead-letters exactly the bad records, with raw bytes, shard, sequence number, operator and error", async () => {
    const { records, objects, runtime, logs, finish } = setup();
    const result = await runtime.handleShardEvent(kinesisEvent(records), lambdaContext());
    expect(result.batchItemFailures).toEqual([]);
    expect(result.stage).toMatchObject({ processed: records.length, deadLetters: EXPECTED_DEAD.length, late: 0, committed: true });

    const dead = await jsonObjects<Record<string, unknown>>(objects, `dead-letter/${pipeline.name}/`);
    for (const key of dead.keys()) expect(key).toMatch(new RegExp(`^dead-letter/bad-input/${SHARD}/\\d+(-\\d+)?\\.json$`));
    const byId = new Map([...dead].map(([k, v]) => [idOf(records, k), v]));
    expect([...byId.keys()].sort()).toEqual(EXPECTED_DEAD.map(([id]) => id).sort());

    for (const [id, operator, error] of EXPECTED_DEAD) {
      const entry = byId.get(id)!;
      const [i, sub] = id.split("-").map(Number);
      const record = records[i!]!;
      expect(entry, id).toMatchObject({ shardId: SHARD, sequenceNumber: record.seq, operator });
      expect(entry.error, id).toMatch(error);
      expect(entry.subSequenceNumber, id).toBe(sub);
      if (sub === undefined) {
        // The record's own bytes, exactly as Kinesis gave them.
        expect(entry.data, id).toBe(record.data);
      } else {
        // A user record of an aggregate: its own bytes.
        const expected = ["", "", "{not json", json("boom", 1)][sub]!;
        expect(Buffer.from(entry.data as string, "base64").toString("utf8"), id).toBe(expected);
      }
    }

    // The EMF line is the metric, with the count of this invocation.
    const metrics = metricLines(logs);
    expect(metrics).toHaveLength(1);
    expect(metrics[0]).toMatchObject({ Pipeline: "bad-input", DeadLetterRecords: EXPECTED_DEAD.length, LateRecords: 0 });
    expect(metrics[0]!._aws.CloudWatchMetrics[0]!.Namespace).toBe("Sparkless");
    expect(metrics[0]!._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name)).toEqual(["DeadLetterRecords", "LateRecords"]);

    // Everything else is in the output, and good + dead = total.
    const files = await finish();
    const batchTime = Math.floor((T0 + 100) / B) * B + B;
    expect(files.get(`out/sum-${batchTime}`)!.split("\n").filter(Boolean).sort()).toEqual(["(a,2)", "(b,3)", "(c,4)"]);
    expect(files.get(`out/count-${batchTime}`)).toBe(`${GOOD_USER_RECORDS}\n`);
    expect(GOOD_USER_RECORDS + dead.size).toBe(TOTAL_USER_RECORDS);
  });

  it.each([
    ["a duplicate delivery after the commit", "none"],
    ["a retry after a crash before the commit", "before"],
    ["a retry after a crash after the commit (the write took effect, the caller never heard)", "after"],
  ] as const)("adds no dead letter and no output twice on %s", async (_name, crash) => {
    const { records, store, objects, runtime, finish } = setup();
    if (crash !== "none") store.failNext("commit", crash);
    const first = runtime.handleShardEvent(kinesisEvent(records), lambdaContext());
    if (crash === "none") await first;
    else await expect(first).rejects.toBeInstanceOf(SimulatedCrash);
    const deadAfterFirst = (await objects.list("dead-letter/")).length;
    expect(deadAfterFirst).toBe(EXPECTED_DEAD.length); // deterministic keys: written once per record, whatever the attempt

    const again = await runtime.handleShardEvent(kinesisEvent(records), lambdaContext());
    expect(again.stage.processed).toBe(crash === "before" ? records.length : 0);
    expect(again.stage.deadLetters).toBe(crash === "before" ? EXPECTED_DEAD.length : 0);
    expect((await objects.list("dead-letter/")).length).toBe(EXPECTED_DEAD.length);

    const files = await finish();
    const batchTime = Math.floor((T0 + 100) / B) * B + B;
    expect(files.get(`out/sum-${batchTime}`)!.split("\n").filter(Boolean).sort()).toEqual(["(a,2)", "(b,3)", "(c,4)"]);
    expect(files.get(`out/count-${batchTime}`)).toBe(`${GOOD_USER_RECORDS}\n`);
  });

  it("dead-letters a user record of an aggregate under <seq>-<sub> and keeps its siblings", async () => {
    const { records, objects, runtime, finish } = setup((all) => [all[6]!]);
    const aggregateOnly = [records[6]!];
    await runtime.handleShardEvent(kinesisEvent(aggregateOnly), lambdaContext());
    const keys = await objects.list("dead-letter/");
    expect(keys).toEqual([`dead-letter/bad-input/${SHARD}/${records[6]!.seq}-2.json`, `dead-letter/bad-input/${SHARD}/${records[6]!.seq}-3.json`]);
    const files = await finish();
    const batchTime = Math.floor((T0 + 106) / B) * B + B;
    expect(files.get(`out/sum-${batchTime}`)!.split("\n").filter(Boolean).sort()).toEqual(["(a,1)", "(b,1)", "(c,3)"]);
  });

  it("logs no metric line for a batch without bad records", async () => {
    const { records, runtime, logs } = setup((all) => [all[0]!, all[2]!]);
    await runtime.handleShardEvent(kinesisEvent([records[0]!, records[2]!]), lambdaContext());
    expect(metricLines(logs)).toEqual([]);
  });

  it("checks the MD5 trailer the KPL writes (this test's corrupt aggregate differs from a valid one only there)", () => {
    const body = aggregate([{ partitionKey: "a", data: "x" }]);
    const inner = body.subarray(KPL_MAGIC.length, body.length - 16);
    expect(createHash("md5").update(inner).digest().equals(body.subarray(body.length - 16))).toBe(true);
  });
});

describe("a KPL aggregate with no user records", () => {
  it("is dead-lettered with its bytes, not consumed uncounted", async () => {
    const body = new Uint8Array(0);
    const empty = Buffer.concat([Buffer.from(KPL_MAGIC), body, createHash("md5").update(body).digest()]);
    const records = shardRecords(0, SHARD, [
      { data: json("a", 1), arrival: T0 + 100 },
      { data: empty, arrival: T0 + 101 },
    ]);
    const { objects, runtime } = setup(() => records);
    const result = await runtime.handleShardEvent(kinesisEvent(records), lambdaContext());
    expect(result.stage).toMatchObject({ processed: 2, deadLetters: 1, committed: true });
    const dead = await jsonObjects<Record<string, unknown>>(objects, `dead-letter/${pipeline.name}/`);
    expect([...dead.keys()]).toEqual([`dead-letter/bad-input/${SHARD}/${records[1]!.seq}.json`]);
    expect([...dead.values()][0]).toMatchObject({
      shardId: SHARD,
      sequenceNumber: records[1]!.seq,
      operator: "deaggregate",
      error: expect.stringMatching(/KplEmpty.*no user records/),
      data: empty.toString("base64"),
    });
  });
});

/**
 * A user function whose output cannot be stored (a circular object) costs only its own record: it is
 * dead-lettered with the reason and the operator, the rest of the invocation commits. Map and Set survive the
 * trip through the stored parts as themselves, and Map keys group by value.
 */
describe("outputs that cannot be encoded", () => {
  type Shape = { w: string; n: number };
  const cyclic = () => {
    const o: Record<string, unknown> = { w: "cycle" };
    o.self = o;
    return o;
  };
  // Values are plain until "poison" meets an existing sum: then the user's reduce returns a circular object.
  const sumOrCycle = (a: unknown, b: unknown) => ((b as { poison?: boolean }).poison ? cyclic() : { n: (a as { n: number }).n + (b as { n: number }).n });
  const shaped = definePipeline<Shape>(
    "unencodable",
    { batchInterval: Seconds(1), decoder: (bytes) => JSON.parse(Buffer.from(bytes).toString("utf8")) as Shape },
    (input) => {
      input
        .map((e) => (e.w === "cycle" ? cyclic() : e.w === "tags" ? new Map([["n", e.n]]) : e.w === "set" ? new Set([e.n, e.n + 1]) : e.w))
        .saveAsTextFiles("out/raw");
      input
        .map((e) => [e.w === "cycle-key" ? cyclic() : new Map([["w", e.w.replace("-again", "")]]), e.w === "poison" ? { n: 0, poison: true } : { n: e.n }] as [unknown, unknown])
        .reduceByKey(sumOrCycle)
        .map(([k, v]) => `${(k as Map<string, string>).get("w")}=${(v as { n: number }).n}`)
        .saveAsTextFiles("out/sum");
    },
  );

  async function run(items: Shape[]) {
    const records = shardRecords(0, SHARD, items.map((e, i) => ({ data: JSON.stringify(e), arrival: T0 + 100 + i })));
    const store = new MemoryPipelineStore();
    const objects = new MemoryObjectStore();
    let now = T0 + 1_000;
    const runtime = new PipelineRuntime(shaped, {
      store,
      objects,
      shards: new SimShards(new Map([[SHARD, records]]), [{ shardId: SHARD, closed: false }]),
      now: () => now,
      log: () => undefined,
    });
    const result = await runtime.handleShardEvent(kinesisEvent(records), lambdaContext());
    now = T0 + 10_000;
    await runtime.tick();
    const files = await serverlessFiles(objects, shaped.name, T0 + 10_000);
    const dead = await jsonObjects<Record<string, unknown>>(objects, `dead-letter/${shaped.name}/`);
    const batchTime = Math.floor((T0 + 100) / B) * B + B;
    const lines = (name: string) => (files.get(`out/${name}-${batchTime}`) ?? "").split("\n").filter(Boolean).sort();
    return { records, result, dead, lines };
  }

  it("dead-letters the record whose output is circular, with its operator and reason, and commits the rest", async () => {
    const { records, result, dead, lines } = await run([
      { w: "a", n: 1 },
      { w: "cycle", n: 2 }, // the first map's output is circular
      { w: "a-again", n: 3 },
      { w: "cycle-key", n: 4 }, // the pair's key is circular
    ]);
    expect(result.batchItemFailures).toEqual([]);
    expect(result.stage).toMatchObject({ processed: 4, deadLetters: 2, committed: true });
    const byKey = new Map([...dead].map(([k, v]) => [k.slice(k.lastIndexOf("/") + 1), v]));
    expect([...byKey.keys()].sort()).toEqual([`${records[1]!.seq}.json`, `${records[3]!.seq}.json`].sort());
    expect(byKey.get(`${records[1]!.seq}.json`)).toMatchObject({
      shardId: SHARD,
      sequenceNumber: records[1]!.seq,
      operator: expect.stringMatching(/^map at bad-input\.test\.ts:\d+$/),
      error: expect.stringMatching(/cannot be stored.*circular/),
      data: records[1]!.data,
    });
    expect(byKey.get(`${records[3]!.seq}.json`)).toMatchObject({ operator: expect.stringMatching(/^reduceByKey at bad-input\.test\.ts:\d+$/), error: expect.stringMatching(/circular/) });
    // A dead record leaves no trace in any output, not even where its output could be stored (as when a user
    // function throws): the cycle-key record's raw output is gone too.
    expect(lines("raw")).toEqual(["a", "a-again"]);
    expect(lines("sum")).toEqual(["a=4"]);
  });

  it("dead-letters a record whose merge makes the combiner circular, and keeps the combiner as it was before", async () => {
    const { records, dead, lines } = await run([
      { w: "a", n: 1 },
      { w: "poison", n: 0 }, // a fresh key: its combiner is the plain value
      { w: "a-again", n: 2 },
      { w: "poison", n: 0 }, // merged into "poison": the user's reduce returns a circular object
      { w: "poison", n: 0 }, // and again
    ]);
    expect([...dead.keys()].map((k) => k.slice(k.lastIndexOf("/") + 1)).sort()).toEqual([`${records[3]!.seq}.json`, `${records[4]!.seq}.json`].sort());
    expect(lines("sum")).toEqual(["a=3", "poison=0"]);
  });

  it("stores Map and Set outputs as themselves, and groups Map keys by value whatever their entry order", async () => {
    const { result, dead, lines } = await run([
      { w: "tags", n: 7 },
      { w: "set", n: 1 },
      { w: "a", n: 1 },
      { w: "a-again", n: 2 },
    ]);
    expect(result.stage).toMatchObject({ deadLetters: 0, committed: true });
    expect(dead.size).toBe(0);
    expect(lines("raw")).toEqual(["Map(n -> 7)", "Set(1, 2)", "a", "a-again"]);
    expect(lines("sum")).toEqual(["a=3", "set=1", "tags=7"]);
  });
});

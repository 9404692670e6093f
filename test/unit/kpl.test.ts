import { createHash } from "node:crypto";
import agg from "aws-kinesis-agg";
import { describe, expect, it } from "vitest";
import { deaggregate, isKplAggregated, KPL_MAGIC, type KplResult } from "../../lib/io/kinesis/kpl.js";

// The package exports RecordAggregator (its producer-side aggregator) but its typings do not declare it.
const { RecordAggregator } = agg as unknown as {
  RecordAggregator: new () => {
    addUserRecord(r: { partitionKey: string; data: Buffer; explicitHashKey?: string }): void;
    build(): { partitionKey: string; data: Buffer };
  };
};

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");

/** Aggregates with the package's own producer-side aggregator (the format the KPL writes). */
function aggregate(records: { partitionKey: string; data: string; explicitHashKey?: string }[]): Uint8Array {
  const aggregator = new RecordAggregator();
  for (const r of records) aggregator.addUserRecord({ ...r, data: Buffer.from(r.data) });
  return new Uint8Array(aggregator.build().data);
}

/** Frames a hand-built protobuf body as the KPL does: magic, body, MD5(body). */
function frame(body: Uint8Array): Uint8Array {
  return new Uint8Array(Buffer.concat([KPL_MAGIC, body, createHash("md5").update(body).digest()]));
}

function failure(r: KplResult) {
  if (r.ok) throw new Error("expected a failure value");
  return r;
}

describe("KPL de-aggregation", () => {
  it("returns every user record of an aggregate with its partition key and sub-sequence index", () => {
    const bytes = aggregate([
      { partitionKey: "k1", data: "héllo" },
      { partitionKey: "k2", data: "world" },
      { partitionKey: "k1", data: "" },
    ]);
    expect(isKplAggregated(bytes)).toBe(true);
    const r = deaggregate(bytes, "outer-key");
    expect(r.ok && r.aggregated).toBe(true);
    if (!r.ok) return;
    expect(r.records.map((u) => [text(u.data), u.partitionKey, u.subSequenceNumber, u.explicitHashKey])).toEqual([
      ["héllo", "k1", 0, undefined],
      ["world", "k2", 1, undefined],
      ["", "k1", 2, undefined],
    ]);
  });

  it("gives the explicit hash key only to the user records that have one", () => {
    const bytes = aggregate([
      { partitionKey: "k1", data: "a", explicitHashKey: "123" },
      { partitionKey: "k2", data: "b" },
    ]);
    const r = deaggregate(bytes, "k1");
    expect(r.ok && r.records.map((u) => u.explicitHashKey)).toEqual(["123", undefined]);
  });

  it("decodes a hand-built protobuf aggregate (independent of the package's aggregator)", () => {
    // AggregatedRecord { partition_key_table: ["p"], records: [{ partition_key_index: 0, data: "x" }, { 0, "yz" }] }
    const body = Uint8Array.of(
      0x0a, 0x01, 0x70, // field 1 (partition_key_table), "p"
      0x1a, 0x05, 0x08, 0x00, 0x1a, 0x01, 0x78, // field 3 (records): { 1: 0, 3: "x" }
      0x1a, 0x06, 0x08, 0x00, 0x1a, 0x02, 0x79, 0x7a, // field 3 (records): { 1: 0, 3: "yz" }
    );
    const r = deaggregate(frame(body), "outer");
    expect(r.ok && r.records.map((u) => [text(u.data), u.partitionKey, u.subSequenceNumber])).toEqual([
      ["x", "p", 0],
      ["yz", "p", 1],
    ]);
  });

  it("passes non-aggregated data through as sub-record 0 with the Kinesis record's keys", () => {
    const data = new TextEncoder().encode("plain record");
    const r = deaggregate(data, "pk", "42");
    expect(r).toEqual({ ok: true, aggregated: false, records: [{ data, partitionKey: "pk", explicitHashKey: "42", subSequenceNumber: 0 }] });
    expect(deaggregate(new Uint8Array(0), "pk")).toMatchObject({ ok: true, aggregated: false, records: [{ subSequenceNumber: 0 }] });
    expect(isKplAggregated(Uint8Array.of(0xf3, 0x89, 0x9a))).toBe(false);
  });

  it("fails if the aggregate is shorter than its magic number and MD5 trailer", () => {
    const f = failure(deaggregate(Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2, 1, 2, 3), "k"));
    expect(f.code).toBe("KplTruncated");
    expect(f.reason).toBe("KPL aggregate of 7 bytes is shorter than its magic number and MD5 trailer (20 bytes)");
  });

  it("fails if the MD5 trailer does not match (a truncated or flipped aggregate)", () => {
    const bytes = aggregate([{ partitionKey: "k", data: "hello" }, { partitionKey: "k", data: "world" }]);
    const flipped = bytes.slice();
    flipped[10] = flipped[10]! ^ 0xff;
    const f = failure(deaggregate(flipped, "k"));
    expect(f.code).toBe("KplChecksumMismatch");
    expect(f.reason).toMatch(/^KPL aggregate MD5 trailer [0-9a-f]{32} does not match its content \([0-9a-f]{32}\): the record is truncated or corrupt$/);
    expect(failure(deaggregate(bytes.subarray(0, bytes.length - 3), "k")).code).toBe("KplChecksumMismatch");
  });

  it("fails if the checksum is right but the protobuf is not", () => {
    // A record whose length prefix runs past the end of the body.
    const f = failure(deaggregate(frame(Uint8Array.of(0x1a, 0x05, 0x08)), "k"));
    expect(f.code).toBe("KplMalformed");
    expect(f.reason).toMatch(/^KPL aggregate has a valid checksum but its protobuf body cannot be decoded: index out of range/);
    // A record without its required data field.
    expect(failure(deaggregate(frame(Uint8Array.of(0x1a, 0x02, 0x08, 0x00)), "k")).reason).toMatch(/missing required 'data'/);
  });

  it("fails if a user record points outside the partition key table", () => {
    const body = Uint8Array.of(0x0a, 0x01, 0x70, 0x1a, 0x05, 0x08, 0x03, 0x1a, 0x01, 0x78); // index 3 of a 1-key table
    const f = failure(deaggregate(frame(body), "k"));
    expect(f).toEqual({ ok: false, code: "KplMalformed", reason: "KPL aggregate user record 0 points outside the partition key table" });
  });

  it("fails if the aggregate has a valid checksum but no user records (it would vanish uncounted otherwise)", () => {
    const onlyKeys = frame(Uint8Array.of(0x0a, 0x01, 0x70)); // a partition key table and no records
    expect(failure(deaggregate(frame(new Uint8Array(0)), "k"))).toEqual({
      ok: false,
      code: "KplEmpty",
      reason: "KPL aggregate has a valid checksum but holds no user records",
    });
    expect(failure(deaggregate(onlyKeys, "k")).code).toBe("KplEmpty");
  });
});

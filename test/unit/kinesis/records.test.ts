import { describe, expect, it } from "vitest";
import { backoffMs, classifyKinesisError } from "../../../lib/io/kinesis/backoff.js";
import { deadLetterKey, toSourceDeadLetter } from "../../../lib/io/kinesis/dead-letter.js";
import { arrivalMs, decodeBase64, kinesisLogBatch, utf8Text } from "../../../lib/io/kinesis/records.js";
import { KPL_MAGIC } from "../../../lib/io/kinesis/kpl.js";

const record = (seq: string, data: string, seconds: number) => ({
  kinesis: { partitionKey: "pk", sequenceNumber: seq, data, approximateArrivalTimestamp: seconds },
  eventID: `shardId-000000000003:${seq}`,
});

describe("Kinesis record decoding", () => {
  it("turns a Lambda event's records into one partition's batch: offsets, keys, arrival in epoch ms", () => {
    const batch = kinesisLogBatch([record("49590338271490256608559692538361571095921575989136588898", "YQ==", 1545084650.987)]);
    expect(batch.shardId).toBe("shardId-000000000003");
    expect(batch.records).toEqual([{ offset: "49590338271490256608559692538361571095921575989136588898", key: "pk", arrivalTime: 1545084650987, data: "YQ==" }]);
    expect(batch.packed(Buffer.from(KPL_MAGIC))).toBe(true);
    expect(batch.packed(Buffer.from("a"))).toBe(false);
    expect(arrivalMs(1.0005)).toBe(1001);
  });

  it.each([
    ["valid base64", "aGk=", "hi"],
    ["valid, no padding", "aGlp", "hii"],
    ["a bad character", "aG!p", undefined],
    ["a length that is not a multiple of 4", "aGk", undefined],
    ["padding in the middle", "a=k=", undefined],
  ])("reads %s", (_name, text, expected) => {
    const bytes = decodeBase64(text);
    expect(bytes === undefined ? undefined : bytes.toString("utf8")).toBe(expected);
  });

  it("decodes UTF-8 by default and refuses bytes that are not UTF-8 with one message on both paths", () => {
    expect(utf8Text(Buffer.from("héllo"))).toBe("héllo");
    expect(() => utf8Text(Uint8Array.of(0xc3, 0x28))).toThrow("the record is not valid UTF-8 text");
  });
});

describe("dead-letter entries", () => {
  const entry = { shardId: "shardId-0", sequenceNumber: "42", partitionKey: "k", arrivalTime: 5, operator: "decoder", error: "bad", data: "eA==" };

  it("are named by sequence number and sub-record, the same on every attempt", () => {
    expect(deadLetterKey("dead-letter/p/", entry)).toBe("dead-letter/p/shardId-0/42.json");
    expect(deadLetterKey("dead-letter/p/", { ...entry, subSequenceNumber: 3 })).toBe("dead-letter/p/shardId-0/42-3.json");
  });

  it("become a local context's entry with the shard and sequence number as position", () => {
    expect(toSourceDeadLetter(entry, "kinesis s")).toEqual({ source: "kinesis s", position: { shardId: "shardId-0", sequenceNumber: "42" }, reason: "bad", raw: "eA==" });
    expect(toSourceDeadLetter({ ...entry, subSequenceNumber: 0 }, "kinesis s").position).toEqual({ shardId: "shardId-0", sequenceNumber: "42", subSequenceNumber: 0 });
  });
});

describe("reading with backoff", () => {
  const named = (name: string) => Object.assign(new Error(name), { name });
  it.each([
    ["ProvisionedThroughputExceededException", "throttled"],
    ["LimitExceededException", "throttled"],
    ["ExpiredIteratorException", "expired-iterator"],
    ["ResourceNotFoundException", "not-found"],
    ["AccessDeniedException", "fatal"],
    ["InternalFailure", "retry"],
  ])("judges %s as %s", (name, kind) => {
    expect(classifyKinesisError(named(name))).toBe(kind);
  });

  it("backs off exponentially with jitter, capped", () => {
    for (let failures = 0; failures < 30; failures++) {
      const full = Math.min(10_000, 100 * 2 ** failures);
      const ms = backoffMs(failures, 10_000);
      expect(ms).toBeGreaterThanOrEqual(full / 2);
      expect(ms).toBeLessThanOrEqual(full);
    }
  });
});

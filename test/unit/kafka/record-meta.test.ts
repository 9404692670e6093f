/**
 * What a decoder or timestamp extractor sees of a Kafka record on the serverless path (lib/serverless's
 * recordMeta): the shard-like fields at once, the Kafka part built on first read and then kept, and JSON (a
 * user's log line, a late record's file) showing all of it.
 */
import { describe, expect, it } from "vitest";
import { kafkaLogBatches } from "../../../lib/io/kafka/lambda-event.js";
import { recordMeta } from "../../../lib/serverless/shard-ingest.js";

const b64 = (text: string) => Buffer.from(text).toString("base64");

describe("a Kafka record's meta", () => {
  const [log] = kafkaLogBatches({
    eventSource: "aws:kafka",
    records: { "clicks-3": [{ topic: "clicks", partition: 3, offset: 7, timestamp: 1_000, timestampType: "CREATE_TIME", key: b64("k"), value: b64("v"), headers: [{ h: [1, 2] }] }] },
  });
  const record = log!.records[0]!;

  it("has the shard-like fields and the Kafka part, built once", () => {
    const meta = recordMeta(log!.shardId, record, record.key, undefined);
    expect({ ...meta }).toEqual({ shardId: "clicks-3", sequenceNumber: "7", partitionKey: b64("k"), arrivalTime: 1_000 });
    expect(meta.kafka).toEqual({ topic: "clicks", partition: 3, offset: "7", timestamp: 1_000, timestampType: "CREATE_TIME", key: new Uint8Array(Buffer.from("k")), headers: [{ key: "h", value: Uint8Array.from([1, 2]) }] });
    expect(meta.kafka).toBe(meta.kafka);
  });

  it("shows the Kafka part in JSON", () => {
    const meta = recordMeta(log!.shardId, record, record.key, undefined);
    expect(JSON.parse(JSON.stringify(meta))).toMatchObject({ shardId: "clicks-3", sequenceNumber: "7", kafka: { topic: "clicks", partition: 3, offset: "7" } });
  });
});

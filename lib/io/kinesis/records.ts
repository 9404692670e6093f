import type { LogBatch, LogRecord } from "../ordered-log.js";
import { deaggregate, isKplAggregated } from "./kpl.js";

/**
 * Turning what Kinesis hands over into bytes, user records and times — the same steps for the local source
 * (SDK records: bytes and Dates) and the shard stage (Lambda events: base64 and epoch seconds).
 */

/** A Lambda Kinesis event record's fields that matter here (lib/ declares no `aws-lambda` types). */
export interface LambdaKinesisRecord {
  readonly kinesis: {
    readonly partitionKey: string;
    readonly sequenceNumber: string;
    /** Base64 of the record's bytes (maybe a KPL aggregate: Lambda does not split them). */
    readonly data: string;
    /** Epoch SECONDS, with a fraction. */
    readonly approximateArrivalTimestamp: number;
  };
  /** `shardId-000000000000:49590338271490256608559692538361571095921575989136588898` */
  readonly eventID: string;
}

/** The shard a Lambda event record comes from (every record of one invocation shares it). */
export function shardIdOf(record: LambdaKinesisRecord): string {
  const i = record.eventID.indexOf(":");
  return i > 0 ? record.eventID.slice(0, i) : record.eventID;
}

/** Lambda's `approximateArrivalTimestamp` (epoch seconds, a float) as epoch milliseconds. */
export function arrivalMs(approximateArrivalTimestamp: number): number {
  return Math.round(approximateArrivalTimestamp * 1000);
}

/** A Lambda Kinesis event's records as one batch of a partition of an ordered log. */
export function kinesisLogBatch(records: readonly LambdaKinesisRecord[]): LogBatch {
  const out: LogRecord[] = new Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const k = records[i]!.kinesis;
    out[i] = { offset: k.sequenceNumber, key: k.partitionKey, arrivalTime: arrivalMs(k.approximateArrivalTimestamp), data: k.data };
  }
  return { shardId: records.length > 0 ? shardIdOf(records[0]!) : "", records: out, unpack: deaggregate, packed: isKplAggregated };
}

/** The record's bytes, or undefined when the text is not base64 (Buffer.from skips bad characters: compare lengths). */
export function decodeBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, "base64");
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  return bytes.length === (text.length / 4) * 3 - padding ? bytes : undefined;
}

export function base64Of(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** The default decoder of both paths: the bytes as UTF-8 text; bytes that are not UTF-8 throw (and are dead-lettered). */
export function utf8Text(bytes: Uint8Array): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new Error("the record is not valid UTF-8 text");
  }
}

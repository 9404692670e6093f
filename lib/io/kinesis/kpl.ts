import { createHash } from "node:crypto";
// @ts-expect-error the package ships no types for its protobuf model
import aggCommon from "aws-kinesis-agg/lib/common.js";

/**
 * KPL de-aggregation: one Kinesis record written by the Kinesis Producer Library (or any aggregator that
 * follows its format) carries many user records. The format
 * (https://github.com/awslabs/amazon-kinesis-producer/blob/master/aggregation-format.md) is
 *
 * ```
 * F3 89 9A C2 | protobuf AggregatedRecord | MD5(protobuf) (16 bytes)
 * ```
 *
 * Pure functions, shared (through ./records.ts) by the local Kinesis source and the Lambda shard handler. They never throw for bad
 * input: a broken aggregate comes back as a {@link KplFailure} value so that the caller can dead-letter the
 * raw bytes and carry on with the rest of its batch.
 */

// The protobuf model of aws-kinesis-agg (its lib/common.js; protobufjs over the KPL's kpl.proto). Its public
// deaggregate/deaggregateSync are not used: they take and give base64 strings (a round trip per record) and
// they give a user record without an explicit hash key the first key of the table (they read the optional
// index through its default of 0).
interface AggregatedRecord {
  partition_key_table: string[];
  explicit_hash_key_table: string[];
  records: { partition_key_index: Uint64; explicit_hash_key_index?: Uint64; data: Uint8Array }[];
}
/** protobufjs gives a uint64 as a `Long` when the `long` package is installed, else as a number. */
type Uint64 = number | { toNumber(): number };
// A static import, not createRequire: esbuild follows it into the Lambda bundle (a computed require is left
// out, and the asset has no node_modules to find it in).
const AggregatedRecordType = (aggCommon as { AggregatedRecord: { decode(bytes: Uint8Array): AggregatedRecord } }).AggregatedRecord;

function index(v: Uint64): number {
  return typeof v === "number" ? v : v.toNumber();
}

/** The 4 bytes that open every KPL-aggregated record. */
export const KPL_MAGIC: Uint8Array = Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2);
const DIGEST_BYTES = 16;

/** One user record taken out of a Kinesis record. */
export interface KplUserRecord {
  readonly data: Uint8Array;
  /** The user record's own partition key (for a plain record, the Kinesis record's). */
  readonly partitionKey: string;
  /** Present only when the producer set one. */
  readonly explicitHashKey?: string;
  /**
   * Index of the user record inside its Kinesis record, 0-based (the KCL's `subSequenceNumber`). A plain,
   * non-aggregated record is sub-record 0.
   */
  readonly subSequenceNumber: number;
}

export interface KplSuccess {
  readonly ok: true;
  /** Whether the input was a KPL aggregate (false: it was passed through as one record). */
  readonly aggregated: boolean;
  readonly records: readonly KplUserRecord[];
}

export interface KplFailure {
  readonly ok: false;
  /** Stable name of what is wrong: `KplTruncated`, `KplChecksumMismatch`, `KplMalformed`, `KplEmpty`. */
  readonly code: "KplTruncated" | "KplChecksumMismatch" | "KplMalformed" | "KplEmpty";
  /** A sentence for a dead-letter entry or a log line. */
  readonly reason: string;
}

export type KplResult = KplSuccess | KplFailure;

/** Whether `data` starts with the KPL magic bytes `F3 89 9A C2`. */
export function isKplAggregated(data: Uint8Array): boolean {
  return data.length >= KPL_MAGIC.length && KPL_MAGIC.every((b, i) => data[i] === b);
}

/**
 * Splits one Kinesis record into its user records.
 *
 * - Data without the magic bytes passes through as one record (sub-sequence 0) with the given partition key.
 * - An aggregate is checked (length, MD5 trailer, protobuf framing, partition-key indexes) and decoded with
 *   the protobuf model of `aws-kinesis-agg`; any fault is a {@link KplFailure}, never a throw.
 *
 * Differences from the KCL: the Java KCL silently treats an aggregate whose MD5 does not match as one opaque
 * record, and silently drops an aggregate with no user records; here both are failures, so the bytes are
 * dead-lettered instead of reaching a decoder as garbage or vanishing uncounted.
 *
 * @example
 * const r = deaggregate(record.Data, record.PartitionKey);
 * if (!r.ok) deadLetter({ source: "kinesis", position: seq, reason: r.reason, raw: base64(record.Data) });
 * else for (const u of r.records) emit(decode(u.data));
 */
export function deaggregate(data: Uint8Array, partitionKey: string, explicitHashKey?: string): KplResult {
  if (!isKplAggregated(data)) {
    const record: KplUserRecord = { data, partitionKey, subSequenceNumber: 0, ...(explicitHashKey ? { explicitHashKey } : {}) };
    return { ok: true, aggregated: false, records: [record] };
  }
  if (data.length < KPL_MAGIC.length + DIGEST_BYTES) {
    return fail("KplTruncated", `KPL aggregate of ${data.length} bytes is shorter than its magic number and MD5 trailer (20 bytes)`);
  }
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const body = bytes.subarray(KPL_MAGIC.length, bytes.length - DIGEST_BYTES);
  const trailer = bytes.subarray(bytes.length - DIGEST_BYTES);
  const digest = createHash("md5").update(body).digest();
  if (!digest.equals(trailer)) {
    return fail(
      "KplChecksumMismatch",
      `KPL aggregate MD5 trailer ${trailer.toString("hex")} does not match its content (${digest.toString("hex")}): the record is truncated or corrupt`,
    );
  }

  let message: AggregatedRecord;
  try {
    message = AggregatedRecordType.decode(body);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return fail("KplMalformed", `KPL aggregate has a valid checksum but its protobuf body cannot be decoded: ${why}`);
  }

  if (message.records.length === 0) {
    // Valid framing and digest, nothing inside: no producer writes this on purpose, and a record that turns
    // into nothing would be neither counted nor dead-lettered.
    return fail("KplEmpty", "KPL aggregate has a valid checksum but holds no user records");
  }
  const records: KplUserRecord[] = [];
  for (const [i, r] of message.records.entries()) {
    const pk = message.partition_key_table[index(r.partition_key_index)];
    if (pk === undefined) {
      return fail("KplMalformed", `KPL aggregate user record ${i} points outside the partition key table`);
    }
    // An optional field that is absent reads as 0 through the prototype: only an own property is set.
    const ehk = Object.hasOwn(r, "explicit_hash_key_index")
      ? message.explicit_hash_key_table[index(r.explicit_hash_key_index!)]
      : undefined;
    records.push({
      data: new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength),
      partitionKey: pk,
      subSequenceNumber: i,
      ...(ehk !== undefined ? { explicitHashKey: ehk } : {}),
    });
  }
  return { ok: true, aggregated: true, records };
}

function fail(code: KplFailure["code"], reason: string): KplFailure {
  return { ok: false, code, reason };
}

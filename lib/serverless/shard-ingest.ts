import { UserFunctionError } from "../core/errors.js";
import { kafkaDeadLetterFields, type KafkaRecordMeta } from "../io/kafka/record-meta.js";
import { deadLetterKey, type RecordDeadLetter, recordId } from "../io/kinesis/dead-letter.js";
import { base64Of, decodeBase64, utf8Text } from "../io/kinesis/records.js";
import type { LogBatch, LogRecord } from "../io/ordered-log.js";
import type { PipelineStatus } from "../pipeline-store/pipeline-store.js";
import type { Pipeline, RecordMeta } from "../api/define-pipeline.js";
import type { InvocationContextLike } from "./kinesis-event.js";
import type { Plan } from "../graph/stage-split.js";
import { PREFIXES } from "./runtime-deps.js";
import { Folds, recordPipeline } from "./shard-folds.js";

/**
 * The shard stage's ingest (docs/architecture.md "Stages"): one partition's records after the committed offset,
 * through decode, time and the narrow chains, into folds. The same for a Kinesis shard and a Kafka
 * topic-partition: the log batch says how a record's bytes split into user records (KPL) and what metadata a
 * decoder sees. Bad records become dead letters here, as values; nothing is written.
 */

/** Stop taking new records when less than this is left of the invocation, to commit in time. */
export const DEADLINE_MARGIN_MS = 5_000;

/** What ingesting one invocation's records gave: the folds to write, and what else was seen. */
export interface Ingested {
  readonly folds: Folds;
  /** Dead letters and late records, written beside the parts. */
  readonly objects: Array<{ key: string; body: string }>;
  readonly processed: number;
  readonly deadLetters: number;
  readonly late: number;
  readonly watermark: number;
  /** The last record taken (undefined: none was past the committed offset). */
  readonly lastSeq: string | undefined;
  /** The first record left for the next invocation (the deadline came). */
  readonly stopAt: string | undefined;
}

/** The metadata a decoder and a timestamp extractor see for a (user) record. */
export function recordMeta(shardId: string, r: LogRecord, partitionKey: string, subNo: number | undefined): RecordMeta {
  if (r.kafkaMeta) return new KafkaLogRecordMeta(shardId, r, partitionKey);
  const base = { shardId, sequenceNumber: r.offset, partitionKey, arrivalTime: r.arrivalTime };
  return subNo === undefined ? base : { ...base, subSequenceNumber: subNo };
}

/**
 * A Kafka record's meta, its `kafka` part built when the decoder or extractor reads it: most read only the value,
 * and headers and key bytes cost. A class with the getter on its prototype, not an object literal with a getter:
 * V8 builds such a literal on a slow path, which cost the shard stage ~2 µs a record (bench kafka-shard). The
 * getter is not an own property, so `toJSON` keeps it in what JSON shows.
 */
class KafkaLogRecordMeta implements RecordMeta {
  readonly sequenceNumber: string;
  readonly arrivalTime: number;
  #record: LogRecord;
  #kafka: KafkaRecordMeta | undefined;

  constructor(
    readonly shardId: string,
    record: LogRecord,
    readonly partitionKey: string,
  ) {
    this.sequenceNumber = record.offset;
    this.arrivalTime = record.arrivalTime;
    this.#record = record;
  }

  get kafka(): KafkaRecordMeta {
    return (this.#kafka ??= this.#record.kafkaMeta!());
  }

  toJSON(): RecordMeta {
    return { shardId: this.shardId, sequenceNumber: this.sequenceNumber, partitionKey: this.partitionKey, arrivalTime: this.arrivalTime, kafka: this.kafka };
  }
}

/**
 * Runs the records after the committed offset through decode, time and the narrow chains into folds.
 * `checked`, given after a part failed to encode, replays the same records (to the first pass's `stopAt`, or
 * earlier if the deadline comes first: the replay costs time too, and what it leaves is delivered again) and
 * checks each record's output as it is folded: a record whose output cannot be encoded is dead-lettered and
 * leaves no trace in the folds.
 */
export function ingest<T>(
  pipeline: Pipeline<T>,
  plan: Plan,
  status: PipelineStatus,
  log: LogBatch,
  expected: { readonly seq: string | undefined; readonly watermark: number },
  context: InvocationContextLike,
  checked: { readonly stopAt: string | undefined } | undefined,
): Ingested {
  const shardId = log.shardId;
  const committedSeq = expected.seq === undefined ? undefined : BigInt(expected.seq);
  const props = pipeline.props;
  const batch = props.batchInterval.milliseconds;
  const lateness = props.allowedLateness?.milliseconds ?? 0;
  const maxBytes = props.maxRecordBytes ?? 1024 * 1024;
  const decode = props.decoder ?? (utf8Text as unknown as (bytes: Uint8Array, meta: RecordMeta) => T);
  const eventTime = props.timestampExtractor;

  const emitted = recordPipeline(plan);
  const folds = new Folds(plan.boundaries, pipeline.partitions);
  const objects: Array<{ key: string; body: string }> = [];
  const deadLetterPrefix = `${PREFIXES.deadLetter}${pipeline.name}/`;
  let deadLetters = 0;
  let late = 0;
  let processed = 0;
  let watermark = expected.watermark;
  let lastSeq: string | undefined;
  let stopAt: string | undefined;
  // Only a user's decoder or extractor reads a record's metadata: don't build it per record otherwise.
  const needMeta = props.decoder !== undefined || eventTime !== undefined;

  const deadLetter = (r: LogRecord, error: string, data: string, operator: string | undefined, sub?: number) => {
    deadLetters++;
    const entry: RecordDeadLetter & { kafka?: ReturnType<typeof kafkaDeadLetterFields> } = {
      shardId,
      sequenceNumber: r.offset,
      subSequenceNumber: sub,
      partitionKey: r.key,
      arrivalTime: r.arrivalTime,
      operator,
      error,
      data,
      // A Kafka record's dead letter says where it was (topic, partition, offset) and keeps its key and headers.
      ...(r.kafkaMeta ? { kafka: kafkaDeadLetterFields(r.kafkaMeta()) } : {}),
    };
    objects.push({ key: deadLetterKey(deadLetterPrefix, entry), body: JSON.stringify(entry) });
  };

  // One user record (a log record, or one record of a KPL aggregate) through decode, time and the chains.
  const processUserRecord = (r: LogRecord, data: Uint8Array, partitionKey: string, subNo: number | undefined) => {
    if (data.length > maxBytes) {
      deadLetter(r, `record of ${data.length} bytes is over the limit of ${maxBytes} bytes`, base64Of(data), "decode", subNo);
      return;
    }
    const arrival = r.arrivalTime;
    const meta: RecordMeta = needMeta ? recordMeta(shardId, r, partitionKey, subNo) : NO_META;
    let value: T;
    let time = arrival;
    try {
      value = decode(data, meta);
      if (eventTime) time = eventTime(value, meta);
    } catch (e) {
      deadLetter(r, errorText(e), base64Of(data), eventTime ? "decoder or timestampExtractor" : "decoder", subNo);
      return;
    }
    if (!Number.isFinite(time)) {
      deadLetter(r, `timestampExtractor returned ${String(time)}, not epoch milliseconds`, base64Of(data), "timestampExtractor", subNo);
      return;
    }
    let batchTime = Math.floor(time / batch) * batch + batch;
    const open = Math.max(Math.floor(watermark / batch) * batch + batch, status.lastFinalized + batch, status.zeroTime + batch);
    if (batchTime < open) {
      if (eventTime) {
        // Older than this shard's watermark or a finalized batch: late, kept aside with its reason.
        late++;
        objects.push({
          key: `${PREFIXES.late}${pipeline.name}/${shardId}/${recordId(r.offset, subNo)}.json`,
          body: JSON.stringify({ shardId: meta.shardId, sequenceNumber: meta.sequenceNumber, partitionKey: meta.partitionKey, arrivalTime: meta.arrivalTime, subSequenceNumber: meta.subSequenceNumber, ...(meta.kafka ? { kafka: kafkaDeadLetterFields(meta.kafka) } : {}), eventTime: time, batchTime, openFrom: open, reason: `event time ${time} belongs to batch ${batchTime}, which this shard's watermark (${watermark}) or the finalizer has passed`, data: base64Of(data) }),
        });
        return;
      }
      // Arrival time: never late — the record joins the first open batch, as Spark puts it in the batch
      // during which it was received.
      batchTime = open;
    }
    emitted.count = 0;
    try {
      emitted.push(value);
    } catch (e) {
      deadLetter(r, errorText(e), base64Of(data), e instanceof UserFunctionError ? e.operator : undefined, subNo);
      return;
    }
    if (checked) {
      const refused = folds.addChecked(emitted, batchTime, r.offset);
      if (refused) {
        deadLetter(r, refused.reason, base64Of(data), refused.operator, subNo);
        return;
      }
    } else {
      for (let i = 0; i < emitted.count; i++) folds.add(emitted.boundary[i]!, batchTime, emitted.value[i], r.offset);
    }
    watermark = Math.max(watermark, eventTime ? time - lateness : time);
  };

  // A partition's records come in offset order: once one is past the committed offset, all are.
  const records = log.records;
  let pastCommitted = committedSeq === undefined;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (!pastCommitted) {
      if (BigInt(r.offset) <= committedSeq!) continue;
      pastCommitted = true;
    }
    if ((checked && r.offset === checked.stopAt) || (processed > 0 && context.getRemainingTimeInMillis() < DEADLINE_MARGIN_MS)) {
      stopAt = r.offset;
      break;
    }
    processed++;
    lastSeq = r.offset;

    const bytes = decodeBase64(r.data);
    if (!bytes) {
      deadLetter(r, "record data is not valid base64", r.data, "decode");
      continue;
    }
    if (!log.packed(bytes)) {
      processUserRecord(r, bytes, r.key, undefined);
      continue;
    }
    const unpacked = log.unpack(bytes, r.key);
    if (!unpacked.ok) {
      deadLetter(r, `broken KPL aggregate (${unpacked.code}): ${unpacked.reason}`, r.data, "deaggregate");
      continue;
    }
    for (const sub of unpacked.records) processUserRecord(r, sub.data, sub.partitionKey, sub.subSequenceNumber);
  }
  return { folds, objects, processed, deadLetters, late, watermark, lastSeq, stopAt };
}

const NO_META = Object.freeze({}) as RecordMeta;

function errorText(e: unknown): string {
  return e instanceof UserFunctionError && e.cause instanceof Error ? `${e.operator}: ${e.cause.message}` : e instanceof Error ? e.message : String(e);
}

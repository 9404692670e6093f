import { randomUUID } from "node:crypto";
import { decodeValue, encodeValue } from "../core/codec.js";
import { KeyMap } from "../core/keys.js";
import { requirePair } from "../core/pairs.js";
import { EncodingError, SparklessError, UserFunctionError } from "../core/errors.js";
import type { Node } from "../graph/node.js";
import { NarrowNode } from "../graph/ops/narrow.js";
import { deadLetterKey, type RecordDeadLetter, recordId } from "../io/kinesis/dead-letter.js";
import { base64Of, decodeBase64, kinesisLogBatch, utf8Text } from "../io/kinesis/records.js";
import type { LogBatch, LogRecord } from "../io/ordered-log.js";
import type { CommitRequest, Part, PipelineStatus, ShardProgress } from "../pipeline-store/pipeline-store.js";
import type { Pipeline, RecordMeta } from "../api/define-pipeline.js";
import type { BatchResponse, InvocationContextLike, KinesisEventLike } from "./kinesis-event.js";
import { type Boundary, boundaryId, type Plan } from "../graph/stage-split.js";
import { PREFIXES, type RuntimeDeps } from "./runtime-deps.js";

/** Stop taking new records when less than this is left of the invocation, to commit in time. */
const DEADLINE_MARGIN_MS = 5_000;

/**
 * The invocation's commit lost a race (a duplicate delivery committed first, or a probe moved the watermark).
 * Thrown so Lambda retries the batch: the retry skips what the winner committed.
 */
export class CommitConflictError extends SparklessError {
  constructor(shardId: string) {
    super(
      "CommitConflict",
      `shard ${shardId}: progress changed while this batch ran (a duplicate delivery or an idle probe); failing so Lambda retries — committed records are skipped on retry`,
      { shardId },
    );
  }
}

export interface ShardStageResult extends BatchResponse {
  readonly processed: number;
  readonly deadLetters: number;
  readonly late: number;
  /** Batch times this invocation's commit may have completed (its watermark passed them). */
  readonly watermark: number;
  readonly committed: boolean;
}

/**
 * Stage 1 (docs/architecture.md): one invocation = one shard's batch of records. Decodes, assigns batch times, runs
 * the narrow chains per record, folds partial aggregates per (boundary, batch time), writes them keyed by
 * this attempt, then commits with one conditional update of the shard's progress. Records at or below the
 * committed sequence number are skipped, so retries, bisection and duplicates never double anything.
 */
export async function runShardStage<T>(
  pipeline: Pipeline<T>,
  plan: Plan,
  status: PipelineStatus,
  deps: RuntimeDeps,
  event: KinesisEventLike,
  context: InvocationContextLike,
): Promise<ShardStageResult> {
  const records = event.Records;
  if (records.length === 0) return { batchItemFailures: [], processed: 0, deadLetters: 0, late: 0, watermark: 0, committed: false };
  const log = kinesisLogBatch(records);
  const shardId = log.shardId;
  const progress: ShardProgress | undefined = await deps.store.getProgress(shardId);
  const expected = { seq: progress?.seq, watermark: progress?.watermark ?? 0 };

  // Encoding is checked per part, not per record: only when a part cannot be stored (or a key cannot be
  // compared) are the same records ingested again, checking each record's output, so the culprits are
  // dead-lettered and the rest commits.
  let ingested: Ingested | undefined;
  let payloads: string[] | undefined;
  try {
    ingested = ingest(pipeline, plan, status, log, expected, context, undefined);
    payloads = encodeFolds(ingested.folds);
  } catch (e) {
    if (!(e instanceof EncodingError)) throw e;
  }
  if (payloads === undefined) {
    ingested = ingest(pipeline, plan, status, log, expected, context, { stopAt: ingested?.stopAt });
    payloads = encodeFolds(ingested.folds, true)!;
  }
  const { lastSeq, stopAt, watermark, processed, deadLetters, late } = ingested!;
  if (lastSeq === undefined) {
    return { batchItemFailures: stopAt ? [{ itemIdentifier: stopAt }] : [], processed: 0, deadLetters: 0, late: 0, watermark, committed: false };
  }

  const attemptId = (deps.newAttemptId ?? randomUUID)();
  const parts: Part[] = ingested!.folds.all().map((f, i) => ({
    time: f.time,
    nodeId: f.nodeId,
    shardId,
    attemptId,
    firstSeq: f.firstSeq,
    payload: payloads[i]!,
  }));
  // The previous commit's markers, in the same batch write as this invocation's parts: once this commit
  // replaces it as the shard's latest, the markers are what says that its parts count.
  const last = progress?.lastCommit;
  const markers = last ? last.times.map((time) => ({ shardId, time, attemptId: last.attemptId })) : [];
  if (parts.length || markers.length) await deps.store.putParts(parts, markers);
  await Promise.all(ingested!.objects.map((o) => deps.objects.put(o.key, o.body)));
  const request: CommitRequest = {
    shardId,
    expected,
    seq: lastSeq,
    watermark,
    times: [...new Set(parts.map((p) => p.time))].sort((a, b) => a - b),
    attemptId,
  };
  if (!(await deps.store.commit(request))) throw new CommitConflictError(shardId);
  if (deadLetters || late) deps.log(metricLine(pipeline.name, deadLetters, late));
  return { batchItemFailures: stopAt ? [{ itemIdentifier: stopAt }] : [], processed, deadLetters, late, watermark, committed: true };
}

/** What ingesting one invocation's records gave: the folds to write, and what else was seen. */
interface Ingested {
  readonly folds: Folds;
  /** Dead letters and late records, written beside the parts. */
  readonly objects: Array<{ key: string; body: string }>;
  readonly processed: number;
  readonly deadLetters: number;
  readonly late: number;
  readonly watermark: number;
  /** The last record taken (undefined: none was past the committed sequence number). */
  readonly lastSeq: string | undefined;
  /** The first record left for the next invocation (the deadline came). */
  readonly stopAt: string | undefined;
}

/**
 * Runs the records after the committed sequence number through decode, time and the narrow chains into
 * folds. `checked`, given after a part failed to encode, replays the same records (to the first pass's
 * `stopAt`, or earlier if the deadline comes first: the replay costs time too, and what it leaves is
 * delivered again) and checks each record's output as it is folded: a record whose output cannot be encoded
 * is dead-lettered and leaves no trace in the folds.
 */
function ingest<T>(
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
  const folds = new Folds(plan.boundaries);
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
    const entry: RecordDeadLetter = {
      shardId,
      sequenceNumber: r.offset,
      subSequenceNumber: sub,
      partitionKey: r.key,
      arrivalTime: r.arrivalTime,
      operator,
      error,
      data,
    };
    objects.push({ key: deadLetterKey(deadLetterPrefix, entry), body: JSON.stringify(entry) });
  };

  // One user record (a Kinesis record, or one record of a KPL aggregate) through decode, time and the chains.
  const processUserRecord = (r: LogRecord, data: Uint8Array, partitionKey: string, subNo: number | undefined) => {
    if (data.length > maxBytes) {
      deadLetter(r, `record of ${data.length} bytes is over the limit of ${maxBytes} bytes`, base64Of(data), "decode", subNo);
      return;
    }
    const arrival = r.arrivalTime;
    let meta: RecordMeta = NO_META;
    if (needMeta) {
      meta = subNo === undefined
        ? { shardId, sequenceNumber: r.offset, partitionKey, arrivalTime: arrival }
        : { shardId, sequenceNumber: r.offset, partitionKey, arrivalTime: arrival, subSequenceNumber: subNo };
    }
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
          body: JSON.stringify({ ...meta, eventTime: time, batchTime, openFrom: open, reason: `event time ${time} belongs to batch ${batchTime}, which this shard's watermark (${watermark}) or the finalizer has passed`, data: base64Of(data) }),
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
      for (let i = 0; i < emitted.count; i++) folds.add(emitted.boundary[i], batchTime, emitted.value[i], r.offset);
    }
    watermark = Math.max(watermark, eventTime ? time - lateness : time);
  };

  // Kinesis delivers a shard's records in sequence order: once one is past the committed number, all are.
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

/**
 * Each fold's payload, in the order of `folds.all()`; undefined when one cannot be encoded (a circular value,
 * say), unless `mustEncode`: then the EncodingError is thrown (the checked ingest let nothing unencodable in).
 */
function encodeFolds(folds: Folds, mustEncode = false): string[] | undefined {
  const out: string[] = [];
  for (const f of folds.all()) {
    try {
      out.push(encodeValue(f.combiners ? [...f.combiners.entries()] : f.elements));
    } catch (e) {
      if (mustEncode || !(e instanceof EncodingError)) throw e;
      return undefined;
    }
  }
  return out;
}

interface Fold {
  readonly nodeId: string;
  readonly time: number;
  readonly firstSeq: string;
  readonly combiners?: KeyMap<unknown, unknown>;
  readonly elements?: unknown[];
}

/** Partial aggregates and chunks per (boundary, batch time); the last one of each boundary is at hand. */
class Folds {
  private readonly byKey = new Map<string, Fold>();
  private readonly last: Array<Fold | undefined>;

  constructor(private readonly boundaries: readonly Boundary[]) {
    this.last = boundaries.map(() => undefined);
  }

  add(index: number, time: number, value: unknown, seq: string): void {
    const boundary = this.boundaries[index];
    let f = this.last[index];
    if (f === undefined || f.time !== time) {
      const key = `${index}@${time}`;
      f = this.byKey.get(key);
      if (!f) {
        f = boundary.kind === "partial"
          ? { nodeId: boundaryId(boundary), time, firstSeq: seq, combiners: new KeyMap() }
          : { nodeId: boundaryId(boundary), time, firstSeq: seq, elements: [] };
        this.byKey.set(key, f);
      }
      this.last[index] = f;
    }
    if (boundary.kind === "partial") {
      const pair = value as [unknown, unknown];
      f.combiners!.upsert(pair[0], pair[1], boundary.node.createCombiner, boundary.node.mergeValue);
    } else {
      f.elements!.push(value);
    }
  }

  /**
   * Folds one record's emissions only if every value it adds, and every combiner it changes, can be encoded;
   * otherwise undoes what it did (a combiner from its last encoding: a merge may have changed it in place)
   * and says which operator's output could not be stored.
   */
  addChecked(emitted: Emitted, time: number, seq: string): { operator: string; reason: string } | undefined {
    const undo: Array<() => void> = [];
    const refuse = (boundary: Boundary, e: unknown) => {
      if (!(e instanceof EncodingError)) throw e;
      for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
      this.last.fill(undefined);
      return { operator: boundary.node.label, reason: `the output of ${boundary.node.label} cannot be stored: ${e.message}` };
    };
    for (let i = 0; i < emitted.count; i++) {
      const index = emitted.boundary[i]!;
      const value = emitted.value[i];
      const boundary = this.boundaries[index]!;
      try {
        encodeValue(value);
      } catch (e) {
        return refuse(boundary, e);
      }
      const key = `${index}@${time}`;
      if (!this.byKey.has(key)) undo.push(() => this.byKey.delete(key));
      if (boundary.kind === "chunk") {
        this.add(index, time, value, seq);
        const elements = this.byKey.get(key)!.elements!;
        const length = elements.length - 1;
        undo.push(() => (elements.length = length));
        continue;
      }
      const combiners = this.byKey.get(key)?.combiners;
      const k = (value as [unknown, unknown])[0];
      const before = combiners?.has(k) ? encodeValue(combiners.get(k)) : undefined;
      this.add(index, time, value, seq);
      const after = this.byKey.get(key)!.combiners!;
      undo.push(() => (before === undefined ? after.delete(k) : after.set(k, decodeValue(before))));
      try {
        encodeValue(after.get(k));
      } catch (e) {
        return refuse(boundary, e);
      }
    }
    return undefined;
  }

  all(): Fold[] {
    return [...this.byKey.values()];
  }
}

/** What one record emitted into the boundaries, as two parallel arrays (no tuple per emission). */
interface Emitted {
  push: (value: unknown) => void;
  count: number;
  readonly boundary: number[];
  readonly value: unknown[];
}

/**
 * One record through the narrow chains: a pusher built once from the plan, whose leaves append to the
 * emitted arrays. A record's emissions are folded only if the whole record went through, so a record whose
 * function throws leaves no trace but its dead letter.
 */
function recordPipeline(plan: Plan): Emitted {
  const emitted: Emitted = { push: () => undefined, count: 0, boundary: [], value: [] };
  const leaf = (i: number) => {
    // A partial aggregate folds [key, value] pairs; plain JS can hand it anything. Checked here, inside the
    // record's try, so a non-pair is dead-lettered like a throwing function instead of folded as `"a"[0]`.
    const b = plan.boundaries[i];
    const pairsFor = b.kind === "partial" ? b.node.label : undefined;
    return (v: unknown) => {
      if (pairsFor !== undefined) requirePair(v, pairsFor);
      emitted.boundary[emitted.count] = i;
      emitted.value[emitted.count] = v;
      emitted.count++;
    };
  };
  const sinks = new Map<Node, (value: unknown) => void>();
  const sinkOf = (node: Node): ((value: unknown) => void) => {
    const existing = sinks.get(node);
    if (existing) return existing;
    const targets: Array<(value: unknown) => void> = [];
    plan.boundaries.forEach((b, i) => {
      if ((b.kind === "partial" && b.from === node) || (b.kind === "chunk" && b.node === node)) targets.push(leaf(i));
    });
    for (const child of plan.stage1) {
      if (child instanceof NarrowNode && child.parent === node) targets.push(child.step.pipe(sinkOf(child)));
    }
    const sink = targets.length === 1 ? targets[0] : (v: unknown) => { for (const t of targets) t(v); };
    sinks.set(node, sink);
    return sink;
  };
  emitted.push = sinkOf(plan.input);
  return emitted;
}

const NO_META = Object.freeze({}) as RecordMeta;

function errorText(e: unknown): string {
  return e instanceof UserFunctionError && e.cause instanceof Error ? `${e.operator}: ${e.cause.message}` : e instanceof Error ? e.message : String(e);
}

/** CloudWatch Embedded Metric Format: the log line is the metric (no PutMetricData call, no extra latency). */
export function metricLine(pipeline: string, deadLetters: number, late: number): string {
  return JSON.stringify({
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [{ Namespace: "Sparkless", Dimensions: [["Pipeline"]], Metrics: [{ Name: "DeadLetterRecords", Unit: "Count" }, { Name: "LateRecords", Unit: "Count" }] }],
    },
    Pipeline: pipeline,
    DeadLetterRecords: deadLetters,
    LateRecords: late,
  });
}

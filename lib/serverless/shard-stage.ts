import { randomUUID } from "node:crypto";
import { encodeValue } from "../core/codec.js";
import { KeyMap } from "../core/keys.js";
import { requirePair } from "../core/pairs.js";
import { UserFunctionError } from "../errors.js";
import type { Node } from "../graph/node.js";
import { NarrowNode } from "../graph/ops/narrow.js";
import { deaggregate, isKplAggregated } from "../io/kpl.js";
import type { CommitRequest, Part, PipelineStatus, ShardProgress } from "../state/pipeline-store.js";
import type { Pipeline, RecordMeta } from "./define-pipeline.js";
import { type BatchResponse, type InvocationContextLike, type KinesisEventLike, type KinesisRecordLike, shardIdOf } from "./kinesis-event.js";
import { type Boundary, boundaryId, type Plan } from "./plan.js";
import { PREFIXES, type RuntimeDeps } from "./runtime-deps.js";

/** Stop taking new records when less than this is left of the invocation, to commit in time. */
const DEADLINE_MARGIN_MS = 5_000;

/** The invocation's commit lost a race (a duplicate delivery committed first, or a probe moved the watermark). */
export class CommitConflictError extends Error {
  readonly code = "CommitConflict";
  constructor(shardId: string) {
    super(`shard ${shardId}: progress changed while this batch ran (a duplicate delivery or an idle probe); failing so Lambda retries — committed records are skipped on retry`);
    this.name = "CommitConflictError";
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
  const shardId = shardIdOf(records[0]);
  const progress: ShardProgress | undefined = await deps.store.getProgress(shardId);
  const expected = { seq: progress?.seq, watermark: progress?.watermark ?? 0 };
  const committedSeq = expected.seq === undefined ? undefined : BigInt(expected.seq);

  const props = pipeline.props;
  const batch = props.batchInterval.milliseconds;
  const lateness = props.allowedLateness?.milliseconds ?? 0;
  const maxBytes = props.maxRecordBytes ?? 1024 * 1024;
  const decode = props.decoder ?? ((bytes: Uint8Array) => textDecoder.decode(bytes) as unknown as T);
  const eventTime = props.timestampExtractor;

  const boundaries = plan.boundaries;
  const emitted = recordPipeline(plan);
  const folds = new Folds(boundaries);
  const objects: Array<{ key: string; body: string }> = [];
  let deadLetters = 0;
  let late = 0;
  let processed = 0;
  let watermark = expected.watermark;
  let lastSeq: string | undefined;
  let stopAt: string | undefined;
  // Only a user's decoder or extractor reads a record's metadata: don't build it per record otherwise.
  const needMeta = props.decoder !== undefined || eventTime !== undefined;

  const deadLetter = (k: KinesisRecordLike["kinesis"], reason: string, raw: string, operator: string | undefined, sub?: number) => {
    deadLetters++;
    const id = sub === undefined ? k.sequenceNumber : `${k.sequenceNumber}-${sub}`;
    objects.push({
      key: `${PREFIXES.deadLetter}${pipeline.name}/${shardId}/${id}.json`,
      body: JSON.stringify({
        shardId,
        sequenceNumber: k.sequenceNumber,
        subSequenceNumber: sub,
        partitionKey: k.partitionKey,
        arrivalTime: Math.round(k.approximateArrivalTimestamp * 1000),
        operator,
        error: reason,
        data: raw,
      }),
    });
  };

  // One user record (a Kinesis record, or one record of a KPL aggregate) through decode, time and the chains.
  const processUserRecord = (k: KinesisRecordLike["kinesis"], data: Uint8Array, partitionKey: string, subNo: number | undefined) => {
    if (data.length > maxBytes) {
      deadLetter(k, `record of ${data.length} bytes is over the limit of ${maxBytes} bytes`, base64Of(data), "decode", subNo);
      return;
    }
    const arrival = Math.round(k.approximateArrivalTimestamp * 1000);
    let meta: RecordMeta = NO_META;
    if (needMeta) {
      meta = subNo === undefined
        ? { shardId, sequenceNumber: k.sequenceNumber, partitionKey, arrivalTime: arrival }
        : { shardId, sequenceNumber: k.sequenceNumber, partitionKey, arrivalTime: arrival, subSequenceNumber: subNo };
    }
    let value: T;
    let time = arrival;
    try {
      value = decode(data, meta);
      if (eventTime) time = eventTime(value, meta);
    } catch (e) {
      deadLetter(k, errorText(e), base64Of(data), eventTime ? "decoder or timestampExtractor" : "decoder", subNo);
      return;
    }
    if (!Number.isFinite(time)) {
      deadLetter(k, `timestampExtractor returned ${String(time)}, not epoch milliseconds`, base64Of(data), "timestampExtractor", subNo);
      return;
    }
    let batchTime = Math.floor(time / batch) * batch + batch;
    const open = Math.max(Math.floor(watermark / batch) * batch + batch, status.lastFinalized + batch, status.zeroTime + batch);
    if (batchTime < open) {
      if (eventTime) {
        // Older than this shard's watermark or a finalized batch: late, kept aside with its reason.
        late++;
        objects.push({
          key: `${PREFIXES.late}${pipeline.name}/${shardId}/${subNo === undefined ? k.sequenceNumber : `${k.sequenceNumber}-${subNo}`}.json`,
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
      deadLetter(k, errorText(e), base64Of(data), e instanceof UserFunctionError ? e.operator : undefined, subNo);
      return;
    }
    for (let i = 0; i < emitted.count; i++) folds.add(emitted.boundary[i], batchTime, emitted.value[i], k.sequenceNumber);
    watermark = Math.max(watermark, eventTime ? time - lateness : time);
  };

  // Kinesis delivers a shard's records in sequence order: once one is past the committed number, all are.
  let pastCommitted = committedSeq === undefined;
  for (let r = 0; r < records.length; r++) {
    const k = records[r].kinesis;
    if (!pastCommitted) {
      if (BigInt(k.sequenceNumber) <= committedSeq!) continue;
      pastCommitted = true;
    }
    if (processed > 0 && context.getRemainingTimeInMillis() < DEADLINE_MARGIN_MS) {
      stopAt = k.sequenceNumber;
      break;
    }
    processed++;
    lastSeq = k.sequenceNumber;

    const bytes = decodeBase64(k.data);
    if (!bytes) {
      deadLetter(k, "record data is not valid base64", k.data, "decode");
      continue;
    }
    if (!isKplAggregated(bytes)) {
      processUserRecord(k, bytes, k.partitionKey, undefined);
      continue;
    }
    const unpacked = deaggregate(bytes, k.partitionKey);
    if (!unpacked.ok) {
      deadLetter(k, `broken KPL aggregate (${unpacked.code}): ${unpacked.reason}`, k.data, "deaggregate");
      continue;
    }
    for (const sub of unpacked.records) processUserRecord(k, sub.data, sub.partitionKey, sub.subSequenceNumber);
  }

  if (lastSeq === undefined) {
    return { batchItemFailures: stopAt ? [{ itemIdentifier: stopAt }] : [], processed: 0, deadLetters: 0, late: 0, watermark, committed: false };
  }

  const attemptId = (deps.newAttemptId ?? randomUUID)();
  const parts: Part[] = folds.all().map((f) => ({
    time: f.time,
    nodeId: f.nodeId,
    shardId,
    attemptId,
    firstSeq: f.firstSeq,
    payload: encodeValue(f.combiners ? [...f.combiners.entries()] : f.elements),
  }));
  if (parts.length) await deps.store.putParts(parts);
  await Promise.all(objects.map((o) => deps.objects.put(o.key, o.body)));
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

function base64Of(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");
}

/** The record's bytes, or undefined when the text is not base64 (Buffer.from skips bad characters: compare lengths). */
function decodeBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, "base64");
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  return bytes.length === (text.length / 4) * 3 - padding ? bytes : undefined;
}

const textDecoder = new TextDecoder("utf-8", { fatal: true });

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

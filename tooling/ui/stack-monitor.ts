/**
 * The UI's view of a deployed pipeline — on the embedded stack, LocalStack or AWS — read, with the user's
 * credentials and read-only, from where the runtime keeps things:
 *
 * - shards, pending batches, dead-letter counts and the summary line: `sparkless status`'s own report
 *   (pipeline-status.ts, status-summary.ts), so the page and `status` agree by construction;
 * - completed batches: the status item's `lastFinalized`, and per batch its output directories in the bucket,
 *   whose write times say when its finalization started (first object) and ended (last `_SUCCESS`); a batch
 *   without output files has the time this monitor saw it finalized;
 * - records per batch: the stream, by arrival time (arrival-counter.ts);
 * - dead letters and late records: their objects (reason, bytes, the batch they arrived in);
 * - stateful operators: their node memory after the last finalized batch (the state reader).
 */
import { DynamoDbPipelineStore } from "../../lib/pipeline-store/dynamodb-pipeline-store.js";
import { S3ObjectStore } from "../../lib/io/s3-object-store.js";
import { BUCKET_PREFIXES, failedBatchKey, graphRecordKey, outputDirectory } from "../../lib/contract/index.js";
import type { GraphDescription } from "../../lib/graph/stream-graph.js";
import { listStatefulOperators, readOperatorState } from "../../lib/testing/state-reader.js";
import { clientsFor, collectStatus, type PipelineStatusReport, type StatusClients } from "../cli/pipeline-status.js";
import { statusSummary } from "../cli/status-summary.js";
import type { PipelineTarget } from "../cli/target.js";
import { ArrivalCounter } from "./arrival-counter.js";
import { listObjects, type ListedObject } from "./bucket-listing.js";
import { printedBlock } from "./printed-blocks.js";
import type { BatchDetail, BatchRow, Monitor, OperatorRow, RecordList, RecordRow, ShardRow, UiSnapshot } from "./snapshot.js";

export interface StackMonitorOptions {
  readonly target: PipelineTarget;
  /** Completed batches shown (the charts' width). @default 60 */
  readonly batches?: number;
  /** @default 1_000 on the local stack, 5_000 elsewhere (each refresh costs a few AWS calls) */
  readonly refreshMs?: number;
  /** The functions' log files (`<state dir>/logs`), where print() blocks are. @default - none: no printed block */
  readonly logsDir?: string;
}

/** Dead letters and late records whose content is read (the newest); the rest are only counted. */
const RECORDS_SHOWN = 200;
/** Keys listed under the dead-letter and late prefixes at most. */
const RECORDS_LISTED = 10_000;
/** Lines of an output file shown in a batch's detail. */
const LINES_SHOWN = 200;
/** A record's bytes shown, base64 characters. */
const DATA_SHOWN = 4_096;

interface BatchWrites {
  readonly dirs: Set<string>;
  first: number;
  last: number;
}

export class StackMonitor implements Monitor {
  readonly refreshMs: number;
  private readonly clients: StatusClients;
  private readonly objects: S3ObjectStore;
  private readonly store: DynamoDbPipelineStore;
  private readonly shown: number;
  private counter: ArrivalCounter | undefined;
  private readonly graphs = new Map<string, GraphDescription | undefined>();
  private readonly bodies = new Map<string, RecordRow>();
  private readonly observed = new Map<number, number>();
  private lastSeen: number | undefined;
  private operatorsAt: { time: number; rows: OperatorRow[] } | undefined;
  private latest: { report: PipelineStatusReport; deadLetters: RecordRow[] } | undefined;

  constructor(private readonly o: StackMonitorOptions) {
    this.refreshMs = o.refreshMs ?? (o.target.local ? 1_000 : 5_000);
    this.shown = o.batches ?? 60;
    this.clients = clientsFor(o.target);
    this.objects = new S3ObjectStore({ client: this.clients.s3, bucket: o.target.bucket });
    this.store = new DynamoDbPipelineStore({ client: this.clients.dynamodb, tableName: o.target.table, pipeline: o.target.pipeline, objects: this.objects });
  }

  close(): void {
    for (const c of Object.values(this.clients)) c.destroy();
  }

  async snapshot(): Promise<UiSnapshot> {
    const t = this.o.target;
    const now = Date.now();
    const warnings: string[] = [];
    const report = await collectStatus(t, this.clients);
    const B = report.batchIntervalMs;
    const base = {
      pipeline: t.pipeline,
      where: t.where,
      kind: "stack" as const,
      takenAt: now,
      ...(B !== undefined ? { batchIntervalMs: B } : {}),
      summary: statusSummary(report, now).line,
      ...(report.lastFinalized !== undefined ? { lastFinalized: report.lastFinalized } : {}),
      shards: report.shards.map(
        (s): ShardRow => ({
          id: s.shardId,
          closed: s.closed,
          ...(s.seq !== undefined ? { position: s.seq } : {}),
          ...(s.watermark !== undefined ? { watermark: s.watermark } : {}),
          recordsBehind: s.recordsBehind,
          recordsBehindCapped: s.recordsBehindCapped,
          drained: s.drained,
        }),
      ),
    };
    // Records that arrived before the pipeline's first batch belong to it, as the shard stage puts them there.
    const batchOf = (arrival: number) => (B === undefined ? undefined : Math.max(report.zeroTime !== undefined ? report.zeroTime + B : 0, Math.floor(arrival / B) * B + B));
    const [deadLetters, lateRecords] = await Promise.all([
      this.records(`${BUCKET_PREFIXES.deadLetter}${t.pipeline}/`, batchOf, warnings, (k) => !k.includes("/batches/")),
      this.records(`${BUCKET_PREFIXES.late}${t.pipeline}/`, batchOf, warnings),
    ]);
    this.latest = { report, deadLetters: [...deadLetters.items] };
    if (B === undefined || report.lastFinalized === undefined || report.zeroTime === undefined || report.graphHash === undefined) {
      if (report.lastFinalized !== undefined) warnings.push("the batch interval is unknown until the first metadata checkpoint: pass --batch-interval-ms");
      return { ...base, batches: [], deadLetters, lateRecords, operators: [], warnings };
    }
    const last = report.lastFinalized;
    if (this.lastSeen !== undefined) for (let x = this.lastSeen + B; x <= last; x += B) this.observed.set(x, now);
    this.lastSeen = last;

    const oldest = Math.max(report.zeroTime + B, last - (this.shown - 1) * B);
    // Showing the pipeline from its first batch: count from the stream's start (records put before the pipeline
    // started join its first batch); otherwise from the oldest batch shown.
    this.counter ??= new ArrivalCounter(this.clients.kinesis, t.stream, B, oldest === report.zeroTime + B ? undefined : oldest - B, report.zeroTime + B);
    await this.counter.poll(report.shards.filter((s) => !s.closed || s.recordsBehind > 0 || s.seq !== undefined).map((s) => s.shardId)).catch((e: Error) => {
      warnings.push(`could not read the stream to count records per batch: ${e.message}`);
    });
    const graph = await this.graph(report.graphHash, warnings);
    const [writes, failed, operators] = await Promise.all([this.writes(graph, oldest, warnings), this.failedBatches(oldest), this.operators(graph, last, report.zeroTime)]);

    const row = (time: number, state: BatchRow["state"]): BatchRow => {
      const w = writes.get(time);
      const seen = this.observed.get(time);
      const delays =
        state === "completed" && w !== undefined
          ? { schedulingDelayMs: Math.max(0, w.first - time), processingMs: Math.max(0, w.last - w.first), totalDelayMs: Math.max(0, w.last - time) }
          : state === "completed" && seen !== undefined
            ? { schedulingDelayMs: Math.max(0, seen - time), totalDelayMs: Math.max(0, seen - time) }
            : {};
      const records = this.counter!.count(time);
      return {
        time,
        state: state === "completed" && failed.has(time) ? "failed" : state,
        ...(records !== undefined ? { records } : {}),
        ...delays,
        outputs: w?.dirs.size ?? 0,
        deadLetters: deadLetters.items.filter((d) => d.batch === time).length,
        lateRecords: lateRecords.items.filter((d) => d.batch === time).length,
      };
    };
    const rows: BatchRow[] = [];
    const ready = report.pending.ready ?? [];
    const next = report.pending.next ?? last + B + ready.length * B;
    // Receiving: from the first incomplete batch to the one the clock is in (a few, however long a stall).
    const current = Math.floor(now / B) * B + B;
    for (let x = Math.min(current, next + 9 * B); x >= next; x -= B) rows.push(row(x, "active"));
    for (const x of [...ready].reverse().slice(0, this.shown)) rows.push(row(x, "pending"));
    for (let x = last; x >= oldest; x -= B) rows.push(row(x, "completed"));
    return { ...base, batches: rows, deadLetters, lateRecords, operators, warnings };
  }

  async batch(time: number): Promise<BatchDetail> {
    const t = this.o.target;
    const report = this.latest?.report;
    const graph = report?.graphHash ? await this.graph(report.graphHash, []) : undefined;
    const outputs: Array<{ path: string; lines: string[]; truncated: boolean }> = [];
    for (const o of outputsOf(graph)) {
      const dir = `${outputDirectory(t.pipeline, o.prefix)}-${time}${o.suffix ? `.${o.suffix}` : ""}/`;
      const keys = (await listObjects(this.clients.s3, t.bucket, dir, { max: 1_000 })).map((k) => k.key);
      if (!keys.includes(`${dir}_SUCCESS`)) continue;
      const lines: string[] = [];
      for (const k of keys.filter((k) => /\/part-\d+$/.test(k))) lines.push(...((await this.objects.get(k)) ?? "").split("\n").filter((l) => l !== ""));
      outputs.push({ path: dir.slice(`${BUCKET_PREFIXES.output}${t.pipeline}/`.length, -1), lines: lines.slice(0, LINES_SHOWN), truncated: lines.length > LINES_SHOWN });
    }
    const failure = await this.objects.get(failedBatchKey(t.pipeline, time));
    const errors = failure === undefined ? [] : [String((JSON.parse(failure) as { error?: unknown }).error ?? failure)];
    const printed = this.o.logsDir ? printedBlock(this.o.logsDir, time) : undefined;
    return {
      time,
      outputs,
      ...(printed ? { printed } : {}),
      errors,
      deadLetters: (this.latest?.deadLetters ?? []).filter((d) => d.batch === time),
    };
  }

  private async graph(hash: string, warnings: string[]): Promise<GraphDescription | undefined> {
    if (!this.graphs.has(hash)) {
      const text = await this.objects.get(graphRecordKey(this.o.target.pipeline, hash));
      if (text === undefined) warnings.push(`the graph record of ${hash} is not in the bucket: no outputs or operators to show`);
      this.graphs.set(hash, text === undefined ? undefined : (JSON.parse(text) as { graph: GraphDescription }).graph);
    }
    return this.graphs.get(hash);
  }

  /** The output directories of each batch from `oldest` on, with when their objects were written. */
  private async writes(graph: GraphDescription | undefined, oldest: number, warnings: string[]): Promise<Map<number, BatchWrites>> {
    const t = this.o.target;
    const out = new Map<number, BatchWrites>();
    await Promise.all(
      outputsOf(graph).map(async (o) => {
        const prefix = `${outputDirectory(t.pipeline, o.prefix)}-`;
        let listed: ListedObject[];
        try {
          // Batch times of one pipeline have the same number of digits, so key order is time order here.
          listed = await listObjects(this.clients.s3, t.bucket, prefix, { startAfter: `${prefix}${oldest - 1}`, max: RECORDS_LISTED });
        } catch (e) {
          warnings.push(`could not list ${prefix}: ${(e as Error).message}`);
          return;
        }
        const done = new Set(listed.filter((l) => l.key.endsWith("/_SUCCESS")).map((l) => l.key.slice(0, -"_SUCCESS".length)));
        for (const l of listed) {
          const m = /^(\d+)(?:\.[^/]*)?\/[^/]+$/.exec(l.key.slice(prefix.length));
          const dir = l.key.slice(0, l.key.lastIndexOf("/") + 1);
          if (!m || !done.has(dir)) continue;
          const time = Number(m[1]);
          const w = out.get(time) ?? { dirs: new Set<string>(), first: Infinity, last: 0 };
          w.dirs.add(dir);
          w.first = Math.min(w.first, l.lastModified);
          if (l.key.endsWith("/_SUCCESS")) w.last = Math.max(w.last, l.lastModified);
          out.set(time, w);
        }
      }),
    );
    return out;
  }

  private async failedBatches(oldest: number): Promise<Set<number>> {
    const prefix = `${BUCKET_PREFIXES.deadLetter}${this.o.target.pipeline}/batches/`;
    const listed = await listObjects(this.clients.s3, this.o.target.bucket, prefix, { startAfter: `${prefix}${oldest - 1}`, max: 1_000 });
    return new Set(listed.map((l) => Number(/(\d+)\.json$/.exec(l.key)?.[1])));
  }

  /** Keys and bytes of each stateful operator after `time`, read again only when `time` moves. */
  private async operators(graph: GraphDescription | undefined, time: number, zeroTime: number): Promise<OperatorRow[]> {
    if (!graph) return [];
    if (this.operatorsAt?.time === time) return this.operatorsAt.rows;
    const location = { store: this.store, objects: this.objects, pipeline: this.o.target.pipeline };
    const ops = await listStatefulOperators(location);
    const rows = await Promise.all(
      ops.map(async (op): Promise<OperatorRow> => {
        if (time === zeroTime) return { id: op.id, kind: op.kind };
        try {
          const s = await readOperatorState(location, op.id, { batch: time });
          return { id: op.id, kind: op.kind, batchTime: time, keys: s.keys, bytes: s.bytes };
        } catch {
          // A window stores state at its slide times only: this batch has none of it.
          return { id: op.id, kind: op.kind };
        }
      }),
    );
    this.operatorsAt = { time, rows };
    return rows;
  }

  /** The objects under `prefix`: counted, the newest read (once each: they never change). */
  private async records(prefix: string, batchOf: (arrival: number) => number | undefined, warnings: string[], keep: (key: string) => boolean = () => true): Promise<RecordList> {
    let listed: ListedObject[];
    try {
      listed = (await listObjects(this.clients.s3, this.o.target.bucket, prefix, { max: RECORDS_LISTED })).filter((l) => keep(l.key));
    } catch (e) {
      warnings.push(`could not list ${prefix}: ${(e as Error).message}`);
      return { total: 0, items: [] };
    }
    const newest = [...listed].sort((a, b) => b.lastModified - a.lastModified || (a.key < b.key ? 1 : -1)).slice(0, RECORDS_SHOWN);
    const items = await Promise.all(
      newest.map(async (l) => {
        const cached = this.bodies.get(l.key);
        if (cached) return cached;
        const row = recordRow(l, (await this.objects.get(l.key)) ?? "", batchOf);
        this.bodies.set(l.key, row);
        return row;
      }),
    );
    return { total: listed.length, items };
  }
}

/** The saveAsTextFiles/saveAsObjectFiles operations of the graph. */
function outputsOf(graph: GraphDescription | undefined): Array<{ prefix: string; suffix: string | null }> {
  return (graph?.nodes ?? [])
    .filter((n) => n.kind === "saveAsTextFiles" || n.kind === "saveAsObjectFiles")
    .map((n) => ({ prefix: String(n.prefix), suffix: (n.suffix as string | null) ?? null }));
}

/** A dead letter (shard stage) or late record, as the page lists it. */
function recordRow(l: ListedObject, text: string, batchOf: (arrival: number) => number | undefined): RecordRow {
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not JSON (an event-source-mapping record, say): shown as it is.
  }
  const data = typeof body.data === "string" ? body.data : text;
  const batch = typeof body.arrivalTime === "number" ? batchOf(body.arrivalTime) : undefined;
  const seq = typeof body.sequenceNumber === "string" ? body.sequenceNumber : undefined;
  const sub = typeof body.subSequenceNumber === "number" ? `-${body.subSequenceNumber}` : "";
  return {
    id: l.key,
    ...(typeof body.shardId === "string" ? { shard: body.shardId } : {}),
    ...(seq !== undefined ? { position: seq + sub } : {}),
    ...(batch !== undefined ? { batch } : {}),
    ...(typeof body.operator === "string" ? { operator: body.operator } : {}),
    reason: String(body.error ?? body.reason ?? "unknown"),
    data: data.slice(0, DATA_SHOWN),
    bytes: typeof body.data === "string" ? Buffer.from(body.data, "base64").length : l.size,
  };
}

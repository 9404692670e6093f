/**
 * The UI's view of a local-engine program (`sparkless run --ui`): a StreamingListener, fed the same BatchInfo
 * as the progress line, that keeps the last N batches; the program also hands it what it prints and the
 * output directories it writes. Dead letters and operator state come from the checkpoint directory (the dead-letter
 * file the context appends to, the state reader on the newest checkpoint).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { BatchInfo, StreamingListener } from "../../lib/exec/job-scheduler.js";
import { listStatefulOperators, readOperatorState } from "../../lib/testing/state-reader.js";
import { printBlockParser } from "../stack/events.js";
import { plural } from "../cli/io.js";
import type { BatchDetail, BatchRow, Monitor, OperatorRow, RecordList, RecordRow, UiSnapshot } from "./snapshot.js";

export interface EngineMonitorOptions {
  readonly pipeline: string;
  readonly batchIntervalMs: number;
  /** Where the context checkpoints and appends dead letters. @default - none: no dead letters or state shown */
  readonly checkpointDir?: string;
  /** Completed batches kept. @default 60 */
  readonly batches?: number;
  /** @default 1_000 */
  readonly refreshMs?: number;
}

interface Kept {
  info: BatchInfo;
  state: BatchRow["state"];
  printed?: string[];
  outputs: Array<{ path: string; lines: string[]; truncated: boolean }>;
}

const LINES_SHOWN = 200;
const RECORDS_SHOWN = 200;

export class EngineMonitor implements Monitor, StreamingListener {
  readonly refreshMs: number;
  private readonly kept = new Map<number, Kept>();
  private readonly totals = { batches: 0, records: 0, deadLetters: 0, failures: 0 };
  private readonly parse = printBlockParser((time, lines) => {
    const k = this.kept.get(time);
    if (k) k.printed = lines;
  });
  private partial = "";
  private operatorsAt: { file: string; rows: OperatorRow[] } | undefined;

  constructor(private readonly o: EngineMonitorOptions) {
    this.refreshMs = o.refreshMs ?? 1_000;
  }

  onBatchSubmitted(info: BatchInfo): void {
    this.kept.set(info.batchTime.milliseconds, { info, state: "pending", outputs: [] });
  }

  onBatchStarted(info: BatchInfo): void {
    const k = this.kept.get(info.batchTime.milliseconds);
    if (k) Object.assign(k, { info, state: "active" });
  }

  onBatchCompleted(info: BatchInfo): void {
    const time = info.batchTime.milliseconds;
    const k = this.kept.get(time) ?? { info, state: "completed", outputs: [] };
    this.kept.set(time, Object.assign(k, { info, state: info.failure ? "failed" : "completed" }));
    this.totals.batches++;
    this.totals.records += info.numRecords;
    this.totals.deadLetters += info.numDeadLetters;
    if (info.failure) this.totals.failures++;
    const completed = [...this.kept.keys()].filter((t) => this.kept.get(t)!.state === "completed" || this.kept.get(t)!.state === "failed").sort((a, b) => a - b);
    for (const t of completed.slice(0, Math.max(0, completed.length - (this.o.batches ?? 60)))) this.kept.delete(t);
  }

  /** What the program prints (print() blocks among it), as it goes to the terminal. */
  printed(text: string): void {
    const lines = (this.partial + text).split("\n");
    this.partial = lines.pop()!;
    for (const line of lines) this.parse(line);
  }

  /** An output directory the program wrote (`prefix-<time>[.suffix]`), with its part files' lines. */
  wrote(path: string, partitions: readonly (readonly string[])[]): void {
    const m = /-(\d+)(?:\.[^/]*)?\/?$/.exec(path);
    const k = m ? this.kept.get(Number(m[1])) : undefined;
    if (!k) return;
    const lines = partitions.flat();
    k.outputs.push({ path, lines: lines.slice(0, LINES_SHOWN), truncated: lines.length > LINES_SHOWN });
  }

  async snapshot(): Promise<UiSnapshot> {
    const rows = [...this.kept.values()].map(rowOf);
    const order: Record<BatchRow["state"], number> = { active: 0, pending: 1, completed: 2, failed: 2 };
    rows.sort((a, b) => order[a.state] - order[b.state] || b.time - a.time);
    const lastFinalized = Math.max(...rows.filter((r) => r.state === "completed" || r.state === "failed").map((r) => r.time));
    const t = this.totals;
    const warnings: string[] = [];
    return {
      pipeline: this.o.pipeline,
      where: "the local engine",
      kind: "engine",
      takenAt: Date.now(),
      batchIntervalMs: this.o.batchIntervalMs,
      summary: `${plural(t.batches, "batch", "batches")}, ${plural(t.records, "record")}, ${plural(t.deadLetters, "dead letter")}, ${plural(t.failures, "failure")}`,
      ...(Number.isFinite(lastFinalized) ? { lastFinalized } : {}),
      batches: rows,
      shards: [],
      deadLetters: this.deadLetters(warnings),
      lateRecords: { total: 0, items: [] },
      operators: await this.operators(warnings),
      warnings,
    };
  }

  async batch(time: number): Promise<BatchDetail> {
    const k = this.kept.get(time);
    return {
      time,
      ...(k ? { row: rowOf(k) } : {}),
      outputs: k?.outputs ?? [],
      ...(k?.printed ? { printed: k.printed } : {}),
      errors: k?.info.failure ? [k.info.failure.message] : [],
      deadLetters: this.deadLetters([]).items.filter((d) => d.batch === time),
    };
  }

  /** The context's dead-letter files (`<checkpoint>/dead-letter/*.jsonl`): counted, the newest shown. */
  private deadLetters(warnings: string[]): RecordList {
    if (!this.o.checkpointDir) return { total: 0, items: [] };
    const dir = join(this.o.checkpointDir, "dead-letter");
    let lines: Array<{ file: string; n: number; text: string }> = [];
    try {
      for (const f of readdirSync(dir).filter((n) => n.endsWith(".jsonl")).sort()) {
        readFileSync(join(dir, f), "utf8")
          .split("\n")
          .forEach((text, i) => text && lines.push({ file: f, n: i + 1, text }));
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") warnings.push(`could not read ${dir}: ${(e as Error).message}`);
    }
    const total = lines.length;
    lines = lines.slice(-RECORDS_SHOWN).reverse();
    const B = this.o.batchIntervalMs;
    const items = lines.map(({ file, n, text }): RecordRow => {
      const e = JSON.parse(text) as { source?: string; position?: unknown; reason?: string; raw?: string; at?: string };
      const at = e.at ? Date.parse(e.at) : NaN;
      return {
        id: `${file}:${n}`,
        ...(e.source ? { shard: e.source } : {}),
        ...(e.position !== undefined && e.position !== null ? { position: JSON.stringify(e.position) } : {}),
        ...(Number.isFinite(at) ? { batch: Math.floor(at / B) * B + B } : {}),
        reason: e.reason ?? "unknown",
        data: (e.raw ?? "").slice(0, 4_096),
        bytes: Buffer.byteLength(e.raw ?? ""),
      };
    });
    return { total, items };
  }

  private async operators(warnings: string[]): Promise<OperatorRow[]> {
    const dir = this.o.checkpointDir;
    if (!dir) return [];
    let newest: string | undefined;
    try {
      newest = readdirSync(dir).filter((n) => /^checkpoint-\d+$/.test(n)).sort((a, b) => Number(b.slice(11)) - Number(a.slice(11)))[0];
    } catch {
      return [];
    }
    if (!newest) return [];
    if (this.operatorsAt?.file === newest) return this.operatorsAt.rows;
    try {
      const location = { checkpointDir: dir };
      const rows = await Promise.all(
        (await listStatefulOperators(location)).map(async (op): Promise<OperatorRow> => {
          try {
            const s = await readOperatorState(location, op.id);
            return { id: op.id, kind: op.kind, batchTime: s.batchTime, keys: s.keys, bytes: s.bytes };
          } catch {
            return { id: op.id, kind: op.kind };
          }
        }),
      );
      this.operatorsAt = { file: newest, rows };
      return rows;
    } catch (e) {
      warnings.push(`could not read the checkpoint: ${(e as Error).message}`);
      return [];
    }
  }
}

function rowOf(k: Kept): BatchRow {
  const i = k.info;
  return {
    time: i.batchTime.milliseconds,
    state: k.state,
    records: i.numRecords,
    ...(i.schedulingDelay !== undefined ? { schedulingDelayMs: i.schedulingDelay } : {}),
    ...(i.processingDelay !== undefined ? { processingMs: i.processingDelay } : {}),
    ...(i.totalDelay !== undefined ? { totalDelayMs: i.totalDelay } : {}),
    outputs: k.state === "completed" || k.state === "failed" ? i.outputOperations : 0,
    deadLetters: i.numDeadLetters,
    lateRecords: 0,
  };
}


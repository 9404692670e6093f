/**
 * Follows what a pipeline produces, by polling: output directories in the bucket (each shown once its
 * `_SUCCESS` is there, so only committed output), dead letters, and the print() output the local stack
 * appends to `<state dir>/logs/<function>.log`. `sparkless tail` prints these; `sparkless local up` shows
 * the output files and dead letters the same way.
 */
import { closeSync, openSync, readSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ObjectStore } from "../../lib/io/object-store.js";
import { sleep } from "./io.js";
import { BUCKET_PREFIXES } from "../../lib/contract/index.js";

export type FollowEvent =
  /** A complete output directory (`…/prefix-<time>.suffix/`), with its part files in order. */
  | { readonly kind: "output"; readonly dir: string; readonly time?: number; readonly parts: ReadonlyArray<{ readonly key: string; readonly content: string }> }
  | { readonly kind: "dead-letter"; readonly key: string; readonly content: string }
  /** New text at the end of a function's log file: print() blocks and whatever else the function wrote. */
  | { readonly kind: "log"; readonly file: string; readonly text: string };

export interface FollowerOptions {
  readonly objects: ObjectStore;
  readonly pipeline: string;
  /** Log files (`*.log`) to follow. @default - none */
  readonly logsDir?: string;
  /** Report what is already there on the first poll. @default false: only what appears after it */
  readonly fromStart?: boolean;
  /** Follow output directories. @default true */
  readonly outputs?: boolean;
  /** Follow dead letters. @default true */
  readonly deadLetters?: boolean;
}

/** Reads at most this much of a log file per poll, so a huge file does not arrive as one string. */
const MAX_LOG_READ = 1024 * 1024;

export class Follower {
  private readonly seenDirs = new Set<string>();
  private readonly seenDeadLetters = new Set<string>();
  private readonly logOffsets = new Map<string, number>();
  private polls = 0;

  constructor(private readonly options: FollowerOptions) {}

  /** One round: what appeared since the previous round (everything, on the first round with `fromStart`). */
  async poll(): Promise<FollowEvent[]> {
    const quiet = this.polls++ === 0 && !this.options.fromStart;
    const [outputs, deadLetters] = await Promise.all([
      this.options.outputs === false ? [] : this.newOutputs(quiet),
      this.options.deadLetters === false ? [] : this.newDeadLetters(quiet),
    ]);
    return [...this.newLogText(quiet), ...outputs, ...deadLetters];
  }

  /** Polls every `intervalMs` until `signal` fires, handing each event to `onEvent`. A failed poll is reported and retried. */
  async run(signal: AbortSignal, intervalMs: number, onEvent: (e: FollowEvent) => void, onError: (e: Error) => void): Promise<void> {
    while (!signal.aborted) {
      try {
        for (const e of await this.poll()) onEvent(e);
      } catch (e) {
        onError(e as Error);
      }
      await sleep(intervalMs, signal);
    }
  }

  private async newOutputs(quiet: boolean): Promise<FollowEvent[]> {
    const prefix = `${BUCKET_PREFIXES.output}${this.options.pipeline}/`;
    const keys = await this.options.objects.list(prefix);
    const dirs = keys.filter((k) => k.endsWith("/_SUCCESS")).map((k) => k.slice(0, -"/_SUCCESS".length));
    const fresh = dirs.filter((d) => !this.seenDirs.has(d));
    fresh.forEach((d) => this.seenDirs.add(d));
    if (quiet) return [];
    const events = await Promise.all(
      fresh.map(async (dir) => {
        const partKeys = keys.filter((k) => k.startsWith(`${dir}/part-`)).sort();
        const parts = await Promise.all(partKeys.map(async (key) => ({ key, content: (await this.options.objects.get(key)) ?? "" })));
        const time = timeOf(dir);
        return { kind: "output" as const, dir, ...(time !== undefined ? { time } : {}), parts };
      }),
    );
    // Batch order first (several outputs per batch), then by name.
    return events.sort((a, b) => (a.time ?? 0) - (b.time ?? 0) || (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
  }

  private async newDeadLetters(quiet: boolean): Promise<FollowEvent[]> {
    const keys = await this.options.objects.list(`${BUCKET_PREFIXES.deadLetter}${this.options.pipeline}/`);
    const fresh = keys.filter((k) => !this.seenDeadLetters.has(k));
    fresh.forEach((k) => this.seenDeadLetters.add(k));
    if (quiet) return [];
    return Promise.all(fresh.map(async (key) => ({ kind: "dead-letter" as const, key, content: (await this.options.objects.get(key)) ?? "" })));
  }

  private newLogText(quiet: boolean): FollowEvent[] {
    const dir = this.options.logsDir;
    if (!dir) return [];
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith(".log")).sort();
    } catch {
      return []; // no logs directory (yet)
    }
    const events: FollowEvent[] = [];
    for (const name of names) {
      const path = join(dir, name);
      let size: number;
      try {
        size = statSync(path).size;
      } catch {
        continue;
      }
      let offset = this.logOffsets.get(path) ?? (quiet ? size : 0);
      if (size < offset) offset = 0; // truncated (a fresh start): read it again from the top
      if (size === offset) {
        this.logOffsets.set(path, offset);
        continue;
      }
      const length = Math.min(size - offset, MAX_LOG_READ);
      const buf = Buffer.alloc(length);
      const fd = openSync(path, "r");
      let read: number;
      try {
        read = readSync(fd, buf, 0, length, offset);
      } finally {
        closeSync(fd);
      }
      // Only whole lines: a writer may be in the middle of one.
      const end = buf.subarray(0, read).lastIndexOf(0x0a) + 1;
      if (end === 0 && read < MAX_LOG_READ) continue;
      const upTo = end === 0 ? read : end;
      this.logOffsets.set(path, offset + upTo);
      events.push({ kind: "log", file: name.slice(0, -".log".length), text: buf.subarray(0, upTo).toString("utf8") });
    }
    return events;
  }
}

/** The batch time in an output directory name (`prefix-<time>` or `prefix-<time>.suffix`), as Spark names it. */
export function timeOf(dir: string): number | undefined {
  const m = /-(\d+)(\.[^/]*)?$/.exec(dir);
  return m ? Number(m[1]) : undefined;
}

/** One dead letter as a line: what failed, where, and the start of the data. */
export function describeDeadLetter(key: string, content: string): string {
  try {
    const v = JSON.parse(content) as Record<string, unknown>;
    if (typeof v.batchTime === "number") return `batch ${v.batchTime} ms failed: ${String(v.error)}`;
    const where = [v.shardId, v.sequenceNumber].filter((x) => x !== undefined).join(" ");
    const data = typeof v.data === "string" ? preview(v.data) : undefined;
    return `${v.operator ? `${String(v.operator)}: ` : ""}${String(v.error ?? "unknown error")}${where ? ` (${where})` : ""}${data ? ` data: ${data}` : ""}`;
  } catch {
    return `${key}: ${content.slice(0, 200)}`;
  }
}

/** Dead-lettered data is base64 of the record; show it as text when it reads as text. */
function preview(data: string): string {
  let text = data;
  if (/^[A-Za-z0-9+/]*={0,2}$/.test(data) && data.length % 4 === 0) {
    const decoded = Buffer.from(data, "base64").toString("utf8");
    if (!decoded.includes("\uFFFD") && !/[\x00-\x08\x0e-\x1f]/.test(decoded)) text = decoded;
  }
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

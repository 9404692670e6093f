/**
 * Watches what a running pipeline has achieved, from the outside, the way an operator would on AWS: its status
 * item in the table (batches finalized), its bucket (new output directories with `_SUCCESS`), and the pollers'
 * positions (lag per shard). One timer, one pass at a time; a failed pass is a warning and the next one tries again.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import type { EsmPoller } from "../esm-poller/index.js";
import { S3ObjectStore } from "../../lib/io/s3-object-store.js";
import { DynamoDbPipelineStore } from "../../lib/pipeline-store/dynamodb-pipeline-store.js";
import { errorText, type LocalStackEvent, type ShardLag } from "./events.js";
import { BUCKET_PREFIXES } from "../../lib/contract/index.js";

export interface WatchedPipeline {
  readonly name: string;
  readonly table: string;
  readonly bucket: string;
  /** @default - read from the status item's successive values (each change is one event per batch interval step) */
  readonly batchIntervalMs?: number;
}

export interface WatchedMapping {
  readonly logicalId: string;
  readonly functionName: string;
  readonly poller: EsmPoller;
}

export interface ProgressWatcherOptions {
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
  readonly pipelines: readonly WatchedPipeline[];
  readonly mappings: readonly WatchedMapping[];
  readonly emit: (e: LocalStackEvent) => void;
  /** @default 1_000 */
  readonly intervalMs?: number;
}

interface PipelineState {
  readonly p: WatchedPipeline;
  readonly store: DynamoDbPipelineStore;
  readonly objects: S3ObjectStore;
  lastFinalized?: number;
  readonly seen: Set<string>;
}

export class ProgressWatcher {
  private readonly states: PipelineState[];
  private readonly lastLag = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: ProgressWatcherOptions) {
    this.states = o.pipelines.flatMap((p) => {
      const objects = new S3ObjectStore({ client: o.s3, bucket: p.bucket });
      try {
        return [{ p, objects, store: new DynamoDbPipelineStore({ client: o.dynamodb, tableName: p.table, pipeline: p.name, objects }), seen: new Set<string>() }];
      } catch (err) {
        // Not a sparkless pipeline after all (a SPARKLESS_PIPELINE the store refuses): nothing to watch.
        o.emit({ type: "warning", message: `pipeline ${JSON.stringify(p.name)} is not watched`, error: errorText(err) });
        return [];
      }
    });
  }

  /** Takes note of what exists already (a resumed stack reports only what is new), then watches. */
  async start(): Promise<void> {
    await Promise.all(
      this.states.map(async (s) => {
        try {
          s.lastFinalized = (await s.store.getStatus())?.lastFinalized;
          for (const k of await s.objects.list(`${BUCKET_PREFIXES.output}${s.p.name}/`)) s.seen.add(k);
        } catch (err) {
          this.o.emit({ type: "warning", message: `could not read the progress of pipeline ${s.p.name}`, error: errorText(err) });
        }
      }),
    );
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.pass;
  }

  /** One pass now (tests, and `stop` of a caller who wants the last events). */
  async poll(): Promise<void> {
    await Promise.all(this.states.map((s) => this.pollPipeline(s)));
    for (const m of this.o.mappings) this.pollLag(m);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.pass = this.poll().finally(() => {
        this.pass = undefined;
        this.schedule();
      });
    }, this.o.intervalMs ?? 1_000);
  }

  private async pollPipeline(s: PipelineState): Promise<void> {
    try {
      const status = await s.store.getStatus();
      if (!status) return;
      const before = s.lastFinalized ?? status.zeroTime;
      if (status.lastFinalized > before) {
        const step = s.p.batchIntervalMs;
        if (step && step > 0) {
          for (let t = before + step; t <= status.lastFinalized; t += step) this.o.emit({ type: "batch-finalized", pipeline: s.p.name, time: t });
        } else {
          this.o.emit({ type: "batch-finalized", pipeline: s.p.name, time: status.lastFinalized });
        }
        s.lastFinalized = status.lastFinalized;
        await this.newOutputs(s);
      } else if (s.lastFinalized === undefined) {
        s.lastFinalized = status.lastFinalized;
      }
    } catch (err) {
      if (!this.stopped) this.o.emit({ type: "warning", message: `could not read the progress of pipeline ${s.p.name}`, error: errorText(err) });
    }
  }

  private async newOutputs(s: PipelineState): Promise<void> {
    const keys = await s.objects.list(`${BUCKET_PREFIXES.output}${s.p.name}/`);
    const fresh = keys.filter((k) => !s.seen.has(k));
    for (const k of fresh) s.seen.add(k);
    for (const k of fresh.filter((k) => k.endsWith("/_SUCCESS"))) {
      const directory = k.slice(0, -"_SUCCESS".length);
      this.o.emit({ type: "output", pipeline: s.p.name, bucket: s.p.bucket, directory, keys: keys.filter((x) => x.startsWith(directory)) });
    }
  }

  private pollLag(m: WatchedMapping): void {
    const stats = m.poller.stats();
    const shards: ShardLag[] = stats.shards.map((s) => ({
      shardId: s.shardId,
      state: s.state,
      bufferedRecords: s.bufferedRecords,
      ...(s.millisBehindLatest !== undefined ? { millisBehindLatest: s.millisBehindLatest } : {}),
      ...(s.iteratorAgeMs !== undefined ? { iteratorAgeMs: s.iteratorAgeMs } : {}),
      ...(s.checkpoint !== undefined ? { checkpoint: s.checkpoint } : {}),
    }));
    const key = JSON.stringify(shards);
    if (this.lastLag.get(m.logicalId) === key) return;
    this.lastLag.set(m.logicalId, key);
    this.o.emit({ type: "lag", mapping: m.logicalId, functionName: m.functionName, shards });
  }
}

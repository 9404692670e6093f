/**
 * `npm run bench -- scale`: how the keyed stage scales out over P finalizer partitions, with DynamoDB and S3
 * modelled (store-model.ts states the model), and what mapWithState's state costs per batch.
 *
 * Per (distinct keys N, partitions P), one batch of N distinct keys (a reduceByKey saved with saveAsTextFiles)
 * goes through the real shard stage, then each partition's finalizer runs in turn in this process
 * (finalizePartition, as the finalizer function does for `{ "partition": p }`), then the completion step
 * (finalizeReady). For each, its CPU time (process.cpuUsage) plus the modelled time of its store calls. The
 * critical path per batch is the slowest partition plus the completion step: on AWS the P partitions run side
 * by side, each in its own invocation.
 *
 * The timed variants (ratios against P = 1) are the critical path at 100k keys (× --scale); the notes add the
 * table for 100k, 1M and 5M keys at P = 1, 4, 16, 64 (one run each), the requests and bytes per batch, and
 * mapWithState's bytes read and written per batch for 10M keys of state and 10k changed keys, before and after
 * (test/bench/map-with-state-io.ts).
 *
 * Memory: the records are built once per size and reused for every P; 5M keys peak at about 4.3 GB resident
 * (the records, the shard stage's parts, the merged maps, the completion step's output lines), measured.
 */
import { Milliseconds, Seconds } from "../../lib/core/duration.js";
import { definePipeline } from "../../lib/api/define-pipeline.js";
import { finalizeReady } from "../../lib/serverless/finalizer.js";
import { finalizePartition } from "../../lib/serverless/partition-finalizer.js";
import { PipelineRuntime } from "../../lib/serverless/runtime.js";
import type { RuntimeDeps } from "../../lib/serverless/runtime-deps.js";
import { MemoryObjectStore } from "../../lib/testing/memory-object-store.js";
import { MemoryPipelineStore } from "../../lib/testing/memory-pipeline-store.js";
import { kinesisEvent, lambdaContext, sequenceNumber, SimShards, type SimRecord } from "../../lib/testing/simulated-stream.js";
import { collectGarbage, type BenchmarkFactory, type Measurement } from "./harness.js";
import { mapWithStateIo } from "./map-with-state-io.js";
import type { BenchmarkWithNotes } from "./serverless.js";
import { addCost, modelText, noCost, type StoreCost, StoreMeter } from "./store-model.js";

const B = 10_000;
const BASE = 1_700_000_000_000;
const SHARD = "shardId-000000000000";
/** Records per shard invocation: larger than Lambda's 10,000 only to keep the bench's own time down. */
const CHUNK = 50_000;
export const PARTITIONS = [1, 4, 16, 64] as const;
export const SIZES = [100_000, 1_000_000, 5_000_000] as const;

/** One partition's (or the completion step's) share of a batch. */
interface Share {
  readonly cpuMs: number;
  readonly store: StoreCost;
}

export interface ScaleResult {
  readonly keys: number;
  readonly partitions: number;
  readonly slowest: Share;
  readonly completion: Share;
  /** Slowest partition + completion: CPU + modelled store time. */
  readonly criticalMs: number;
  /** Every partition and the completion step together: requests and bytes per batch. */
  readonly total: StoreCost;
  /** The batch's output lines (a check: one per key). */
  readonly lines: number;
}

const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

/** N records with N distinct keys in batch BASE + B, and one in the next batch so that the first completes. */
function records(keys: number): SimRecord[] {
  const out: SimRecord[] = new Array(keys + 1);
  for (let i = 0; i < keys; i++) {
    out[i] = { shardId: SHARD, seq: sequenceNumber(0, i), arrival: BASE + 1 + (i % (B - 2)), partitionKey: "p", data: Buffer.from(`k${i}`).toString("base64") };
  }
  out.sort((a, b) => a.arrival - b.arrival);
  for (let i = 0; i < keys; i++) (out[i] as { seq: string }).seq = sequenceNumber(0, i);
  out[keys] = { shardId: SHARD, seq: sequenceNumber(0, keys), arrival: BASE + B + 1, partitionKey: "p", data: Buffer.from("next").toString("base64") };
  return out;
}

/** One batch of `recs` (N distinct keys) through the shard stage and the P partitions' finalizers. */
export async function scaleRun(recs: readonly SimRecord[], partitions: number): Promise<ScaleResult> {
  const pipeline = definePipeline<string>(
    "scale",
    { batchInterval: Milliseconds(B), finalizerPartitions: partitions, decoder: (bytes) => Buffer.from(bytes).toString("utf8"), idleAfter: Seconds(1) },
    (lines) => {
      lines
        .map((k) => [k, 1] as [string, number])
        .reduceByKey((a, b) => a + b)
        .saveAsTextFiles("counts");
    },
  );
  const meter = new StoreMeter();
  const memoryObjects = new MemoryObjectStore();
  let now = BASE;
  const deps: RuntimeDeps = {
    store: meter.wrapStore(new MemoryPipelineStore()),
    objects: meter.wrapObjects(memoryObjects),
    shards: new SimShards(new Map([[SHARD, recs as SimRecord[]]]), [{ shardId: SHARD, closed: false }]),
    now: () => now,
    log: () => undefined,
  };
  const runtime = new PipelineRuntime(pipeline, deps);
  // The shard stage, not measured: committed, not finalized inline (too little time left in the invocation).
  for (let from = 0; from < recs.length; from += CHUNK) {
    const chunk = recs.slice(from, from + CHUNK);
    now = chunk.at(-1)!.arrival + 1;
    await runtime.handleShardEvent(kinesisEvent(chunk), lambdaContext(8_000));
  }
  now = BASE + 3 * B;
  meter.take();

  const shares: Share[] = [];
  const total = noCost();
  const timed = async (run: () => Promise<unknown>): Promise<Share> => {
    // On AWS each partition runs in its own function: what the shard stage and the partitions before left on
    // this process's heap is not its garbage to collect.
    collectGarbage();
    const started = process.cpuUsage();
    await run();
    const share = { cpuMs: cpuMs(started), store: meter.take() };
    addCost(total, share.store);
    return share;
  };
  if (partitions > 1) {
    for (let p = 0; p < partitions; p++) {
      shares.push(
        await timed(async () => {
          const r = await finalizePartition(pipeline, deps, p, { maxBatches: 1 });
          if (r.finalized.length !== 1) throw new Error(`partition ${p} did not finalize the batch (${r.stopped})`);
        }),
      );
    }
  }
  const completion = await timed(async () => {
    const r = await finalizeReady(pipeline, deps, { maxBatches: 1 });
    if (r.finalized.length !== 1) throw new Error(`the batch was not completed (${r.stopped})`);
  });
  const time = (s: Share) => s.cpuMs + s.store.ms;
  const slowest = shares.length === 0 ? { cpuMs: 0, store: noCost() } : shares.reduce((a, b) => (time(b) > time(a) ? b : a));
  let lines = 0;
  for (const key of await memoryObjects.list("output/scale/counts-")) if (/\/part-\d{5}$/.test(key)) lines += ((await memoryObjects.get(key)) ?? "").split("\n").filter(Boolean).length;
  return { keys: recs.length - 1, partitions, slowest, completion, criticalMs: time(slowest) + time(completion), total, lines };
}

const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);
const fmtBytes = (b: number) => (b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : `${(b / 1e3).toFixed(1)} kB`);
const fmtKeys = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export function scaleTable(results: readonly ScaleResult[]): string {
  const rows = results.map((r) => [
    `${fmtKeys(r.keys)} keys, P = ${r.partitions}`,
    fmtMs(r.criticalMs),
    `${fmtMs(r.slowest.cpuMs)} + ${fmtMs(r.slowest.store.ms)}`,
    `${fmtMs(r.completion.cpuMs)} + ${fmtMs(r.completion.store.ms)}`,
    String(r.total.dynamoRequests),
    fmtBytes(r.total.dynamoBytes),
    String(r.total.s3Requests),
    fmtBytes(r.total.s3Bytes),
    r.criticalMs < B ? "yes" : "no",
  ]);
  // With P = 1 the completion step is the whole batch (no partitions).
  return table(["batch", "critical path", "slowest partition (cpu + store)", "completion (cpu + store)", "DynamoDB req", "DynamoDB bytes", "S3 req", "S3 bytes", `< ${B / 1000} s`], rows);
}

export const scale: BenchmarkFactory = ({ scale: factor }): BenchmarkWithNotes => {
  const timedKeys = Math.max(1_000, Math.round(100_000 * factor));
  let timedRecords: SimRecord[] | undefined;
  const variant = (partitions: number) => ({
    name: `P = ${partitions}`,
    async run() {
      const r = await scaleRun((timedRecords ??= records(timedKeys)), partitions);
      if (r.lines !== timedKeys) throw new Error(`P = ${partitions}: ${r.lines} output lines for ${timedKeys} keys`);
      return { ms: r.criticalMs, result: r.lines };
    },
  });
  return {
    name: "scale",
    title: `finalizer critical path per batch (slowest partition + completion; CPU here + modelled DynamoDB/S3) for ${timedKeys.toLocaleString("en-US")} distinct keys`,
    units: { keys: timedKeys },
    variants: PARTITIONS.map(variant),
    check(results) {
      if (results.some((r) => r !== timedKeys)) throw new Error(`the variants' output lines differ: ${results.join(", ")}`);
    },
    async notes(_measurements: readonly Measurement[]) {
      timedRecords = undefined;
      const out: string[] = [modelText(), ""];
      const results: ScaleResult[] = [];
      for (const size of SIZES) {
        const keys = Math.max(1_000, Math.round(size * factor));
        let recs: SimRecord[] | undefined = records(keys);
        for (const p of PARTITIONS) {
          results.push(await scaleRun(recs, p));
          // The large sizes take minutes: each row as it is measured.
          process.stderr.write(`scale: ${scaleTable(results.slice(-1)).split("\n").at(-1)}\n`);
        }
        recs = undefined;
      }
      out.push("per batch, one run each:", scaleTable(results), "");
      const target = results.find((r) => r.keys === Math.max(1_000, Math.round(1_000_000 * factor)) && r.partitions === 16);
      if (target) out.push(`target: ${fmtKeys(target.keys)} distinct keys at P = 16 finalized in ${fmtMs(target.criticalMs)} (target < 10 s): ${target.criticalMs < 10_000 ? "met" : "NOT met"}`, "");

      const io = await mapWithStateIo({ stateKeys: 10_000_000, changedKeys: Math.max(100, Math.round(10_000 * factor)) });
      const after = io.perKey.bytesRead + io.perKey.bytesWritten;
      const ratio = after / (2 * io.changedBytes);
      const read = io.perKey.bytesRead / io.changedBytes;
      const written = io.perKey.bytesWritten / io.changedBytes;
      out.push(
        `mapWithState, ${io.stateKeys.toLocaleString("en-US")} keys of state, ${io.changedKeys.toLocaleString("en-US")} changed a batch (changed keys' bytes ${fmtBytes(io.changedBytes)}):`,
        table(
          ["", "read", "written", "requests"],
          [
            ["before (whole snapshot)", fmtBytes(io.snapshot.bytesRead), fmtBytes(io.snapshot.bytesWritten), "-"],
            ["after (per key)", fmtBytes(io.perKey.bytesRead), fmtBytes(io.perKey.bytesWritten), io.perKey.requests.toFixed(0)],
          ],
        ),
        `after, per changed keys' bytes: read ${read.toFixed(2)}x, written ${written.toFixed(2)}x, both ${ratio.toFixed(2)}x (target within 2x: ${Math.max(read, written) <= 2 ? "met" : "NOT met"}); before: ${(io.snapshot.bytesRead / io.changedBytes).toFixed(0)}x each way`,
      );
      return out.join("\n") + "\n";
    },
  };
};

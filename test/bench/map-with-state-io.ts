/**
 * mapWithState's state I/O per batch, before (one snapshot of the whole state, read and written every batch) and
 * after (per key: lib/serverless/keyed-state.ts), for a state of `stateKeys` keys of which `changedKeys` get
 * data each batch. For `npm run bench -- scale` (which prints it) and test/serverless/map-with-state-io.test.ts
 * (which asserts on its counts).
 *
 * The per-key figures are measured: the batches run through the serverless runtime (shard stage and finalizer)
 * on the in-memory stores, whose state store counts every item and byte it reads and writes. The state the
 * batches start from is seeded into that store as earlier batches would have written it — only the keys the
 * batches touch, since per-key storage never reads the others, so 10M keys cost no memory here.
 *
 * The snapshot figures are modelled: the bytes of the encoded state (what the finalizer read and wrote as node
 * memory before), measured on two samples of the same keys and extrapolated linearly to `stateKeys`.
 */
import { encodeValue } from "../../lib/core/codec.js";
import { Milliseconds, Seconds } from "../../lib/core/duration.js";
import { KeyMap } from "../../lib/core/keys.js";
import { StateSpec } from "../../lib/core/state-spec.js";
import type { State } from "../../lib/core/state.js";
import { RDD } from "../../lib/core/rdd.js";
import { definePipeline } from "../../lib/api/define-pipeline.js";
import type { DStream } from "../../lib/api/dstream.js";
import { finalizeReady } from "../../lib/serverless/finalizer.js";
import { encodeStored, STARTED_ID, stateKeyId } from "../../lib/serverless/keyed-state.js";
import { PipelineRuntime } from "../../lib/serverless/runtime.js";
import type { RuntimeDeps } from "../../lib/serverless/runtime-deps.js";
import type { StateScope } from "../../lib/pipeline-store/keyed-state-store.js";
import { MemoryKeyedStateStore, type StateIo } from "../../lib/testing/memory-keyed-state-store.js";
import { MemoryObjectStore } from "../../lib/testing/memory-object-store.js";
import { MemoryPipelineStore } from "../../lib/testing/memory-pipeline-store.js";
import { kinesisEvent, lambdaContext, sequenceNumber, SimShards, type SimRecord } from "../../lib/testing/simulated-stream.js";

export interface MapWithStateIoOptions {
  /** Keys in the state before the measured batches. */
  readonly stateKeys: number;
  /** Distinct keys with data in each measured batch (each gets one record, which updates its state). */
  readonly changedKeys: number;
  /** Measured batches. @default 3 */
  readonly batches?: number;
  /** Characters of text in each key's state besides its count (a session's payload, say). @default 0 */
  readonly stateBytes?: number;
  /** With a timeout (and so the update-time index). @default false */
  readonly timeout?: boolean;
}

/** Per batch, averaged over the measured batches. */
export interface MapWithStateIo {
  readonly stateKeys: number;
  readonly changedKeys: number;
  /** The changed keys' own bytes: each one's encoded key and state after the batch. */
  readonly changedBytes: number;
  /** Before: the whole state read, and written, every batch (modelled from the encoding). */
  readonly snapshot: { readonly bytesRead: number; readonly bytesWritten: number };
  /** After: what the per-key state store read and wrote (measured). */
  readonly perKey: {
    readonly itemsRead: number;
    readonly itemsWritten: number;
    readonly bytesRead: number;
    readonly bytesWritten: number;
    /** Store calls as DynamoDB would count them (BatchGetItem per 100 keys, PutItem per item, index calls). */
    readonly requests: number;
    /** Update-time index bytes read and written (with a timeout). */
    readonly indexBytes: number;
    /** Of bytesWritten, the batch's undo record (gzipped: the changed keys' versions before the batch). */
    readonly undoBytesWritten: number;
    /** Undo records read: only a re-run reads one, so 0 here. */
    readonly undoReads: number;
  };
}

const B = 10_000;
const keyOf = (i: number) => `k${String(i).padStart(10, "0")}`;
type Rec = { k: string };

/** One batch's records: `changed` distinct keys out of `keys`, spread over the key space and different each batch. */
function keysOfBatch(batch: number, changed: number, keys: number): number[] {
  const stride = Math.max(1, Math.floor(keys / changed));
  return Array.from({ length: changed }, (_, j) => (j * stride + batch * 7919) % keys);
}

export async function mapWithStateIo(options: MapWithStateIoOptions): Promise<MapWithStateIo> {
  const { stateKeys, changedKeys } = options;
  const batches = options.batches ?? 3;
  const payload = "x".repeat(options.stateBytes ?? 0);
  type S = { n: number; text: string };
  const pipeline = definePipeline<Rec>(
    "state-io",
    { batchInterval: Milliseconds(B), decoder: (bytes) => JSON.parse(Buffer.from(bytes).toString("utf8")) as Rec, idleAfter: Seconds(1) },
    (input: DStream<Rec>) => {
      const spec = StateSpec.function((_key: string, _one: number | undefined, state: State<S>) => {
        state.update({ n: (state.getOption()?.n ?? 0) + 1, text: payload });
        return undefined;
      }).name("sessions");
      input.map((r) => [r.k, 1] as [string, number]).mapWithState(options.timeout ? spec.timeout(Seconds(3600)) : spec).print(1);
    },
  );

  const store = new MemoryPipelineStore();
  const state = new MemoryKeyedStateStore();
  const objects = new MemoryObjectStore();
  const shardId = "shardId-000000000000";
  const base = 1_700_000_000_000;
  const records: SimRecord[] = [];
  for (let b = 0; b < batches; b++) {
    for (const [j, i] of keysOfBatch(b, changedKeys, stateKeys).entries()) {
      records.push({ shardId, seq: sequenceNumber(0, records.length), arrival: base + (b + 1) * B + 1 + j % (B - 2), partitionKey: keyOf(i), data: Buffer.from(JSON.stringify({ k: keyOf(i) })).toString("base64") });
    }
  }
  records.sort((a, b) => a.arrival - b.arrival);
  records.forEach((r, n) => ((r as { seq: string }).seq = sequenceNumber(0, n)));
  let now = base;
  const deps: RuntimeDeps = { store, objects, keyedState: state, shards: new SimShards(new Map([[shardId, records]]), [{ shardId, closed: false }]), now: () => now, log: () => undefined };
  const runtime = new PipelineRuntime(pipeline, deps);
  await runtime.tick();
  const zero = (await store.getStatus())!.zeroTime;

  // The state before: every key the batches touch, as a batch at the zero time would have left it, in a state
  // built up over 30 days of batches (10M keys in 259,200 batches: about 40 inserted a batch). A key's place in
  // the state's order is stored with it, so its age and insertion index weigh in what each batch reads and writes.
  const scope: StateScope = { nodeId: "sessions", partition: 0 };
  const seeded = new Set<number>(Array.from({ length: batches }, (_, b) => keysOfBatch(b, changedKeys, stateKeys)).flat());
  const insertedBatchesAgo = (i: number) => 1 + ((i * 7919) % 259_200);
  const initial = (i: number) => encodeStored({ n: 1, text: payload }, i % 40, zero, zero - insertedBatchesAgo(i) * B, B);
  state.seed(scope, [{ id: STARTED_ID, key: "null", current: { time: zero, value: String(B) } }, ...[...seeded].map((i) => ({ id: stateKeyId(keyOf(i)), key: encodeValue(keyOf(i)), current: { time: zero, value: initial(i) } }))]);

  now = records.at(-1)!.arrival + 1;
  await runtime.handleShardEvent(kinesisEvent(records), lambdaContext(8_000)); // committed, not finalized inline
  now = zero + (batches + 4) * B;
  for (let i = 0; i < 3; i++) await new PipelineRuntime(pipeline, deps).tick(lambdaContext(8_000)); // the shard goes idle
  // Batch zero + B has no data (the records start in the next one): finalized first, not measured.
  const finalizeOne = async () => {
    const done = await finalizeReady(pipeline, deps, { maxBatches: 1 });
    if (done.finalized.length !== 1) throw new Error(`the bench's batch did not finalize (${done.stopped})`);
  };
  await finalizeOne();
  state.resetIo();
  const measured: StateIo[] = [];
  for (let b = 0; b < batches; b++) {
    await finalizeOne();
    measured.push(state.resetIo());
  }
  const mean = (f: (io: StateIo) => number) => measured.reduce((n, io) => n + f(io), 0) / measured.length;

  const changedBytes = keysOfBatch(0, changedKeys, stateKeys).reduce((n, i) => n + Buffer.byteLength(encodeValue(keyOf(i))) + Buffer.byteLength(encodeValue({ n: 2, text: payload })), 0);
  const snapshotBytes = snapshotModel(stateKeys, payload);
  return {
    stateKeys,
    changedKeys,
    changedBytes,
    snapshot: { bytesRead: snapshotBytes, bytesWritten: snapshotBytes },
    perKey: {
      itemsRead: mean((io) => io.itemsRead),
      itemsWritten: mean((io) => io.itemsWritten),
      bytesRead: mean((io) => io.bytesRead),
      bytesWritten: mean((io) => io.bytesWritten),
      requests: mean((io) => io.requests),
      indexBytes: mean((io) => io.indexBytes),
      undoBytesWritten: mean((io) => io.undoBytesWritten),
      undoReads: mean((io) => io.undoReads),
    },
  };
}

/** The encoded snapshot of `keys` keys' states (node memory as the finalizer stored it): two samples, extrapolated. */
function snapshotModel(keys: number, payload: string): number {
  const size = (n: number) => {
    const states = new KeyMap<string, { state: unknown; updatedAt: number }>();
    for (let j = 0; j < n; j++) states.set(keyOf(Math.floor((j * keys) / n)), { state: { n: 1, text: payload }, updatedAt: 1_700_000_010_000 });
    return Buffer.byteLength(encodeValue(RDD.of([{ states, mapped: [] }]).partitions()));
  };
  const small = Math.min(keys, 1_000);
  const large = Math.min(keys, 2_000);
  if (large === small) return size(small);
  const perKey = (size(large) - size(small)) / (large - small);
  return Math.round(size(small) + (keys - small) * perKey);
}

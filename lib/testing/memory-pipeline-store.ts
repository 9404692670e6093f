import { FaultPlan, SimulatedCrash, type CrashPoint } from "./faults.js";
import { MemoryKeyedStateStore } from "./memory-keyed-state-store.js";
import type { CommitMarker, CommitRequest, Lease, Part, PartitionStatus, PipelineStatus, PipelineStore, ShardProgress } from "../pipeline-store/pipeline-store.js";
import { checkPartition, checkSegment, checkTime, compareUtf8 as compareStrings } from "../pipeline-store/store-keys.js";

export { SimulatedCrash, type CrashPoint } from "./faults.js";

interface StoredProgress {
  seq?: string;
  watermark: number;
  drained: boolean;
  lastCommit?: { attemptId: string; times: number[] };
}

/**
 * The pipeline store in this process: the same semantics as {@link DynamoDbPipelineStore}, conditions included
 * (the contract test runs one suite against both), for fast property tests of the commit protocol.
 *
 * Every call is atomic: a method reads and writes its state synchronously, before its first `await`, so two
 * concurrent calls behave as two conditional writes to one DynamoDB item do — one after the other.
 *
 * Decisions both implementations share (the contract leaves them open):
 * - the watermark never goes back: `commit` and `advanceWatermark` store `max(expected.watermark, watermark)`;
 * - `advanceWatermark(..., drained = false)` leaves an already drained shard drained;
 * - a lease whose `expiresAt` is `now` or earlier is free (a lease covers `[now, now + ttlMs)`); the first
 *   token is 1;
 * - `getMemory` does not hide an expired entry: `expiresAt` only lets TTL collect it, and a remembered RDD is
 *   the same value for as long as it exists, so reading it late is harmless.
 *
 * @example
 * const store = new MemoryPipelineStore();
 * store.failNext("commit", "after"); // the commit takes effect, then the caller sees a SimulatedCrash
 */
export class MemoryPipelineStore implements PipelineStore {
  private status: PipelineStatus | undefined;
  private readonly progress = new Map<string, StoredProgress>();
  /** time -> part key -> part */
  private readonly parts = new Map<number, Map<string, Part>>();
  /** time -> `<shardId>#<attemptId>` -> marker */
  private readonly markers = new Map<number, Map<string, CommitMarker>>();
  private readonly memory = new Map<string, { payload: string; expiresAt: number; token: number }>();
  /** On the status item in DynamoDB; here beside it. The token survives a release. */
  private lease: Lease = { owner: "", token: 0, expiresAt: 0 };
  /** Each finalizer partition's status item (P > 1): its lease and how far it finalized. */
  private readonly partitionItems = new Map<number, { lease: Lease; lastFinalized?: number }>();
  private readonly faults = new FaultPlan<keyof PipelineStore>();
  /** mapWithState's per-key state, beside the rest as in the DynamoDB table. */
  private readonly perKey = new MemoryKeyedStateStore();

  /**
   * Makes the next call of `method` throw a {@link SimulatedCrash}: `"before"` it does anything, or `"after"` its
   * write took effect (the caller never hears that it did). Calls queue up per method.
   */
  failNext(method: keyof PipelineStore, when: CrashPoint): void {
    this.faults.arm(method, when);
  }

  /** Forgets the crashes armed with {@link failNext} that no call has met yet. */
  clearFaults(): void {
    this.faults.clear();
  }

  getStatus(): Promise<PipelineStatus | undefined> {
    return this.faults.run("getStatus", () => (this.status ? { ...this.status } : undefined));
  }

  createStatus(status: PipelineStatus): Promise<boolean> {
    return this.faults.run("createStatus", () => {
      if (this.status) return false;
      this.status = {
        zeroTime: status.zeroTime,
        lastFinalized: status.lastFinalized,
        graphHash: status.graphHash,
        ...(status.partitions !== undefined ? { partitions: status.partitions } : {}),
      };
      return true;
    });
  }

  advanceStatus(from: number, to: number, token: number, partition?: number): Promise<boolean> {
    return this.faults.run("advanceStatus", () => {
      if (partition !== undefined) {
        const item = this.partitionItems.get(partition);
        if (!item || item.lease.token !== token || (item.lastFinalized !== undefined && item.lastFinalized !== from)) return false;
        item.lastFinalized = to;
        return true;
      }
      if (!this.status || this.status.lastFinalized !== from || this.lease.token !== token) return false;
      this.status = { ...this.status, lastFinalized: to };
      return true;
    });
  }

  getPartitionFinalized(partition: number): Promise<number | undefined> {
    return this.faults.run("getPartitionFinalized", () => this.partitionItems.get(partition)?.lastFinalized);
  }

  listPartitionStatus(): Promise<PartitionStatus[]> {
    return this.faults.run("listPartitionStatus", () => {
      if (!this.status) return [];
      const status = this.status;
      const leased = (lease: Lease) => (lease.owner ? { leaseOwner: lease.owner, leaseExpiresAt: lease.expiresAt } : {});
      if (this.partitionItems.size === 0) return [{ partition: 0, lastFinalized: status.lastFinalized, ...leased(this.lease) }];
      return [...this.partitionItems.entries()]
        .sort(([a], [b]) => a - b)
        .map(([partition, item]) => ({ partition, lastFinalized: item.lastFinalized ?? status.zeroTime, ...leased(item.lease) }));
    });
  }

  replaceGraphHash(from: string, to: string): Promise<boolean> {
    return this.faults.run("replaceGraphHash", () => {
      if (!this.status || this.status.graphHash !== from) return false;
      this.status = { ...this.status, graphHash: to };
      return true;
    });
  }

  getProgress(shardId: string): Promise<ShardProgress | undefined> {
    return this.faults.run("getProgress", () => {
      const p = this.progress.get(shardId);
      return p ? view(shardId, p) : undefined;
    });
  }

  listProgress(): Promise<ShardProgress[]> {
    return this.faults.run("listProgress", () =>
      [...this.progress.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([id, p]) => view(id, p)),
    );
  }

  commit(request: CommitRequest): Promise<boolean> {
    return this.faults.run("commit", () => {
      checkSegment("shardId", request.shardId);
      checkSegment("attemptId", request.attemptId);
      request.times.forEach(checkTime);
      const stored = this.progress.get(request.shardId);
      if (!matches(stored, request.expected)) return false;
      const next: StoredProgress = stored ?? { watermark: 0, drained: false };
      next.seq = request.seq;
      next.watermark = Math.max(request.expected.watermark, request.watermark);
      next.lastCommit = { attemptId: request.attemptId, times: [...new Set(request.times)].sort((a, b) => a - b) };
      this.progress.set(request.shardId, next);
      return true;
    });
  }

  advanceWatermark(
    shardId: string,
    expected: { seq?: string; watermark: number },
    watermark: number,
    drained: boolean,
  ): Promise<boolean> {
    return this.faults.run("advanceWatermark", () => {
      checkSegment("shardId", shardId);
      const stored = this.progress.get(shardId);
      if (!matches(stored, expected)) return false;
      const next: StoredProgress = stored ?? { watermark: 0, drained: false };
      next.watermark = Math.max(expected.watermark, watermark);
      next.drained = next.drained || drained;
      this.progress.set(shardId, next);
      return true;
    });
  }

  putParts(parts: readonly Part[], markers: readonly CommitMarker[] = []): Promise<void> {
    return this.faults.run("putParts", () => {
      parts.forEach(checkPart);
      markers.forEach(checkMarker);
      for (const part of parts) {
        const byKey = this.parts.get(part.time) ?? new Map<string, Part>();
        byKey.set(partKey(part), { ...part });
        this.parts.set(part.time, byKey);
      }
      for (const m of markers) {
        const byKey = this.markers.get(m.time) ?? new Map<string, CommitMarker>();
        byKey.set(`${m.shardId}#${m.attemptId}`, { shardId: m.shardId, time: m.time, attemptId: m.attemptId });
        this.markers.set(m.time, byKey);
      }
    });
  }

  getCommitMarkers(time: number): Promise<CommitMarker[]> {
    return this.faults.run("getCommitMarkers", () => {
      checkTime(time);
      return [...(this.markers.get(time)?.entries() ?? [])].sort(([a], [b]) => compareStrings(a, b)).map(([, m]) => ({ ...m }));
    });
  }

  getParts(time: number, partition = 0): Promise<Part[]> {
    return this.faults.run("getParts", () => {
      checkTime(time);
      return [...(this.parts.get(time)?.entries() ?? [])]
        .filter(([, part]) => (part.partition ?? 0) === partition)
        .sort(([a], [b]) => compareStrings(a, b))
        .map(([, part]) => ({ ...part }));
    });
  }

  putMemory(nodeId: string, time: number, payload: string, expiresAt: number, token: number, partition?: number): Promise<boolean> {
    return this.faults.run("putMemory", () => {
      checkSegment("nodeId", nodeId);
      checkTime(time);
      const stored = this.memory.get(memoryKey(nodeId, time, partition));
      if (stored && stored.token > token) return false;
      this.memory.set(memoryKey(nodeId, time, partition), { payload, expiresAt, token });
      return true;
    });
  }

  getMemory(nodeId: string, time: number, partition?: number): Promise<string | undefined> {
    return this.faults.run("getMemory", () => {
      checkSegment("nodeId", nodeId);
      checkTime(time);
      return this.memory.get(memoryKey(nodeId, time, partition))?.payload;
    });
  }

  acquireLease(owner: string, now: number, ttlMs: number): Promise<Lease | undefined> {
    return this.faults.run("acquireLease", () => {
      if (!this.status || this.lease.expiresAt > now) return undefined;
      this.lease = { owner, token: this.lease.token + 1, expiresAt: now + ttlMs };
      return { ...this.lease };
    });
  }

  acquirePartitionLease(partition: number, owner: string, now: number, ttlMs: number): Promise<Lease | undefined> {
    return this.faults.run("acquirePartitionLease", () => {
      checkPartition(partition);
      const item = this.partitionItems.get(partition) ?? { lease: { owner: "", token: 0, expiresAt: 0 } };
      if (item.lease.expiresAt > now) return undefined;
      item.lease = { owner, token: item.lease.token + 1, expiresAt: now + ttlMs, partition };
      this.partitionItems.set(partition, item);
      return { ...item.lease };
    });
  }

  renewLease(lease: Lease, now: number, ttlMs: number): Promise<Lease | undefined> {
    return this.faults.run("renewLease", () => {
      if (lease.partition !== undefined) {
        const item = this.partitionItems.get(lease.partition);
        if (!item || item.lease.token !== lease.token) return undefined;
        item.lease = { ...item.lease, expiresAt: now + ttlMs };
        return { ...item.lease };
      }
      if (this.lease.token !== lease.token) return undefined;
      this.lease = { ...this.lease, expiresAt: now + ttlMs };
      return { ...this.lease };
    });
  }

  keyedState(): MemoryKeyedStateStore {
    return this.perKey;
  }

  releaseLease(lease: Lease): Promise<void> {
    return this.faults.run("releaseLease", () => {
      if (lease.partition !== undefined) {
        const item = this.partitionItems.get(lease.partition);
        if (item && item.lease.token === lease.token) item.lease = { ...item.lease, expiresAt: 0 };
        return;
      }
      if (this.lease.token === lease.token) this.lease = { ...this.lease, expiresAt: 0 };
    });
  }
}

/** The commit condition of the contract (the DynamoDB store's ConditionExpression, in code). */
function matches(stored: StoredProgress | undefined, expected: { seq?: string; watermark: number }): boolean {
  if (!stored) return expected.seq === undefined && expected.watermark === 0;
  return stored.seq === expected.seq && stored.watermark === expected.watermark;
}

function view(shardId: string, p: StoredProgress): ShardProgress {
  return {
    shardId,
    ...(p.seq !== undefined ? { seq: p.seq } : {}),
    watermark: p.watermark,
    drained: p.drained,
    ...(p.lastCommit ? { lastCommit: { attemptId: p.lastCommit.attemptId, times: [...p.lastCommit.times] } } : {}),
  };
}

function checkMarker(m: CommitMarker): void {
  checkTime(m.time);
  checkSegment("shardId", m.shardId);
  checkSegment("attemptId", m.attemptId);
}

function checkPart(part: Part): void {
  if (part.partition !== undefined) checkPartition(part.partition);
  checkTime(part.time);
  checkSegment("nodeId", part.nodeId);
  checkSegment("shardId", part.shardId);
  checkSegment("attemptId", part.attemptId);
}

/** The DynamoDB store's sort key, so both return parts in the same order. */
function partKey(part: Part): string {
  return `${part.partition ?? 0}#${part.nodeId}#${part.shardId}#${part.attemptId}`;
}

function memoryKey(nodeId: string, time: number, partition: number | undefined): string {
  return `${nodeId}\u0000${time}\u0000${partition ?? ""}`;
}


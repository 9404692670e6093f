import { FaultPlan, SimulatedCrash } from "./faults.js";
import {
  checkStateId as checkId,
  checkStateItem,
  checkStateScope as checkScope,
  inlineIdKey,
  packUndo,
  stateItemBytes,
  unpackUndo,
  type KeyedStateStore,
  type StateItem,
  type StateScope,
  type UndoRecord,
} from "../pipeline-store/keyed-state-store.js";
import { checkTime } from "../pipeline-store/store-keys.js";

/** What a store moved, counted by the in-memory store (the I/O test and the bench read it). */
export interface StateIo {
  requests: number;
  itemsRead: number;
  bytesRead: number;
  itemsWritten: number;
  bytesWritten: number;
  /** Undo records read (a re-run's), and the bytes of undo records read and written (also in bytesRead/bytesWritten). */
  undoReads: number;
  undoBytesRead: number;
  undoBytesWritten: number;
  /** Ids read from or written to the timeout index. */
  indexIds: number;
  indexBytes: number;
}

const zeroIo = (): StateIo => ({ requests: 0, itemsRead: 0, bytesRead: 0, itemsWritten: 0, bytesWritten: 0, undoReads: 0, undoBytesRead: 0, undoBytesWritten: 0, indexIds: 0, indexBytes: 0 });

/**
 * The per-key state store in this process, with the semantics of {@link DynamoDbKeyedStateStore} (the contract
 * test runs one suite against both), for property tests, and counting what it reads and writes.
 *
 * Each item's write is atomic on its own (as one conditional PutItem is); `putItems` as a whole is not, so a
 * crash "after" it means every item was written, and a crash in the middle is a `failAfterItems`.
 *
 * @example
 * const state = new MemoryKeyedStateStore();
 * state.failNext("putItems", "after"); // the items are written, then the caller sees a SimulatedCrash
 */
export class MemoryKeyedStateStore implements KeyedStateStore {
  /** Items as DynamoDB keeps them: an item whose id carries its key keeps no key of its own. */
  private readonly items = new Map<string, Map<string, Stored>>();
  private readonly index = new Map<string, Map<number, string[]>>();
  /** Undo records as DynamoDB keeps them: gzipped (packUndo), with the token that wrote them. */
  private readonly undo = new Map<string, Map<number, { packed: Buffer; fence: number }>>();
  private readonly faults = new FaultPlan<keyof KeyedStateStore>();
  private partialAfter: number | undefined;
  /** Counts since construction or the last {@link resetIo}. */
  io: StateIo = zeroIo();

  /** Makes the next call of `method` throw a SimulatedCrash, before it does anything or after it took effect. */
  failNext(method: keyof KeyedStateStore, when: "before" | "after"): void {
    this.faults.arm(method, when);
  }

  /** Makes the next `putItems` write its first `n` items and then throw a SimulatedCrash (a crash between writes). */
  failAfterItems(n: number): void {
    this.partialAfter = n;
  }

  resetIo(): StateIo {
    const io = this.io;
    this.io = zeroIo();
    return io;
  }

  getItems(scope: StateScope, ids: readonly string[]): Promise<StateItem[]> {
    return this.faults.run("getItems", () => {
      checkScope(scope);
      ids.forEach(checkId);
      const mine = this.items.get(scopeKey(scope));
      const out: StateItem[] = [];
      for (const id of new Set(ids)) {
        const item = mine?.get(id);
        if (item) out.push(this.read(item));
      }
      this.io.requests += Math.max(1, Math.ceil(ids.length / 100));
      return out;
    });
  }

  scanItems(scope: StateScope): Promise<StateItem[]> {
    return this.faults.run("scanItems", () => {
      checkScope(scope);
      this.io.requests++;
      return [...(this.items.get(scopeKey(scope))?.values() ?? [])].map((item) => this.read(item));
    });
  }

  /** `replaced` frees nothing here: this store keeps every value in its item (it never spills). */
  putItems(scope: StateScope, items: readonly StateItem[], token: number, tombstoneExpiresAt: number, _replaced?: UndoRecord): Promise<boolean> {
    return this.faults.run("putItems", () => {
      checkScope(scope);
      items.forEach((item) => {
        checkStateItem(item);
        checkTime(item.current.time);
      });
      const mine = this.items.get(scopeKey(scope)) ?? new Map<string, Stored>();
      this.items.set(scopeKey(scope), mine);
      let ok = true;
      let written = 0;
      for (const item of items) {
        if (this.partialAfter !== undefined && written === this.partialAfter) {
          this.partialAfter = undefined;
          throw new SimulatedCrashBetweenWrites(written);
        }
        this.io.requests++;
        const stored = mine.get(item.id);
        if (stored && (stored.current.time > item.current.time || stored.fence > token)) {
          ok = false;
          continue;
        }
        mine.set(item.id, { ...toStored(item), fence: token, ...(item.current.value === undefined ? { expiresAt: tombstoneExpiresAt } : {}) });
        this.io.itemsWritten++;
        this.io.bytesWritten += stateItemBytes(item);
        written++;
      }
      if (this.partialAfter !== undefined) this.partialAfter = undefined;
      return ok;
    });
  }

  putUndo(scope: StateScope, time: number, undo: UndoRecord, token: number, _expiresAt: number): Promise<boolean> {
    return this.faults.run("putUndo", () => {
      checkScope(scope);
      checkTime(time);
      [...undo.keys()].forEach(checkId);
      const mine = this.undo.get(scopeKey(scope)) ?? new Map<number, { packed: Buffer; fence: number }>();
      this.undo.set(scopeKey(scope), mine);
      this.io.requests++;
      if ((mine.get(time)?.fence ?? -Infinity) > token) return false;
      const packed = packUndo(undo);
      mine.set(time, { packed, fence: token });
      this.io.bytesWritten += packed.length;
      this.io.undoBytesWritten += packed.length;
      return true;
    });
  }

  getUndo(scope: StateScope, time: number): Promise<UndoRecord | undefined> {
    return this.faults.run("getUndo", () => {
      checkScope(scope);
      checkTime(time);
      this.io.requests++;
      const stored = this.undo.get(scopeKey(scope))?.get(time);
      if (!stored) return undefined;
      this.io.undoReads++;
      this.io.bytesRead += stored.packed.length;
      this.io.undoBytesRead += stored.packed.length;
      return unpackUndo(stored.packed);
    });
  }

  putUpdateIndex(scope: StateScope, time: number, ids: readonly string[], _expiresAt: number): Promise<void> {
    return this.faults.run("putUpdateIndex", () => {
      checkScope(scope);
      checkTime(time);
      ids.forEach(checkId);
      const mine = this.index.get(scopeKey(scope)) ?? new Map<number, string[]>();
      this.index.set(scopeKey(scope), mine);
      mine.set(time, [...ids]);
      this.io.requests++;
      this.io.indexIds += ids.length;
      this.io.indexBytes += indexBytes(ids);
    });
  }

  getUpdateIndex(scope: StateScope, from: number, to: number): Promise<string[]> {
    return this.faults.run("getUpdateIndex", () => {
      checkScope(scope);
      this.io.requests++;
      const mine = this.index.get(scopeKey(scope));
      const times = [...(mine?.keys() ?? [])].filter((t) => t >= from && t < to).sort((a, b) => a - b);
      const ids = times.flatMap((t) => mine!.get(t)!);
      this.io.indexIds += ids.length;
      this.io.indexBytes += indexBytes(ids);
      return ids;
    });
  }

  /**
   * Stores items as if earlier batches had written them (under lease token 0), without counting them as I/O:
   * a bench starts from a large state this way.
   */
  seed(scope: StateScope, items: readonly StateItem[]): void {
    items.forEach(checkStateItem);
    const mine = this.items.get(scopeKey(scope)) ?? new Map<string, Stored>();
    this.items.set(scopeKey(scope), mine);
    for (const item of items) mine.set(item.id, { ...toStored(item), fence: 0 });
  }

  /** Whether the scope holds an item of this id (not counted as I/O). */
  has(scope: StateScope, id: string): boolean {
    return this.items.get(scopeKey(scope))?.has(id) ?? false;
  }

  /** Every item of every scope, for tests that look at what is stored (not counted as I/O). */
  dump(scope: StateScope): StateItem[] {
    return [...(this.items.get(scopeKey(scope))?.values() ?? [])].map(fromStored);
  }

  private read(stored: Stored): StateItem {
    const item = fromStored(stored);
    this.io.itemsRead++;
    this.io.bytesRead += stateItemBytes(item);
    return item;
  }
}

/** Thrown by {@link MemoryKeyedStateStore.failAfterItems}: some of a `putItems` call's items were written. */
export class SimulatedCrashBetweenWrites extends SimulatedCrash {
  constructor(readonly written: number) {
    super("putItems", "after");
    this.message = `simulated crash after ${written} items of putItems were written`;
  }
}

interface Stored {
  readonly id: string;
  /** Absent when the id carries the key. */
  readonly key?: string;
  readonly current: StateItem["current"];
  readonly fence: number;
  readonly expiresAt?: number;
}

function toStored(item: StateItem): Omit<Stored, "fence"> {
  return { id: item.id, ...(inlineIdKey(item.id) === undefined ? { key: item.key } : {}), current: { ...item.current } };
}

function fromStored(stored: Stored): StateItem {
  return { id: stored.id, key: inlineIdKey(stored.id) ?? stored.key!, current: { ...stored.current } };
}

/** An index's ids as a list of their UTF-8 bytes and a separator each. */
function indexBytes(ids: readonly string[]): number {
  return ids.reduce((n, id) => n + Buffer.byteLength(id, "utf8") + 1, 0);
}

function scopeKey(scope: StateScope): string {
  return `${scope.nodeId}\u0000${scope.partition}`;
}

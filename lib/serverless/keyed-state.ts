import { createHash } from "node:crypto";
import { decodeValue, encodeValue } from "../core/codec.js";
import { Time } from "../core/duration.js";
import { IllegalStateError } from "../core/errors.js";
import { canonicalKey, KeyMap } from "../core/keys.js";
import { partitionOf } from "../core/partitioner.js";
import { RDD } from "../core/rdd.js";
import type { Evaluation, Supplier } from "../graph/evaluation.js";
import type { Node } from "../graph/node.js";
import { MapWithStateNode, type KeyState } from "../graph/ops/map-with-state.js";
import { inlineStateId, type KeyedStateStore, type StateItem, type StateScope, type StateVersion, type UndoRecord } from "../pipeline-store/keyed-state-store.js";

/**
 * mapWithState's state kept per key (docs/serverless.md, "Keyed state per key"): a batch reads the keys with
 * data in it (and, on a timeout-scanning batch, the keys the update-time index says may have timed out), runs
 * the node on that part of the state ({@link MapWithStateNode.applyPartial}), and writes only the keys it changed
 * or removed. A graph that reads `stateSnapshots()` needs every key each batch, as Spark's full scan does: for
 * such a node the batch reads the whole state (and still writes only what changed).
 *
 * Exactly once: before its items, a batch writes one undo record with the versions its changed keys had, so a
 * re-run of T that finds items T wrote reads what T − B left from it (see keyed-state-store.ts) and computes the
 * same items; a batch that finds no item of its own never reads it. The writes are conditional on the lease
 * token (and the items on the batch time). A finalizer that finds a key written by a later batch is behind and
 * stops (LeaseLost).
 */

/**
 * The id of the item that says the node has state (its first batch ran): the initial state applies before it.
 * Its value is the unit, in ms, of the ages its keys' versions store (below): the node's slide, so that an age
 * counts batches — a key inserted a year before, at 10 s batches, stores 7 digits, not 11. State written
 * before ages had a unit says "1": milliseconds.
 */
export const STARTED_ID = "~started";
/** Items written per store call (a lease check between calls keeps a long write inside the lease). */
const WRITE_CHUNK = 500;
/**
 * Tombstones and index entries outlive the last batch that can read them by this much: as node memory does, so
 * a finalizer that crashed mid-batch and resumes within it re-runs the batch from the same state.
 */
const STATE_SLACK_MS = 14 * 24 * 3600_000;

/**
 * What a stored version holds: `[state, index]` or `[state, index, age]` — the key's place in the state's
 * order is (the batch that inserted it, its insertion index in that batch), the batch being the version's own
 * unless `age` says how long before it the key was inserted, in the node's age unit (the started item's value):
 * a difference in batches, not a time, so a long-lived key costs a few digits, not 13. The last update
 * (timeouts count from it) is the version's batch: every change of a key's state sets it to the batch's time.
 */
type Stored = readonly [state: unknown, index: number, age?: number];

/**
 * A version's stored value: the state, and where the key was inserted — at `time`, or `inserted` before it,
 * counted in `unit` ms. Both times are batch times of the node, so on its slide's grid: the age is whole.
 */
export function encodeStored(state: unknown, index: number, time: number, inserted: number, unit: number): string {
  const age = (time - inserted) / unit;
  if (!Number.isInteger(age)) throw new IllegalStateError("StateAgeNotWhole", `a key inserted at ${inserted} and updated at ${time} is not a whole number of ${unit} ms batches apart`, { time, inserted, unit });
  return encodeValue((age === 0 ? [state, index] : [state, index, age]) satisfies Stored);
}

/** A stored version's state and place in the state's order. */
function decodeStored(time: number, value: string, unit: number): { state: unknown; order: readonly [number, number] } {
  const [state, index, age] = decodeValue<Stored>(value);
  return { state, order: [time - (age ?? 0) * unit, index] };
}

/** The age unit a started item's version says (ms; "1" from before ages had a unit). */
function ageUnit(started: StateVersion): number {
  const unit = Number(started.value);
  if (!Number.isInteger(unit) || unit < 1) throw new IllegalStateError("StateAgeUnitInvalid", `the started item of a mapWithState's state holds "${started.value}", not an age unit in ms`, { value: started.value });
  return unit;
}

/**
 * The id a key is stored under. A string or finite number whose encoding is short is its own id (an inline id,
 * keyed-state-store.ts's {@link inlineStateId}): the item then holds the key once, and a batch's undo record,
 * keyed by id, gzips like the keys do. Any other key: a hash of its canonical text (what KeyMap compares keys
 * by), told apart by whether the key is an object, as KeyMap keeps primitives and objects apart — 22 base64url
 * characters (132 bits), which never start as an inline id does.
 */
export function stateKeyId(key: unknown): string {
  if (typeof key === "string" || (typeof key === "number" && Number.isFinite(key))) {
    const inline = inlineStateId(encodeValue(key));
    if (inline !== undefined) return inline;
  }
  // JSON writes NaN and ±Infinity as null, which KeyMap keeps apart from null and from each other.
  const text = key === undefined ? "u" : typeof key === "number" ? `n${key}` : (key !== null && typeof key === "object" ? "o" : "p") + canonicalKey(key);
  return createHash("sha256").update(text).digest("base64url").slice(0, 22);
}

/**
 * The version batch `time` reads: what the batches before it left — from `undo`, batch `time`'s undo record,
 * when `time` wrote the item (a re-run; a key absent from it had no item before).
 */
export function versionBefore(item: StateItem, time: number, undo: UndoRecord | undefined): StateVersion | undefined {
  if (item.current.time < time) return item.current;
  if (item.current.time === time) {
    if (!undo) throw undoMissing(time);
    return undo.get(item.id);
  }
  throw new IllegalStateError(
    "LeaseLost",
    `batch ${item.current.time} already wrote the state of a key that batch ${time} reads: another finalizer finalized this batch, and this one stops`,
    { time, written: item.current.time },
  );
}

function undoMissing(time: number): IllegalStateError {
  return new IllegalStateError(
    "UndoRecordMissing",
    `batch ${time} wrote a key's state but its undo record is gone (it expires 14 days after the batch): the state before batch ${time} cannot be read; restore the table from a backup`,
    { time },
  );
}

interface Prepared {
  readonly node: MapWithStateNode<unknown, unknown, unknown, unknown>;
  readonly scope: StateScope;
  rdd?: RDD<unknown>;
  error?: unknown;
  items: StateItem[];
  /** The versions before the batch of the keys in `items` that had one (the batch's undo record). */
  undo: Map<string, StateVersion>;
  indexIds: string[];
  indexExpiresAt: number;
}

/**
 * One finalizer batch's per-key state: {@link prepare} before the graph runs, {@link supply} while it runs,
 * {@link commit} after. Owns the plan's mapWithState nodes when a store is given; owns nothing otherwise (they
 * are then remembered as snapshots, as before).
 */
export class KeyedStateBatch {
  private readonly nodes: ReadonlySet<Node>;
  private readonly prepared = new Map<Node, Prepared>();
  private readonly store: KeyedStateStore | undefined;

  /** `store` is asked for only when the plan has a mapWithState: a graph without one never touches it. */
  constructor(
    remembered: readonly Node[],
    store: () => KeyedStateStore | undefined,
    private readonly partition = 0,
    private readonly partitions = 1,
  ) {
    const nodes = remembered.filter((n) => n instanceof MapWithStateNode);
    this.store = nodes.length > 0 ? store() : undefined;
    this.nodes = new Set(this.store ? nodes : []);
  }

  /** Whether `node`'s state is kept here (not as node memory). */
  owns(node: Node): boolean {
    return this.nodes.has(node);
  }

  /** The nodes of `remembered` whose memory is still node memory: those not kept here. */
  others(remembered: readonly Node[]): Node[] {
    return remembered.filter((n) => !this.nodes.has(n));
  }

  /** `supply`, with the owned nodes supplied from here (see {@link supply}). */
  around(supply: Supplier, time: Time): Supplier {
    return (node, at) => (this.nodes.has(node) ? this.supply(node, at, time) : supply(node, at));
  }

  /** Reads the state each owned node's batch needs and runs the batch; a user function's error is kept for the jobs. */
  async prepare(ev: Evaluation, time: Time): Promise<void> {
    const reachable = ev.graph.reachable();
    await Promise.all(
      [...this.nodes].map(async (n) => {
        const node = n as MapWithStateNode<unknown, unknown, unknown, unknown>;
        if (!node.isTimeValid(time)) return;
        const full = reachable.some((c) => c.kind === "stateSnapshots" && c.dependencies[0] === node);
        this.prepared.set(node, await this.run(node, ev, time, full));
      }),
    );
  }

  /** The owned node's RDD for the batch (what prepare computed), or nothing for earlier times: never read. */
  supply(node: Node, at: Time, time: Time): { readonly rdd: RDD<unknown> | undefined } {
    if (at.milliseconds !== time.milliseconds) return { rdd: undefined };
    const p = this.prepared.get(node);
    if (p?.error !== undefined) throw p.error;
    return { rdd: p?.rdd };
  }

  /**
   * Writes what the batch changed: the undo record first (so a re-run after any of the later writes finds the
   * versions before), then the update index, then the items, `check` (the lease) before each call. The items
   * go with the undo record, so the store deletes the spilled values they replace (a re-run deletes again). A node whose
   * function threw writes nothing (its state stays as the batch before left it) and its error goes to `fail`.
   * Throws LeaseLost when the store refused the undo record or an item: a later lease or batch wrote it.
   */
  async commit(check: () => Promise<void>, token: number, fail: (e: unknown) => Promise<void>): Promise<void> {
    for (const p of this.prepared.values()) {
      if (p.error !== undefined) {
        await fail(p.error);
        continue;
      }
      const store = this.store!;
      if (p.items.length > 0) {
        await check();
        const time = p.items[0]!.current.time;
        if (!(await store.putUndo(p.scope, time, p.undo, token, time + STATE_SLACK_MS))) {
          throw new IllegalStateError("LeaseLost", `the undo record of ${p.node.label} for batch ${time} was refused: a later finalizer wrote it; this one stops`, { token, time });
        }
      }
      if (p.indexIds.length > 0) {
        await check();
        await store.putUpdateIndex(p.scope, p.items[0]!.current.time, p.indexIds, p.indexExpiresAt);
      }
      for (let i = 0; i < p.items.length; i += WRITE_CHUNK) {
        await check();
        const time = p.items[0]!.current.time;
        if (!(await store.putItems(p.scope, p.items.slice(i, i + WRITE_CHUNK), token, time + STATE_SLACK_MS, p.undo))) {
          throw new IllegalStateError("LeaseLost", `the state of ${p.node.label} for batch ${time} was refused: a later finalizer wrote it; this one stops`, { token, time });
        }
      }
    }
  }

  private async run(node: MapWithStateNode<unknown, unknown, unknown, unknown>, ev: Evaluation, time: Time, full: boolean): Promise<Prepared> {
    const store = this.store!;
    const scope: StateScope = { nodeId: node.id, partition: this.partition };
    const batch = time.milliseconds;
    const prepared: Prepared = { node, scope, items: [], undo: new Map(), indexIds: [], indexExpiresAt: 0 };
    let data: RDD<[unknown, unknown]> | undefined;
    try {
      data = ev.getOrCompute(node.parent, time);
    } catch (e) {
      prepared.error = e;
      return prepared;
    }

    // The ids this batch reads: its keys with data, the keys that may have timed out, and whether it has begun.
    const ids = new Set<string>([STARTED_ID]);
    data?.forEachElement((pair) => {
      if (Array.isArray(pair)) ids.add(stateKeyId(pair[0]));
    });
    const timeout = node.spec.getTimeoutInterval()?.milliseconds;
    const every = node.checkpointDuration!.milliseconds;
    if (timeout !== undefined && node.scansTimeouts(time)) {
      // A key last updated before the previous scan's threshold was timed out by that scan: only the update
      // times since then can hold keys that timed out now.
      const threshold = batch - timeout;
      for (const id of await store.getUpdateIndex(scope, threshold - every, threshold)) ids.add(id);
    }
    const items = full ? [...(await store.scanItems(scope)), ...(await store.getItems(scope, [STARTED_ID]))] : await store.getItems(scope, [...ids]);
    // Only a re-run finds items of its own batch, and only then reads the undo record.
    const undo = items.some((item) => item.current.time === batch) ? await store.getUndo(scope, batch) : undefined;

    // The state as the batches before left it, in the state's order.
    let started = false;
    // A node that has not started writes its unit now: its slide.
    let unit = node.slideDuration.milliseconds;
    const live: Array<{ id: string; key: unknown; state: unknown; updatedAt: number; order: readonly [number, number] }> = [];
    const before = new Map<string, StateVersion>();
    for (const item of items) {
      const version = versionBefore(item, batch, undo);
      if (version) before.set(item.id, version);
      if (item.id === STARTED_ID && version?.value !== undefined) {
        started = true;
        unit = ageUnit(version);
      }
    }
    // Decoded after every version is known: the ages' unit is the started item's, wherever it is among the items.
    for (const item of items) {
      const version = before.get(item.id);
      if (item.id === STARTED_ID || version?.value === undefined) continue;
      const { state, order } = decodeStored(version.time, version.value, unit);
      live.push({ id: item.id, key: decodeValue(item.key), state, updatedAt: version.time, order });
    }
    live.sort((a, b) => a.order[0] - b.order[0] || a.order[1] - b.order[1]);
    const order = new Map(live.map((e) => [e.id, e.order]));
    let previous: KeyMap<unknown, KeyState<unknown>> | undefined;
    if (started) {
      previous = new KeyMap();
      for (const e of live) previous.set(e.key, { state: e.state, updatedAt: e.updatedAt });
    }

    const owns = this.partitions > 1 ? (key: unknown) => partitionOf(key, this.partitions) === this.partition : undefined;
    let result: ReturnType<typeof node.applyPartial>;
    try {
      result = node.applyPartial(time, previous, data, owns);
    } catch (e) {
      prepared.error = e;
      return prepared;
    }
    prepared.rdd = RDD.of([result.record]);

    for (const change of result.changes) {
      const id = stateKeyId(change.key);
      const was = before.get(id);
      if (was) prepared.undo.set(id, was);
      let value: string | undefined;
      if (change.state !== undefined) {
        if (change.state.updatedAt !== batch) throw new IllegalStateError("StateNotUpdatedAtBatch", `${node.label} changed a key's state without setting its update time to the batch's`, { batch });
        const [inserted, index] = change.inserted !== undefined ? [batch, change.inserted] : order.get(id)!;
        value = encodeStored(change.state.state, index, batch, inserted, unit);
        if (timeout !== undefined) prepared.indexIds.push(id);
      }
      prepared.items.push({ id, key: encodeValue(change.key), current: { time: batch, ...(value !== undefined ? { value } : {}) } });
    }
    if (!started) {
      const was = before.get(STARTED_ID);
      if (was) prepared.undo.set(STARTED_ID, was);
      prepared.items.push({ id: STARTED_ID, key: "null", current: { time: batch, value: String(unit) } });
    }
    prepared.indexExpiresAt = batch + (timeout ?? 0) + every + STATE_SLACK_MS;
    return prepared;
  }
}

/**
 * Every key's state after batch `time` (a finalized batch: the last one, or one no key changed since), in the
 * state's order, for tools and tests; undefined when the operator has no state in this partition. A full scan,
 * and the undo record of each batch after `time` that wrote an item. Throws when a key has changed since `time`
 * by more than one version: per-key state keeps no history.
 */
export async function readKeyedState(
  store: KeyedStateStore,
  scope: StateScope,
  time: number,
): Promise<Array<{ key: unknown; state: unknown; updatedAt: number }> | undefined> {
  const items = [...(await store.scanItems(scope)), ...(await store.getItems(scope, [STARTED_ID]))];
  const undos = new Map<number, UndoRecord | undefined>();
  for (const t of new Set(items.map((i) => i.current.time).filter((t) => t > time))) undos.set(t, await store.getUndo(scope, t));
  const after = (item: StateItem) => {
    if (item.current.time <= time) return item.current;
    const undo = undos.get(item.current.time);
    if (!undo) throw undoMissing(item.current.time);
    const previous = undo.get(item.id);
    if (!previous || previous.time <= time) return previous;
    throw new IllegalStateError("StateHistoryGone", `the state of a key was written twice after batch ${time}: per-key state keeps the last finalized batch's state, not older ones`, { time });
  };
  const started = items.find((i) => i.id === STARTED_ID);
  const startedVersion = started && after(started);
  if (startedVersion?.value === undefined) return undefined;
  const unit = ageUnit(startedVersion);
  const out: Array<{ key: unknown; state: unknown; updatedAt: number; order: readonly [number, number] }> = [];
  for (const item of items) {
    const version = after(item);
    if (item.id === STARTED_ID || version?.value === undefined) continue;
    const { state, order } = decodeStored(version.time, version.value, unit);
    out.push({ key: decodeValue(item.key), state, updatedAt: version.time, order });
  }
  out.sort((a, b) => a.order[0] - b.order[0] || a.order[1] - b.order[1]);
  return out.map(({ key, state, updatedAt }) => ({ key, state, updatedAt }));
}

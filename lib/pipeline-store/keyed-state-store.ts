/**
 * Keyed state kept per key (mapWithState on the serverless path: docs/serverless.md, "Keyed state per key"), so
 * a batch reads and writes only the keys it touches instead of the whole state. Two implementations share one
 * contract test (test/integration/keyed-state-store.contract.test.ts): DynamoDB and an in-memory one.
 *
 * The store knows versions and fences, not what a state means: values and keys are encoded text (codec.ts),
 * and an item is found by its id: a short string or number key is its own id (an **inline id**: a string's
 * encoding, or `=` and a number's: {@link inlineStateId}), which the stores keep instead of a separate key; any
 * other key's id is a hash (lib/serverless/keyed-state.ts says which).
 *
 * The exactly-once rule of the finalizer (a re-run of batch T reads what T − B left and writes the same
 * result) needs the state as it was before T even after T wrote some keys and crashed. An item keeps only its
 * `current` version (the last batch that changed the key); before T writes any item, it writes one **undo
 * record** per (scope, T) with the versions its changed keys had before. A batch T reads `current` when
 * `current.time < T`; when `current.time === T` (a re-run after T wrote the item) it reads T's undo record, in
 * which a key that is absent did not exist before T; a `current.time > T` means a later batch ran, so the
 * reader is behind and must stop. A batch that is not a re-run never reads an undo record, so the version
 * before costs its keys' bytes once, compressed, in one write, not in every item read and written.
 */
import { gunzipSync, gzipSync } from "node:zlib";

import { ValidationError } from "../core/errors.js";
import { checkSegment } from "./store-keys.js";

/** One version of a key's state. */
export interface StateVersion {
  /** The batch (epoch ms) that wrote it. */
  readonly time: number;
  /** The encoded state after that batch; absent: that batch removed the key (a tombstone). */
  readonly value?: string;
}

export interface StateItem {
  /**
   * The key's id within its scope: an inline id (the key itself, {@link inlineStateId}), or at most 64
   * characters of `[A-Za-z0-9_~-]` (a hash, or a reserved id such as `~started`).
   */
  readonly id: string;
  /** The encoded key (what the state is read back under); for an inline id, the text the id carries. */
  readonly key: string;
  /** What the last batch that changed the key wrote. */
  readonly current: StateVersion;
}

/** A batch's undo record: each key it changes or removes (by id), with the version the key had before it. */
export type UndoRecord = ReadonlyMap<string, StateVersion>;

/** Whose state: one operator's, in one finalizer partition (0 when there is one). */
export interface StateScope {
  readonly nodeId: string;
  readonly partition: number;
}

export interface KeyedStateStore {
  /** The stored items among `ids` (missing ids are left out), strongly consistent, in no particular order. */
  getItems(scope: StateScope, ids: readonly string[]): Promise<StateItem[]>;
  /** Every item of the scope, tombstones included: a full read, for what needs the whole state (stateSnapshots). */
  scanItems(scope: StateScope): Promise<StateItem[]>;
  /**
   * Writes the items, each conditional on its own: refused when the stored item's `current` was written by a
   * later batch than the new one's, or under a later lease token than `token`. A re-run writing the same item
   * again succeeds. A tombstone (`current.value` absent) is kept until `tombstoneExpiresAt` (epoch ms), then
   * may vanish. Resolves to false when any item was refused (the others may have been written).
   *
   * `replaced` is the batch's undo record (what putUndo wrote): once an item is written, what the version it
   * replaced kept outside the item (a spilled value) is deleted. Nothing reads that any more — the item points at
   * the new version, and a re-run of the batch or readKeyedState reads the version before from the undo record,
   * which holds the value itself — and a re-run deletes again (a no-op), so a crash between the write and the
   * delete leaves nothing behind for good.
   */
  putItems(scope: StateScope, items: readonly StateItem[], token: number, tombstoneExpiresAt: number, replaced?: UndoRecord): Promise<boolean>;
  /**
   * Writes batch `time`'s undo record (before any of its items): the versions its changed keys had before it,
   * tombstones included, keys that had no item left out. Refused (false) when the stored record was written
   * under a later lease token; a re-run writes the same record again. Kept until `expiresAt` (epoch ms).
   */
  putUndo(scope: StateScope, time: number, undo: UndoRecord, token: number, expiresAt: number): Promise<boolean>;
  /** Batch `time`'s undo record, strongly consistent; undefined when none was written (or it expired). */
  getUndo(scope: StateScope, time: number): Promise<UndoRecord | undefined>;
  /**
   * The timeout index: the ids of the keys batch `time` left with their last update at `time`. Unconditional
   * (a re-run writes the same ids under the same keys); kept until `expiresAt` (epoch ms).
   */
  putUpdateIndex(scope: StateScope, time: number, ids: readonly string[], expiresAt: number): Promise<void>;
  /** The ids listed under update times in `[from, to)`, a time's ids in the order they were written. */
  getUpdateIndex(scope: StateScope, from: number, to: number): Promise<string[]>;
}

/**
 * Hashed and reserved ids: they become storage key segments as they are (no `#` or `/`, not empty, short).
 * They never start as an inline id does (a quote or {@link INLINE_ID_MARK}).
 */
const PLAIN_ID_PATTERN = /^[A-Za-z0-9_~-]{1,64}$/;

/**
 * What an inline id of a number starts with: neither base64url (hash ids) nor `~` (reserved ids) has it. A
 * string's encoding needs none: its opening quote already tells it apart.
 */
export const INLINE_ID_MARK = "=";
/**
 * The longest key encoding (UTF-8 bytes) that is its own id. A hash id costs 22 bytes besides the key, an
 * inline one at most 1: up to 64 bytes an inline id is the smaller item, and typical keys (user ids, UUIDs at
 * 38 with quotes, session ids, numbers) fit. Past it a key is hashed, which keeps the sort key (DynamoDB allows
 * 1 KB), the undo record's and the index's share per id, and error messages short.
 */
export const INLINE_KEY_MAX_BYTES = 64;
/** A JSON number as JSON.stringify writes a finite one. */
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:e[+-][0-9]+)?$/;

/**
 * The inline id of a key whose encoding (`encodeValue`, i.e. JSON) is `encodedKey`, or undefined when the key
 * is not its own id: only a string or a finite number (a JSON string or number literal) of at most
 * {@link INLINE_KEY_MAX_BYTES} bytes is. A string's id is its encoding (`"k1"`), a number's `=` and its
 * encoding (`=42`): JSON keeps `1` and `"1"` apart, as KeyMap does, and writes -0 as 0, which KeyMap takes for
 * the same key.
 */
export function inlineStateId(encodedKey: string): string | undefined {
  if (Buffer.byteLength(encodedKey, "utf8") > INLINE_KEY_MAX_BYTES) return undefined;
  if (encodedKey.length >= 2 && encodedKey.startsWith('"') && encodedKey.endsWith('"')) return encodedKey;
  return JSON_NUMBER.test(encodedKey) ? INLINE_ID_MARK + encodedKey : undefined;
}

/** The encoded key an inline id carries, or undefined for a hashed or reserved id. */
export function inlineIdKey(id: string): string | undefined {
  if (id.startsWith('"')) return id;
  return id.startsWith(INLINE_ID_MARK) ? id.slice(INLINE_ID_MARK.length) : undefined;
}

export function checkStateId(id: string): void {
  if (PLAIN_ID_PATTERN.test(id)) return;
  const key = inlineIdKey(id);
  // Canonical, as encodeValue writes it (`"a"`, not `"\u0061"`; `1`, not `1.0`): one key, one id.
  if (key !== undefined && inlineStateId(key) === id && isCanonicalJson(key)) return;
  throw new ValidationError(
    "BadStateId",
    `state id ${JSON.stringify(id)} must be 1 to 64 characters of A-Z a-z 0-9 _ ~ - (a hash or reserved id), or a JSON string or "${INLINE_ID_MARK}" and a JSON number, of at most ${INLINE_KEY_MAX_BYTES} bytes (a key that is its own id)`,
    { id },
  );
}

function isCanonicalJson(text: string): boolean {
  try {
    return JSON.stringify(JSON.parse(text)) === text;
  } catch {
    return false;
  }
}

/** An item to be written: its id well formed and, when the id carries the key, the key the same text. */
export function checkStateItem(item: StateItem): void {
  checkStateId(item.id);
  const key = inlineIdKey(item.id);
  if (key !== undefined && key !== item.key) {
    throw new ValidationError("StateKeyMismatch", `state item "${item.id}" carries its key in its id, and its key ${item.key} is another`, { id: item.id });
  }
}

/** A scope's node id is a key segment (store-keys.ts) and its partition a non-negative integer. */
export function checkStateScope(scope: StateScope): void {
  checkSegment("nodeId", scope.nodeId);
  if (!Number.isInteger(scope.partition) || scope.partition < 0) {
    throw new ValidationError("BadPartition", `partition ${scope.partition} must be a non-negative integer (0 when there is one)`, { partition: scope.partition });
  }
}

/**
 * What an item weighs, in bytes, as I/O counts go (the bench and the I/O test): what is stored — its id, its key
 * unless the id carries it, and its value in UTF-8, and 8 for its batch time. DynamoDB adds attribute names and
 * rounds to 1 KB per write unit and 4 KB per read unit; this counts what the state itself costs.
 */
export function stateItemBytes(item: StateItem): number {
  const text = (s: string | undefined) => (s === undefined ? 0 : Buffer.byteLength(s, "utf8"));
  return text(item.id) + (inlineIdKey(item.id) === undefined ? text(item.key) : 0) + text(item.current.value) + 8;
}

/**
 * An undo record as both stores keep it (and the I/O counts weigh it): JSON of `{ id: [time, value?] }`,
 * gzipped — the ids and values of one batch's keys share a dictionary, which a per-item version never could.
 */
export function packUndo(undo: UndoRecord): Buffer {
  const entries: Record<string, [number] | [number, string]> = {};
  for (const [id, v] of undo) entries[id] = v.value === undefined ? [v.time] : [v.time, v.value];
  return gzipSync(JSON.stringify(entries), { level: 6 });
}

export function unpackUndo(packed: Uint8Array | string): UndoRecord {
  const text = typeof packed === "string" ? packed : gunzipSync(packed).toString("utf8");
  const entries = JSON.parse(text) as Record<string, [number] | [number, string]>;
  return new Map(Object.entries(entries).map(([id, [time, value]]) => [id, value === undefined ? { time } : { time, value }]));
}

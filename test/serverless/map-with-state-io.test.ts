/**
 * mapWithState's state costs what changed: with N keys of state and k keys with data per batch, the per-key
 * state store reads and writes about k items a batch — the same whether N is a thousand or ten million — where
 * the snapshot it replaced read and wrote all N every batch — and about the changed keys' own bytes: the version
 * before a batch is written once per batch, gzipped, in its undo record, and read only by a re-run (the
 * property tests in map-with-state.property.test.ts crash batches to make them). Counts of items and bytes, never time
 * (test/bench/map-with-state-io.ts runs the batches through the serverless runtime and counts).
 */
import { describe, expect, it } from "vitest";
import { mapWithStateIo } from "../bench/map-with-state-io.js";

describe("mapWithState's state I/O per batch", () => {
  it.each([false, true])("follows the changed keys, not the state's size (timeout: %s)", async (timeout) => {
    const k = 40;
    const small = await mapWithStateIo({ stateKeys: 1_000, changedKeys: k, stateBytes: 100, timeout });
    const large = await mapWithStateIo({ stateKeys: 10_000_000, changedKeys: k, stateBytes: 100, timeout });
    for (const io of [small, large]) {
      // Each key with data is read (with the item saying the state has begun) and written once.
      expect(io.perKey.itemsRead).toBe(k + 1);
      expect(io.perKey.itemsWritten).toBe(k);
      // An item holds the key and its state (plus its id, batch time and place in the state's order); the
      // versions before go once into the batch's undo record, gzipped, which a batch that is not a re-run never reads.
      expect(io.perKey.bytesRead).toBeLessThan(1.4 * io.changedBytes);
      expect(io.perKey.bytesWritten).toBeLessThan(2 * io.changedBytes);
      expect(io.perKey.undoBytesWritten).toBeGreaterThan(0);
      expect(io.perKey.undoBytesWritten).toBeLessThan(0.5 * io.changedBytes);
      expect(io.perKey.undoReads).toBe(0);
      // The update-time index lists each changed key once, when there is a timeout to find keys by: its id,
      // which for a short string key is the key's own 13 bytes (`"k0000001234"`), and a separator.
      expect(io.perKey.indexBytes).toBe(timeout ? k * 14 : 0);
    }
    // Ten thousand times the state, the same I/O; the snapshot grew with it.
    expect(Math.abs(large.perKey.bytesWritten - small.perKey.bytesWritten)).toBeLessThan(0.1 * small.perKey.bytesWritten);
    expect(Math.abs(large.perKey.bytesRead - small.perKey.bytesRead)).toBeLessThan(0.1 * small.perKey.bytesRead);
    expect(large.snapshot.bytesWritten).toBeGreaterThan(5_000 * small.snapshot.bytesWritten);
    expect(large.snapshot.bytesWritten).toBeGreaterThan(1_000 * large.perKey.bytesWritten);
  });

  it("stays within twice the changed keys' bytes even for a bare counter (30 bytes of key and state a key)", async () => {
    // A key that is its own id is stored once, not beside a hash of it; the key's place in the state's order
    // is stored as an age, not a time; the undo record keyed by key text gzips as the keys do.
    const io = await mapWithStateIo({ stateKeys: 10_000_000, changedKeys: 10_000, stateBytes: 0 });
    expect(io.changedBytes).toBe(10_000 * 30);
    expect(io.perKey.itemsWritten).toBe(10_000);
    expect(io.perKey.bytesRead).toBeLessThan(1.7 * io.changedBytes);
    expect(io.perKey.bytesWritten).toBeLessThan(2 * io.changedBytes);
    expect(io.perKey.undoReads).toBe(0);
  });
});

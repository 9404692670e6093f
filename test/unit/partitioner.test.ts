import { describe, expect, it } from "vitest";
import { hashText, partitionOf } from "../../lib/core/partitioner.js";
import { definePipeline, Seconds, ValidationError } from "../../lib/index.js";

describe("partitionOf", () => {
  it("is a stored format: these keys keep these partitions on every host and Node version", () => {
    // Computed once and pinned: if this test fails, the hash changed and every stored key would move partition.
    expect(hashText('"a"')).toBe(921681762);
    expect(hashText('"word"')).toBe(3066638419);
    expect(hashText("1")).toBe(1428125071);
    expect(hashText('["a",1]')).toBe(297296480);
    expect([partitionOf("a", 7), partitionOf("word", 7), partitionOf(1, 7), partitionOf(["a", 1], 7)]).toEqual([1, 5, 2, 5]);
    expect(partitionOf(42, 256)).toBe(189);
  });

  it("places keys equal by value together, whatever their object key or Map entry order", () => {
    expect(partitionOf({ b: 1, a: 2 }, 7)).toBe(partitionOf({ a: 2, b: 1 }, 7));
    expect(partitionOf(new Map([["x", 1], ["y", 2]]), 13)).toBe(partitionOf(new Map([["y", 2], ["x", 1]]), 13));
    expect(partitionOf(["k", { z: 1, y: [1, 2] }], 64)).toBe(partitionOf(["k", { y: [1, 2], z: 1 }], 64));
  });

  it("tells 1 from \"1\" by their encodings (they may still share a partition, never a KeyMap entry)", () => {
    expect(hashText("1")).not.toBe(hashText('"1"'));
  });

  it("places keys JSON cannot write (bigints) stably instead of failing", () => {
    expect(partitionOf(10n, 7)).toBe(partitionOf(BigInt(10), 7));
    expect(partitionOf(["a", 10n], 7)).toBe(partitionOf(["a", 10n], 7));
    expect(partitionOf(() => 1, 7)).toBe(partitionOf(null, 7));
  });

  it("puts every key on partition 0 when there is one partition, without hashing", () => {
    expect(partitionOf({ any: "key" }, 1)).toBe(0);
  });

  it("spreads keys evenly over the partitions, also for small moduli and similar keys", () => {
    for (const p of [2, 4, 7, 16, 64]) {
      const counts = new Array<number>(p).fill(0);
      const n = 20_000;
      for (let i = 0; i < n; i++) counts[partitionOf(`key-${i}`, p)]!++;
      for (const c of counts) {
        expect(c).toBeGreaterThan((n / p) * 0.85);
        expect(c).toBeLessThan((n / p) * 1.15);
      }
    }
  });

  it("returns an integer in [0, P) for every kind of key", () => {
    for (const key of [undefined, null, 0, -0, 3.5, NaN, "", "é漢🎉", true, [1, [2]], { a: null }, new Set([1]), new Date(0), 10n.toString()]) {
      const p = partitionOf(key, 7);
      expect(Number.isInteger(p) && p >= 0 && p < 7).toBe(true);
    }
  });
});

describe("finalizerPartitions", () => {
  const build = () => {};
  it("defaults to one partition", () => {
    expect(definePipeline("p-default", { batchInterval: Seconds(1) }, build).partitions).toBe(1);
    expect(definePipeline("p-seven", { batchInterval: Seconds(1), finalizerPartitions: 7 }, build).partitions).toBe(7);
  });

  it.each([0, -1, 1.5, 257, NaN])("refuses %s with a ValidationError naming the range", (n) => {
    const define = () => definePipeline("p-bad", { batchInterval: Seconds(1), finalizerPartitions: n }, build);
    expect(define).toThrow(ValidationError);
    expect(define).toThrow(/finalizerPartitions must be an integer from 1 to 256/);
  });
});

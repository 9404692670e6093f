import { describe, expect, it } from "vitest";
import { decodeValue, encodeValue } from "../../lib/core/codec.js";
import { canonicalKey, KeyMap } from "../../lib/core/keys.js";
import { EncodingError } from "../../lib/core/errors.js";

const roundTrip = (value: unknown): unknown => decodeValue(encodeValue(value));

describe("the value codec (parts and node memory)", () => {
  it.each([
    ["a Map", new Map<unknown, unknown>([["a", 1], [2, [3, undefined]]])],
    ["a Set", new Set(["x", 1, null])],
    ["a Map inside a pair", ["k", new Map([["n", new Set([1, 2])]])]],
    ["an empty Map", new Map()],
  ])("gives back %s as itself, not {}", (_name, value) => {
    const back = roundTrip(value);
    expect(back).toEqual(value);
    if (value instanceof Map || value instanceof Set) expect(back).toBeInstanceOf(value.constructor);
  });

  it("still writes plain JSON values as themselves", () => {
    expect(encodeValue([["a", 1], { b: [true, null] }])).toBe('[["a",1],{"b":[true,null]}]');
  });

  it("fails if a value is circular, with an EncodingError that says so", () => {
    const o: Record<string, unknown> = { a: 1 };
    o.self = o;
    expect(() => encodeValue([o])).toThrow(EncodingError);
    expect(() => encodeValue([o])).toThrow(/a value cannot be stored \(Converting circular structure to JSON/);
  });
});

describe("canonical keys", () => {
  it("compares Maps and Sets by their entries, whatever the insertion order", () => {
    expect(canonicalKey(new Map([["a", 1], ["b", 2]]))).toBe(canonicalKey(new Map([["b", 2], ["a", 1]])));
    expect(canonicalKey(new Set([1, 2]))).toBe(canonicalKey(new Set([2, 1])));
    expect(canonicalKey(new Map([["a", 1]]))).not.toBe(canonicalKey(new Map([["a", 2]])));
    expect(canonicalKey(new Map())).not.toBe(canonicalKey({}));
    expect(canonicalKey(new Set([1]))).not.toBe(canonicalKey(new Map([[1, 1]])));
  });

  it("groups Map keys by value in a KeyMap", () => {
    const m = new KeyMap<unknown, number>();
    m.upsert(new Map<string, unknown>([["w", "a"], ["n", 1]]), 1, (v) => v, (a, b) => a + b);
    m.upsert(new Map<string, unknown>([["n", 1], ["w", "a"]]), 2, (v) => v, (a, b) => a + b);
    m.upsert(new Map([["w", "b"]]), 5, (v) => v, (a, b) => a + b);
    expect([...m.entries()].map(([, v]) => v)).toEqual([3, 5]);
  });

  it("fails if a key is circular, with an EncodingError instead of a stack overflow", () => {
    const k: unknown[] = [1];
    k.push(k);
    expect(() => canonicalKey(k)).toThrow(EncodingError);
    expect(() => canonicalKey(k)).toThrow("a key cannot be compared by value: it is circular or nested too deeply");
  });
});

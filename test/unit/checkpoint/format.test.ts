import { describe, expect, it } from "vitest";
import { KeyMap } from "../../../lib/core/keys.js";
import { CheckpointError, ManualClock, Seconds, type State, StateSpec, StreamingContext } from "../../../lib/index.js";
import { decodeValue, encodeValue } from "../../../lib/exec/checkpoint-codec.js";
import { type CheckpointBody, decodeCheckpoint, decodeRDDs, encodeCheckpoint, readLatestCheckpoint } from "../../../lib/exec/checkpoint.js";
import type { KeyState, StateRecord } from "../../../lib/graph/ops/map-with-state.js";
import { tempDirs } from "../../support/temp-dirs.js";

/** Through the codec and through JSON text, as a checkpoint file holds it. */
const roundTrip = (value: unknown): unknown => decodeValue(JSON.parse(JSON.stringify(encodeValue(value))));

const tempDir = tempDirs("sparkless-ckpt-format-");

describe("checkpoint value codec", () => {
  it.each<[string, unknown]>([
    ["a string", "héllo"],
    ["a number", -12.5],
    ["a boolean", false],
    ["null", null],
    ["a nested tuple", ["a", [1, ["b", true]]]],
    ["a plain object", { b: 1, a: [2, { c: null }] }],
    ["undefined", undefined],
    ["undefined in a tuple", [undefined, 1]],
    ["an undefined property", { x: undefined, y: 1 }],
    ["NaN and infinities", [NaN, Infinity, -Infinity]],
    ["a bigint", 123456789012345678901234567890n],
    ["a Date", new Date(Date.UTC(2024, 0, 2, 3, 4, 5))],
    ["a Map with object keys", new Map<unknown, unknown>([[{ a: 1 }, [1, 2]], ["k", new Set([1, "1"])]])],
    ["a Set", new Set([1, "1", null])],
    ["an object whose own key is $", { $: "undefined", v: 1 }],
    ["an object whose $ is a tag name inside", { nested: { $: "keymap", v: [] } }],
  ])("round-trips %s", (_name, value) => {
    expect(roundTrip(value)).toStrictEqual(value);
  });

  it("round-trips a KeyMap with object, array, primitive and null keys, in insertion order", () => {
    const map = new KeyMap<unknown, number>();
    map.set({ b: 1, a: 2 }, 1);
    map.set(3, 2);
    map.set("3", 3);
    map.set(["x", 1], 4);
    map.set(null, 5);
    const back = roundTrip(map) as KeyMap<unknown, number>;
    expect(back).toBeInstanceOf(KeyMap);
    expect([...back.entries()]).toEqual([...map.entries()]);
    // Keys still compare by value after the trip.
    expect(back.get({ a: 2, b: 1 })).toBe(1);
    expect(back.get(["x", 1])).toBe(4);
    expect(back.get(3)).toBe(2);
    expect(back.get("3")).toBe(3);
  });

  it("round-trips a mapWithState StateRecord: states by key with their update times, and the mapped values", () => {
    const states = new KeyMap<{ user: string; n: number[] }, KeyState<{ total: number; seen: string[] }>>();
    states.set({ user: "b", n: [1] }, { state: { total: 3, seen: ["x"] }, updatedAt: 4000 });
    states.set({ n: [2], user: "a" }, { state: { total: 1, seen: [] }, updatedAt: 2000 });
    const record: StateRecord<{ user: string; n: number[] }, { total: number; seen: string[] }, unknown> = {
      states,
      mapped: [["b", 3], undefined, { $: "literal" }],
    };
    const back = roundTrip(record) as typeof record;
    expect(back.mapped).toStrictEqual(record.mapped);
    expect([...back.states.entries()]).toEqual([...states.entries()]);
    expect(back.states.get({ user: "a", n: [2] })).toEqual({ state: { total: 1, seen: [] }, updatedAt: 2000 });
  });

  it.each<[string, unknown, RegExp]>([
    ["a class instance", new (class Point { x = 1 })(), /a Point instance cannot be written to a checkpoint/],
    ["a function", () => 1, /a function cannot be written to a checkpoint/],
    ["a symbol", Symbol("s"), /a symbol cannot be written/],
  ])("fails if an element is %s", (_name, value, message) => {
    expect(() => encodeValue([1, value])).toThrow(CheckpointError);
    expect(() => encodeValue([1, value])).toThrow(message);
  });
});

describe("checkpoint file format", () => {
  const body = (): CheckpointBody => ({
      version: 1,
      time: 3000,
      zeroTime: 0,
      batchIntervalMs: 1000,
      checkpointIntervalMs: 1000,
      graphHash: "abc",
      graph: { batchDurationMs: 1000, nodes: [] },
      checkpointIntervals: {},
      pendingTimes: [4000],
      sources: { "queueStream-1": 3 },
      nodes: { "queueStream-1": { kind: "queueStream", rdds: [[3000, [[1, "ü"]]], [4000, null]] } },
      writtenAt: "1970-01-01T00:00:03.000Z",
    });

  it("starts with a header naming format, version, checksum and length, then the JSON body", () => {
    const text = encodeCheckpoint(body());
    const [header, json] = [text.slice(0, text.indexOf("\n")), text.slice(text.indexOf("\n") + 1)];
    expect(header).toMatch(new RegExp(`^sparkless-checkpoint 1 [0-9a-f]{64} ${Buffer.byteLength(json)}$`));
    expect(JSON.parse(json)).toEqual(body());
    expect(decodeCheckpoint(text)).toEqual(body());
  });

  it("keeps an RDD's partitions and a time without an RDD", () => {
    const rdds = decodeRDDs({ kind: "x", rdds: [[1000, [[1, 2], [3]]], [2000, null]] });
    expect(rdds[0][0]).toBe(1000);
    expect(rdds[0][1]!.partitions()).toEqual([[1, 2], [3]]);
    expect(rdds[1]).toEqual([2000, undefined]);
  });

  it.each<[string, (text: string) => string, RegExp]>([
    ["is empty", () => "", /no header line/],
    ["is truncated", (t) => t.slice(0, t.length - 10), /truncated/],
    ["is truncated inside the header", (t) => t.slice(0, 30), /no header line/],
    ["has a character replaced by a shorter one", (t) => t.replace('"ü"', '"u"'), /body is \d+ bytes, the header says \d+/],
    ["has a changed digit of the same length", (t) => t.replace('"time":3000', '"time":3001'), /checksum mismatch/],
    ["is something else", () => '{"time":1}\n{}', /not a sparkless checkpoint/],
  ])("fails if the file %s", (_name, damage, message) => {
    const damaged = damage(encodeCheckpoint(body()));
    expect(() => decodeCheckpoint(damaged)).toThrow(CheckpointError);
    expect(() => decodeCheckpoint(damaged)).toThrow(message);
  });

  it("fails with its own code if the format version is newer than this sparkless reads", () => {
    const text = encodeCheckpoint(body()).replace(/^sparkless-checkpoint 1 /, "sparkless-checkpoint 2 ");
    expect(() => decodeCheckpoint(text)).toThrow(expect.objectContaining({ code: "CheckpointVersionUnsupported" }));
  });

  it("stores what a running pipeline holds: mapWithState states with object keys, window contents, positions", async () => {
    const dir = tempDir();
    const clock = new ManualClock();
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock });
    ssc.checkpoint(dir);
    const input = ssc.queueStream<[{ user: string }, number]>([
      [[{ user: "b" }, 1], [{ user: "a" }, 2]],
      [[{ user: "b" }, 3]],
      [],
    ]);
    input.window(Seconds(2)).foreachRDD(() => {});
    const spec = StateSpec.function((k: { user: string }, v: number | undefined, state: State<number>) => {
      state.update((state.getOption() ?? 0) + (v ?? 0));
      return k.user;
    });
    input.mapWithState(spec).checkpoint(Seconds(1)).foreachRDD(() => {});
    await ssc.start();
    await clock.advance(Seconds(2));
    await ssc.stop();

    const { body: stored } = readLatestCheckpoint(dir)!;
    expect(stored).toMatchObject({ time: 2000, zeroTime: 0, batchIntervalMs: 1000, checkpointIntervalMs: 1000, pendingTimes: [] });
    expect(stored.sources).toEqual({ "queueStream-1": 2 });
    expect(stored.graph).toEqual(ssc.graph.describe());
    expect(stored.graphHash).toBe(ssc.graph.hash());

    const states = decodeRDDs(stored.nodes["mapWithState-1"]);
    const last = states.at(-1)!;
    expect(last[0]).toBe(2000);
    const record = last[1]!.first() as StateRecord<{ user: string }, number, string>;
    expect(record.states).toBeInstanceOf(KeyMap);
    expect([...record.states.entries()]).toEqual([
      [{ user: "b" }, { state: 4, updatedAt: 2000 }],
      [{ user: "a" }, { state: 2, updatedAt: 1000 }],
    ]);
    expect(record.mapped).toEqual(["b"]);

    // The window's parent (the input) keeps both batches of the 2 s window.
    expect(decodeRDDs(stored.nodes["queueStream-1"]).map(([t, rdd]) => [t, rdd?.collect()])).toEqual([
      [1000, [[{ user: "b" }, 1], [{ user: "a" }, 2]]],
      [2000, [[{ user: "b" }, 3]]],
    ]);
  });
});

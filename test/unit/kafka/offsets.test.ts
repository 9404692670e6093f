import { describe, expect, it } from "vitest";
import { isKafkaPosition, startingOffset, startingOffsetsProblem } from "../../../lib/io/kafka/offsets.js";

const info = { topic: "clicks", partition: 1, earliestOffset: "10", highWatermark: "50" };

describe("where a partition starts", () => {
  it.each([
    ["the checkpoint, before anything else", { restored: { clicks: { 1: "30" } }, starting: "latest", committed: { clicks: { 1: "40" } } }, 30n, "checkpoint"],
    ["earliest for a partition the checkpoint does not know (it appeared since)", { restored: { clicks: { 0: "30" } }, starting: "latest" }, 10n, "earliest"],
    ["an offset given for the partition", { starting: { clicks: { 1: 20 } }, committed: { clicks: { 1: "40" } } }, 20n, "startingOffsets"],
    ["the group's committed offset", { starting: "earliest", committed: { clicks: { 1: "40" } } }, 40n, "committed"],
    ["the committed offset for a partition not named in startingOffsets", { starting: { clicks: { 0: 5 } }, committed: { clicks: { 1: "40" } } }, 40n, "committed"],
    ["the earliest offset", { starting: "earliest" }, 10n, "earliest"],
    ["the latest offset", { starting: "latest" }, 50n, "latest"],
    ["the latest offset for a partition not named and never committed", { starting: { clicks: { 0: 5 } } }, 50n, "latest"],
  ] as const)("%s", (_what, choices, offset, from) => {
    expect(startingOffset(info, choices as Parameters<typeof startingOffset>[1])).toEqual({ offset, from });
  });

  it("moves an offset deleted by retention to the log start, and says so", () => {
    expect(startingOffset(info, { restored: { clicks: { 1: "3" } }, starting: "latest" })).toEqual({ offset: 10n, from: "checkpoint", clampedFrom: 3n });
  });

  it("moves an offset past the log end to the end, and says so", () => {
    expect(startingOffset(info, { starting: { clicks: { 1: "99" } } })).toEqual({ offset: 50n, from: "startingOffsets", clampedFrom: 99n });
  });
});

describe("startingOffsets", () => {
  it("accepts earliest, latest and offsets per partition", () => {
    expect(startingOffsetsProblem("earliest", ["a"])).toBeUndefined();
    expect(startingOffsetsProblem({ a: { 0: 1, 1: "2", 2: 3n } }, ["a"])).toBeUndefined();
  });

  it.each([
    ["a word that is not a policy", "first", `startingOffsets must be "earliest", "latest" or { topic: { partition: offset } }, got "first"`],
    ["a topic not subscribed to", { b: { 0: 1 } }, "startingOffsets names topic b, which the stream does not subscribe to (a)"],
    ["a negative offset", { a: { 0: -1 } }, "startingOffsets.a[0] must be an offset (a whole number from 0), got -1"],
    ["a partition that is not a number", { a: { x: 1 } }, "startingOffsets.a: partition x is not a partition number"],
  ])("fails if given %s", (_what, given, message) => {
    expect(startingOffsetsProblem(given, ["a"])).toBe(message);
  });
});

describe("a checkpointed position", () => {
  it("is recognised when it has the shape the source writes", () => {
    expect(isKafkaPosition({ version: 1, topics: ["a"], offsets: { a: { 0: "12", 1: "0" } } })).toBe(true);
  });

  it.each([
    ["another version", { version: 2, topics: ["a"], offsets: {} }],
    ["an offset that is a number", { version: 1, topics: ["a"], offsets: { a: { 0: 12 } } }],
    ["a Kinesis position", { version: 1, streamName: "s", shards: {} }],
  ])("is refused when it is %s", (_what, p) => {
    expect(isKafkaPosition(p)).toBe(false);
  });
});

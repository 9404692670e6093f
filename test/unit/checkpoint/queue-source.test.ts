import { describe, expect, it } from "vitest";
import { CheckpointError, RDD } from "../../../lib/index.js";
import { QueueSource } from "../../../lib/io/queue-source.js";

describe("queueStream position", () => {
  it("counts the queue entries taken, not the batches cut after the queue ran dry", () => {
    const source = new QueueSource<number>([[1], [2, 3], [4]], true, [0]);
    expect(source.position()).toBe(0);
    source.take();
    source.take();
    expect(source.position()).toBe(2);
    source.take();
    expect(source.take()).toEqual([0]);
    expect(source.position()).toBe(3);
  });

  it("counts every entry a batch takes when not one at a time", () => {
    const queue: Array<number[] | RDD<number>> = [[1], RDD.of([2])];
    const source = new QueueSource<number>(queue, false);
    expect(source.take()).toEqual([1, 2]);
    queue.push([3]);
    source.take();
    expect(source.position()).toBe(3);
  });

  it("restores by skipping what a previous run took from the same queue", () => {
    const source = new QueueSource<number>([[1], [2], [3], [4]]);
    source.restore(2);
    expect(source.take()).toEqual([3]);
    expect(source.position()).toBe(3);
  });

  it.each<[string, unknown, string]>([
    ["fails if the position is not a count", "2", "BadSourcePosition"],
    ["fails if the position is negative", -1, "BadSourcePosition"],
    ["fails if the rebuilt queue is shorter than what was taken", 5, "QueueShorterThanCheckpoint"],
  ])("%s", (_name, position, code) => {
    const source = new QueueSource<number>([[1], [2]]);
    expect(() => source.restore(position)).toThrow(CheckpointError);
    expect(() => source.restore(position)).toThrow(expect.objectContaining({ code }));
  });
});

import { describe, expect, it } from "vitest";
import { Seconds } from "../../lib/core/duration.js";
import { definePipeline } from "../../lib/api/define-pipeline.js";

const add = (a: number, b: number) => a + b;

function plan(build: Parameters<typeof definePipeline<string>>[2]) {
  return definePipeline<string>("plan-test", { batchInterval: Seconds(1) }, build).instantiate(0).plan;
}

describe("planGraph", () => {
  it("runs narrow chains in the shard stage and aggregates as partials", () => {
    const p = plan((lines) => {
      lines.flatMap((l) => l.split(" ")).map((w) => [w, 1] as [string, number]).reduceByKey(add).print();
    });
    expect([...p.stage1].map((n) => n.kind)).toEqual(["kinesisStream", "flatMap", "map"]);
    expect(p.boundaries.map((b) => [b.kind, b.node.kind])).toEqual([["partial", "reduceByKey"]]);
    expect(p.stateful).toBe(false);
  });

  it("folds reduceByKey and reduceByKeyAndWindow of the same pairs with the same function once", () => {
    const p = plan((lines) => {
      const pairs = lines.map((w) => [w, 1] as [string, number]);
      pairs.reduceByKey(add).print();
      pairs.reduceByKeyAndWindow(add, Seconds(3), Seconds(1)).print();
      pairs.reduceByKey((a, b) => Math.max(a, b)).print(); // another function: its own partial
    });
    const partials = p.boundaries.filter((b) => b.kind === "partial");
    expect(partials).toHaveLength(2);
    expect(partials[0].kind === "partial" && partials[0].aliases).toHaveLength(1);
    expect(p.stateful).toBe(true);
  });

  it("hands raw elements over as chunks where a narrow chain meets a window, a join or an output", () => {
    const p = plan((lines) => {
      const words = lines.map((l) => l.toUpperCase());
      words.window(Seconds(2)).print();
      words.print();
    });
    expect(p.boundaries.map((b) => [b.kind, b.node.kind])).toEqual([["chunk", "map"]]);
    expect(p.remembered.map((n) => n.kind)).toEqual(["map"]);
  });

  it("fails if the pipeline reads no stream or more than one", () => {
    expect(() =>
      plan((lines, ssc) => {
        lines.union(ssc.queueStream([["x"]])).print();
      }),
    ).toThrow(/exactly one Kinesis stream; this graph has 2 inputs/);
  });
});

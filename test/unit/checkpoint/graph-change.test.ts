import { describe, expect, it } from "vitest";
import { CheckpointError, type Duration, ManualClock, Seconds, type State, StateSpec, StreamingContext, Time } from "../../../lib/index.js";
import { checkpointIntervals } from "../../../lib/exec/checkpoint.js";
import { describeChanges, type GraphShape, verifySameGraph } from "../../../lib/exec/graph-diff.js";

/** The shape a checkpoint records of the pipeline `build` makes (after start, so default intervals are set). */
function shape(build: (ssc: StreamingContext) => void, batch: Duration = Seconds(1)): GraphShape {
  const ssc = new StreamingContext({ batchInterval: batch, clock: new ManualClock() });
  ssc.checkpoint("/unused");
  build(ssc);
  ssc.graph.start(new Time(0));
  return { graph: ssc.graph.describe(), checkpointIntervals: checkpointIntervals(ssc.graph) };
}

const add = (a: number, b: number) => a + b;
const sub = (a: number, b: number) => a - b;
const pairs = (ssc: StreamingContext) => ssc.queueStream<[string, number]>([]);
const sum = (vs: number[], s: number | undefined) => vs.reduce(add, s ?? 0);
const counting = (timeout?: Duration) => {
  const spec = StateSpec.function((_k: string, v: number | undefined, s: State<number>) => {
    if (!s.isTimingOut()) s.update((s.getOption() ?? 0) + (v ?? 0));
  });
  return timeout ? spec.timeout(timeout) : spec;
};

describe("graph changes between a checkpoint and the program", () => {
  it("finds none when the factory rebuilds the same pipeline", () => {
    const build = (ssc: StreamingContext) => {
      const p = pairs(ssc);
      p.reduceByKeyAndWindow(add, sub, Seconds(4), Seconds(2)).print();
      p.updateStateByKey(sum).saveAsTextFiles("/tmp/out");
      p.mapWithState(counting(Seconds(3))).foreachRDD(() => {});
    };
    expect(describeChanges(shape(build), shape(build))).toEqual([]);
    expect(() => verifySameGraph(shape(build), shape(build), "/ckpt", 4000)).not.toThrow();
  });

  it.each<[string, (ssc: StreamingContext) => void, (ssc: StreamingContext) => void, string]>([
    [
      "an operator was added",
      (ssc) => pairs(ssc).window(Seconds(2)).print(),
      (ssc) => {
        const p = pairs(ssc);
        p.window(Seconds(2)).print();
        p.map((x) => x).foreachRDD(() => {});
      },
      "map-1 (map of queueStream-1) was added",
    ],
    [
      "an operator was removed",
      (ssc) => {
        const p = pairs(ssc);
        p.window(Seconds(2)).print();
        p.updateStateByKey(sum).print();
      },
      (ssc) => pairs(ssc).window(Seconds(2)).print(),
      "updateStateByKey-1 (updateStateByKey) was removed",
    ],
    [
      "a window duration changed",
      (ssc) => pairs(ssc).reduceByKeyAndWindow(add, sub, Seconds(4), Seconds(2)).print(),
      (ssc) => pairs(ssc).reduceByKeyAndWindow(add, sub, Seconds(6), Seconds(2)).print(),
      "window duration of reduceByKeyAndWindow-1 changed from 4000 ms to 6000 ms",
    ],
    [
      "a slide duration changed",
      (ssc) => pairs(ssc).window(Seconds(4), Seconds(2)).print(),
      (ssc) => pairs(ssc).window(Seconds(4), Seconds(1)).print(),
      "slide duration of window-1 changed from 2000 ms to 1000 ms",
    ],
    [
      "the inverse function was dropped",
      (ssc) => pairs(ssc).reduceByKeyAndWindow(add, sub, Seconds(4), Seconds(2)).print(),
      (ssc) => pairs(ssc).reduceByKeyAndWindow(add, Seconds(4), Seconds(2)).print(),
      "inverse function of reduceByKeyAndWindow-1 changed from present to absent",
    ],
    [
      "a mapWithState timeout changed",
      (ssc) => pairs(ssc).mapWithState(counting(Seconds(3))).print(),
      (ssc) => pairs(ssc).mapWithState(counting(Seconds(5))).print(),
      "timeout of mapWithState-1 changed from 3000 ms to 5000 ms",
    ],
    [
      "a mapWithState timeout was removed",
      (ssc) => pairs(ssc).mapWithState(counting(Seconds(3))).print(),
      (ssc) => pairs(ssc).mapWithState(counting()).print(),
      "timeout of mapWithState-1 changed from 3000 ms to none",
    ],
    [
      "a named operator became another kind",
      (ssc) => pairs(ssc).updateStateByKey(sum, { name: "totals" }).print(),
      (ssc) => pairs(ssc).reduceByKeyAndWindow(add, Seconds(2), Seconds(1), { name: "totals" }).print(),
      "totals changed from updateStateByKey to reduceByKeyAndWindow",
    ],
    [
      "an operator reads another stream",
      (ssc) => {
        const a = pairs(ssc);
        pairs(ssc);
        a.window(Seconds(2)).print();
      },
      (ssc) => {
        pairs(ssc);
        const b = pairs(ssc);
        b.window(Seconds(2)).print();
      },
      "parents of window-1 changed from [queueStream-1] to [queueStream-2]",
    ],
    [
      "a checkpoint interval changed",
      (ssc) => pairs(ssc).updateStateByKey(sum).print(),
      (ssc) => pairs(ssc).updateStateByKey(sum).checkpoint(Seconds(5)).print(),
      "checkpoint interval of updateStateByKey-1 changed from 10000 ms to 5000 ms",
    ],
    [
      "an output prefix changed",
      (ssc) => pairs(ssc).saveAsTextFiles("/data/a"),
      (ssc) => pairs(ssc).saveAsTextFiles("/data/b"),
      'output prefix of saveAsTextFiles-1 changed from "/data/a" to "/data/b"',
    ],
    [
      "a number of partitions changed",
      (ssc) => pairs(ssc).reduceByKey(add).print(),
      (ssc) => pairs(ssc).reduceByKey(add, { numPartitions: 2 }).print(),
      "number of partitions of reduceByKey-1 changed from 1 to 2",
    ],
  ])("names what changed when %s", (_name, before, after, change) => {
    expect(describeChanges(shape(before), shape(after))).toContain(change);
  });

  it("names a changed batch interval", () => {
    const build = (ssc: StreamingContext) => pairs(ssc).print();
    expect(describeChanges(shape(build, Seconds(1)), shape(build, Seconds(2)))).toContain("batch interval changed from 1000 ms to 2000 ms");
  });

  it("fails if anything changed, with every change, the directory and how to start fresh", () => {
    const before = shape((ssc) => pairs(ssc).reduceByKeyAndWindow(add, sub, Seconds(4), Seconds(2)).print());
    const after = shape((ssc) => {
      const p = pairs(ssc);
      p.reduceByKeyAndWindow(add, sub, Seconds(6), Seconds(2)).print();
      p.map((x) => x).print();
    });
    let error: unknown;
    try {
      verifySameGraph(before, after, "/var/ckpt", 12000);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CheckpointError);
    const e = error as CheckpointError;
    expect(e.code).toBe("GraphChanged");
    expect(e.message).toContain("the pipeline differs from the one that wrote the checkpoint of 12000 ms in /var/ckpt");
    expect(e.message).toContain("window duration of reduceByKeyAndWindow-1 changed from 4000 ms to 6000 ms");
    expect(e.message).toContain("map-1 (map of queueStream-1) was added");
    expect(e.message).toContain("To start fresh, use a new checkpoint directory or delete /var/ckpt");
    expect(e.details).toMatchObject({ directory: "/var/ckpt", checkpointTime: 12000, changes: expect.arrayContaining([expect.any(String)]) });
  });
});

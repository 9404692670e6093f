import { describe, expect, it } from "vitest";
import { type Duration, ManualClock, Milliseconds, Seconds, type State, StateSpec, StreamingContext, Time, ValidationError } from "../../../lib/index.js";
import { checkpointInterval } from "../../../lib/exec/checkpoint.js";
import type { Node } from "../../../lib/graph/node.js";
import { tempDirs } from "../../support/temp-dirs.js";

const tempDir = tempDirs("sparkless-ckpt-interval-");

const add = (a: number, b: number) => a + b;
const sub = (a: number, b: number) => a - b;
const sum = (vs: number[], s: number | undefined) => vs.reduce(add, s ?? 0);
const print = <S extends { print(): void }>(stream: S): S => (stream.print(), stream);
const spec = () => StateSpec.function((_k: string, v: number | undefined, s: State<number>) => s.update((s.getOption() ?? 0) + (v ?? 0)));

function context(batch: Duration = Seconds(1), out?: (text: string) => void) {
  const clock = new ManualClock();
  const ssc = new StreamingContext({ batchInterval: batch, clock, ...(out ? { out } : {}) });
  ssc.checkpoint(tempDir());
  return { ssc, clock, pairs: ssc.queueStream<[string, number]>([[["a", 1]], [["b", 2]]]) };
}

/** The batch times after which a run of `seconds` writes a checkpoint. */
async function checkpointTimes(ssc: StreamingContext, clock: ManualClock, seconds: number): Promise<number[]> {
  const times: number[] = [];
  ssc.checkpointWriter!.onTempWritten = (_path, time) => void times.push(time);
  await ssc.start();
  await clock.advance(Seconds(seconds));
  await ssc.stop();
  return times;
}

describe("checkpoint intervals", () => {
  type Pairs = ReturnType<typeof context>["pairs"];
  it.each<[string, Duration, (p: Pairs) => Node, number]>([
    ["updateStateByKey, 1 s batches: 10 s", Seconds(1), (p) => print(p.updateStateByKey(sum)).node, 10_000],
    ["updateStateByKey, 3 s batches: rounded up to a multiple of the slide", Seconds(3), (p) => print(p.updateStateByKey(sum)).node, 12_000],
    ["reduceByKeyAndWindow with inverse, 4 s slide", Seconds(1), (p) => print(p.reduceByKeyAndWindow(add, sub, Seconds(8), Seconds(4))).node, 12_000],
    ["mapWithState, 1 s batches: 10 batches", Seconds(1), (p) => print(p.mapWithState(spec())).stateNode, 10_000],
    ["mapWithState, 2 s batches: 10 batches", Seconds(2), (p) => print(p.mapWithState(spec())).stateNode, 20_000],
  ])("default as in Spark for %s", (_name, batch, build, expected) => {
    const { ssc, pairs } = context(batch);
    const node = build(pairs);
    ssc.graph.start(new Time(0));
    expect(node.checkpointDuration?.milliseconds).toBe(expected);
  });

  it("is what dstream.checkpoint(interval) says", () => {
    const { ssc, pairs } = context();
    const state = pairs.updateStateByKey(sum).checkpoint(Seconds(4));
    state.print();
    ssc.graph.start(new Time(0));
    expect(state.node.checkpointDuration?.milliseconds).toBe(4000);
  });

  it("fails if it is not a multiple of the slide, when the context starts", async () => {
    const { ssc, pairs } = context();
    pairs.reduceByKeyAndWindow(add, sub, Seconds(4), Seconds(2)).checkpoint(Seconds(3)).print();
    await expect(ssc.start()).rejects.toThrow(
      expect.objectContaining({
        name: ValidationError.name,
        code: "CheckpointIntervalNotMultipleOfSlide",
        message: expect.stringMatching(/checkpoint interval \(3000 ms\) of reduceByKeyAndWindow.* must be a multiple of its slide duration \(2000 ms\)/),
      }),
    );
  });

  it.each([["zero", Milliseconds(0)], ["negative", Seconds(-2)]])("fails if it is %s, when the context starts", async (_name, interval) => {
    const { ssc, pairs } = context();
    pairs.updateStateByKey(sum).checkpoint(interval).print();
    await expect(ssc.start()).rejects.toThrow(
      expect.objectContaining({ code: "CheckpointIntervalNotPositive", message: expect.stringMatching(/must be a positive multiple of its slide duration \(1000 ms\)/) }),
    );
  });

  it("of the graph is the smallest node interval, else the batch interval", () => {
    const a = context();
    a.pairs.window(Seconds(2)).print();
    a.ssc.graph.start(new Time(0));
    expect(checkpointInterval(a.ssc.graph).milliseconds).toBe(1000);

    const b = context();
    b.pairs.updateStateByKey(sum).print();
    b.pairs.mapWithState(spec()).checkpoint(Seconds(3)).print();
    b.pairs.reduceByKeyAndWindow(add, sub, Seconds(4), Seconds(2)).checkpoint(Seconds(4)).print();
    b.ssc.graph.start(new Time(0));
    expect(checkpointInterval(b.ssc.graph).milliseconds).toBe(3000);
  });
});

describe("checkpoint times", () => {
  it("are every batch when no operator has a checkpoint interval", async () => {
    const { ssc, clock, pairs } = context(Seconds(1), () => {});
    pairs.window(Seconds(2)).print();
    expect(await checkpointTimes(ssc, clock, 4)).toEqual([1000, 2000, 3000, 4000]);
  });

  it("are multiples of the default 10 s for updateStateByKey", async () => {
    const { ssc, clock, pairs } = context();
    pairs.updateStateByKey(sum).foreachRDD(() => {});
    expect(await checkpointTimes(ssc, clock, 25)).toEqual([10_000, 20_000]);
  });

  it("are multiples of the smallest interval in the graph", async () => {
    const { ssc, clock, pairs } = context();
    pairs.updateStateByKey(sum).foreachRDD(() => {});
    pairs.mapWithState(spec()).checkpoint(Seconds(3)).foreachRDD(() => {});
    expect(await checkpointTimes(ssc, clock, 10)).toEqual([3000, 6000, 9000]);
  });

  it("count from the zero time, not from the epoch", async () => {
    const clock = new ManualClock(500); // zero time 0, first batch 1000
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock });
    ssc.checkpoint(tempDir());
    ssc.queueStream<[string, number]>([]).mapWithState(spec()).checkpoint(Seconds(2)).foreachRDD(() => {});
    const late = new ManualClock(10_500); // zero time 10 000
    const ssc2 = new StreamingContext({ batchInterval: Seconds(1), clock: late });
    ssc2.checkpoint(tempDir());
    ssc2.queueStream<[string, number]>([]).mapWithState(spec()).checkpoint(Seconds(3)).foreachRDD(() => {});
    expect(await checkpointTimes(ssc, clock, 4)).toEqual([2000, 4000]);
    expect(await checkpointTimes(ssc2, late, 7)).toEqual([13_000, 16_000]);
  });

  it("are none without a checkpoint directory", async () => {
    const clock = new ManualClock();
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock });
    ssc.queueStream([[1]]).window(Seconds(2)).foreachRDD(() => {});
    await ssc.start();
    await clock.advance(Seconds(2));
    await ssc.stop();
    expect(ssc.checkpointWriter).toBeUndefined();
  });

  it("skip a batch that failed, so that recovery runs it again", async () => {
    const { ssc, clock, pairs } = context();
    pairs.window(Seconds(1)).foreachRDD((_rdd, time) => {
      if (time.milliseconds === 2000) throw new Error("boom");
    });
    const stderr: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((text: string) => (stderr.push(text), true)) as typeof process.stderr.write;
    try {
      expect(await checkpointTimes(ssc, clock, 3)).toEqual([1000, 3000]);
    } finally {
      process.stderr.write = write;
    }
    expect(stderr.join("")).toMatch(/boom/);
  });
});

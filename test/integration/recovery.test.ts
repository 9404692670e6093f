/**
 * StreamingContext.getOrCreate: what is recovered (pending batches with their input, batches that fell due
 * while the program was down), what is refused (a changed pipeline), and what is returned without a checkpoint.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { CheckpointError, type Clock, type Duration, ManualClock, Seconds, type Source, StreamingContext } from "../../lib/index.js";
import { readLatestCheckpoint } from "../../lib/exec/checkpoint.js";
import { tempDirs } from "../support/temp-dirs.js";

const tempDir = tempDirs("sparkless-recovery-");
let stderr: MockInstance;
beforeEach(() => {
  stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
});
afterEach(() => {
  stderr.mockRestore();
});

type Capture = Map<string, Map<number, unknown[]>>;
const DATA: Array<Array<[string, number]>> = [
  [["a", 1], ["b", 2]],
  [["a", 3]],
  [["c", 4], ["b", 5]],
  [["a", 6]],
  [["b", 7]],
  [["c", 8], ["a", 9]],
  [],
  [["a", 10]],
  [["b", 11]],
  [["c", 12]],
];

interface Options {
  clock: Clock;
  dir: string;
  capture: Capture;
  /** Replaces the first n queue entries with junk: a recovered run must not read them again. */
  poison?: number;
  window?: Duration;
  /** Delays the jobs of a batch until the promise resolves. */
  hold?: (time: number) => Promise<void> | undefined;
}

/** The factory: updateStateByKey (checkpointed every batch) and a window over the input. */
function factory(o: Options): () => StreamingContext {
  return () => {
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock: o.clock });
    ssc.checkpoint(o.dir);
    const queue = DATA.map((b, i): Array<[string, number]> => (i < (o.poison ?? 0) ? [["junk", 999]] : b.slice()));
    const input = ssc.queueStream(queue);
    const keep = (name: string) => async (rdd: { collect(): unknown[] }, time: { milliseconds: number }) => {
      await o.hold?.(time.milliseconds);
      if (!o.capture.has(name)) o.capture.set(name, new Map());
      o.capture.get(name)!.set(time.milliseconds, rdd.collect());
    };
    input
      .updateStateByKey((vs: number[], s: number | undefined) => vs.reduce((a, b) => a + b, s ?? 0))
      .checkpoint(Seconds(1))
      .foreachRDD(keep("state"));
    input.window(o.window ?? Seconds(2)).foreachRDD(keep("window"));
    return ssc;
  };
}

/** What an uninterrupted run captures up to `seconds`. */
async function reference(seconds: number): Promise<Capture> {
  const capture: Capture = new Map();
  const clock = new ManualClock();
  const ssc = factory({ clock, dir: tempDir(), capture })();
  await ssc.start();
  await clock.advance(Seconds(seconds));
  await ssc.stop();
  return capture;
}

const sorted = (capture: Capture) => Object.fromEntries([...capture].map(([k, m]) => [k, [...m].sort((a, b) => a[0] - b[0])]));

/** A clock that fires due timers without waiting for them, so batches queue up behind a slow one (as on a real clock). */
class EagerClock implements Clock {
  private time = 0;
  private timers: Array<{ at: number; fn: () => unknown }> = [];
  now(): number {
    return this.time;
  }
  schedule(at: number, fn: () => unknown): () => void {
    const t = { at, fn };
    this.timers.push(t);
    return () => void (this.timers = this.timers.filter((x) => x !== t));
  }
  fireUntil(target: number): void {
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = due.at;
      void due.fn();
    }
    this.time = target;
  }
}

describe("StreamingContext.getOrCreate", () => {
  it("returns what the factory returns when the directory holds no checkpoint", () => {
    const made = new StreamingContext({ batchInterval: Seconds(1), clock: new ManualClock() });
    expect(StreamingContext.getOrCreate(join(tempDir(), "none-yet"), () => made)).toBe(made);
    expect(StreamingContext.getOrCreate(tempDir(), () => made)).toBe(made);
  });

  it("re-runs the batches that were pending at the checkpoint with the input they had taken", async () => {
    const expected = await reference(6);

    // First run: batch 1 s is slow, so 2 s, 3 s and 4 s are cut (their input taken) while it runs.
    const dir = tempDir();
    const capture: Capture = new Map();
    const eager = new EagerClock();
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const first = StreamingContext.getOrCreate(dir, factory({ clock: eager, dir, capture, hold: (t) => (t === 1000 ? slow : undefined) }));
    // The disk dies after the first checkpoint: only checkpoint-1000 exists.
    first.checkpointWriter!.onTempWritten = (_path, time) => {
      if (time > 1000) throw new Error("disk gone");
    };
    const oneDone = new Promise<void>((resolve) => first.addStreamingListener({ onBatchCompleted: (i) => i.batchTime.milliseconds === 1000 && resolve() }));
    await first.start();
    eager.fireUntil(4000);
    release();
    await oneDone;
    await first.stop({ simulateCrash: true });

    const stored = readLatestCheckpoint(dir)!.body;
    expect(stored.time).toBe(1000);
    expect(stored.pendingTimes).toEqual([2000, 3000, 4000]);
    expect(stored.sources).toEqual({ "queueStream-1": 4 });

    // Recovery, at 4 s: the queue's first four entries are junk now, so a pending batch that asked the
    // source again (instead of using the input stored with the checkpoint) would show it.
    const clock = new ManualClock(4000);
    const second = StreamingContext.getOrCreate(dir, factory({ clock, dir, capture, poison: 4 }));
    await second.start();
    await clock.advance(Seconds(2));
    await second.stop();
    expect(sorted(capture)).toEqual(sorted(expected));
  });

  it("re-runs the batches that fell due while the program was down as soon as it starts, then continues on the clock", async () => {
    const expected = await reference(10);
    const dir = tempDir();
    const capture: Capture = new Map();
    const clock = new ManualClock();
    const make = factory({ clock, dir, capture });
    const first = StreamingContext.getOrCreate(dir, make);
    await first.start();
    await clock.advance(Seconds(5));
    await first.stop({ simulateCrash: true });
    await clock.advance(Seconds(4)); // down from 5 s to 9 s

    const ran: number[] = [];
    const second = StreamingContext.getOrCreate(dir, make);
    second.addStreamingListener({ onBatchCompleted: (i) => void ran.push(i.batchTime.milliseconds) });
    await second.start();
    await second.stop({ stopGracefully: true }); // lets the re-run batches finish, no clock tick
    expect(ran).toEqual([6000, 7000, 8000, 9000]);

    const third = StreamingContext.getOrCreate(dir, make);
    await third.start();
    await clock.advance(Seconds(1));
    await third.stop();
    expect(sorted(capture)).toEqual(sorted(expected));
    expect(readLatestCheckpoint(dir)!.body.time).toBe(10_000);
  });

  it("restores the zero time, so windows keep their phase", async () => {
    const dir = tempDir();
    const capture: Capture = new Map();
    const clock = new ManualClock(500); // zero time 0
    const make = factory({ clock, dir, capture, window: Seconds(2) });
    const first = StreamingContext.getOrCreate(dir, make);
    await first.start();
    await clock.setTime(3500);
    await first.stop({ simulateCrash: true });
    const second = StreamingContext.getOrCreate(dir, make);
    await second.start();
    await clock.setTime(6000);
    await second.stop();
    expect([...capture.get("window")!.keys()].sort((a, b) => a - b)).toEqual([1000, 2000, 3000, 4000, 5000, 6000]);
  });

  it("fails if the pipeline changed since the checkpoint, naming the change, and leaves the checkpoint alone", async () => {
    const dir = tempDir();
    const clock = new ManualClock();
    const first = StreamingContext.getOrCreate(dir, factory({ clock, dir, capture: new Map(), window: Seconds(4) }));
    await first.start();
    await clock.advance(Seconds(3));
    await first.stop();
    const before = readdirSync(dir).filter((n) => n.startsWith("checkpoint-"));
    const newest = readFileSync(join(dir, "checkpoint-3000"), "utf8");

    const changed = factory({ clock, dir, capture: new Map(), window: Seconds(6) });
    expect(() => StreamingContext.getOrCreate(dir, changed)).toThrow(CheckpointError);
    expect(() => StreamingContext.getOrCreate(dir, changed)).toThrow(
      expect.objectContaining({
        code: "GraphChanged",
        message: expect.stringContaining("window duration of window-1 changed from 4000 ms to 6000 ms"),
      }),
    );
    expect(() => StreamingContext.getOrCreate(dir, changed)).toThrow(`To start fresh, use a new checkpoint directory or delete ${dir}`);
    expect(readdirSync(dir).filter((n) => n.startsWith("checkpoint-"))).toEqual(before);
    expect(readFileSync(join(dir, "checkpoint-3000"), "utf8")).toBe(newest);
  });

  it("fails on start if operators were added after getOrCreate", async () => {
    const dir = tempDir();
    const clock = new ManualClock();
    const make = factory({ clock, dir, capture: new Map() });
    const first = StreamingContext.getOrCreate(dir, make);
    await first.start();
    await clock.advance(Seconds(1));
    await first.stop();
    const second = StreamingContext.getOrCreate(dir, make);
    second.queueStream([[1]]).print();
    await expect(second.start()).rejects.toThrow(expect.objectContaining({ code: "GraphChanged", message: expect.stringMatching(/queueStream-2 \(queueStream\) was added/) }));
  });

  it("fails if the factory returns a context that was started", async () => {
    const dir = tempDir();
    const clock = new ManualClock();
    const make = factory({ clock, dir, capture: new Map() });
    const first = make();
    await first.start();
    await clock.advance(Seconds(1));
    expect(() => StreamingContext.getOrCreate(dir, () => first)).toThrow(expect.objectContaining({ code: "FactoryStartedContext" }));
    await first.stop();
  });

  it("recovers from the previous checkpoint when the newest is unreadable, and says so", async () => {
    const dir = tempDir();
    const clock = new ManualClock();
    const capture: Capture = new Map();
    const make = factory({ clock, dir, capture });
    const first = StreamingContext.getOrCreate(dir, make);
    await first.start();
    await clock.advance(Seconds(3));
    await first.stop({ simulateCrash: true });
    await import("node:fs").then((fs) => fs.truncateSync(join(dir, "checkpoint-3000"), 20));

    const second = StreamingContext.getOrCreate(dir, make);
    expect(stderr.mock.calls.map((c) => String(c[0])).join("")).toMatch(/skipping checkpoint .*checkpoint-3000: checkpoint is corrupt/);
    const ran: number[] = [];
    second.addStreamingListener({ onBatchCompleted: (i) => void ran.push(i.batchTime.milliseconds) });
    await second.start();
    await second.stop({ stopGracefully: true });
    expect(ran).toEqual([3000]);
    // The re-run batch wrote its checkpoint again, whole.
    expect(readLatestCheckpoint(dir)!.body.time).toBe(3000);
    expect(existsSync(join(dir, "checkpoint-3000"))).toBe(true);
  });

  it("gives each source back the position it had at the checkpoint, before the source starts", async () => {
    /** Numbers from a counter; its position carries a bigint, as a Kinesis sequence number would. */
    class Counter implements Source<number> {
      readonly kind = "counter";
      next = 0n;
      events: string[] = [];
      async start(): Promise<void> {
        this.events.push(`start at ${this.next}`);
      }
      async stop(): Promise<void> {}
      take(): number[] {
        return [Number(this.next++)];
      }
      position(): unknown {
        return { sequence: this.next, shard: "shard-0" };
      }
      restore(position: unknown): void {
        this.events.push("restore");
        this.next = (position as { sequence: bigint }).sequence;
      }
    }
    /** A source that cannot resume (a socket): it has no position. */
    class Socketish implements Source<number> {
      readonly kind = "socketish";
      async start(): Promise<void> {}
      async stop(): Promise<void> {}
      take(): number[] {
        return [];
      }
    }
    const dir = tempDir();
    const clock = new ManualClock();
    const seen = new Map<number, unknown[]>();
    let counter!: Counter;
    const make = () => {
      const ssc = new StreamingContext({ batchInterval: Seconds(1), clock });
      ssc.checkpoint(dir);
      counter = new Counter();
      ssc.receiverStream(counter).union(ssc.receiverStream(new Socketish())).foreachRDD((rdd, t) => void seen.set(t.milliseconds, rdd.collect()));
      return ssc;
    };
    const first = StreamingContext.getOrCreate(dir, make);
    await first.start();
    await clock.advance(Seconds(3));
    await first.stop({ simulateCrash: true });
    expect(readLatestCheckpoint(dir)!.body.sources).toEqual({ "counter-1": { sequence: { $: "bigint", v: "3" }, shard: "shard-0" } });

    const second = StreamingContext.getOrCreate(dir, make);
    await second.start();
    expect(counter.events).toEqual(["restore", "start at 3"]);
    await clock.advance(Seconds(2));
    await second.stop();
    expect([...seen]).toEqual([[1000, [0]], [2000, [1]], [3000, [2]], [4000, [3]], [5000, [4]]]);
  });
});

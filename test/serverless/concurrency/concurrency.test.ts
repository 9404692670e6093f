/**
 * Shard handlers, ticks, finalizers and duplicate deliveries at once, in interleavings a seed picks (see
 * world.ts and scheduler.ts): after every schedule, each batch's files, printed blocks and running totals must
 * equal the local engine's for the same records.
 *
 * `npm test` runs SPARKLESS_SCHEDULES (default 150) schedules from seed SPARKLESS_SEED (default 1). A longer
 * run by hand: `SPARKLESS_SCHEDULES=20000 npx vitest run test/serverless/concurrency`; SPARKLESS_TRACE=1
 * prints the steps of a failing schedule.
 */
import { describe, expect, it } from "vitest";
import { runSchedule, World } from "./world.js";

const SCHEDULES = Number(process.env.SPARKLESS_SCHEDULES ?? 150);
const FIRST = Number(process.env.SPARKLESS_SEED ?? 1);
/** Schedules with finalizer partitions (each runs more actors and batches): a sixth as many. */
const PARTITIONED = Math.ceil(SCHEDULES / 6);

describe("concurrent actors", () => {
  it("a finalizer that read the status before another finished the batch does not run that batch again", async () => {
    // The race of issue 8: F2 reads the status (T not finalized) and waits for the lease; F1 finalizes T and
    // the batches after it, forgets their committed parts and lets the lease go; F2 takes the lease. On the
    // old code F2 re-ran T from the status it read before, with no parts: T's outputs became empty files.
    const words = ["a", "b", "a", "c"];
    const shard = (offset: number) => Array.from({ length: 12 }, (_, i) => ({ at: offset + i * 4_000, w: words[i % 4]!, n: 1 + (i % 3) }));
    const world = new World(1, { shards: [shard(0), shard(1_500)] });
    await world.start();
    for (const [id, recs] of world.records) {
      // Committed without finalizing inline (too little time left in the invocation for a batch).
      await world.sched.finish(world.shardHandler(`shard-${id}`, recs, 8_000));
    }
    const f1 = world.finalizer("F1");
    const f2 = world.finalizer("F2");
    await world.sched.runUntil(f2, (label) => label === "store.acquireLease");
    await world.sched.finish(f1);
    await world.sched.finish(f2);
    const problems = await world.check();
    if (process.env.SPARKLESS_TRACE) console.log(world.sched.trace.join("\n"));
    expect(problems).toEqual([]);
  });

  it("two finalizers of one partition: the second, which waited for the lease, neither re-runs nor loses a batch", async () => {
    const words = ["a", "b", "c", "d", "e", "f"];
    const shard = (offset: number) => Array.from({ length: 12 }, (_, i) => ({ at: offset + i * 4_000, w: words[i % 6]!, n: 1 + (i % 3) }));
    const world = new World(1, { shards: [shard(0), shard(1_500)], partitions: 3 });
    await world.start();
    for (const [id, recs] of world.records) await world.sched.finish(world.shardHandler(`shard-${id}`, recs, 8_000));
    const f1 = world.partitionFinalizer("pfinA#", 1);
    const f2 = world.partitionFinalizer("pfinB#", 1);
    await world.sched.runUntil(f2, (label) => label === "store.acquirePartitionLease");
    await world.sched.finish(f1);
    await world.sched.finish(f2);
    const problems = await world.check();
    if (process.env.SPARKLESS_TRACE) console.log(world.sched.trace.join("\n"));
    expect(problems).toEqual([]);
  });

  it(`keep every batch equal to the local engine's with 3 finalizer partitions over ${PARTITIONED} random schedules`, async () => {
    const failed: string[] = [];
    for (let seed = FIRST; seed < FIRST + PARTITIONED; seed++) {
      const outcome = await runSchedule(seed, { partitions: 3 });
      if (outcome.problems.length) {
        failed.push(`seed ${seed}: ${outcome.problems.slice(0, 3).join("; ")}`);
        if (process.env.SPARKLESS_TRACE) console.log(outcome.trace.join("\n"));
      }
    }
    expect(failed).toEqual([]);
  }, Math.max(120_000, PARTITIONED * 3_000));

  it(`keep every batch equal to the local engine's over ${SCHEDULES} random schedules`, async () => {
    const failed: string[] = [];
    for (let seed = FIRST; seed < FIRST + SCHEDULES; seed++) {
      const outcome = await runSchedule(seed);
      if (outcome.problems.length) {
        failed.push(`seed ${seed}: ${outcome.problems.slice(0, 3).join("; ")}`);
        if (process.env.SPARKLESS_TRACE) console.log(outcome.trace.join("\n"));
      }
    }
    expect(failed).toEqual([]);
  }, Math.max(120_000, SCHEDULES * 2_000));
});

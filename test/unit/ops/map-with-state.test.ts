/**
 * mapWithState, after Spark's MapWithStateSuite, MapWithStateRDD and StateImpl.
 *
 * MapWithStateRDDRecord.updateRecordWithData at batch T:
 *  1. for each record (k, v) of the batch, in order: call f(k, Some(v), state); removed -> drop the key;
 *     updated, or (exists and a timeout is set) -> put(k, state, updateTime = T). The mapped value of every
 *     call is output. Keys without records in the batch are NOT called (unlike updateStateByKey).
 *  2. only if `removeTimedoutData` (see below) and a timeout is set: every key whose updateTime <
 *     T - timeout (strictly) is called once with f(k, None, state) where state.isTimingOut(), its mapped
 *     value output, and the key removed.
 * stateSnapshots() is every (key, state) after the batch. Initial state entries get updateTime = the
 * first batch time.
 *
 * WHEN SPARK FIRES TIMEOUTS: `removeTimedoutData = doFullScan`, and doFullScan is set only by
 * MapWithStateRDD.checkpoint(), i.e. only at the batches where the state stream is checkpointed:
 * (T - zeroTime) a multiple of the checkpoint interval, which InternalMapWithStateDStream.initialize
 * defaults to 10 x the batch interval (DEFAULT_CHECKPOINT_DURATION_MULTIPLIER = 10), or the interval
 * given by mapWithState(...).checkpoint(d). So with 1 s batches and no explicit checkpoint interval, idle
 * keys time out at T = 10 s, 20 s, ... (which is why Spark's own "state timing out" test runs 20+ batches
 * and asserts no exact time). The first test below pins that Spark behaviour; the next one sets
 * checkpoint(1 s) so Spark scans every batch, where Spark and an every-batch scan agree.
 */
import { describe, expect, it } from "vitest";
import { NoSuchElementError, RDD, Seconds, StateSpec, type DStream, type Duration } from "../../../lib/index.js";
import { atTimes, sortBatches, sorted, withContext, type Batches } from "../../support/batch-table.js";

interface Run {
  mapped: Batches<unknown>;
  snapshots: Batches<unknown>;
}

/** Runs `input` (words become (word, 1)) through mapWithState(spec) and collects both outputs, sorted. */
async function runMapWithState(
  input: unknown[][],
  spec: any,
  numBatches: number,
  opts: { pairs?: boolean; checkpointInterval?: Duration; keepNulls?: boolean } = {},
): Promise<Run> {
  const mapped: Batches<unknown> = [];
  const snapshots: Batches<unknown> = [];
  await withContext({}, async ({ ssc, clock }) => {
    const s = ssc.queueStream(input.map((b) => [...b]));
    const pairs = (opts.pairs ? s : s.map((w) => [w, 1])) as DStream<[unknown, unknown]>;
    const stream = pairs.mapWithState(spec);
    if (opts.checkpointInterval) stream.checkpoint(opts.checkpointInterval);
    stream.foreachRDD((rdd: any, t) => {
      const vs = rdd.collect() as unknown[];
      mapped.push([t.milliseconds, opts.keepNulls ? vs : vs.filter((v) => v !== null && v !== undefined)]);
    });
    stream.stateSnapshots().foreachRDD((rdd: any, t) => snapshots.push([t.milliseconds, rdd.collect()]));
    await ssc.start();
    await clock.advance(Seconds(numBatches));
  });
  return { mapped: sortBatches(mapped), snapshots: sortBatches(snapshots) };
}

const sparkInput = [[], ["a"], ["a", "b"], ["a", "b", "c"], ["a", "b"], ["a"], []];
const sparkStates = [
  [],
  [["a", 1]],
  [["a", 2], ["b", 1]],
  [["a", 3], ["b", 2], ["c", 1]],
  [["a", 4], ["b", 3], ["c", 1]],
  [["a", 5], ["b", 3], ["c", 1]],
  [["a", 5], ["b", 3], ["c", 1]],
];
const runningSum = (_key: unknown, value: number | undefined, state: any) => {
  const s = (value ?? 0) + (state.getOption() ?? 0);
  state.update(s);
  return s;
};

describe("mapWithState (Spark MapWithStateSuite)", () => {
  it("basic operations with the simple API: the running count is returned", async () => {
    const run = await runMapWithState(sparkInput, StateSpec.function(runningSum), 7);
    expect(run.mapped).toEqual(sortBatches(atTimes([[], [1], [2, 1], [3, 2, 1], [4, 3], [5], []])));
    expect(run.snapshots).toEqual(sortBatches(atTimes(sparkStates)));
  });

  it("states as mapped data", async () => {
    const fn = (key: string, value: number | undefined, state: any) => {
      const s = (value ?? 0) + (state.getOption() ?? 0);
      state.update(s);
      return [key, s];
    };
    const run = await runMapWithState(sparkInput, StateSpec.function(fn), 7);
    expect(run.mapped).toEqual(
      sortBatches(
        atTimes([[], [["a", 1]], [["a", 2], ["b", 1]], [["a", 3], ["b", 2], ["c", 1]], [["a", 4], ["b", 3]], [["a", 5]], []]),
      ),
    );
    expect(run.snapshots).toEqual(sortBatches(atTimes(sparkStates)));
  });

  it("calls the function once per record, with the record's value, and never for keys without records", async () => {
    const calls: Array<[unknown, unknown]> = [];
    const fn = (key: string, value: number | undefined, state: any) => {
      calls.push([key, value]);
      return runningSum(key, value, state);
    };
    const run = await runMapWithState([["a", "a", "b", "a"], [], []], StateSpec.function(fn), 3);
    // a: 1, 2, 3 (records in order within a key), b: 1
    expect(run.mapped).toEqual(sortBatches(atTimes([[1, 2, 3, 1], [], []])));
    expect(run.snapshots).toEqual(sortBatches(atTimes([[["a", 3], ["b", 1]], [["a", 3], ["b", 1]], [["a", 3], ["b", 1]]])));
    expect(sorted(calls)).toEqual(sorted([["a", 1], ["a", 1], ["a", 1], ["b", 1]]));
  });

  it("removes a key with state.remove() and starts it fresh afterwards", async () => {
    const fn = (key: string, value: number | undefined, state: any) => {
      const n = (state.getOption() ?? 0) + (value ?? 0);
      if (n >= 2) {
        state.remove();
        return `${key}:removed`;
      }
      state.update(n);
      return `${key}:${n}`;
    };
    const run = await runMapWithState([["a"], ["a"], ["a"], ["b", "b"]], StateSpec.function(fn), 4);
    expect(run.mapped).toEqual(sortBatches(atTimes([["a:1"], ["a:removed"], ["a:1"], ["b:1", "b:removed"]])));
    expect(run.snapshots).toEqual(sortBatches(atTimes([[["a", 1]], [], [["a", 1]], [["a", 1]]])));
  });

  it("starts from the initial state RDD", async () => {
    const spec = StateSpec.function(runningSum).initialState(RDD.of<[string, number]>([["a", 10], ["z", 0]]));
    const run = await runMapWithState([["a"], ["b"]], spec, 2);
    expect(run.mapped).toEqual(sortBatches(atTimes([[11], [1]])));
    expect(run.snapshots).toEqual(
      sortBatches(atTimes([[["a", 11], ["z", 0]], [["a", 11], ["b", 1], ["z", 0]]])),
    );
  });

  it("keys compare by value (tuple keys, 1 vs \"1\")", async () => {
    const run = await runMapWithState(
      [[[["k", 1], 1], [["k", 1], 1], [1, 1], ["1", 1]]],
      StateSpec.function(runningSum),
      1,
      { pairs: true },
    );
    expect(run.snapshots).toEqual(sortBatches(atTimes([[[["k", 1], 2], [1, 1], ["1", 1]]])));
  });
});

describe("mapWithState timeouts", () => {
  // Spark's "mapWithState - state timing out" input: a, b, c start; c idle after 1 s, b after 2 s; a
  // gets a record every batch (a touch refreshes the update time of an existing state when a timeout is
  // set), so it never times out.
  const timeoutInput = [["a", "b", "c"], ["a", "b"], ["a"], [], [], ["a"], ["a"], ["a"], ["a"], ["a"], ["a"], ["a"]];
  const onlyTimingOut = (key: string, value: number | undefined, state: any) => {
    if (value !== undefined) state.update(1);
    return state.isTimingOut() ? key : null;
  };

  it("Spark: with the default checkpoint interval (10 batches), idle keys time out at the 10 s batch", async () => {
    // At T = 10 s (a checkpoint batch), threshold = 10 000 - 3 000 = 7 000 ms; b (last update 2 000) and
    // c (1 000) are < 7 000, so both are called once with isTimingOut() and removed. No scan at 4..9 s.
    const run = await runMapWithState(timeoutInput, StateSpec.function(onlyTimingOut).timeout(Seconds(3)), 12);
    const expectedMapped: Batches<unknown> = atTimes(timeoutInput.map(() => [] as string[]));
    expectedMapped[9] = [10000, ["b", "c"]];
    expect(run.mapped).toEqual(expectedMapped);
    const abc = [["a", 1], ["b", 1], ["c", 1]];
    expect(run.snapshots).toEqual(
      sortBatches(atTimes([[["a", 1], ["b", 1], ["c", 1]], abc, abc, abc, abc, abc, abc, abc, abc, [["a", 1]], [["a", 1]], [["a", 1]]])),
    );
  });

  it("with checkpoint(1 s) on the mapWithState stream, Spark scans every batch: c at 5 s, b at 6 s", async () => {
    // c: updated at 1 000; at T = 4 000 the threshold is 1 000 (not strictly less), at 5 000 it is 2 000.
    // b: updated at 2 000 -> times out at 6 000.
    const run = await runMapWithState(timeoutInput, StateSpec.function(onlyTimingOut).timeout(Seconds(3)), 8, {
      checkpointInterval: Seconds(1),
    });
    expect(run.mapped).toEqual(atTimes([[], [], [], [], ["c"], ["b"], [], []]));
    const abc = [["a", 1], ["b", 1], ["c", 1]];
    expect(run.snapshots).toEqual(
      sortBatches(atTimes([abc, abc, abc, abc, [["a", 1], ["b", 1]], [["a", 1]], [["a", 1]], [["a", 1]]])),
    );
  });

  it("a record that only reads an existing state still refreshes its update time when a timeout is set", async () => {
    // updateRecordWithData: `else if (wrappedState.isUpdated || (wrappedState.exists &&
    // timeoutThresholdTime.isDefined)) newStateMap.put(key, state, batchTime)`. k is set at 1 s and only
    // read at 2 s and 3 s, so its update time is 3 000: with timeout 2 s it times out at 6 s
    // (3 000 < 4 000), not at 4 s as it would if reads did not count.
    const fn = (key: string, value: number | undefined, state: any) => {
      if (state.isTimingOut()) return `${key}:timeout`;
      if (!state.exists()) state.update(value);
      return null;
    };
    const run = await runMapWithState([["k"], ["k"], ["k"], [], [], [], []], StateSpec.function(fn).timeout(Seconds(2)), 7, {
      checkpointInterval: Seconds(1),
    });
    expect(run.mapped).toEqual(atTimes([[], [], [], [], [], ["k:timeout"], []]));
  });

  it("initial states start idle at the first batch time and time out like any other", async () => {
    // createFromPairRDD(initialRDD, partitioner, validTime): update time = 1 000. Timeout 1 s, scanned
    // every batch: at 2 s the threshold is 1 000 (not <), at 3 s it is 2 000.
    const fn = (key: string, _value: number | undefined, state: any) => (state.isTimingOut() ? `${key}:timeout` : null);
    const spec = StateSpec.function(fn).timeout(Seconds(1)).initialState(RDD.of<[string, number]>([["i", 7]]));
    const run = await runMapWithState([[], [], [], []], spec, 4, { checkpointInterval: Seconds(1) });
    expect(run.mapped).toEqual(atTimes([[], [], ["i:timeout"], []]));
    expect(run.snapshots).toEqual(atTimes([[["i", 7]], [["i", 7]], [], []]));
  });

  it("a timing-out call sees no value, the last state, and may neither update nor remove", async () => {
    const seen: unknown[] = [];
    const fn = (key: string, value: number | undefined, state: any) => {
      if (!state.isTimingOut()) {
        state.update((state.getOption() ?? 0) + (value ?? 0));
        return null;
      }
      const tryIt = (f: () => void) => {
        try {
          f();
          return "ok";
        } catch (e) {
          return (e as Error).message;
        }
      };
      seen.push({
        key,
        value,
        exists: state.exists(),
        get: state.get(),
        getOption: state.getOption(),
        update: tryIt(() => state.update(99)),
        remove: tryIt(() => state.remove()),
      });
      return key;
    };
    // t gets 2 at 1 s; timeout 1 s: at T = 2 000 the threshold is 1 000 (not < ), at 3 000 it is 2 000.
    const run = await runMapWithState([[["t", 2]], [], [], []], StateSpec.function(fn).timeout(Seconds(1)), 4, {
      pairs: true,
      checkpointInterval: Seconds(1),
    });
    expect(run.mapped).toEqual(atTimes([[], [], ["t"], []]));
    expect(run.snapshots).toEqual(atTimes([[["t", 2]], [["t", 2]], [], []]));
    expect(seen).toHaveLength(1);
    const call = seen[0] as Record<string, unknown>;
    expect(call).toMatchObject({ key: "t", value: undefined, exists: true, get: 2, getOption: 2 });
    // Spark StateImpl: require(!timingOut, "Cannot update the state that is timing out") and
    // require(!timingOut, "Cannot remove the state that is timing out").
    expect(call["update"]).toMatch(/Cannot update the state that is timing out/);
    expect(call["remove"]).toMatch(/Cannot remove the state that is timing out/);
  });
});

describe("State misuse (Spark StateImpl)", () => {
  it("get() on an unset state throws NoSuchElementError('State is not set'); getOption/exists do not", async () => {
    const seen: unknown[] = [];
    const fn = (_key: string, _value: number | undefined, state: any) => {
      seen.push({ exists: state.exists(), getOption: state.getOption(), isTimingOut: state.isTimingOut() });
      try {
        state.get();
        seen.push("no error");
      } catch (e) {
        seen.push({ name: (e as Error).name, isNoSuchElement: e instanceof NoSuchElementError, message: (e as Error).message });
      }
      return 0;
    };
    await runMapWithState([["a"]], StateSpec.function(fn), 1);
    expect(seen[0]).toEqual({ exists: false, getOption: undefined, isTimingOut: false });
    expect(seen[1]).toMatchObject({ isNoSuchElement: true });
    expect((seen[1] as { message: string }).message).toMatch(/State is not set/);
  });

  it("update after remove, and remove twice, throw", async () => {
    const messages: string[] = [];
    const fn = (_key: string, value: number | undefined, state: any) => {
      state.update(value);
      state.remove();
      for (const misuse of [() => state.update(1), () => state.remove()]) {
        try {
          misuse();
          messages.push("no error");
        } catch (e) {
          messages.push((e as Error).message);
        }
      }
      return state.exists();
    };
    const run = await runMapWithState([["a"]], StateSpec.function(fn), 1);
    // "Cannot update the state after it has been removed", "Cannot remove the state that has already been removed"
    expect(messages[0]).toMatch(/Cannot update the state after it has been removed/);
    expect(messages[1]).toMatch(/Cannot remove the state that has already been removed/);
    // After remove(), exists() is false and the key is gone.
    expect(run.mapped).toEqual(atTimes([[false]]));
    expect(run.snapshots).toEqual(atTimes([[]]));
  });
});

/**
 * Spark's mapping function returns `Option[E]` (the `(time, key, value, state)` form) and `None` emits nothing;
 * the `(key, value, state)` form is wrapped in `Some`. Here `undefined` is None in both forms, `null` a value.
 */
describe("mapWithState's optional result", () => {
  it("a function that only updates state emits nothing: empty batches, count() of 0", async () => {
    const counts: Batches<number> = [];
    const run = await runMapWithState(
      [["a"], ["a", "b"]],
      StateSpec.function((_key: string, value: number | undefined, state: any) => {
        state.update((state.getOption() ?? 0) + (value ?? 0));
      }),
      2,
      { keepNulls: true },
    );
    expect(run.mapped).toEqual(atTimes([[], []]));
    expect(run.snapshots).toEqual(atTimes([[["a", 1]], [["a", 2], ["b", 1]]]));

    await withContext({}, async ({ ssc, clock }) => {
      ssc.queueStream([["a"], ["a", "b"]]).map((w) => [w, 1] as [string, number])
        .mapWithState(StateSpec.function((_k: string, v: number | undefined, s: any) => void s.update(v)))
        .count().foreachRDD((rdd, t) => void counts.push([t.milliseconds, rdd.collect()]));
      await ssc.start();
      await clock.advance(Seconds(2));
    });
    expect(counts).toEqual(atTimes([[0], [0]]));
  });

  it("the (time, key, value, state) form is chosen by arity, gets the batch time, and undefined is None", async () => {
    const run = await runMapWithState(
      [["a"], ["a", "b"], ["b"]],
      StateSpec.function((time: { milliseconds: number }, key: string, _value: number | undefined, state: any) => {
        if (state.exists()) return undefined; // Spark: None
        state.update(1);
        return [time.milliseconds, key]; // Spark: Some((time, key))
      }),
      3,
      { keepNulls: true },
    );
    expect(run.mapped).toEqual(atTimes([[[1000, "a"]], [[2000, "b"]], []]));
    expect(run.snapshots).toEqual(atTimes([[["a", 1]], [["a", 1], ["b", 1]], [["a", 1], ["b", 1]]]));
  });

  it("null is a value: emitted once per record, as Spark emits Some(null)", async () => {
    const run = await runMapWithState([["a", "b"]], StateSpec.function(() => null), 1, { keepNulls: true });
    expect(run.mapped).toEqual(atTimes([[null, null]]));
  });
});

/**
 * Exactly once against a broker: a kafkaStream pipeline killed at a random point and brought back with
 * getOrCreate produces, for every batch time, what an uninterrupted run produces — windows, state and per-batch
 * counts alike, so no record is lost or counted twice. Records are produced into a 3-partition topic of
 * librdkafka's mock cluster while the pipeline runs (and while it is down), some of them late.
 *
 * Kills: stopping between batches without writing anything further, or a checkpoint write that dies after its
 * temp file is written. While the program is down the clock may move on and records keep arriving; recovery
 * re-runs the batches after the checkpoint and those that fell due meanwhile. After the recovered run, the
 * consumer group's committed offsets are the final checkpoint's.
 *
 * Each scenario costs a few seconds of real time (joining a consumer group waits out the broker's initial
 * rebalance delay, 3 s), so `npm test` runs a handful; SPARKLESS_KAFKA_SCENARIOS=50 for a long run and
 * FC_SEED=<seed> to replay one.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type DStream, KafkaDirectSource, ManualClock, type RDD, Seconds, StreamingContext, type Time } from "../../lib/index.js";
import { readLatestCheckpoint } from "../../lib/exec/checkpoint.js";
import { decodeValue } from "../../lib/exec/checkpoint-codec.js";
import { produce } from "../../lib/io/kafka/produce.js";
import { type MockKafka, startMockKafka } from "../../tooling/kafka/mock-broker.js";

const HORIZON = 10; // batches
const PARTITIONS = 3;

type Capture = Map<string, Map<number, unknown[]>>;
interface Produced {
  readonly partition: number;
  readonly value: string;
  /** Where in its batch's interval the timestamp falls, 1..1000 ms; `late` puts it one batch earlier. */
  readonly at: number;
  readonly late: boolean;
}

let kafka: MockKafka;
const root = mkdtempSync(join(tmpdir(), "sparkless-kafka-recovery-"));
let runs = 0;
beforeAll(async () => {
  kafka = await startMockKafka({ brokers: 3 });
});
afterAll(async () => {
  await kafka?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** Produces batch k's records: timestamps in ((k-1) s, k s], a late one in the interval before. */
async function produceBatch(topic: string, k: number, records: readonly Produced[]): Promise<void> {
  await produce(
    { bootstrapServers: kafka.bootstrapServers },
    topic,
    records.map((r) => ({ partition: r.partition, value: r.value, key: r.value, timestamp: (k - 1 - (r.late ? 1 : 0)) * 1000 + r.at })),
  );
}

function pipeline(topic: string, clock: ManualClock, checkpointDir: string, interval: number, capture: Capture): () => StreamingContext {
  return () => {
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock });
    ssc.checkpoint(checkpointDir);
    const records = ssc.kafkaStream(topic, { bootstrapServers: kafka.bootstrapServers, groupId: `${topic}-group`, startingOffsets: "earliest", maxWaitTimeMs: 100, sessionTimeoutMs: 6000 });
    const keep = <T,>(name: string, ds: DStream<T>) =>
      ds.foreachRDD((rdd: RDD<T>, time: Time) => {
        if (!capture.has(name)) capture.set(name, new Map());
        capture.get(name)!.set(time.milliseconds, rdd.collect());
      });
    keep("records", records.map((r) => `${r.partition}:${r.offset}:${r.value}`));
    const words = records.map((r) => [r.value!, 1] as [string, number]);
    keep("window", records.map((r) => r.value!).window(Seconds(3), Seconds(2)));
    const perWindow = words.reduceByKeyAndWindow((a, b) => a + b, (a, b) => a - b, Seconds(4), Seconds(2));
    perWindow.checkpoint(Seconds(2 * interval));
    keep("reduceByKeyAndWindow", perWindow);
    const totals = words.updateStateByKey((vs: number[], s: number | undefined) => vs.reduce((a, b) => a + b, s ?? 0));
    totals.checkpoint(Seconds(interval));
    keep("updateStateByKey", totals);
    return ssc;
  };
}

function sourceOf(ssc: StreamingContext): KafkaDirectSource {
  return ssc.graph.inputs.map((n) => (n as unknown as { source: unknown }).source).find((s) => s instanceof KafkaDirectSource) as KafkaDirectSource;
}

/** Produce batch k's records, wait until the stream has fetched them, run batch k. */
async function step(ssc: StreamingContext, clock: ManualClock, topic: string, k: number, records: readonly Produced[]): Promise<void> {
  await produceBatch(topic, k, records);
  await sourceOf(ssc).caughtUp();
  await clock.setTime(k * 1000);
}

async function committedOffsets(groupId: string, topic: string): Promise<Record<string, string>> {
  const admin = new Kafka({ brokers: [...kafka.brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Object.fromEntries(offsets!.partitions.map((p) => [String(p.partition), p.offset]));
  } finally {
    await admin.disconnect();
  }
}

function byTime(capture: Capture): Record<string, Array<[number, unknown[]]>> {
  const out: Record<string, Array<[number, unknown[]]>> = {};
  for (const [name, m] of capture) out[name] = [...m].sort((a, b) => a[0] - b[0]);
  return out;
}

const record = fc.record({
  partition: fc.nat({ max: PARTITIONS - 1 }),
  value: fc.constantFrom("a", "b", "c", "d"),
  at: fc.integer({ min: 1, max: 1000 }),
  late: fc.nat({ max: 4 }).map((n) => n === 0),
});
const scenario = fc
  .record({
    batches: fc.array(fc.array(record, { maxLength: 5 }), { minLength: HORIZON, maxLength: HORIZON }),
    interval: fc.constantFrom(1, 2, 3),
    kill: fc.constantFrom("between", "torn-write"),
    killPercent: fc.nat({ max: 99 }),
    downtime: fc.integer({ min: 0, max: 2 }),
  })
  .map((s) => {
    // Before the first checkpoint there is nothing to recover from; a torn write needs an earlier one to fall back to.
    const earliest = s.kill === "torn-write" ? 2 * s.interval : s.interval;
    let killAt = earliest + Math.floor((s.killPercent * (HORIZON - 1 - earliest)) / 100);
    if (s.kill === "torn-write") killAt -= killAt % s.interval;
    const downtime = Math.min(s.downtime, HORIZON - killAt);
    // The first batch holds no late record: there is no batch before it. Nor do the batches produced while the
    // program is down: a late record is one that arrives after its batch ran, and when nothing runs, whether it
    // would have arrived before or after is not in the log (the record is still counted once, in an earlier batch).
    const down = (i: number) => i + 1 > killAt && i + 1 <= killAt + downtime;
    const batches = s.batches.map((b, i) => (i === 0 || down(i) ? b.map((r) => ({ ...r, late: false })) : b));
    return { ...s, batches, killAt, downtime };
  });

const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.SPARKLESS_KAFKA_SCENARIOS ?? 4);
const scenarios = fc.sample(scenario, { seed: SEED, numRuns: RUNS });

describe(`a kafkaStream pipeline recovered from a checkpoint equals an uninterrupted run for every batch (seed ${SEED})`, () => {
  it.each(scenarios.map((s, i) => [i + 1, s.kill, s.killAt, s.downtime, s] as const))(
    "scenario %i: %s at %i s, down %i s",
    async (_i, _kill, _at, _down, s) => {
      const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
      try {
        const run = runs++;
        const scenarioText = JSON.stringify({ ...s, batches: s.batches.map((b) => b.length) });

        // Uninterrupted.
        const expected: Capture = new Map();
        {
          const topic = `ref-${run}`;
          await kafka.createTopic(topic, PARTITIONS);
          const clock = new ManualClock();
          const ssc = pipeline(topic, clock, join(root, `${run}-ref`), s.interval, expected)();
          await ssc.start();
          for (let k = 1; k <= HORIZON; k++) await step(ssc, clock, topic, k, s.batches[k - 1]!);
          await ssc.stop();
        }

        // Killed, down for a while (records keep arriving), recovered with the same factory.
        const actual: Capture = new Map();
        const topic = `killed-${run}`;
        await kafka.createTopic(topic, PARTITIONS);
        const dir = join(root, `${run}-ckpt`);
        const clock = new ManualClock();
        const factory = pipeline(topic, clock, dir, s.interval, actual);
        const first = StreamingContext.getOrCreate(dir, factory);
        if (s.kill === "torn-write") {
          first.checkpointWriter!.onTempWritten = (_path, time) => {
            if (time === s.killAt * 1000) throw new Error("killed in the middle of a checkpoint write");
          };
        }
        await first.start();
        for (let k = 1; k <= s.killAt; k++) await step(first, clock, topic, k, s.batches[k - 1]!);
        await first.stop({ simulateCrash: true });
        for (let k = s.killAt + 1; k <= s.killAt + s.downtime; k++) await produceBatch(topic, k, s.batches[k - 1]!);
        await clock.advance(s.downtime * 1000);

        const second = StreamingContext.getOrCreate(dir, factory);
        expect(second).not.toBe(first);
        await second.start();
        for (let k = s.killAt + s.downtime + 1; k <= HORIZON; k++) await step(second, clock, topic, k, s.batches[k - 1]!);
        await second.stop({ stopGracefully: true });

        expect(byTime(actual), scenarioText).toEqual(byTime(expected));
        const last = readLatestCheckpoint(dir)!.body;
        expect(last.time, scenarioText).toBe(HORIZON * 1000 - ((HORIZON * 1000) % (s.interval * 1000)));
        if (last.time === HORIZON * 1000) {
          const position = decodeValue(Object.values(last.sources)[0]!) as { offsets: Record<string, Record<string, string>> };
          expect(await committedOffsets(`${topic}-group`, topic), scenarioText).toEqual(position.offsets[topic]);
        }
      } finally {
        stderr.mockRestore();
      }
    },
    180_000,
  );
});

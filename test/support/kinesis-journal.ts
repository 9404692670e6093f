/**
 * The Kinesis emulator's state, API and journal on a manual clock, as the server wires them (tooling/kinesis/
 * server.ts), for tests of the journal; and a history with something of every kind to compact.
 */
import { join } from "node:path";
import { KinesisApi } from "../../tooling/kinesis/api.js";
import { Journal, JOURNAL_FILE } from "../../tooling/kinesis/journal.js";
import { streamStateCompaction, type JournalCompactionOptions } from "../../tooling/kinesis/journal-compaction.js";
import { StreamState } from "../../tooling/kinesis/streams.js";

export const HOUR = 3_600_000;
export const START = 1_000_000;

export interface JournaledEmulator {
  readonly api: KinesisApi;
  readonly journal: Journal;
  readonly clock: { now: number };
}

/** `compaction: "never"` opens the journal as it is (to read what it held before any compaction). */
export function openJournaled(dataDir: string, clock: { now: number }, compaction: JournalCompactionOptions | "never" = {}): JournaledEmulator {
  const state = new StreamState("000000000000", "us-east-1");
  const now = () => clock.now;
  const policy = compaction === "never" ? undefined : streamStateCompaction(state, now, compaction);
  const { journal } = Journal.open(join(dataDir, JOURNAL_FILE), (e) => state.apply(e), policy);
  return { api: new KinesisApi(state, journal, { now }), journal, clock };
}

export function put(api: KinesisApi, stream: string, values: readonly string[]): void {
  api.handle("PutRecords", { StreamName: stream, Records: values.map((v, i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(v).toString("base64") })) });
}

/**
 * Two days of history, ending at the returned time: `kept` (2 shards, one split later, retention 48 h) has records
 * from the start and from a day later; `short` (24 h) has day-old records that expired and fresh ones; `gone` was
 * deleted; `again` was deleted and created anew. The expired and deleted ones are what compaction drops.
 */
export function writeHistory(dataDir: string): number {
  const clock = { now: START };
  const { api, journal } = openJournaled(dataDir, clock);
  api.handle("CreateStream", { StreamName: "kept", ShardCount: 2 });
  api.handle("IncreaseStreamRetentionPeriod", { StreamName: "kept", RetentionPeriodHours: 48 });
  api.handle("CreateStream", { StreamName: "short", ShardCount: 1 });
  api.handle("CreateStream", { StreamName: "gone", ShardCount: 1 });
  api.handle("CreateStream", { StreamName: "again", ShardCount: 1 });
  put(api, "kept", ["k-day0-a", "k-day0-b", "k-day0-c"]);
  put(api, "short", ["s-day0-a", "s-day0-b"]);
  put(api, "gone", ["g-a", "g-b"]);
  put(api, "again", ["first-life"]);
  api.handle("DeleteStream", { StreamName: "gone" });
  api.handle("DeleteStream", { StreamName: "again" });
  clock.now += HOUR;
  api.handle("CreateStream", { StreamName: "again", ShardCount: 1 });
  put(api, "again", ["second-life"]);
  clock.now += 24 * HOUR;
  api.handle("SplitShard", { StreamName: "kept", ShardToSplit: "shardId-000000000000", NewStartingHashKey: (1n << 126n).toString() });
  put(api, "kept", ["k-day1-a", "k-day1-b", "k-day1-c", "k-day1-d"]);
  put(api, "short", ["s-day1"]);
  journal.close();
  return clock.now;
}

/** What any client can read: each stream's shards and every record of each, from TRIM_HORIZON. */
export function readEverything(api: KinesisApi): unknown {
  const streams = (api.handle("ListStreams", {}) as { StreamNames: string[] }).StreamNames;
  return Object.fromEntries(
    streams.map((name) => {
      const shards = (api.handle("ListShards", { StreamName: name }) as { Shards: { ShardId: string }[] }).Shards;
      const records = shards.map((s) => {
        const { ShardIterator } = api.handle("GetShardIterator", { StreamName: name, ShardId: s.ShardId, ShardIteratorType: "TRIM_HORIZON" });
        const res = api.handle("GetRecords", { ShardIterator }) as { Records: { SequenceNumber: string; Data: string; PartitionKey: string; ApproximateArrivalTimestamp: number }[] };
        return res.Records.map((r) => ({ ...r, Data: Buffer.from(r.Data, "base64").toString() }));
      });
      return [name, { shards, records }];
    }),
  );
}

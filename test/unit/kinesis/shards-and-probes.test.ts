/**
 * lib/io/kinesis against a scripted Kinesis client: the calls each function makes and how it reads the
 * answers. (The same functions run against kinesis-mock in the source, poller, serverless and CLI
 * integration tests.)
 */
import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient, ListShardsCommand } from "@aws-sdk/client-kinesis";
import { describe, expect, it } from "vitest";
import { iteratorParams, startAfter } from "../../../lib/io/kinesis/iterators.js";
import { countRecordsAfter, probeShard } from "../../../lib/io/kinesis/probe.js";
import { listShards } from "../../../lib/io/kinesis/shards.js";
import { streamParams } from "../../../lib/io/kinesis/stream-ref.js";
import { parentsDrained, parentsOf } from "../../../lib/io/ordered-log.js";

type Call = { command: string; input: Record<string, unknown> };

/** A client whose answers are scripted per command; it records every call it gets. */
function scripted(answers: Record<string, Array<Record<string, unknown>>>): { client: KinesisClient; calls: Call[] } {
  const calls: Call[] = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const name = command.constructor.name;
      calls.push({ command: name, input: command.input });
      const next = answers[name]?.shift();
      if (!next) throw new Error(`no scripted answer for ${name}`);
      return next;
    },
  } as unknown as KinesisClient;
  return { client, calls };
}

const CLOSED = { StartingSequenceNumber: "1", EndingSequenceNumber: "9223372036854775807" };

describe("listShards", () => {
  it("follows NextToken without the stream, and gives each shard's lineage and whether it is closed", async () => {
    const { client, calls } = scripted({
      [ListShardsCommand.name]: [
        { Shards: [{ ShardId: "shardId-0", SequenceNumberRange: CLOSED }], NextToken: "t1" },
        {
          Shards: [
            { ShardId: "shardId-1", ParentShardId: "shardId-0", SequenceNumberRange: { StartingSequenceNumber: "2" } },
            { ShardId: "shardId-2", ParentShardId: "shardId-0", AdjacentParentShardId: "shardId-9", SequenceNumberRange: { StartingSequenceNumber: "3" } },
          ],
        },
      ],
    });
    const shards = await listShards(client, "clicks");
    expect(shards).toEqual([
      { shardId: "shardId-0", closed: true },
      { shardId: "shardId-1", parentShardId: "shardId-0", closed: false },
      { shardId: "shardId-2", parentShardId: "shardId-0", adjacentParentShardId: "shardId-9", closed: false },
    ]);
    expect(calls.map((c) => c.input)).toEqual([{ StreamName: "clicks" }, { NextToken: "t1" }]);
    expect(shards.map(parentsOf)).toEqual([[], ["shardId-0"], ["shardId-0", "shardId-9"]]);
  });

  it.each([
    ["a name", "clicks", { StreamName: "clicks" }],
    ["an ARN", "arn:aws:kinesis:us-east-1:000000000000:stream/clicks", { StreamARN: "arn:aws:kinesis:us-east-1:000000000000:stream/clicks" }],
    ["both", { streamName: "clicks", streamArn: "arn:x" }, { StreamName: "clicks", StreamARN: "arn:x" }],
  ] as const)("names the stream by %s", (_name, ref, params) => {
    expect(streamParams(ref)).toEqual(params);
  });
});

describe("lineage", () => {
  it("reads a child only once every parent still known is drained; a parent no longer listed counts as drained", () => {
    const known = new Map([["p", false], ["q", true]]);
    const drained = (id: string) => known.get(id);
    expect(parentsDrained(["p"], drained)).toBe(false);
    expect(parentsDrained(["q"], drained)).toBe(true);
    expect(parentsDrained(["q", "gone"], drained)).toBe(true);
    expect(parentsDrained(["q", "p"], drained)).toBe(false);
    expect(parentsDrained([], drained)).toBe(true);
  });
});

describe("iterators", () => {
  it("starts after a committed sequence number, or at the start of the shard without one", () => {
    expect(iteratorParams(startAfter("495"))).toEqual({ ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: "495" });
    expect(iteratorParams(startAfter(undefined))).toEqual({ ShardIteratorType: "TRIM_HORIZON" });
    expect(iteratorParams({ at: "LATEST" })).toEqual({ ShardIteratorType: "LATEST" });
  });

  it("never asks for a timestamp in the future (kinesis-mock refuses it; it means 'from now' either way)", () => {
    const past = Date.now() - 60_000;
    expect(iteratorParams({ at: "AT_TIMESTAMP", timestamp: past })).toEqual({ ShardIteratorType: "AT_TIMESTAMP", Timestamp: new Date(past) });
    const future = iteratorParams({ at: "AT_TIMESTAMP", timestamp: Date.now() + 3_600_000 });
    expect(future.Timestamp!.getTime()).toBeLessThanOrEqual(Date.now());
  });
});

describe("probeShard", () => {
  it("finds a record after the committed position", async () => {
    const { client, calls } = scripted({
      [GetShardIteratorCommand.name]: [{ ShardIterator: "it-1" }],
      [GetRecordsCommand.name]: [{ Records: [{ SequenceNumber: "7" }], NextShardIterator: "it-2", MillisBehindLatest: 0 }],
    });
    expect(await probeShard(client, { streamName: "s" }, "shardId-0", "5")).toEqual({ hasRecords: true, ended: false });
    expect(calls[0]).toEqual({ command: "GetShardIteratorCommand", input: { StreamName: "s", ShardId: "shardId-0", ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: "5" } });
    expect(calls[1]!.input).toEqual({ ShardIterator: "it-1", Limit: 1 });
  });

  it("reads past empty pages that are behind the tip (a gap), and calls a shard with no next iterator ended", async () => {
    const { client } = scripted({
      [GetShardIteratorCommand.name]: [{ ShardIterator: "it-1" }],
      [GetRecordsCommand.name]: [
        { Records: [], NextShardIterator: "it-2", MillisBehindLatest: 5000 },
        { Records: [], MillisBehindLatest: 0 },
      ],
    });
    expect(await probeShard(client, { streamArn: "arn:s" }, "shardId-0", undefined)).toEqual({ hasRecords: false, ended: true });
  });

  it("calls an open shard with nothing new idle, not ended", async () => {
    const { client } = scripted({
      [GetShardIteratorCommand.name]: [{ ShardIterator: "it-1" }],
      [GetRecordsCommand.name]: [{ Records: [], NextShardIterator: "it-2", MillisBehindLatest: 0 }],
    });
    expect(await probeShard(client, "s", "shardId-0", "5")).toEqual({ hasRecords: false, ended: false });
  });
});

describe("countRecordsAfter", () => {
  const records = (n: number, arrival = 1_700_000_000_000) =>
    Array.from({ length: n }, (_, i) => ({ SequenceNumber: String(i), ApproximateArrivalTimestamp: new Date(arrival + i) }));

  it("counts up to the cap and says when there were more", async () => {
    const { client, calls } = scripted({
      [GetShardIteratorCommand.name]: [{ ShardIterator: "it-1" }],
      [GetRecordsCommand.name]: [{ Records: records(4), NextShardIterator: "it-2", MillisBehindLatest: 900 }],
    });
    expect(await countRecordsAfter(client, "s", "shardId-0", "1", { cap: 3, maxCalls: 4 })).toEqual({
      count: 3,
      capped: true,
      millis: 900,
      oldestArrival: 1_700_000_000_000,
    });
    expect(calls[1]!.input).toEqual({ ShardIterator: "it-1", Limit: 4 });
  });

  it("stops once caught up (a page that is not full, nothing behind)", async () => {
    const { client, calls } = scripted({
      [GetShardIteratorCommand.name]: [{ ShardIterator: "it-1" }],
      [GetRecordsCommand.name]: [
        { Records: records(2), NextShardIterator: "it-2", MillisBehindLatest: 10 },
        { Records: records(1), NextShardIterator: "it-3", MillisBehindLatest: 0 },
      ],
    });
    expect(await countRecordsAfter(client, "s", "shardId-0", undefined, { cap: 100, maxCalls: 4 })).toMatchObject({ count: 3, capped: false });
    expect(calls.filter((c) => c.command === "GetRecordsCommand")).toHaveLength(2);
  });
});

import { type KinesisClient, ListShardsCommand, type Shard } from "@aws-sdk/client-kinesis";
import type { LogPartition } from "../ordered-log.js";
import { type StreamRef, streamParams } from "./stream-ref.js";

/**
 * Every shard of a stream, with its lineage (`ParentShardId`, `AdjacentParentShardId`) and whether it is
 * closed: what the local source, the poller, the serverless shard directory and the CLI's status list.
 *
 * A closed shard has an `EndingSequenceNumber`, which need not be a record's (kinesis-mock reports 2^63-1):
 * it only says "closed", never "read up to here"; drained is decided by reading (see probe.ts).
 */
export async function listShards(client: KinesisClient, stream: StreamRef, signal?: AbortSignal): Promise<LogPartition[]> {
  const shards: LogPartition[] = [];
  let token: string | undefined;
  do {
    // With NextToken, ListShards must not be given the stream.
    const page = await client.send(new ListShardsCommand(token ? { NextToken: token } : streamParams(stream)), signal ? { abortSignal: signal } : {});
    for (const s of page.Shards ?? []) shards.push(partitionOf(s));
    token = page.NextToken;
  } while (token);
  return shards;
}

function partitionOf(s: Shard): LogPartition {
  return {
    shardId: s.ShardId!,
    ...(s.ParentShardId ? { parentShardId: s.ParentShardId } : {}),
    ...(s.AdjacentParentShardId ? { adjacentParentShardId: s.AdjacentParentShardId } : {}),
    closed: s.SequenceNumberRange?.EndingSequenceNumber !== undefined,
  };
}

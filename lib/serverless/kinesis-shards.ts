import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient, ListShardsCommand } from "@aws-sdk/client-kinesis";
import type { ProbeResult, ShardDirectory, ShardInfo } from "./runtime-deps.js";

/** The stream's shards through the Kinesis API: ListShards for lineage, GetRecords for probes. */
export class KinesisShardDirectory implements ShardDirectory {
  constructor(
    private readonly client: KinesisClient,
    private readonly stream: { readonly streamName?: string; readonly streamArn?: string },
  ) {}

  async list(): Promise<ShardInfo[]> {
    const shards: ShardInfo[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: this.stream.streamName, StreamARN: this.stream.streamArn }),
      );
      for (const s of page.Shards ?? []) {
        shards.push({
          shardId: s.ShardId!,
          ...(s.ParentShardId ? { parentShardId: s.ParentShardId } : {}),
          ...(s.AdjacentParentShardId ? { adjacentParentShardId: s.AdjacentParentShardId } : {}),
          // A closed shard has an ending sequence number (kinesis-mock reports 2^63-1: never compare to it).
          closed: s.SequenceNumberRange?.EndingSequenceNumber !== undefined,
        });
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return shards;
  }

  async probe(shardId: string, afterSeq: string | undefined): Promise<ProbeResult> {
    const it = await this.client.send(
      new GetShardIteratorCommand({
        StreamName: this.stream.streamName,
        StreamARN: this.stream.streamArn,
        ShardId: shardId,
        ...(afterSeq ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: afterSeq } : { ShardIteratorType: "TRIM_HORIZON" }),
      }),
    );
    let iterator = it.ShardIterator;
    // An empty page with MillisBehindLatest > 0 does not mean "nothing there" (trimmed or sparse data):
    // follow a few pages before calling the shard idle.
    for (let page = 0; page < 5 && iterator; page++) {
      const r = await this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1, StreamARN: this.stream.streamArn }));
      if ((r.Records ?? []).length > 0) return { hasRecords: true, ended: false };
      iterator = r.NextShardIterator;
      if (!r.MillisBehindLatest) break;
    }
    return { hasRecords: false, ended: iterator === undefined || iterator === null };
  }
}

import type { KinesisClient } from "@aws-sdk/client-kinesis";
import { probeShard } from "../io/kinesis/probe.js";
import { listShards } from "../io/kinesis/shards.js";
import type { ProbeResult, ShardDirectory, ShardInfo } from "./runtime-deps.js";

/** The stream's shards through the Kinesis API (lib/io/kinesis): ListShards for lineage, GetRecords for probes. */
export class KinesisShardDirectory implements ShardDirectory {
  constructor(
    private readonly client: KinesisClient,
    private readonly stream: { readonly streamName?: string; readonly streamArn?: string },
  ) {}

  list(): Promise<ShardInfo[]> {
    return listShards(this.client, this.stream);
  }

  probe(shardId: string, afterSeq: string | undefined): Promise<ProbeResult> {
    return probeShard(this.client, this.stream, shardId, afterSeq);
  }
}

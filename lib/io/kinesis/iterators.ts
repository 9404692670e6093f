import { type GetShardIteratorCommandInput, GetShardIteratorCommand, type KinesisClient } from "@aws-sdk/client-kinesis";
import { type StreamRef, streamParams } from "./stream-ref.js";

/** Where reading a shard starts (Kinesis' ShardIteratorType, with its parameter). */
export type ShardStart =
  | { readonly at: "AFTER_SEQUENCE_NUMBER"; readonly sequenceNumber: string }
  | { readonly at: "TRIM_HORIZON" }
  | { readonly at: "LATEST" }
  | { readonly at: "AT_TIMESTAMP"; readonly timestamp: number };

/** After `sequenceNumber`, or from the start of the shard when there is none (nothing committed yet). */
export function startAfter(sequenceNumber: string | undefined): ShardStart {
  return sequenceNumber ? { at: "AFTER_SEQUENCE_NUMBER", sequenceNumber } : { at: "TRIM_HORIZON" };
}

/** The GetShardIterator parameters for `start`. */
export function iteratorParams(start: ShardStart): Pick<GetShardIteratorCommandInput, "ShardIteratorType" | "StartingSequenceNumber" | "Timestamp"> {
  switch (start.at) {
    case "AFTER_SEQUENCE_NUMBER":
      return { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: start.sequenceNumber };
    case "TRIM_HORIZON":
    case "LATEST":
      return { ShardIteratorType: start.at };
    case "AT_TIMESTAMP":
      // kinesis-mock rejects a timestamp in the future ("Timestamp cannot be in the future"); AWS accepts it.
      // A time not yet reached means "from now on" either way, so never ask past now.
      return { ShardIteratorType: "AT_TIMESTAMP", Timestamp: new Date(Math.min(start.timestamp, Date.now())) };
  }
}

/** An iterator for `shardId` at `start`; undefined when Kinesis gives none. Errors are the caller's to judge. */
export async function shardIterator(
  client: KinesisClient,
  stream: StreamRef,
  shardId: string,
  start: ShardStart,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const res = await client.send(
    new GetShardIteratorCommand({ ...streamParams(stream), ShardId: shardId, ...iteratorParams(start) }),
    signal ? { abortSignal: signal } : {},
  );
  return res.ShardIterator;
}

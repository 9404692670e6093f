/**
 * A Kinesis request (JSON 1.1: `X-Amz-Target: Kinesis_20131202.<Operation>`) as the authorization check AWS
 * makes for it: `kinesis:<Operation>` on the stream named by `StreamName` or `StreamARN`, on the consumer for
 * the consumer operations, on `*` for ListStreams and DescribeLimits.
 *
 * GetRecords names no stream (only a shard iterator), nor does a ListShards page after the first (only a
 * `NextToken`): the stream is the one the iterator or token was handed out for, which the caller remembers from
 * earlier responses ({@link StreamTokens}), as AWS's iterator encodes it.
 */
import type { AccessRequest } from "./evaluate.js";
import { streamArn, type ResourceArns } from "./resource-arns.js";

const NO_RESOURCE = new Set(["ListStreams", "DescribeLimits", "DescribeAccountSettings"]);

/** Shard iterators and list tokens handed out, with the stream ARN each belongs to (bounded: oldest forgotten). */
export class StreamTokens {
  private readonly byToken = new Map<string, string>();
  constructor(private readonly max = 50_000) {}

  remember(token: unknown, stream: string): void {
    if (typeof token !== "string" || token === "") return;
    this.byToken.set(token, stream);
    if (this.byToken.size > this.max) this.byToken.delete(this.byToken.keys().next().value!);
  }

  streamOf(token: unknown): string | undefined {
    return typeof token === "string" ? this.byToken.get(token) : undefined;
  }

  /** Learns the iterators and tokens of a response to a request about `stream`. */
  learn(response: Record<string, unknown>, stream: string): void {
    for (const field of ["ShardIterator", "NextShardIterator", "NextToken"]) this.remember(response[field], stream);
  }
}

/** The stream a request is about: its StreamARN or StreamName, else the stream of its iterator or token. */
export function kinesisStream(body: Record<string, unknown>, arns: ResourceArns, tokens: StreamTokens): string | undefined {
  if (typeof body.StreamARN === "string") return body.StreamARN;
  if (typeof body.StreamName === "string") return streamArn(arns, body.StreamName);
  return tokens.streamOf(body.ShardIterator) ?? tokens.streamOf(body.NextToken);
}

/**
 * The check for one Kinesis operation, or `undefined` when the request names a stream we cannot tell (an
 * iterator this proxy never handed out: AWS would reject it as invalid).
 */
export function kinesisAccess(operation: string, body: Record<string, unknown>, arns: ResourceArns, tokens: StreamTokens): AccessRequest | undefined {
  const action = `kinesis:${operation}`;
  if (NO_RESOURCE.has(operation)) return { action, resource: "*" };
  if (typeof body.ConsumerARN === "string") return { action, resource: body.ConsumerARN };
  if (operation === "ListStreamConsumers" || operation === "RegisterStreamConsumer") {
    if (typeof body.StreamARN === "string") return { action, resource: body.StreamARN };
  }
  const stream = kinesisStream(body, arns, tokens);
  if (stream !== undefined) return { action, resource: stream };
  if (typeof body.ResourceARN === "string") return { action, resource: body.ResourceARN };
  return undefined;
}

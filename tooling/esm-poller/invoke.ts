import { randomUUID } from "node:crypto";
import type { _Record } from "@aws-sdk/client-kinesis";
import type {
  KinesisHandler,
  KinesisStreamEventLike,
  KinesisStreamRecordLike,
  LambdaContextLike,
  StreamsEventResponseLike,
} from "./types.js";

/** Lambda's synchronous invocation payload limit: 6 MB (6,291,456 bytes) for the whole JSON event. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** `{"Records":[` + `]}` */
const ENVELOPE_BYTES = Buffer.byteLength('{"Records":[]}');

/** A record read from a shard, ready to go into an event, with what the poller needs to order and age it. */
export interface BufferedRecord {
  readonly event: KinesisStreamRecordLike;
  readonly seq: bigint;
  /** Approximate arrival, epoch ms. */
  readonly arrivalMs: number;
  /** Bytes it adds to the event JSON (its own JSON plus a separating comma). */
  readonly bytes: number;
}

export interface EventSource {
  readonly streamArn: string;
  readonly region: string;
  readonly roleArn: string;
}

export function toBufferedRecord(r: _Record, shardId: string, source: EventSource): BufferedRecord {
  const arrivalMs = r.ApproximateArrivalTimestamp?.getTime() ?? Date.now();
  const sequenceNumber = r.SequenceNumber!;
  const event: KinesisStreamRecordLike = {
    kinesis: {
      kinesisSchemaVersion: "1.0",
      partitionKey: r.PartitionKey ?? "",
      sequenceNumber,
      data: Buffer.from(r.Data ?? new Uint8Array()).toString("base64"),
      approximateArrivalTimestamp: arrivalMs / 1000,
    },
    eventSource: "aws:kinesis",
    eventVersion: "1.0",
    eventID: `${shardId}:${sequenceNumber}`,
    eventName: "aws:kinesis:record",
    invokeIdentityArn: source.roleArn,
    awsRegion: source.region,
    eventSourceARN: source.streamArn,
  };
  return { event, seq: BigInt(sequenceNumber), arrivalMs, bytes: Buffer.byteLength(JSON.stringify(event)) + 1 };
}

/** How many records from the front of `queue` make the next batch: up to `batchSize`, within 6 MB, at least 1. */
export function batchLength(queue: readonly BufferedRecord[], batchSize: number, limit = queue.length): number {
  return payloadBatchLength(queue, batchSize, ENVELOPE_BYTES - 1, limit); // the first record has no comma before it
}

/**
 * How many records (each adding `bytes` to the event's JSON) from the front of `queue` fit one event that starts
 * at `envelopeBytes`: up to `batchSize` and `limit`, within Lambda's 6 MB payload, and at least one. The same cap
 * for Kinesis and Kafka events; only their envelopes differ.
 */
export function payloadBatchLength(queue: readonly { readonly bytes: number }[], batchSize: number, envelopeBytes: number, limit = queue.length): number {
  let bytes = envelopeBytes;
  let n = 0;
  const max = Math.min(batchSize, limit, queue.length);
  while (n < max) {
    const next = bytes + queue[n]!.bytes;
    if (n > 0 && next > MAX_PAYLOAD_BYTES) break;
    bytes = next;
    n++;
  }
  return n;
}

export function eventOf(batch: readonly BufferedRecord[]): KinesisStreamEventLike {
  return { Records: batch.map((r) => r.event) };
}

export type InvokeOutcome =
  | { readonly kind: "success" }
  /** The handler reported failures: `failedIndex` is the batch index of the lowest reported sequence number. */
  | { readonly kind: "partial"; readonly failedIndex: number }
  | { readonly kind: "error"; readonly error: unknown; readonly timedOut: boolean; readonly functionError?: string };

export interface FunctionIdentity {
  readonly functionName: string;
  readonly functionArn: string;
  readonly memoryLimitInMB: string;
  readonly timeoutMs: number;
  readonly region: string;
}

export class FunctionTimeoutError extends Error {
  constructor(
    readonly requestId: string,
    readonly timeoutMs: number,
  ) {
    super(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
    this.name = "FunctionTimeoutError";
  }
}

/** What one call of a handler came to: its response, or the error Lambda would report. */
export type CallOutcome =
  | { readonly kind: "success"; readonly response: unknown }
  | { readonly kind: "error"; readonly error: unknown; readonly timedOut: boolean; readonly functionError?: string };

/**
 * Calls a handler once with `event`, as Lambda would: a deadline of the function's timeout and a context whose
 * remaining time counts down to it. Shared by the Kinesis and the Kafka poller.
 */
export async function callHandler<E>(
  handler: (event: E, context: LambdaContextLike) => Promise<unknown>,
  event: E,
  fn: FunctionIdentity,
  requestId: string = randomUUID(),
): Promise<CallOutcome> {
  const deadline = Date.now() + fn.timeoutMs;
  const context: LambdaContextLike = {
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    functionName: fn.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: fn.functionArn,
    memoryLimitInMB: fn.memoryLimitInMB,
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${fn.functionName}`,
    logStreamName: `local/[$LATEST]${requestId.replace(/-/g, "")}`,
    callbackWaitsForEmptyEventLoop: true,
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FunctionTimeoutError(requestId, fn.timeoutMs)), fn.timeoutMs);
  });
  try {
    // A handler that throws synchronously fails the invocation like one that rejects.
    const response = await Promise.race([Promise.resolve().then(() => handler(event, context)), timeout]);
    return { kind: "success", response };
  } catch (error) {
    // Lambda reports both a thrown error and a timeout as an unhandled function error.
    return { kind: "error", error, timedOut: error instanceof FunctionTimeoutError, functionError: "Unhandled" };
  } finally {
    clearTimeout(timer);
  }
}

/** Calls the Kinesis handler once with the batch's event, and reads the response as Lambda reads it. */
export async function invokeHandler(
  handler: KinesisHandler,
  batch: readonly BufferedRecord[],
  fn: FunctionIdentity,
  reportBatchItemFailures: boolean,
  requestId: string = randomUUID(),
): Promise<InvokeOutcome> {
  const outcome = await callHandler(handler, eventOf(batch), fn, requestId);
  if (outcome.kind === "error") return outcome;
  if (!reportBatchItemFailures) return { kind: "success" };
  return readBatchResponse(outcome.response, batch);
}

/**
 * Lambda's reading of a partial batch response ("Configuring partial batch response with Kinesis"):
 * success when the response or its `batchItemFailures` is null/absent/empty; otherwise every `itemIdentifier` must
 * be the sequence number of a record of this batch — an empty, null or unknown identifier (or a list that is not
 * a list) fails the whole batch. The checkpoint goes just before the LOWEST reported sequence number, and the
 * records from it on come again.
 */
export function readBatchResponse(response: unknown, batch: readonly BufferedRecord[]): InvokeOutcome {
  if (response === null || response === undefined || typeof response !== "object") return { kind: "success" };
  const failures = (response as StreamsEventResponseLike).batchItemFailures;
  if (failures === null || failures === undefined) return { kind: "success" };
  const invalid = (why: string): InvokeOutcome => ({
    kind: "error",
    error: new Error(`invalid partial batch response: ${why}`),
    timedOut: false,
  });
  if (!Array.isArray(failures)) return invalid("batchItemFailures is not a list");
  if (failures.length === 0) return { kind: "success" };
  const index = new Map(batch.map((r, i) => [r.event.kinesis.sequenceNumber, i]));
  let lowest = Number.POSITIVE_INFINITY;
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== "string" || id === "") return invalid(`itemIdentifier ${JSON.stringify(id)}`);
    const i = index.get(id);
    if (i === undefined) return invalid(`itemIdentifier ${id} is not a sequence number of this batch`);
    lowest = Math.min(lowest, i);
  }
  return { kind: "partial", failedIndex: lowest };
}

/**
 * How a reader of Kinesis judges a failed call: throttled (back off), an expired iterator (take a new one
 * where reading was), gone (the stream or shard no longer exists), fatal (no retry fixes it), or passing
 * (back off and try again). And how long to back off.
 */

const THROTTLING = new Set([
  "ProvisionedThroughputExceededException",
  "LimitExceededException",
  "ThrottlingException",
  "KMSThrottlingException",
]);
/** Errors no retry will fix: a reader fails. */
const FATAL = new Set([
  "AccessDeniedException",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "KMSAccessDeniedException",
  "KMSNotFoundException",
  "KMSDisabledException",
  "KMSInvalidStateException",
]);

export type KinesisFailure = "throttled" | "expired-iterator" | "not-found" | "fatal" | "retry";

/** The SDK error's name ("" for anything without one). */
export function errorName(err: unknown): string {
  const name = typeof err === "object" && err !== null ? (err as { name?: unknown }).name : undefined;
  return typeof name === "string" ? name : "";
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function classifyKinesisError(err: unknown): KinesisFailure {
  const name = errorName(err);
  if (THROTTLING.has(name)) return "throttled";
  // Iterators expire after 5 minutes; a GetRecords with one says so with either name.
  if (name === "ExpiredIteratorException") return "expired-iterator";
  if (name === "ResourceNotFoundException") return "not-found";
  if (FATAL.has(name)) return "fatal";
  return "retry";
}

/** Exponential backoff with jitter (half fixed, half random), from `firstMs`, capped at `maxMs`. */
export function backoffMs(failures: number, maxMs: number, firstMs = 100): number {
  const full = Math.min(maxMs, firstMs * 2 ** Math.min(failures, 20));
  return full / 2 + Math.random() * (full / 2);
}

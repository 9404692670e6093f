import { AsyncLocalStorage } from "node:async_hooks";
import type { Time } from "../core/duration.js";

/**
 * What a DataFrame inside `foreachRDD` or `transform` needs from the batch that runs it: the batch time (a
 * write is idempotent per batch), the sink `saveAsTextFiles` writes through (local files, or the output prefix
 * in S3 when the finalizer runs the batch on AWS), and where `print()` writes (stdout, or the function's log).
 */
export interface BatchScope {
  readonly time: Time;
  /** Writes a whole directory of part files and `_SUCCESS`, replacing what a run of the same batch wrote. */
  readonly writeBatch: (path: string, partitions: string[][]) => Promise<void>;
  readonly out: (text: string) => void;
}

const scopes = new AsyncLocalStorage<BatchScope>();

/** Runs `fn` (and everything it awaits) inside the batch's scope. */
export function runInBatch<R>(scope: BatchScope, fn: () => R): R {
  return scopes.run(scope, fn);
}

/** The batch running the caller, if any (outside a streaming job: none). */
export function currentBatch(): BatchScope | undefined {
  return scopes.getStore();
}

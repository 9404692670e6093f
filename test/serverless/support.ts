/**
 * What the serverless tests share. The simulated stream, the output readers and the local reference run are
 * the public test kit (lib/testing, `sparkless/testing`); this file re-exports them for the tests that import
 * them from here, and keeps what only this project's tests need.
 */
import { mulberry32 } from "../../examples/support.js";
import { Seconds } from "../../lib/core/duration.js";
import { SimulatedCrash } from "../../lib/testing/faults.js";

export {
  type SimRecord,
  sequenceNumber,
  kinesisEvent,
  lambdaContext,
  timedContext,
  SimShards,
  b64,
  shardRecords,
  shardName,
  serverlessFiles,
  printedBlocks,
  metricLines,
  jsonObjects,
  runLocal,
} from "../../lib/testing/index.js";

export const IDLE_AFTER = Seconds(1);

/** Whole numbers below n from a seed: one fast-check seed drives a whole delivery schedule. */
export function prng(seed: number): (n: number) => number {
  const random = mulberry32(seed);
  return (n) => Math.floor(random() * n);
}

/** The finalization backlog a tick reports (see ticker.ts pendingBatchesLine), in log order. */
export function pendingBatchesOf(logs: readonly string[]): number[] {
  return logs.filter((l) => l.startsWith('{"_aws"') && l.includes('"PendingBatches"')).map((l) => (JSON.parse(l) as { PendingBatches: number }).PendingBatches);
}

/**
 * An item's size as DynamoDB counts it against its 400 KB limit: per attribute, the UTF-8 length of its name
 * plus its value — a string's UTF-8 bytes, a number's (significant digits / 2 + 1), 1 for a boolean, 3 plus
 * one per element and the elements for a list, the members for a string set.
 */
export function dynamoItemSize(item: Record<string, unknown>): number {
  const valueSize = (v: unknown): number => {
    if (typeof v === "string") return Buffer.byteLength(v, "utf8");
    if (typeof v === "number") return Math.ceil(String(Math.abs(v)).replace(/^0+|\.|0+$/g, "").length / 2) + 1;
    if (typeof v === "boolean") return 1;
    if (Array.isArray(v)) return 3 + v.reduce((n: number, e) => n + 1 + valueSize(e), 0);
    if (v instanceof Set) return [...v].reduce((n: number, e) => n + valueSize(e), 0);
    throw new Error(`no DynamoDB size for ${String(v)}`);
  };
  return Object.entries(item).reduce((n, [name, v]) => n + Buffer.byteLength(name, "utf8") + valueSize(v), 0);
}

/**
 * Whether an invocation ended normally: false when it died of an injected crash or a commit that lost to a
 * duplicate delivery (Lambda retries both), any other error thrown.
 */
export async function survives(invocation: Promise<unknown>): Promise<boolean> {
  try {
    await invocation;
    return true;
  } catch (e) {
    if (e instanceof SimulatedCrash || (e as { code?: string }).code === "CommitConflict") return false;
    throw e;
  }
}

/**
 * What the serverless tests share. The simulated stream, the output readers and the local reference run are
 * the public test kit (lib/testing, `sparkless/testing`); this file re-exports them for the tests that import
 * them from here, and keeps what only this project's tests need.
 */
import { mulberry32 } from "../../examples/support.js";
import { Seconds } from "../../lib/core/duration.js";

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

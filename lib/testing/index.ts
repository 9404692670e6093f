/**
 * `sparkless/testing`: drive a pipeline through the code its Lambda functions run, with no AWS and no emulator.
 * {@link PipelineTestDriver} is the entry point; the simulated stream, the in-memory stores and the readers of
 * outputs are exported for tests that need finer control.
 *
 * Floor 5, the top of lib/: it may import every other floor (it drives serverless/ with the memory stores here),
 * and nothing in lib/ imports it.
 */
export {
  PipelineTestDriver,
  type PipelineTestDriverOptions,
  type SendOptions,
  type DeliverOptions,
  type InvocationFailure,
  type Invocation,
  type DeadLetter,
} from "./pipeline-test-driver.js";
export {
  SimShards,
  type SimRecord,
  sequenceNumber,
  shardName,
  shardRecords,
  b64,
  kinesisEvent,
  lambdaContext,
  timedContext,
} from "./simulated-stream.js";
export { serverlessFiles, printedBlocks, metricLines, jsonObjects, batchTimeOf, type MetricLine } from "./outputs.js";
export { runLocal } from "./local-reference.js";
export { MemoryPipelineStore } from "./memory-pipeline-store.js";
export { MemoryKeyedStateStore, type StateIo } from "./memory-keyed-state-store.js";
export { MemoryObjectStore } from "./memory-object-store.js";
export { SimulatedCrash, type CrashPoint } from "./faults.js";
export type { PipelineStore, PipelineStatus, ShardProgress } from "../pipeline-store/pipeline-store.js";
export type { KeyedStateStore, StateItem, StateVersion, StateScope } from "../pipeline-store/keyed-state-store.js";
export type { ObjectStore } from "../io/object-store.js";
export type { ShardDirectory, ShardInfo, ProbeResult } from "../serverless/runtime-deps.js";
export type { KinesisEventLike, KinesisRecordLike, InvocationContextLike } from "../serverless/kinesis-event.js";
export { PipelineRuntime } from "../serverless/runtime.js";
export {
  readOperatorState,
  listStatefulOperators,
  STATEFUL_KINDS,
  type StateLocation,
  type StatefulOperator,
  type StateEntry,
  type OperatorState,
  type ReadStateOptions,
} from "./state-reader.js";

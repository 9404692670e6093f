export {
  EsmPoller,
  ESM_POLLER_LIMITATIONS,
  type EsmPollerEvents,
  type EsmPollerStats,
  type ShardState,
  type ShardStats,
} from "./poller.js";
export type { EsmPollerOptions, StartingPosition } from "./options.js";
export {
  FileCheckpointStore,
  MemoryCheckpointStore,
  type CheckpointStore,
  type ShardCheckpoint,
} from "./checkpoint-store.js";
export { FunctionTimeoutError, MAX_PAYLOAD_BYTES } from "./invoke.js";
export type {
  FailureCondition,
  KinesisFailureRecord,
  KinesisHandler,
  KinesisStreamEventLike,
  KinesisStreamRecordLike,
  LambdaContextLike,
  StreamsEventResponseLike,
} from "./types.js";

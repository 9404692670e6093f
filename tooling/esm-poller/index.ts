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
export { KafkaEsmPoller, KAFKA_POLLER_LIMITATIONS, type KafkaEsmPollerEvents, type KafkaEsmPollerStats, type KafkaPartitionStats } from "./kafka-poller.js";
export type { KafkaEsmPollerOptions } from "./kafka-options.js";
export type { KafkaEventLike, KafkaFailureRecord, KafkaHandler, KafkaRecordLike } from "./kafka-types.js";

// The public API of sparkless: Spark Streaming's names, exported one by one.
export { Duration, Time, Milliseconds, Seconds, Minutes } from "./core/duration.js";
export { RDD } from "./core/rdd.js";
export { formatElement } from "./core/format.js";
export { ManualClock, SystemClock, type Clock } from "./exec/clock.js";
export type { BatchInfo, StreamingListener } from "./exec/job-scheduler.js";
export { ProgressLine } from "./exec/progress-line.js";
export { StreamingContext, type StreamingContextProps, type StreamingContextState } from "./api/streaming-context.js";
export {
  DStream,
  MapWithStateDStream,
  type PartitionOptions,
  type ReduceByKeyAndWindowOptions,
  type UpdateStateByKeyOptions,
  type StateUpdateFunction,
  type TimedStateUpdateFunction,
} from "./api/dstream.js";
export { State } from "./core/state.js";
export { StateSpec, type MappingFunction, type TimedMappingFunction } from "./core/state-spec.js";
export type { Source, SourceContext, DeadLetterEntry } from "./io/source.js";
export { SocketTextSource, type SocketTextSourceOptions } from "./io/socket-text-source.js";
export { TextFileSource, type TextFileSourceOptions } from "./io/text-file-source.js";
export { KafkaDirectSource, type KafkaStreamOptions } from "./io/kafka/direct-source.js";
export type { KafkaRecord, KafkaRecordMeta, KafkaDecoder } from "./io/kafka/records.js";
export type { KafkaStartingOffsets, KafkaPosition } from "./io/kafka/offsets.js";
export type { KafkaClientConfig } from "./io/kafka/client.js";
export { KinesisSource, type KinesisSourceOptions, type KinesisInitialPosition } from "./io/kinesis-source.js";
export { QueueSource } from "./io/queue-source.js";
export { definePipeline, Pipeline, type PipelineProps, type RecordMeta, type LocalRunOptions } from "./api/define-pipeline.js";
// DataFrames and SQL, for foreachRDD and transform (Spark SQL's names).
export { SparkSession, SparkSessionBuilder } from "./sql/spark-session.js";
export { DataFrame } from "./sql/dataframe.js";
export { GroupedData } from "./sql/grouped-data.js";
export { DataFrameWriter, type SaveMode } from "./sql/dataframe-writer.js";
export { Column, type ColumnLike } from "./sql/column.js";
export { col, column, lit, expr, count, countDistinct, sum, avg, mean, min, max, asc, desc, not, when, upper, lower, length, trim, abs, coalesce, concat } from "./sql/functions.js";
export {
  StringType,
  IntegerType,
  LongType,
  DoubleType,
  DecimalType,
  BooleanType,
  DateType,
  TimestampType,
  NullType,
  ArrayType,
  MapType,
  StructType,
  StructField,
  type DataType,
} from "./sql/types.js";
export type { Row, Table } from "./sql/data-types.js";
export type { SqlEngine } from "./sql/sql-engine.js";
export {
  SparklessError,
  ValidationError,
  IllegalStateError,
  NoSuchElementError,
  CheckpointError,
  SourceError,
  UserFunctionError,
  EncodingError,
  NotAPairError,
  AnalysisError,
} from "./core/errors.js";

/**
 * The contract between the construct (infra/), the Lambda adapters (functions/) and the serverless runtime
 * (lib/serverless/): the facts two of them must agree on, written once. Handler names and what each function
 * reads and writes ({@link FUNCTIONS}, and on a Kafka cluster: kafka.ts), environment variables ({@link ENV}, read once by
 * {@link readEnvironment}), the bucket's prefixes and key builders, the table's schema, metric names and the
 * pipeline-name rule.
 *
 * What belongs here: names and duties that cross the seam. What does not: how a store lays out its items
 * (lib/pipeline-store/), CDK types (infra/), Lambda event types (functions/). This folder imports only lib/core/errors.ts, so
 * every floor of lib/ and both sides of the seam can import it.
 */
export { BUCKET_PREFIXES, type BucketPrefix, deadLetterKey, failedBatchKey, graphRecordKey, lateRecordKey, metadataCheckpointKey, outputDirectory, SPILL } from "./bucket.js";
export { ENV, environmentVariables, KAFKA_ENV, type FunctionEnvironment, type KafkaEnvironment, isReservedEnvironmentName, readEnvironment } from "./environment.js";
export { type FinalizerEvent, FUNCTION_KINDS, type FunctionContract, type FunctionKind, FUNCTIONS, HANDLERS, INVOKE_ACTION, type InvokedFunction, OBJECT_ACTIONS, type StreamAction, type TableAction } from "./functions.js";
export { defaultConsumerGroupId, KAFKA_CODE_ACTIONS, KAFKA_MAPPING_ACTIONS, KAFKA_SECRET_ACTIONS } from "./kafka.js";
export { METRICS } from "./metrics.js";
export { checkPipelineName, PIPELINE_NAME_PATTERN } from "./pipeline-name.js";
export { TABLE } from "./table.js";

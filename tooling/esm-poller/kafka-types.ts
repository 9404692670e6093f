/**
 * The shapes Lambda gives a Kafka-triggered function (self-managed Apache Kafka or Amazon MSK), written out here
 * because `lib/` must not depend on the `aws-lambda` types package. Field for field what AWS sends (see "Example
 * event" in the Lambda developer guide, "Using Lambda with self-managed Apache Kafka" and "... with Amazon MSK").
 */
import type { FailureEnvelope, LambdaContextLike } from "./types.js";

/** One Kafka record of an event. */
export interface KafkaRecordLike {
  topic: string;
  partition: number;
  offset: number;
  /** Epoch milliseconds. */
  timestamp: number;
  /** `CREATE_TIME` (the producer's clock) or `LOG_APPEND_TIME` (the broker's). */
  timestampType: "CREATE_TIME" | "LOG_APPEND_TIME";
  /** The key's bytes, base64; absent for a record without a key. */
  key?: string;
  /** The value's bytes, base64. */
  value: string;
  /** One object per header, `{ <name>: [<byte>, ...] }`, in the record's order. */
  headers: Array<Record<string, number[]>>;
}

/** The event of one invocation: records grouped by `<topic>-<partition>`, each group in offset order. */
export type KafkaEventLike =
  | {
      eventSource: "SelfManagedKafka";
      /** The mapping's bootstrap servers, comma-separated. */
      bootstrapServers: string;
      records: Record<string, KafkaRecordLike[]>;
    }
  | {
      eventSource: "aws:kafka";
      /** The MSK cluster's ARN. */
      eventSourceArn: string;
      bootstrapServers: string;
      records: Record<string, KafkaRecordLike[]>;
    };

/** A Kafka-triggered handler, as the bundled Lambda asset exports it (async style). */
export type KafkaHandler = (event: KafkaEventLike, context: LambdaContextLike) => Promise<unknown>;

/**
 * What the poller hands an on-failure destination when it discards records: Lambda's envelope, as for Kinesis,
 * and `KafkaBatchInfo` naming the topic-partitions and offset ranges of the discarded records.
 */
export interface KafkaFailureRecord extends FailureEnvelope {
  KafkaBatchInfo: {
    batchSize: number;
    bootstrapServers: string;
    consumerGroupId: string;
    /** Per `<topic>-<partition>`: the first and last offset (and their timestamps, ISO-8601) discarded. */
    recordsInfo: Record<string, { firstRecordOffset: string; lastRecordOffset: string; firstRecordTimestamp: string; lastRecordTimestamp: string }>;
  };
}

import { describe, expect, it } from "vitest";
import { kafkaLookupError } from "../../../lib/io/kafka/metadata.js";

describe("a failed Kafka look-up", () => {
  it("says the topic does not exist when the broker answers UNKNOWN_TOPIC_OR_PARTITION", () => {
    const err = kafkaLookupError({ type: "UNKNOWN_TOPIC_OR_PARTITION", message: "This server does not host this topic-partition" }, "clicks");
    expect(err).toMatchObject({ name: "SourceError", code: "KafkaTopicNotFound", details: { topic: "clicks" } });
    expect(err.message).toBe("Kafka topic clicks does not exist (This server does not host this topic-partition); create it, or check the name and the bootstrap servers");
  });

  it("says what was asked when the cluster cannot be reached", () => {
    const err = kafkaLookupError(new Error("Connection error: connect ECONNREFUSED 127.0.0.1:9092"), "clicks");
    expect(err).toMatchObject({ code: "KafkaUnavailable" });
    expect(err.message).toBe("cannot read the partitions of Kafka topic clicks: Connection error: connect ECONNREFUSED 127.0.0.1:9092");
  });
});

/**
 * A Kafka pipeline's functions learn the topic and how to reach the cluster from the environment the construct
 * sets (lib/contract ENV), read once at cold start (how they connect with it: kafka-connect.test.ts).
 */
import { describe, expect, it } from "vitest";
import { environmentVariables, readEnvironment } from "../../lib/contract/index.js";

const common = { pipeline: "clicks", table: "t", bucket: "b", batchIntervalMs: 10_000 };

describe("a Kafka pipeline's environment", () => {
  it("reads back what the construct wrote: the topic, the brokers, the secret and its method, and no stream", () => {
    const vars = environmentVariables({ ...common, kafka: { topic: "clicks.v1", bootstrapServers: ["b1:9096", "b2:9096"], secretArn: "arn:s", authentication: "SASL_SCRAM_512_AUTH" } });
    expect(vars.SPARKLESS_STREAM_NAME).toBeUndefined();
    const env = readEnvironment(vars);
    expect(env.kafka).toEqual({ topic: "clicks.v1", bootstrapServers: ["b1:9096", "b2:9096"], secretArn: "arn:s", authentication: "SASL_SCRAM_512_AUTH" });
    expect(env.streamName).toBeUndefined();
  });

  it("fails if the topic comes without brokers or a cluster, naming the variables", () => {
    const vars = environmentVariables({ ...common, kafka: { topic: "clicks.v1", bootstrapServers: ["b1:9096"] } });
    delete vars.SPARKLESS_KAFKA_BOOTSTRAP_SERVERS;
    expect(() => readEnvironment(vars)).toThrow(expect.objectContaining({ code: "MissingEnvironment", message: expect.stringContaining("SPARKLESS_KAFKA_CLUSTER_ARN") }));
  });
});

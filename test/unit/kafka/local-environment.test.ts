/**
 * The embedded stack points a Kafka function at its local broker (tooling/stack/kafka-mappings.ts): the template's
 * cluster and every credential setting go, since the plaintext broker takes none and a leftover one would make the
 * function try TLS or a sign-in it cannot complete.
 */
import { describe, expect, it } from "vitest";
import { environmentVariables, readEnvironment } from "../../../lib/contract/index.js";
import { localKafkaEnvironment } from "../../../tooling/stack/kafka-mappings.js";

describe("localKafkaEnvironment", () => {
  it("replaces the cluster and drops the secret, its method and the root CA", () => {
    const deployed = environmentVariables({
      pipeline: "clicks",
      table: "t",
      bucket: "b",
      batchIntervalMs: 10_000,
      kafka: { topic: "clicks", clusterArn: "arn:aws:kafka:eu-west-1:1:cluster/c/u", secretArn: "arn:s", authentication: "CLIENT_CERTIFICATE_TLS_AUTH", rootCaSecretArn: "arn:ca" },
    });
    expect(readEnvironment(localKafkaEnvironment(deployed, "127.0.0.1:9092")).kafka).toEqual({ topic: "clicks", bootstrapServers: ["127.0.0.1:9092"] });
  });

  it("leaves a Kinesis function's environment as it is", () => {
    const deployed = environmentVariables({ pipeline: "clicks", table: "t", bucket: "b", batchIntervalMs: 10_000, streamName: "s", streamArn: "arn:k" });
    expect(localKafkaEnvironment(deployed, "127.0.0.1:9092")).toEqual(deployed);
  });
});

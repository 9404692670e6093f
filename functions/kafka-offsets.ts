/**
 * How a Kafka pipeline's functions read the topic's partitions and offsets (for the ticker's probes and the
 * finalizer's completeness check): lib/io/kafka's listTopicPartitions, connected as the construct told the
 * function (lib/contract ENV.kafka*), with the credentials read once per container from Secrets Manager.
 *
 * Supported: self-managed brokers, unauthenticated in a VPC, or with SASL/PLAIN or SCRAM-SHA-256/512 (the
 * secret's `username`/`password`, over TLS). Not yet: mTLS (lib/io/kafka's config takes no client certificate),
 * and Amazon MSK (its brokers come from GetBootstrapBrokers and its IAM access control needs a SASL signer):
 * both are refused at cold start with an error that says so.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { KafkaEnvironment } from "../lib/contract/index.js";
import { ValidationError } from "../lib/core/errors.js";
import type { KafkaClientConfig } from "../lib/io/kafka/client.js";
import { listTopicPartitions } from "../lib/io/kafka/metadata.js";
import type { TopicOffsetsReader } from "../lib/serverless/kafka-partitions.js";

const SASL: Record<string, NonNullable<KafkaClientConfig["sasl"]>["mechanism"]> = {
  BASIC_AUTH: "plain",
  SASL_SCRAM_256_AUTH: "scram-sha-256",
  SASL_SCRAM_512_AUTH: "scram-sha-512",
};

export function kafkaOffsetsReader(kafka: KafkaEnvironment): TopicOffsetsReader {
  if (!kafka.bootstrapServers?.length) {
    throw new ValidationError(
      "KafkaMskMetadataUnsupported",
      `the functions cannot read the offsets of MSK cluster ${kafka.clusterArn} yet (its brokers and IAM sign-in are not wired): use the cluster's bootstrap servers as a self-managed source (kafka.bootstrapServers) for now`,
      { clusterArn: kafka.clusterArn },
    );
  }
  let config: Promise<KafkaClientConfig> | undefined;
  return async () => {
    config ??= clientConfig(kafka).catch((e) => {
      config = undefined;
      throw e;
    });
    const partitions = await listTopicPartitions(await config, [kafka.topic]);
    return partitions.map((p) => ({ partition: p.partition, earliest: p.earliestOffset, highWatermark: p.highWatermark }));
  };
}

async function clientConfig(kafka: KafkaEnvironment): Promise<KafkaClientConfig> {
  const base = { bootstrapServers: kafka.bootstrapServers!, clientId: "sparkless-lambda" };
  if (!kafka.secretArn || !kafka.authentication) return base;
  const secret = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: kafka.secretArn }));
  const values = JSON.parse(secret.SecretString ?? "{}") as Record<string, string>;
  const mechanism = SASL[kafka.authentication];
  if (mechanism) return { ...base, ssl: true, sasl: { mechanism, username: values.username ?? "", password: values.password ?? "" } };
  // mTLS: kafkajs takes Node's TLS options where KafkaClientConfig says only `ssl: true`.
  throw new ValidationError(
    "KafkaAuthenticationUnsupported",
    `the functions cannot yet read offsets with ${kafka.authentication}: use SASL (BASIC_AUTH, SASL_SCRAM_256_AUTH, SASL_SCRAM_512_AUTH) or brokers reachable without authentication in the VPC`,
    { authentication: kafka.authentication },
  );
}

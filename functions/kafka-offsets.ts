/**
 * How a Kafka pipeline's functions read the topic's partitions and offsets (for the ticker's probes and the
 * finalizer's completeness check): lib/io/kafka's listTopicPartitions, connected as the construct told the
 * function (lib/contract KAFKA_ENV), the way Lambda's Kafka mapping connects for the same settings:
 *
 * - Brokers: self-managed `bootstrapServers`, or Amazon MSK's from `GetBootstrapBrokers` for the cluster ARN,
 *   the list for the authentication in use (IAM, SCRAM, TLS), private endpoints before public ones.
 * - Authentication: MSK without a secret is MSK's IAM access control (SASL/OAUTHBEARER with a token AWS's
 *   aws-msk-iam-sasl-signer-js signs with the function's role); a secret holds SASL/PLAIN or SCRAM credentials
 *   (`username`, `password`) or, for CLIENT_CERTIFICATE_TLS_AUTH, the client certificate (`certificate`,
 *   `privateKey`, optional `privateKeyPassword`, PEM); an optional SERVER_ROOT_CA_CERTIFICATE secret
 *   (`certificate`, PEM) is the CA a self-managed cluster's brokers are signed by.
 *
 * The connection settings are worked out once per container (a failure is retried on the next call); the IAM
 * token is signed afresh whenever kafkajs authenticates a connection.
 */
import type { GetBootstrapBrokersCommandOutput, KafkaClient } from "@aws-sdk/client-kafka";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { KafkaEnvironment } from "../lib/contract/index.js";
import { SourceError, ValidationError } from "../lib/core/errors.js";
import type { KafkaClientConfig } from "../lib/io/kafka/client.js";
import { listTopicPartitions } from "../lib/io/kafka/metadata.js";
import type { TopicOffsetsReader } from "../lib/serverless/kafka-partitions.js";

/** What the offsets reader asks AWS; the functions use the SDK's, a test passes its own. */
export interface KafkaAccess {
  /** MSK's GetBootstrapBrokers for the cluster. */
  readonly bootstrapBrokers: (clusterArn: string) => Promise<GetBootstrapBrokersCommandOutput>;
  /** A Secrets Manager secret's string. */
  readonly secretString: (secretArn: string) => Promise<string | undefined>;
  /** An MSK IAM token, signed for `region` with the function's credentials. */
  readonly iamToken: (region: string) => Promise<{ readonly token: string; readonly expiryTime: number }>;
}

const SASL: Record<string, "plain" | "scram-sha-256" | "scram-sha-512"> = {
  BASIC_AUTH: "plain",
  SASL_SCRAM_256_AUTH: "scram-sha-256",
  SASL_SCRAM_512_AUTH: "scram-sha-512",
};
const MTLS = "CLIENT_CERTIFICATE_TLS_AUTH";

/**
 * The SDK's clients, made on first use (one per container). Loaded then too: a Kinesis pipeline's functions carry
 * this module in their bundle but never evaluate MSK's client or the signer at cold start.
 */
export function awsKafkaAccess(): KafkaAccess {
  let msk: Promise<{ client: KafkaClient; command: typeof import("@aws-sdk/client-kafka").GetBootstrapBrokersCommand }> | undefined;
  let secrets: Promise<{ client: SecretsManagerClient; command: typeof import("@aws-sdk/client-secrets-manager").GetSecretValueCommand }> | undefined;
  return {
    bootstrapBrokers: async (clusterArn) => {
      msk ??= import("@aws-sdk/client-kafka").then((m) => ({ client: new m.KafkaClient({ region: regionOf(clusterArn) }), command: m.GetBootstrapBrokersCommand }));
      const { client, command } = await msk;
      return client.send(new command({ ClusterArn: clusterArn }));
    },
    secretString: async (secretArn) => {
      secrets ??= import("@aws-sdk/client-secrets-manager").then((m) => ({ client: new m.SecretsManagerClient({}), command: m.GetSecretValueCommand }));
      const { client, command } = await secrets;
      return (await client.send(new command({ SecretId: secretArn }))).SecretString;
    },
    iamToken: async (region) => (await import("aws-msk-iam-sasl-signer-js")).generateAuthToken({ region }),
  };
}

export function kafkaOffsetsReader(kafka: KafkaEnvironment, access: KafkaAccess = awsKafkaAccess()): TopicOffsetsReader {
  if (kafka.authentication !== undefined && SASL[kafka.authentication] === undefined && kafka.authentication !== MTLS) {
    throw new ValidationError(
      "KafkaAuthenticationUnsupported",
      `the functions cannot read offsets with authentication ${kafka.authentication}: use BASIC_AUTH, SASL_SCRAM_256_AUTH, SASL_SCRAM_512_AUTH or CLIENT_CERTIFICATE_TLS_AUTH (or none: MSK's IAM access control, or brokers reachable without authentication)`,
      { authentication: kafka.authentication },
    );
  }
  let config: Promise<KafkaClientConfig> | undefined;
  return async () => {
    config ??= kafkaClientConfig(kafka, access).catch((e) => {
      config = undefined;
      throw e;
    });
    const partitions = await listTopicPartitions(await config, [kafka.topic]);
    return partitions.map((p) => ({ partition: p.partition, earliest: p.earliestOffset, highWatermark: p.highWatermark }));
  };
}

/** How to connect to the pipeline's cluster, as Lambda's mapping does for the same settings. */
export async function kafkaClientConfig(kafka: KafkaEnvironment, access: KafkaAccess): Promise<KafkaClientConfig> {
  const secret = kafka.secretArn ? await secretJson(access, kafka.secretArn) : undefined;
  const rootCa = kafka.rootCaSecretArn ? await secretJson(access, kafka.rootCaSecretArn) : undefined;
  const ca = rootCa ? { ca: [required(rootCa, "certificate", kafka.rootCaSecretArn!)] } : {};
  const base = { clientId: "sparkless-lambda", bootstrapServers: kafka.bootstrapServers?.length ? kafka.bootstrapServers : await mskBrokers(kafka, access) };

  if (kafka.clusterArn !== undefined && !secret) {
    const region = regionOf(kafka.clusterArn);
    return { ...base, ssl: true, sasl: { mechanism: "oauthbearer", oauthBearerProvider: async () => ({ value: (await access.iamToken(region)).token }) } };
  }
  if (!secret) return { ...base, ...(rootCa ? { ssl: ca } : {}) };
  const mechanism = SASL[kafka.authentication ?? "SASL_SCRAM_512_AUTH"];
  if (mechanism) {
    return { ...base, ssl: rootCa ? ca : true, sasl: { mechanism, username: required(secret, "username", kafka.secretArn!), password: required(secret, "password", kafka.secretArn!) } };
  }
  const key = secret.privateKeyPassword ? { passphrase: secret.privateKeyPassword } : {};
  return { ...base, ssl: { ...ca, cert: required(secret, "certificate", kafka.secretArn!), key: required(secret, "privateKey", kafka.secretArn!), ...key } };
}

/**
 * The MSK cluster's brokers for the authentication in use (what Lambda's mapping connects to): private endpoints,
 * else public ones (a cluster with public access, read from outside its VPC).
 */
async function mskBrokers(kafka: KafkaEnvironment, access: KafkaAccess): Promise<string[]> {
  const arn = kafka.clusterArn!;
  let out: GetBootstrapBrokersCommandOutput;
  try {
    out = await access.bootstrapBrokers(arn);
  } catch (err) {
    throw new SourceError("KafkaBootstrapBrokersUnavailable", `cannot read the brokers of MSK cluster ${arn} (GetBootstrapBrokers): ${(err as Error).message}`, { clusterArn: arn }, { cause: err });
  }
  const [kind, candidates] = !kafka.secretArn
    ? ["IAM", [out.BootstrapBrokerStringSaslIam, out.BootstrapBrokerStringPublicSaslIam]]
    : kafka.authentication === MTLS
      ? ["TLS", [out.BootstrapBrokerStringTls, out.BootstrapBrokerStringPublicTls]]
      : ["SASL/SCRAM", [out.BootstrapBrokerStringSaslScram, out.BootstrapBrokerStringPublicSaslScram]];
  const brokers = candidates.find((c) => c !== undefined && c !== "");
  if (!brokers) {
    throw new ValidationError(
      "KafkaMskAuthenticationDisabled",
      `MSK cluster ${arn} offers no ${kind} brokers (GetBootstrapBrokers): turn on ${kind} client authentication on the cluster, or give the pipeline the secret for one it has`,
      { clusterArn: arn },
    );
  }
  return brokers.split(",");
}

async function secretJson(access: KafkaAccess, secretArn: string): Promise<Record<string, string>> {
  const text = await access.secretString(secretArn);
  try {
    const value: unknown = JSON.parse(text ?? "");
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, string>;
  } catch {
    // answered below
  }
  throw new ValidationError("KafkaSecretInvalid", `secret ${secretArn} must hold a JSON object (as Lambda's Kafka mapping reads it), got ${text === undefined ? "no string" : "other text"}`, { secretArn });
}

function required(secret: Record<string, string>, field: string, secretArn: string): string {
  const value = secret[field];
  if (typeof value !== "string" || value === "") {
    throw new ValidationError("KafkaSecretInvalid", `secret ${secretArn} has no "${field}": it needs the fields Lambda's Kafka mapping reads for this authentication`, { secretArn, field });
  }
  return value;
}

/** The region in an ARN (`arn:aws:kafka:<region>:...`). */
function regionOf(arn: string): string {
  const region = arn.split(":")[3];
  if (!region) throw new ValidationError("KafkaClusterArnInvalid", `the MSK cluster ARN has no region: ${arn}`, { clusterArn: arn });
  return region;
}

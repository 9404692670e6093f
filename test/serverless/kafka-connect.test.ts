/**
 * How the functions connect to a pipeline's Kafka cluster for its offsets (functions/kafka-offsets.ts), as Lambda's
 * Kafka mapping does for the same settings: MSK's brokers from GetBootstrapBrokers for the authentication in use,
 * IAM access control by a signed OAUTHBEARER token, SASL from the secret, mutual TLS with the secret's client
 * certificate — the last against a real TLS endpoint that requires a client certificate (a proxy in front of
 * librdkafka's mock broker). No AWS: GetBootstrapBrokers and Secrets Manager are stubs, the token is signed with
 * fixed credentials.
 */
import type { GetBootstrapBrokersCommandOutput } from "@aws-sdk/client-kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsKafkaAccess, type KafkaAccess, kafkaClientConfig, kafkaOffsetsReader } from "../../functions/kafka-offsets.js";
import type { KafkaEnvironment } from "../../lib/contract/index.js";
import { produce } from "../../lib/io/kafka/produce.js";
import { type MockKafka, startMockKafka } from "../../tooling/kafka/mock-broker.js";
import { type PartitionProxy, startPartitionProxy } from "../../tooling/kafka/partition-proxy.js";
import { type ThrowawayCerts, throwawayCerts } from "../support/throwaway-certs.js";

const CLUSTER = "arn:aws:kafka:eu-west-1:123456789012:cluster/orders/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0-2";
const BROKERS: GetBootstrapBrokersCommandOutput = {
  $metadata: {},
  BootstrapBrokerStringSaslIam: "b-1.orders.kafka.eu-west-1.amazonaws.com:9098,b-2.orders.kafka.eu-west-1.amazonaws.com:9098",
  BootstrapBrokerStringSaslScram: "b-1.orders.kafka.eu-west-1.amazonaws.com:9096",
  BootstrapBrokerStringTls: "b-1.orders.kafka.eu-west-1.amazonaws.com:9094",
};

/** Stubbed AWS: what each call was asked, and the answers given. */
function stubAccess(answers: { brokers?: GetBootstrapBrokersCommandOutput | Error; secrets?: Record<string, string> } = {}) {
  const asked: string[] = [];
  const access: KafkaAccess = {
    bootstrapBrokers: async (arn) => {
      asked.push(`GetBootstrapBrokers ${arn}`);
      if (answers.brokers instanceof Error) throw answers.brokers;
      return answers.brokers ?? BROKERS;
    },
    secretString: async (arn) => {
      asked.push(`GetSecretValue ${arn}`);
      return answers.secrets?.[arn];
    },
    iamToken: async (region) => {
      asked.push(`token ${region}`);
      return { token: `token-for-${region}`, expiryTime: Date.now() + 900_000 };
    },
  };
  return { access, asked };
}

describe("the functions' connection to Amazon MSK", () => {
  it("finds the IAM brokers with GetBootstrapBrokers and signs in with a fresh IAM token per authentication", async () => {
    const { access, asked } = stubAccess();
    const config = await kafkaClientConfig({ topic: "orders.v1", clusterArn: CLUSTER }, access);
    expect(config.bootstrapServers).toEqual(BROKERS.BootstrapBrokerStringSaslIam!.split(","));
    expect(config.ssl).toBe(true);
    expect(config.sasl?.mechanism).toBe("oauthbearer");
    const provider = (config.sasl as { oauthBearerProvider: () => Promise<{ value: string }> }).oauthBearerProvider;
    expect(await provider()).toEqual({ value: "token-for-eu-west-1" });
    await provider();
    expect(asked).toEqual([`GetBootstrapBrokers ${CLUSTER}`, "token eu-west-1", "token eu-west-1"]);
  });

  it.each([
    ["SASL_SCRAM_512_AUTH", { username: "u", password: "p" }, BROKERS.BootstrapBrokerStringSaslScram],
    ["CLIENT_CERTIFICATE_TLS_AUTH", { certificate: "CERT", privateKey: "KEY" }, BROKERS.BootstrapBrokerStringTls],
  ])("with a %s secret, uses the brokers for that authentication", async (authentication, secret, brokers) => {
    const { access } = stubAccess({ secrets: { "arn:secret": JSON.stringify(secret) } });
    const config = await kafkaClientConfig({ topic: "orders.v1", clusterArn: CLUSTER, secretArn: "arn:secret", authentication }, access);
    expect(config.bootstrapServers).toEqual([brokers]);
  });

  it("falls back to the public brokers of a cluster that has only those for the method", async () => {
    const { access } = stubAccess({ brokers: { $metadata: {}, BootstrapBrokerStringPublicSaslIam: "b-1-public.orders:9198" } });
    expect((await kafkaClientConfig({ topic: "t", clusterArn: CLUSTER }, access)).bootstrapServers).toEqual(["b-1-public.orders:9198"]);
  });

  it("fails if the cluster offers no brokers for the authentication in use, naming it", async () => {
    const { access } = stubAccess({ brokers: { $metadata: {}, BootstrapBrokerStringTls: "b-1:9094" } });
    await expect(kafkaClientConfig({ topic: "t", clusterArn: CLUSTER }, access)).rejects.toMatchObject({ code: "KafkaMskAuthenticationDisabled", message: expect.stringContaining("IAM") });
  });

  it("fails if GetBootstrapBrokers fails, and tries again on the next call", async () => {
    let fail = true;
    const { access } = stubAccess();
    const reader = kafkaOffsetsReader({ topic: "t", clusterArn: CLUSTER }, {
      ...access,
      bootstrapBrokers: async (arn) => {
        if (fail) throw new Error("AccessDeniedException: not authorized to perform kafka:GetBootstrapBrokers");
        return access.bootstrapBrokers(arn);
      },
    });
    await expect(reader()).rejects.toMatchObject({ code: "KafkaBootstrapBrokersUnavailable", message: expect.stringContaining("kafka:GetBootstrapBrokers") });
    fail = false;
    // The brokers are fake names now: the look-up ran again (a cached failure would answer the same code).
    await expect(reader()).rejects.not.toMatchObject({ code: "KafkaBootstrapBrokersUnavailable" });
  }, 120_000);

  it("signs an IAM token as MSK reads it: a presigned kafka-cluster:Connect URL for the cluster's region, base64url", async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY, token: process.env.AWS_SESSION_TOKEN };
    process.env.AWS_ACCESS_KEY_ID = "AKIDEXAMPLE";
    process.env.AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    delete process.env.AWS_SESSION_TOKEN;
    try {
      const { token, expiryTime } = await awsKafkaAccess().iamToken("eu-west-1");
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      const url = new URL(Buffer.from(token, "base64url").toString("utf8"));
      expect(url.host).toBe("kafka.eu-west-1.amazonaws.com");
      expect(url.searchParams.get("Action")).toBe("kafka-cluster:Connect");
      expect(url.searchParams.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
      expect(url.searchParams.get("X-Amz-Credential")).toMatch(/^AKIDEXAMPLE\/\d{8}\/eu-west-1\/kafka-cluster\/aws4_request$/);
      expect(url.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
      expect(expiryTime).toBeGreaterThan(Date.now());
    } finally {
      for (const [name, value] of [["AWS_ACCESS_KEY_ID", saved.id], ["AWS_SECRET_ACCESS_KEY", saved.secret], ["AWS_SESSION_TOKEN", saved.token]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});

describe("the functions' Kafka authentication settings", () => {
  it("fails at cold start for a method Lambda does not offer for Kafka, naming the ones it does", () => {
    expect(() => kafkaOffsetsReader({ topic: "t", bootstrapServers: ["b:9092"], secretArn: "arn:s", authentication: "VIRTUAL_HOST" }, stubAccess().access)).toThrow(
      expect.objectContaining({ code: "KafkaAuthenticationUnsupported", message: expect.stringContaining("CLIENT_CERTIFICATE_TLS_AUTH") }),
    );
  });

  it.each([
    ["SASL_SCRAM_256_AUTH", { username: "u" }, "password"],
    ["CLIENT_CERTIFICATE_TLS_AUTH", { certificate: "CERT" }, "privateKey"],
  ])("fails if a %s secret lacks a field, naming it", async (authentication, secret, field) => {
    const { access } = stubAccess({ secrets: { "arn:s": JSON.stringify(secret) } });
    await expect(kafkaClientConfig({ topic: "t", bootstrapServers: ["b:9092"], secretArn: "arn:s", authentication }, access)).rejects.toMatchObject({
      code: "KafkaSecretInvalid",
      message: expect.stringContaining(`"${field}"`),
    });
  });

  it("fails if the secret is not a JSON object", async () => {
    const { access } = stubAccess({ secrets: { "arn:s": "hunter2" } });
    await expect(kafkaClientConfig({ topic: "t", bootstrapServers: ["b:9092"], secretArn: "arn:s", authentication: "BASIC_AUTH" }, access)).rejects.toMatchObject({ code: "KafkaSecretInvalid" });
  });

  it("gives SASL/SCRAM over TLS, trusting the root CA secret's certificate when there is one", async () => {
    const { access } = stubAccess({ secrets: { "arn:s": JSON.stringify({ username: "u", password: "p" }), "arn:ca": JSON.stringify({ certificate: "CA-PEM" }) } });
    const config = await kafkaClientConfig({ topic: "t", bootstrapServers: ["b:9096"], secretArn: "arn:s", authentication: "SASL_SCRAM_256_AUTH", rootCaSecretArn: "arn:ca" }, access);
    expect(config).toMatchObject({ ssl: { ca: ["CA-PEM"] }, sasl: { mechanism: "scram-sha-256", username: "u", password: "p" } });
  });
});

describe("mutual TLS against a broker that requires a client certificate", () => {
  let kafka: MockKafka;
  let proxy: PartitionProxy;
  let certs: ThrowawayCerts;
  const mtls = (cert: string, key: string) => ({ "arn:client": JSON.stringify({ certificate: cert, privateKey: key }), "arn:ca": JSON.stringify({ certificate: certs.ca }) });
  const env = (): KafkaEnvironment => ({ topic: "clicks", bootstrapServers: proxy.brokers, secretArn: "arn:client", authentication: "CLIENT_CERTIFICATE_TLS_AUTH", rootCaSecretArn: "arn:ca" });

  beforeAll(async () => {
    certs = throwawayCerts();
    kafka = await startMockKafka({ brokers: 1, topics: [{ name: "clicks", partitions: 2 }] });
    proxy = await startPartitionProxy(kafka.brokers, {}, { tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, requestCert: true, rejectUnauthorized: true } });
    await produce({ bootstrapServers: kafka.bootstrapServers }, "clicks", [{ key: "a", value: "1", partition: 1 }]);
  }, 120_000);
  afterAll(async () => {
    await proxy?.stop();
    await kafka?.stop();
  });

  it("reads the topic's offsets with the secret's certificate and key", async () => {
    const read = kafkaOffsetsReader(env(), stubAccess({ secrets: mtls(certs.clientCert, certs.clientKey) }).access);
    expect(await read()).toEqual([
      { partition: 0, earliest: "0", highWatermark: "0" },
      { partition: 1, earliest: "0", highWatermark: "1" },
    ]);
  }, 120_000);

  it("fails if the certificate is not one the brokers trust", async () => {
    const read = kafkaOffsetsReader(env(), stubAccess({ secrets: mtls(certs.strangerCert, certs.strangerKey) }).access);
    await expect(read()).rejects.toMatchObject({ code: "KafkaUnavailable" });
  }, 120_000);
});

import type { ConnectionOptions } from "node:tls";
import { Kafka, logLevel } from "kafkajs";
import { ValidationError } from "../../core/errors.js";

/**
 * How to reach a Kafka cluster: what every part of sparkless that talks to Kafka takes (the local direct stream,
 * the metadata look-ups, `sparkless push --kafka`), so one config works for all of them. The client is kafkajs,
 * pure JavaScript (no native build); see README.md beside this file for why that one.
 */
export interface KafkaClientConfig {
  /** The bootstrap brokers, "host:port" each: a list, or one comma-separated string (Spark's `bootstrap.servers`). */
  readonly bootstrapServers: string | readonly string[];
  /** The client id brokers log and quota by. @default "sparkless" */
  readonly clientId?: string;
  /**
   * Connect with TLS: `true` with Node's defaults, or Node's TLS options (`ca` for a private CA, `cert` and `key`
   * with an optional `passphrase` for mutual TLS).
   *
   * @default false
   */
  readonly ssl?: boolean | ConnectionOptions;
  /**
   * SASL authentication, with `ssl`: SASL/PLAIN or SCRAM with a user name and password, or OAUTHBEARER with a
   * token provider (Amazon MSK's IAM access control: see functions/kafka-offsets.ts).
   *
   * @default - none
   */
  readonly sasl?:
    | { readonly mechanism: "plain" | "scram-sha-256" | "scram-sha-512"; readonly username: string; readonly password: string }
    | { readonly mechanism: "oauthbearer"; readonly oauthBearerProvider: () => Promise<{ value: string }> };
  /** How long to wait for a broker connection. @default 10000 */
  readonly connectionTimeoutMs?: number;
  /** How long to wait for one request's answer. @default 30000 */
  readonly requestTimeoutMs?: number;
}

/** The bootstrap brokers as a list, validated: a clear error names a missing or malformed entry. */
export function bootstrapBrokers(config: KafkaClientConfig): string[] {
  const raw = typeof config.bootstrapServers === "string" ? config.bootstrapServers.split(",") : [...config.bootstrapServers];
  const brokers = raw.map((b) => b.trim()).filter((b) => b !== "");
  if (brokers.length === 0) {
    throw new ValidationError("KafkaBootstrapServersMissing", `bootstrapServers must name at least one broker ("host:port"), got ${JSON.stringify(config.bootstrapServers)}`);
  }
  const bad = brokers.find((b) => !/^[^\s:]+:\d{1,5}$/.test(b) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(b));
  if (bad !== undefined) {
    throw new ValidationError("KafkaBootstrapServerInvalid", `a bootstrap server is "host:port", got ${JSON.stringify(bad)}`, { bootstrapServers: config.bootstrapServers });
  }
  return brokers;
}

/** A kafkajs client for the config. Its own logging is off: callers report failures as sparkless errors. */
export function kafkaClient(config: KafkaClientConfig): Kafka {
  return new Kafka({
    brokers: bootstrapBrokers(config),
    clientId: config.clientId ?? "sparkless",
    ...(config.ssl ? { ssl: config.ssl } : {}),
    ...(config.sasl ? { sasl: { ...config.sasl } as never } : {}),
    connectionTimeout: config.connectionTimeoutMs ?? 10_000,
    requestTimeout: config.requestTimeoutMs ?? 30_000,
    logLevel: logLevel.NOTHING,
  });
}

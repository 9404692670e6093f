/**
 * Kafka permissions, derived from the contract (lib/contract/kafka.ts) and the source's settings: what the
 * functions' code does (read the topic's offsets) and what Lambda's poller does with the shard function's role.
 * Each names the cluster, topic or group it is for; only EC2's network-interface actions, which have no
 * resource-level permissions, are on `*`.
 */
import { Fn, Token } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import { KAFKA_CODE_ACTIONS, KAFKA_MAPPING_ACTIONS } from "../lib/contract/index.js";
import type { ResolvedKafka } from "./props.js";

/** `arn:...:cluster/<name>/<uuid>` as the ARN of a `topic` or `group` of that cluster, with `name` after it. */
export function mskResourceArn(clusterArn: string, kind: "topic" | "group", name: string): string {
  if (!Token.isUnresolved(clusterArn)) return `${clusterArn.replace(":cluster/", `:${kind}/`)}/${name}`;
  const [head, tail] = [Fn.select(0, Fn.split(":cluster/", clusterArn, 2)), Fn.select(1, Fn.split(":cluster/", clusterArn, 2))];
  return Fn.join("", [head, `:${kind}/`, tail, "/", name]);
}

/** Whether the MSK cluster is reached with its IAM access control (no secret). */
export function usesMskIam(kafka: ResolvedKafka): boolean {
  return kafka.clusterArn !== undefined && kafka.secret === undefined;
}

/** What every function's code needs to read the topic's partitions and offsets. */
export function grantKafkaCode(grantee: iam.IGrantable, kafka: ResolvedKafka): void {
  const add = (actions: readonly string[], resource: string) => iam.Grant.addToPrincipal({ grantee, actions: [...actions], resourceArns: [resource] });
  if (kafka.clusterArn !== undefined) {
    add(KAFKA_CODE_ACTIONS.msk, kafka.clusterArn);
    if (usesMskIam(kafka)) {
      add(KAFKA_CODE_ACTIONS.cluster, kafka.clusterArn);
      add(KAFKA_CODE_ACTIONS.topic, mskResourceArn(kafka.clusterArn, "topic", kafka.topic));
    }
  }
  kafka.secret?.grantRead(grantee);
  kafka.rootCaCertificate?.grantRead(grantee);
}

/** What Lambda's Kafka poller needs, with the shard function's role. */
export function grantKafkaMapping(grantee: iam.IGrantable, kafka: ResolvedKafka): void {
  const add = (actions: readonly string[], resource: string) => iam.Grant.addToPrincipal({ grantee, actions: [...actions], resourceArns: [resource] });
  if (kafka.clusterArn !== undefined) {
    add(KAFKA_MAPPING_ACTIONS.msk, kafka.clusterArn);
    if (usesMskIam(kafka)) {
      add(KAFKA_MAPPING_ACTIONS.iam.cluster, kafka.clusterArn);
      add(KAFKA_MAPPING_ACTIONS.iam.topic, mskResourceArn(kafka.clusterArn, "topic", kafka.topic));
      add(KAFKA_MAPPING_ACTIONS.iam.group, mskResourceArn(kafka.clusterArn, "group", kafka.consumerGroupId));
    }
  }
  // MSK brokers are always in a VPC; a self-managed cluster when `vpc` is given.
  if (kafka.clusterArn !== undefined || kafka.vpc) add(KAFKA_MAPPING_ACTIONS.network, "*");
  kafka.secret?.grantRead(grantee);
  kafka.rootCaCertificate?.grantRead(grantee);
}

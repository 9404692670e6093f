/**
 * What a pipeline reading Kafka does to the cluster, by who does it — the Kafka half of {@link FUNCTIONS}: the
 * construct grants exactly this (infra/kafka-grants.ts, checked by test/infra/kafka-pipeline.test.ts).
 *
 * - The functions' code reads the topic's partitions and offsets (the ticker probes idle partitions; every
 *   function finalizes, and a finalizer lists the partitions to decide completeness). With MSK's IAM access
 *   control those are the actions below; with SASL/SCRAM or mTLS the secret is the credential.
 * - Lambda's Kafka poller reads with the shard function's role: the cluster's brokers (MSK), the records and
 *   the consumer group (MSK IAM access control), the secret, and network interfaces in the brokers' VPC.
 */

/** MSK IAM access-control actions of the functions' code, by the resource they name. */
export const KAFKA_CODE_ACTIONS = {
  /** Amazon MSK (any authentication): the brokers' addresses for the cluster, as Lambda's poller finds them. */
  msk: ["kafka:GetBootstrapBrokers"],
  /** IAM access control: the connection (its SASL sign-in). */
  cluster: ["kafka-cluster:Connect"],
  /** IAM access control: Metadata and ListOffsets on the topic. No group, no ReadData: the code reads no records. */
  topic: ["kafka-cluster:DescribeTopic"],
} as const;

/** What Lambda's Kafka poller does with the shard function's role (Lambda's documented execution-role needs). */
export const KAFKA_MAPPING_ACTIONS = {
  /** Amazon MSK: find the brokers. */
  msk: ["kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers"],
  /** Amazon MSK with IAM access control, by resource. */
  iam: {
    cluster: ["kafka-cluster:Connect", "kafka-cluster:DescribeClusterDynamicConfiguration"],
    topic: ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"],
    group: ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"],
  },
  /**
   * Network interfaces in the brokers' VPC (MSK always; self-managed Kafka in a VPC). EC2 gives these actions no
   * resource-level permissions, so they are granted on `*`.
   */
  network: [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
  ],
} as const;

/** Reading the authentication secret (SASL/SCRAM, SASL/PLAIN or mTLS) and the brokers' root CA secret, by the poller and the functions' code. */
export const KAFKA_SECRET_ACTIONS = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"] as const;

/** The consumer group Lambda's poller joins unless the construct is told another: one per pipeline. */
export function defaultConsumerGroupId(pipeline: string): string {
  return `sparkless-${pipeline}`;
}

/**
 * The Kafka event-source mapping of the shard function (Amazon MSK or self-managed), with every setting the
 * runtime relies on, as the Kinesis one (event-source.ts): provisioned mode, because only there does Lambda
 * offer Kafka the partial-batch response (`ReportBatchItemFailures`), bisection, finite retries, a maximum
 * record age and an on-failure destination (docs/architecture.md, "Kafka on Lambda").
 *
 * Why not aws-cdk-lib's ManagedKafkaEventSource / SelfManagedKafkaEventSource: the managed one attaches the
 * AWS-managed `AWSLambdaMSKExecutionRole` policy (kafka and EC2 actions on `*`) and neither takes a scoped S3
 * destination; the grants here name the cluster, topic and group instead (kafka-grants.ts). The mapping itself
 * is aws-cdk-lib's EventSourceMapping, with the same properties those classes set.
 */
import type * as s3 from "aws-cdk-lib/aws-s3";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { ScopedS3OnFailureDestination } from "./event-source.js";
import { grantKafkaMapping } from "./kafka-grants.js";
import type { Resolved, ResolvedKafka } from "./props.js";

export function kafkaEventSource(fn: lambda.Function, bucket: s3.IBucket, config: Resolved & { kafka: ResolvedKafka }): lambda.EventSourceMapping {
  const kafka = config.kafka;
  const access: lambda.SourceAccessConfiguration[] = [];
  if (kafka.secret) access.push({ type: lambda.SourceAccessConfigurationType.of(kafka.authenticationMethod!), uri: kafka.secret.secretArn });
  if (kafka.rootCaCertificate) access.push({ type: lambda.SourceAccessConfigurationType.SERVER_ROOT_CA_CERTIFICATE, uri: kafka.rootCaCertificate.secretArn });
  if (kafka.bootstrapServers && kafka.vpc) {
    // A self-managed cluster in a VPC: the poller connects from these subnets and security groups (MSK's are the
    // cluster's own).
    for (const id of kafka.vpc.selectSubnets(kafka.vpcSubnets).subnetIds) access.push({ type: lambda.SourceAccessConfigurationType.VPC_SUBNET, uri: `subnet:${id}` });
    for (const sg of kafka.securityGroups) access.push({ type: lambda.SourceAccessConfigurationType.VPC_SECURITY_GROUP, uri: `security_group:${sg.securityGroupId}` });
  }
  grantKafkaMapping(fn.role!, kafka);
  return fn.addEventSourceMapping("KafkaEventSource", {
    ...(kafka.clusterArn !== undefined ? { eventSourceArn: kafka.clusterArn } : { kafkaBootstrapServers: kafka.bootstrapServers! }),
    kafkaTopic: kafka.topic,
    kafkaConsumerGroupId: kafka.consumerGroupId,
    startingPosition: kafka.startingPosition,
    ...(access.length ? { sourceAccessConfigurations: access } : {}),
    batchSize: config.batchSize,
    maxBatchingWindow: config.maxBatchingWindow,
    provisionedPollerConfig: { minimumPollers: kafka.minimumPollers, maximumPollers: kafka.maximumPollers },
    reportBatchItemFailures: true,
    bisectBatchOnError: true,
    retryAttempts: config.retryAttempts,
    maxRecordAge: config.maxRecordAge,
    onFailure: kafka.onFailure ?? new ScopedS3OnFailureDestination(bucket),
    metricsConfig: { metrics: [lambda.MetricType.EVENT_COUNT] },
  });
}

/**
 * SparklessPipeline on a Kafka topic (Amazon MSK and self-managed): the event-source mapping carries every setting
 * the runtime relies on (provisioned mode, partial-batch responses, bisection, finite retries, record age, the
 * scoped S3 on-failure destination); each role is granted exactly what the contract (lib/contract/functions.ts and
 * kafka.ts) says — the cluster, topic and group by ARN, the secret, network interfaces only where Lambda needs
 * them; cdk-nag's AwsSolutions checks pass; and a wrong source is refused with an error that names it.
 */
import { fileURLToPath } from "node:url";
import { App, Stack, Validations } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { AuthenticationMethod } from "aws-cdk-lib/aws-lambda-event-sources";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
// cdk-nag is CommonJS whose exports Node's ESM loader cannot list by name: take the module object.
import cdkNag from "cdk-nag";
import { describe, expect, it } from "vitest";
import { granted, resourceText } from "../support/template-grants.js";
import { BUCKET_PREFIXES, FUNCTION_KINDS, FUNCTIONS, type FunctionContract, type FunctionKind, KAFKA_CODE_ACTIONS, KAFKA_MAPPING_ACTIONS, KAFKA_SECRET_ACTIONS } from "../../lib/contract/index.js";
import { SparklessPipeline, type KafkaSourceProps, type SparklessPipelineProps } from "../../infra/sparkless-pipeline.js";

/** Synthesizing takes seconds on an idle machine and minutes on a loaded one: the cap ends a hung synth. */
const SYNTH = { timeout: 600_000 };
const FIXTURE = fileURLToPath(new URL("./fixtures/pipeline.ts", import.meta.url));
const CLUSTER = "arn:aws:kafka:eu-west-1:123456789012:cluster/orders/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0-2";
const TOPIC_ARN = "arn:aws:kafka:eu-west-1:123456789012:topic/orders/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0-2/orders.v1";
const GROUP_ARN = "arn:aws:kafka:eu-west-1:123456789012:group/orders/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0-2/sparkless-word-count";

type Json = Record<string, any>;

function synth(kafka: (stack: Stack) => KafkaSourceProps, props: Partial<SparklessPipelineProps> = {}) {
  const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Test", { env: { account: "123456789012", region: "eu-west-1" } });
  const pipeline = new SparklessPipeline(stack, "Pipeline", {
    pipeline: { name: "word-count", entry: FIXTURE, batchIntervalMs: 10_000, stateful: true },
    kafka: kafka(stack),
    ...props,
  });
  return { stack, pipeline, template: Template.fromStack(stack).toJSON() as Json };
}

const functionOf = (p: SparklessPipeline, kind: FunctionKind) => ({ shard: p.shardFunction, ticker: p.tickerFunction, finalizer: p.finalizerFunction })[kind];

/** What the contract gives `kind` on the table, the bucket and its log group: the same as on Kinesis, without the stream. */
function storeGrants(stack: Stack, p: SparklessPipeline, kind: FunctionKind): string[] {
  const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const contract: FunctionContract = FUNCTIONS[kind];
  const bucket = `${id(p.bucket as never)}.Arn`;
  const writes = [...contract.writes, ...(contract.mapping?.writes ?? [])];
  return [
    ...contract.table.map((action) => `${action} on ${id(p.table as never)}.Arn`),
    `s3:ListBucket on ${bucket}`,
    ...contract.reads.map((prefix) => `s3:GetObject on ${bucket}/${BUCKET_PREFIXES[prefix]}*`),
    ...writes.map((prefix) => `s3:PutObject on ${bucket}/${BUCKET_PREFIXES[prefix]}*`),
    ...["logs:CreateLogStream", "logs:PutLogEvents"].map((action) => `${action} on ${id(functionOf(p, kind).logGroup as never)}.Arn`),
  ];
}

function nagViolations(stack: Stack) {
  return new cdkNag.AwsSolutionsChecks().validateScope(stack).violations.map((v) => ({ rule: v.ruleName, resources: v.violatingResources.map((r) => r.constructPath) }));
}

const mapping = (template: Json) => Object.values(template.Resources as Record<string, Json>).filter((r) => r.Type === "AWS::Lambda::EventSourceMapping");

describe("on Amazon MSK with IAM access control", SYNTH, () => {
  const { stack, pipeline, template } = synth(() => ({ clusterArn: CLUSTER, topic: "orders.v1" }));

  it("maps the cluster's topic to the shard function with every setting the commit protocol relies on", () => {
    const esm = mapping(template);
    expect(esm).toHaveLength(1);
    expect(esm[0]!.Properties).toEqual({
      FunctionName: { Ref: stack.getLogicalId(pipeline.shardFunction.node.defaultChild as lambda.CfnFunction) },
      EventSourceArn: CLUSTER,
      Topics: ["orders.v1"],
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: "sparkless-word-count" },
      StartingPosition: "TRIM_HORIZON",
      BatchSize: 10_000,
      MaximumBatchingWindowInSeconds: 5,
      ProvisionedPollerConfig: { MinimumPollers: 1, MaximumPollers: 200 },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 43_200,
      DestinationConfig: { OnFailure: { Destination: { "Fn::GetAtt": [stack.getLogicalId(pipeline.bucket.node.defaultChild as never), "Arn"] } } },
      MetricsConfig: { Metrics: ["EventCount"] },
    });
  });

  it("creates no stream and tells the functions the topic and the cluster instead", () => {
    expect(pipeline.readsKinesis).toBe(false);
    expect(() => pipeline.stream).toThrow(/reads a Kafka topic, not a Kinesis stream/);
    expect(Object.values(template.Resources as Record<string, Json>).some((r) => r.Type === "AWS::Kinesis::Stream")).toBe(false);
    const env = (template.Resources[stack.getLogicalId(pipeline.tickerFunction.node.defaultChild as lambda.CfnFunction)] as Json).Properties.Environment.Variables;
    expect(env).toMatchObject({ SPARKLESS_KAFKA_TOPIC: "orders.v1", SPARKLESS_KAFKA_CLUSTER_ARN: CLUSTER });
    expect(env.SPARKLESS_STREAM_NAME).toBeUndefined();
  });

  it.each(FUNCTION_KINDS)("grants the %s function exactly the contract: its stores, and the topic's offsets on the cluster", (kind) => {
    const code = [
      ...KAFKA_CODE_ACTIONS.msk.map((a) => `${a} on ${CLUSTER}`),
      ...KAFKA_CODE_ACTIONS.cluster.map((a) => `${a} on ${CLUSTER}`),
      ...KAFKA_CODE_ACTIONS.topic.map((a) => `${a} on ${TOPIC_ARN}`),
    ];
    const poller = kind !== "shard" ? [] : [
      ...KAFKA_MAPPING_ACTIONS.msk.map((a) => `${a} on ${CLUSTER}`),
      ...KAFKA_MAPPING_ACTIONS.iam.cluster.map((a) => `${a} on ${CLUSTER}`),
      ...KAFKA_MAPPING_ACTIONS.iam.topic.map((a) => `${a} on ${TOPIC_ARN}`),
      ...KAFKA_MAPPING_ACTIONS.iam.group.map((a) => `${a} on ${GROUP_ARN}`),
      ...KAFKA_MAPPING_ACTIONS.network.map((a) => `${a} on *`),
    ];
    expect(granted(stack, template, functionOf(pipeline, kind))).toEqual([...new Set([...storeGrants(stack, pipeline, kind), ...code, ...poller])].sort());
  });

  it("attaches no managed policy (not AWSLambdaMSKExecutionRole's kafka and EC2 actions on *)", () => {
    for (const r of Object.values(template.Resources as Record<string, Json>)) if (r.Type === "AWS::IAM::Role") expect(r.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it("alarms on the shard function's OffsetLag, the lag Lambda reports for Kafka", () => {
    const alarm = (template.Resources[stack.getLogicalId(pipeline.iteratorAgeAlarm.node.defaultChild as never)] as Json).Properties;
    expect(alarm).toMatchObject({ MetricName: "OffsetLag", Namespace: "AWS/Lambda", Threshold: 100_000 });
  });

  it("passes cdk-nag's AwsSolutions checks and has no warnings or errors", () => {
    expect(nagViolations(stack)).toEqual([]);
    expect(Annotations.fromStack(stack).findWarning("*", Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(stack).findError("*", Match.anyValue())).toEqual([]);
  });
});

describe("on Amazon MSK with mutual TLS", SYNTH, () => {
  const { stack, pipeline, template } = synth((s) => {
    const secret = new secretsmanager.Secret(s, "ClientCertificate");
    Validations.of(secret).acknowledge({ id: "AwsSolutions-SMG4", reason: "a client certificate is rotated by its CA's operators, outside this stack" });
    return { clusterArn: CLUSTER, topic: "orders.v1", secret, authenticationMethod: AuthenticationMethod.CLIENT_CERTIFICATE_TLS_AUTH };
  });
  const secretId = () => stack.getLogicalId(stack.node.findChild("ClientCertificate").node.defaultChild as never);

  it.each(FUNCTION_KINDS)("grants the %s function the cluster's brokers and the certificate's secret, and no IAM access-control action", (kind) => {
    const code = [...KAFKA_CODE_ACTIONS.msk.map((a) => `${a} on ${CLUSTER}`), ...KAFKA_SECRET_ACTIONS.map((a) => `${a} on ${secretId()}`)];
    const poller = kind !== "shard" ? [] : [...KAFKA_MAPPING_ACTIONS.msk.map((a) => `${a} on ${CLUSTER}`), ...KAFKA_MAPPING_ACTIONS.network.map((a) => `${a} on *`)];
    const grants = granted(stack, template, functionOf(pipeline, kind));
    expect(grants).toEqual([...new Set([...storeGrants(stack, pipeline, kind), ...code, ...poller])].sort());
    expect(grants.some((g) => g.startsWith("kafka-cluster:"))).toBe(false);
  });

  it("tells the functions the method, so they connect with the certificate as the poller does", () => {
    const env = (template.Resources[stack.getLogicalId(pipeline.tickerFunction.node.defaultChild as lambda.CfnFunction)] as Json).Properties.Environment.Variables;
    expect(env).toMatchObject({ SPARKLESS_KAFKA_CLUSTER_ARN: CLUSTER, SPARKLESS_KAFKA_AUTHENTICATION: "CLIENT_CERTIFICATE_TLS_AUTH" });
    expect(resourceText(env.SPARKLESS_KAFKA_SECRET_ARN)).toBe(secretId());
  });

  it("passes cdk-nag's AwsSolutions checks", () => {
    expect(nagViolations(stack)).toEqual([]);
  });
});

describe("on self-managed Kafka in a VPC, with SASL/SCRAM", SYNTH, () => {
  const { stack, pipeline, template } = synth((s) => {
    const vpc = new ec2.Vpc(s, "Vpc", { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: "brokers", subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    new ec2.FlowLog(s, "VpcFlowLog", { resourceType: ec2.FlowLogResourceType.fromVpc(vpc) });
    const securityGroup = new ec2.SecurityGroup(s, "KafkaClients", { vpc, description: "reaches the brokers" });
    const secret = new secretsmanager.Secret(s, "KafkaCredentials");
    const rootCa = new secretsmanager.Secret(s, "KafkaRootCa");
    for (const sc of [secret, rootCa]) Validations.of(sc).acknowledge({ id: "AwsSolutions-SMG4", reason: "the test's broker credentials are rotated by the brokers' operators, outside this stack" });
    return {
      bootstrapServers: ["b-1.kafka.internal:9096", "b-2.kafka.internal:9096"],
      topic: "clicks",
      secret,
      authenticationMethod: AuthenticationMethod.SASL_SCRAM_256_AUTH,
      rootCaCertificate: rootCa,
      vpc,
      securityGroups: [securityGroup],
      startingPosition: lambda.StartingPosition.LATEST,
      consumerGroupId: "clicks-counter",
      provisionedPollers: { minimum: 2, maximum: 4 },
    };
  }, { batchSize: 500, retryAttempts: 3 });
  const id = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);
  const secretId = (name = "KafkaCredentials") => stack.getLogicalId(stack.node.findChild(name).node.defaultChild as never);

  it("maps the brokers' topic with the secret, the subnets and the security group", () => {
    const props = mapping(template)[0]!.Properties;
    expect(props).toMatchObject({
      SelfManagedEventSource: { Endpoints: { KafkaBootstrapServers: ["b-1.kafka.internal:9096", "b-2.kafka.internal:9096"] } },
      SelfManagedKafkaEventSourceConfig: { ConsumerGroupId: "clicks-counter" },
      Topics: ["clicks"],
      StartingPosition: "LATEST",
      BatchSize: 500,
      MaximumRetryAttempts: 3,
      ProvisionedPollerConfig: { MinimumPollers: 2, MaximumPollers: 4 },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      BisectBatchOnFunctionError: true,
    });
    const access = (props.SourceAccessConfigurations as Json[]).map((a) => [a.Type, resourceText(a.URI)]);
    expect(access[0]).toEqual(["SASL_SCRAM_256_AUTH", secretId()]);
    expect(access[1]).toEqual(["SERVER_ROOT_CA_CERTIFICATE", secretId("KafkaRootCa")]);
    expect(access.filter(([type]) => type === "VPC_SUBNET")).toHaveLength(2);
    expect(access.filter(([type]) => type === "VPC_SECURITY_GROUP")).toHaveLength(1);
  });

  it("runs every function in the brokers' VPC, so it can read the topic's offsets", () => {
    for (const kind of FUNCTION_KINDS) expect((template.Resources[id(functionOf(pipeline, kind))] as Json).Properties.VpcConfig.SubnetIds).toHaveLength(2);
  });

  it("tells the functions the secrets, for the offsets reader to connect as the poller does", () => {
    const env = (template.Resources[id(pipeline.tickerFunction)] as Json).Properties.Environment.Variables;
    expect(resourceText(env.SPARKLESS_KAFKA_SECRET_ARN)).toBe(secretId());
    expect(resourceText(env.SPARKLESS_KAFKA_ROOT_CA_SECRET_ARN)).toBe(secretId("KafkaRootCa"));
  });

  it.each(FUNCTION_KINDS)("grants the %s function its stores, the secrets, and network interfaces for the poller only", (kind) => {
    const secret = KAFKA_SECRET_ACTIONS.flatMap((a) => [`${a} on ${secretId()}`, `${a} on ${secretId("KafkaRootCa")}`]);
    const poller = kind === "shard" ? KAFKA_MAPPING_ACTIONS.network.map((a) => `${a} on *`) : [];
    expect(granted(stack, template, functionOf(pipeline, kind))).toEqual([...new Set([...storeGrants(stack, pipeline, kind), ...secret, ...poller])].sort());
  });

  it("passes cdk-nag's AwsSolutions checks", () => {
    expect(nagViolations(stack)).toEqual([]);
    expect(Annotations.fromStack(stack).findError("*", Match.anyValue())).toEqual([]);
  });
});

describe("a Kafka source", SYNTH, () => {
  const secretOf = (s: Stack) => secretsmanager.Secret.fromSecretNameV2(s, "S", "kafka-creds");
  it.each([
    ["fails if it names both a cluster and brokers", () => ({ clusterArn: CLUSTER, bootstrapServers: ["b:9092"], topic: "t" }), {}, "KafkaClusterOrBootstrapServers"],
    ["fails if it names neither a cluster nor brokers", () => ({ topic: "t" }), {}, "KafkaClusterOrBootstrapServers"],
    ["fails if a Kinesis stream prop is given too", () => ({ clusterArn: CLUSTER, topic: "t" }), { shardCount: 2 }, "KafkaWithStreamProps"],
    ["fails if the topic name is not one Kafka allows", () => ({ clusterArn: CLUSTER, topic: "a topic" }), {}, "InvalidKafkaTopic"],
    ["fails if the cluster ARN is not an MSK cluster's", () => ({ clusterArn: "arn:aws:kafka:eu-west-1:123456789012:topic/x", topic: "t" }), {}, "InvalidKafkaClusterArn"],
    ["fails if a broker is not host:port", () => ({ bootstrapServers: ["broker"], topic: "t", secret: undefined }), {}, "InvalidKafkaBootstrapServers"],
    ["fails if self-managed brokers over the internet have no secret", () => ({ bootstrapServers: ["b:9092"], topic: "t" }), {}, "KafkaUnauthenticatedOverInternet"],
    ["fails if an authentication method comes without a secret", () => ({ clusterArn: CLUSTER, topic: "t", authenticationMethod: AuthenticationMethod.SASL_SCRAM_512_AUTH }), {}, "KafkaAuthenticationWithoutSecret"],
    ["fails if MSK is given SASL/PLAIN", (s: Stack) => ({ clusterArn: CLUSTER, topic: "t", secret: secretOf(s), authenticationMethod: AuthenticationMethod.BASIC_AUTH }), {}, "KafkaAuthenticationNotForMsk"],
    ["fails if MSK is given a root CA", (s: Stack) => ({ clusterArn: CLUSTER, topic: "t", rootCaCertificate: secretOf(s) }), {}, "KafkaRootCaOnMsk"],
    ["fails if it starts at a timestamp", () => ({ clusterArn: CLUSTER, topic: "t", startingPosition: lambda.StartingPosition.AT_TIMESTAMP }), {}, "InvalidKafkaStartingPosition"],
    ["fails if the pollers' minimum exceeds their maximum", () => ({ clusterArn: CLUSTER, topic: "t", provisionedPollers: { minimum: 5, maximum: 2 } }), {}, "InvalidKafkaPollers"],
  ] as const)("%s", (_name, kafka, props, code) => {
    expect(() => synth(kafka as (s: Stack) => KafkaSourceProps, props as Partial<SparklessPipelineProps>)).toThrow(expect.objectContaining({ code }));
  });

  it("fails if a VPC comes without security groups, saying what to add", () => {
    expect(() => synth((s) => ({ bootstrapServers: ["b:9092"], topic: "t", vpc: new ec2.Vpc(s, "V", { natGateways: 0 }) }))).toThrow(/kafka.vpc needs kafka.securityGroups/);
  });
});

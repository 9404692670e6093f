/**
 * The word-count pipeline reading a Kafka topic instead of a Kinesis stream: a CDK app whose SparklessPipeline
 * takes the `kafka` prop (a self-managed cluster here; `clusterArn` for MSK). On the embedded stack the brokers
 * below are never reached: `local up` starts a local broker, creates the topic and points the mapping at it.
 *
 *     cd examples/kafka-word-count
 *     node ../../bin/sparkless.mjs local up --kafka-partitions 3     # prints the local bootstrap servers
 *     node ../../bin/sparkless.mjs push --kafka words < some.txt     # in another terminal
 *     node ../../bin/sparkless.mjs local status                       # per-partition progress
 *
 * `cdk deploy` (from this directory) deploys it to AWS against the brokers named here.
 */
import { fileURLToPath } from "node:url";
import { App, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { SparklessPipeline } from "../../infra/sparkless-pipeline.js";

const app = new App();
const stack = new Stack(app, "SparklessKafkaWordCount", {
  description: "sparkless: the word-count example pipeline on a Kafka topic (Kafka -> Lambda -> DynamoDB/S3)",
});

const props = {
  // The pipeline module: the same word count as the Kinesis example; it reads lines whatever the log.
  entry: fileURLToPath(new URL("../../functions/word-count.ts", import.meta.url)),
  kafka: {
    topic: "words",
    bootstrapServers: (app.node.tryGetContext("bootstrapServers") as string | undefined)?.split(",") ?? ["kafka-1.example.com:9092", "kafka-2.example.com:9092"],
    consumerGroupId: "sparkless-word-count",
    // Lambda reaches a cluster outside a VPC only with credentials: SASL/SCRAM's user and password in this secret.
    // Locally the broker needs none, and the functions are pointed at it without it.
    secret: secretsmanager.Secret.fromSecretNameV2(stack, "KafkaCredentials", "sparkless/kafka-word-count"),
  },
  batchSize: 500,
  maxBatchingWindow: Duration.seconds(1),
  removalPolicy: app.node.tryGetContext("removalPolicy") === "destroy" ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
};
new SparklessPipeline(stack, "WordCount", props);

app.synth();

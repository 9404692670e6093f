/**
 * The CDK app (`cdk synth`, `cdk deploy`; see cdk.json): deploys the word-count example pipeline with
 * {@link SparklessPipeline}, checked by cdk-nag's AwsSolutions pack on every synth.
 *
 * Context:
 * - `-c removalPolicy=destroy` — a throwaway stack: `cdk destroy` removes the table, bucket and stream with
 *   their data (the default keeps them).
 *
 * Environment:
 * - `SPARKLESS_PIPELINE_ENTRY` — bundle another module in place of functions/word-count.ts (the infra tests
 *   synthesize this app with a fixture that way).
 * - `SPARKLESS_EXAMPLE_PARTITIONS` — the example's finalizer partitions (default 1), fixed into the bundle.
 */
import { App, CfnOutput, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
// cdk-nag is CommonJS whose exports Node's ESM loader cannot list by name: take the module object.
import cdkNag from "cdk-nag";
import { SparklessPipeline } from "./sparkless-pipeline.js";

const app = new App();
const destroy = app.node.tryGetContext("removalPolicy") === "destroy";
const stack = new Stack(app, "SparklessWordCount", {
  description: "sparkless: the word-count example pipeline (Kinesis -> Lambda -> DynamoDB/S3)",
});
const pipeline = new SparklessPipeline(stack, "WordCount", {
  // The construct bundles the module and reads the pipeline's name, batch interval and statefulness from it.
  entry: process.env.SPARKLESS_PIPELINE_ENTRY ?? "functions/word-count.ts",
  removalPolicy: destroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  // The example reads its P from the environment of the synth; the functions must see the same number.
  bundling: { define: { "process.env.SPARKLESS_EXAMPLE_PARTITIONS": JSON.stringify(process.env.SPARKLESS_EXAMPLE_PARTITIONS ?? "1") } },
});

new CfnOutput(stack, "StreamName", { description: "Put records here (aws kinesis put-record ...)", value: pipeline.stream.streamName });
new CfnOutput(stack, "BucketName", { description: "Outputs under output/, dead letters under dead-letter/", value: pipeline.bucket.bucketName });
new CfnOutput(stack, "TableName", { value: pipeline.table.tableName });
new CfnOutput(stack, "ShardLogGroup", {
  description: "print() output: batches are finalized inline by the shard function (and by the ticker when the stream is quiet)",
  value: pipeline.shardFunction.logGroup.logGroupName,
});

// Acknowledged findings are copied into the template's Metadata (cdk_nag.rules_to_suppress) with their reasons.
Validations.of(app).addPlugins(new cdkNag.AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));

app.synth();

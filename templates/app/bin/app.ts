/**
 * The CDK app: the {{name}} pipeline on AWS (`npx cdk deploy`), or on the embedded local stack (`npm start`).
 * SparklessPipeline bundles pipelines/{{name}}.ts with the Lambda handlers (esbuild, no Docker).
 */
import { App, CfnOutput, RemovalPolicy, Stack } from "aws-cdk-lib";
import { SparklessPipeline } from "sparkless/cdk";

const app = new App();
const stack = new Stack(app, "{{Name}}", { description: "sparkless: the {{name}} pipeline" });

const pipeline = new SparklessPipeline(stack, "{{Name}}", {
  entry: "pipelines/{{name}}.ts",
  // A throwaway stack: `cdk destroy` removes the stream, table and bucket with their data.
  removalPolicy: RemovalPolicy.DESTROY,
});

new CfnOutput(stack, "StreamName", { value: pipeline.stream.streamName });
new CfnOutput(stack, "BucketName", { value: pipeline.bucket.bucketName });

import { readFileSync, readdirSync, existsSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { App, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kinesis from "aws-cdk-lib/aws-kinesis";
// cdk-nag is CommonJS whose exports Node's ESM loader cannot list by name: take the module object.
import cdkNag from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import { ValidationError } from "../../lib/core/errors.js";
import {
  BUCKET_PREFIXES,
  defaultBatchingWindow,
  type PipelineInfo,
  SparklessPipeline,
  type SparklessPipelineProps,
} from "../../infra/sparkless-pipeline.js";

/**
 * Synthesizing (and bundling, and cdk-nag) takes seconds on an idle machine and minutes on a loaded one: the cap
 * ends a hung synth, it does not measure one.
 */
const SYNTH = { timeout: 600_000 };

const FIXTURE = fileURLToPath(new URL("./fixtures/pipeline.ts", import.meta.url));
const PIPELINE: PipelineInfo = { name: "word-count", entry: FIXTURE, batchIntervalMs: 10_000, stateful: true };

type Json = Record<string, any>;

/**
 * A stack with one pipeline. `bundle: false` skips esbuild (the template is the same apart from the asset
 * hash), which keeps the many variant stacks fast; the shared default stack bundles for real.
 */
function build(props: Partial<SparklessPipelineProps> = {}, options: { bundle?: boolean; stackProps?: StackProps } = {}) {
  const app = new App(options.bundle ? {} : { context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new Stack(app, "Test", options.stackProps);
  const pipeline = new SparklessPipeline(stack, "Pipeline", { pipeline: PIPELINE, ...props });
  return { app, stack, pipeline, template: Template.fromStack(stack) };
}

function resourcesOf(template: Template, type: string): Array<[string, Json]> {
  return Object.entries(template.findResources(type));
}

function logicalIdOf(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as never);
}

/** Every Allow statement of every IAM policy in the template, with the policy's logical id. */
function statements(template: Template): Array<{ policy: string; roles: string[]; Action: string[]; Resource: unknown[] }> {
  return resourcesOf(template, "AWS::IAM::Policy").flatMap(([policy, resource]) =>
    (resource.Properties.PolicyDocument.Statement as Json[]).map((statement) => ({
      policy,
      roles: (resource.Properties.Roles as Json[]).map((role) => role.Ref as string),
      Action: [statement.Action].flat(),
      Resource: [statement.Resource].flat(),
    })),
  );
}

/** The statements attached to one function's role. */
function statementsOf(stack: Stack, template: Template, fn: { role?: iam.IRole }) {
  const roleId = stack.getLogicalId(fn.role!.node.defaultChild as iam.CfnRole);
  return statements(template).filter((statement) => statement.roles.includes(roleId));
}

function actionsOf(stack: Stack, template: Template, fn: { role?: iam.IRole }): string[] {
  return statementsOf(stack, template, fn).flatMap((statement) => statement.Action);
}

/** Object ARNs a function may use `action` on, as "<prefix>*" strings (the part after the bucket ARN). */
function objectPrefixes(stack: Stack, template: Template, fn: { role?: iam.IRole }, action: string): string[] {
  return statementsOf(stack, template, fn)
    .filter((statement) => statement.Action.includes(action))
    .flatMap((statement) => statement.Resource)
    .map((resource) => {
      const join = (resource as Json)["Fn::Join"];
      return join ? (join[1][1] as string).replace(/^\//, "") : JSON.stringify(resource);
    })
    .sort();
}

function nagViolations(stack: Stack) {
  return new cdkNag.AwsSolutionsChecks().validateScope(stack).violations.map((violation) => ({
    rule: violation.ruleName,
    resources: violation.violatingResources.map((resource) => resource.constructPath),
  }));
}

describe("SparklessPipeline with the defaults", SYNTH, () => {
  let stack: Stack;
  let app: App;
  let pipeline: SparklessPipeline;
  let template: Template;

  beforeAll(() => {
    ({ app, stack, pipeline, template } = build({}, { bundle: true }));
  }, SYNTH.timeout);

  describe("the event-source mapping", () => {
    it("reads the stream from TRIM_HORIZON into the shard function with every setting docs/architecture.md asks for", () => {
      template.resourceCountIs("AWS::Lambda::EventSourceMapping", 1);
      template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
        EventSourceArn: { "Fn::GetAtt": [logicalIdOf(stack, pipeline.stream as kinesis.Stream), "Arn"] },
        FunctionName: { Ref: logicalIdOf(stack, pipeline.shardFunction) },
        StartingPosition: "TRIM_HORIZON",
        FunctionResponseTypes: ["ReportBatchItemFailures"],
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 10,
        MaximumRecordAgeInSeconds: 12 * 3600,
        BatchSize: 10_000,
        MaximumBatchingWindowInSeconds: 5,
        ParallelizationFactor: 1,
        MetricsConfig: { Metrics: ["EventCount"] },
      });
    });

    it("sends discarded batches to the pipeline's bucket, the only destination that keeps the records", () => {
      template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
        DestinationConfig: { OnFailure: { Destination: { "Fn::GetAtt": [logicalIdOf(stack, pipeline.bucket), "Arn"] } } },
      });
      expect(objectPrefixes(stack, template, pipeline.shardFunction, "s3:PutObject")).toContain(`${BUCKET_PREFIXES.esmFailures}*`);
    });
  });

  describe("the table", () => {
    it("has the key schema pk (S) / sk (S), TTL on ttl, on-demand billing, PITR and encryption, and is retained", () => {
      template.resourceCountIs("AWS::DynamoDB::Table", 1);
      template.hasResource("AWS::DynamoDB::Table", {
        Properties: {
          KeySchema: [
            { AttributeName: "pk", KeyType: "HASH" },
            { AttributeName: "sk", KeyType: "RANGE" },
          ],
          AttributeDefinitions: Match.arrayWith([
            { AttributeName: "pk", AttributeType: "S" },
            { AttributeName: "sk", AttributeType: "S" },
          ]),
          TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true },
          BillingMode: "PAY_PER_REQUEST",
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true },
        },
        DeletionPolicy: "Retain",
        UpdateReplacePolicy: "Retain",
      });
    });
  });

  describe("the bucket", () => {
    it("is encrypted, blocks all public access, logs access to a second bucket and is retained", () => {
      const logsId = logicalIdOf(stack, pipeline.node.findChild("AccessLogsBucket") as never);
      template.hasResource("AWS::S3::Bucket", {
        Properties: {
          BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          LoggingConfiguration: { DestinationBucketName: { Ref: logsId }, LogFilePrefix: "sparkless-bucket/" },
        },
        DeletionPolicy: "Retain",
      });
      template.resourceCountIs("Custom::S3AutoDeleteObjects", 0);
    });

    it("expires spilled parts after 7 days and spilled memory after 30, and aborts incomplete multipart uploads", () => {
      template.hasResourceProperties("AWS::S3::Bucket", {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({ Id: "ExpireSpilledParts", Prefix: Match.stringLikeRegexp("^spill/.+/parts/$"), ExpirationInDays: 7 }),
            Match.objectLike({ Id: "ExpireSpilledMemory", Prefix: Match.stringLikeRegexp("^spill/.+/mem/$"), ExpirationInDays: 30 }),
            Match.objectLike({ Id: "AbortIncompleteUploads", AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
          ]),
        },
      });
      const bucket = template.toJSON().Resources[logicalIdOf(stack, pipeline.bucket)];
      expect(bucket.Properties.VersioningConfiguration).toBeUndefined();
    });

    it("denies every request that is not over TLS, on both buckets", () => {
      const policies = resourcesOf(template, "AWS::S3::BucketPolicy");
      expect(policies).toHaveLength(2);
      for (const [, policy] of policies) {
        expect(policy.Properties.PolicyDocument.Statement).toEqual(
          expect.arrayContaining([
            expect.objectContaining({
              Effect: "Deny",
              Action: "s3:*",
              Principal: { AWS: "*" },
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            }),
          ]),
        );
      }
    });
  });

  describe("the stream", () => {
    it("has one shard, a 24-hour retention and the aws/kinesis key", () => {
      template.hasResource("AWS::Kinesis::Stream", {
        Properties: {
          ShardCount: 1,
          RetentionPeriodHours: 24,
          StreamEncryption: { EncryptionType: "KMS", KeyId: "alias/aws/kinesis" },
        },
        DeletionPolicy: "Retain",
      });
    });
  });

  describe("the functions", () => {
    it("bundles one module into three arm64 Node 22 functions, one per handler name", () => {
      for (const [fn, handler, timeout] of [
        [pipeline.shardFunction, "index.shardHandler", 60],
        [pipeline.tickerFunction, "index.tickerHandler", 60],
        [pipeline.finalizerFunction, "index.finalizerHandler", 300],
      ] as const) {
        const resource = template.toJSON().Resources[logicalIdOf(stack, fn)];
        expect(resource.Properties).toMatchObject({
          Handler: handler,
          Runtime: "nodejs22.x",
          Architectures: ["arm64"],
          MemorySize: 1024,
          Timeout: timeout,
        });
      }
      template.resourceCountIs("AWS::Lambda::Function", 3);
    });

    it("reserves no concurrency, so a first deploy fits a new account's quota of 10, with few async retries", () => {
      for (const [, fn] of resourcesOf(template, "AWS::Lambda::Function")) expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
      template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
        FunctionName: { Ref: logicalIdOf(stack, pipeline.finalizerFunction) },
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 3600,
      });
      template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
        FunctionName: { Ref: logicalIdOf(stack, pipeline.tickerFunction) },
        MaximumRetryAttempts: 0,
      });
    });

    it("gives every function the environment the pipeline module reads", () => {
      const common = {
        SPARKLESS_PIPELINE: "word-count",
        SPARKLESS_TABLE: { Ref: logicalIdOf(stack, pipeline.table) },
        SPARKLESS_BUCKET: { Ref: logicalIdOf(stack, pipeline.bucket) },
        SPARKLESS_STREAM_NAME: { Ref: logicalIdOf(stack, pipeline.stream as kinesis.Stream) },
        SPARKLESS_STREAM_ARN: { "Fn::GetAtt": [logicalIdOf(stack, pipeline.stream as kinesis.Stream), "Arn"] },
        SPARKLESS_BATCH_INTERVAL_MS: "10000",
        SPARKLESS_FINALIZER_PARTITIONS: "1",
        NODE_OPTIONS: "--enable-source-maps",
      };
      const env = (fn: object) => template.toJSON().Resources[logicalIdOf(stack, fn as never)].Properties.Environment.Variables;
      for (const fn of [pipeline.shardFunction, pipeline.tickerFunction, pipeline.finalizerFunction]) expect(env(fn)).toEqual(common);
    });

    it("logs to log groups of their own with a retention of 30 days", () => {
      const groups = resourcesOf(template, "AWS::Logs::LogGroup");
      expect(groups).toHaveLength(3);
      for (const [id, group] of groups) {
        expect(group.Properties.RetentionInDays).toBe(30);
        template.hasResourceProperties("AWS::Lambda::Function", { LoggingConfig: { LogGroup: { Ref: id } } });
      }
    });

    it("bundles the module as ESM with a require shim and a source map", () => {
      const assembly = app.synth();
      const assets = readdirSync(assembly.directory).filter((name) => name.startsWith("asset."));
      expect(assets.length).toBeGreaterThan(0);
      for (const asset of assets) {
        const dir = path.join(assembly.directory, asset);
        const code = readFileSync(path.join(dir, "index.mjs"), "utf8");
        expect(code.startsWith("import { createRequire as __sparklessCreateRequire } from 'node:module'; const require = __sparklessCreateRequire(import.meta.url);")).toBe(true);
        expect(code).toMatch(/export\s*\{[^}]*finalizerHandler[^}]*shardHandler[^}]*tickerHandler/s);
        expect(existsSync(path.join(dir, "index.mjs.map"))).toBe(true);
      }
    });
  });

  describe("the permissions", () => {
    it("use no '*' action and no service-wide or wildcard action", () => {
      const all = statements(template).flatMap((statement) => statement.Action);
      expect(all.length).toBeGreaterThan(0);
      expect(all.filter((action) => action.includes("*"))).toEqual([]);
      const resources = statements(template).flatMap((statement) => statement.Resource);
      expect(resources).not.toContain("*");
    });

    it("scope object access to the bucket's prefixes (never the whole bucket)", () => {
      for (const fn of [pipeline.shardFunction, pipeline.tickerFunction, pipeline.finalizerFunction]) {
        for (const action of ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]) {
          for (const prefix of objectPrefixes(stack, template, fn, action)) {
            expect(Object.values(BUCKET_PREFIXES).map((p) => `${p}*`)).toContain(prefix);
          }
        }
      }
      // The ticker finalizes too, so it writes outputs and checkpoints (test/infra/grants.test.ts has each role exactly).
      expect(objectPrefixes(stack, template, pipeline.tickerFunction, "s3:PutObject")).toEqual(["checkpoint/*", "dead-letter/*", "output/*", "spill/*"]);
    });

    it("let every function read and write the table's items", () => {
      for (const fn of [pipeline.shardFunction, pipeline.tickerFunction, pipeline.finalizerFunction]) {
        expect(actionsOf(stack, template, fn)).toEqual(
          expect.arrayContaining(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"]),
        );
      }
    });

    it("let the shard handler and the ticker read the stream, and the finalizer only list its shards", () => {
      // The ticker probes with these three; the event-source mapping reads with the shard function's role.
      for (const fn of [pipeline.shardFunction, pipeline.tickerFunction]) {
        expect(actionsOf(stack, template, fn)).toEqual(expect.arrayContaining(["kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"]));
      }
      const finalizer = actionsOf(stack, template, pipeline.finalizerFunction).filter((action) => action.startsWith("kinesis:"));
      expect(finalizer.sort()).toEqual(["kinesis:ListShards"]);
    });

    it("write logs through a grant on each function's own log group, not a managed policy", () => {
      for (const [, role] of resourcesOf(template, "AWS::IAM::Role")) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      for (const fn of [pipeline.shardFunction, pipeline.tickerFunction, pipeline.finalizerFunction]) {
        expect(actionsOf(stack, template, fn)).toEqual(expect.arrayContaining(["logs:CreateLogStream", "logs:PutLogEvents"]));
      }
    });
  });

  describe("the schedule", () => {
    it("runs the ticker every minute", () => {
      template.hasResourceProperties("AWS::Events::Rule", {
        ScheduleExpression: "rate(1 minute)",
        State: "ENABLED",
        Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [logicalIdOf(stack, pipeline.tickerFunction), "Arn"] } })],
      });
      template.hasResourceProperties("AWS::Lambda::Permission", {
        Action: "lambda:InvokeFunction",
        Principal: "events.amazonaws.com",
        FunctionName: { "Fn::GetAtt": [logicalIdOf(stack, pipeline.tickerFunction), "Arn"] },
      });
    });
  });

  describe("monitoring", () => {
    it("alarms when the shard handler's iterator age passes 5 minutes", () => {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "AWS/Lambda",
        MetricName: "IteratorAge",
        Dimensions: [{ Name: "FunctionName", Value: { Ref: logicalIdOf(stack, pipeline.shardFunction) } }],
        Statistic: "Maximum",
        Period: 60,
        Threshold: 300_000,
        ComparisonOperator: "GreaterThanThreshold",
        TreatMissingData: "notBreaching",
      });
    });

    it("alarms on dead-lettered records and on discarded records that could not be delivered", () => {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "Sparkless",
        MetricName: "DeadLetterRecords",
        Dimensions: [{ Name: "Pipeline", Value: "word-count" }],
        Statistic: "Sum",
        Threshold: 0,
        ComparisonOperator: "GreaterThanThreshold",
      });
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "AWS/Lambda",
        MetricName: "DestinationDeliveryFailures",
        Dimensions: [{ Name: "FunctionName", Value: { Ref: logicalIdOf(stack, pipeline.shardFunction) } }],
      });
    });

    it("alarms when batches stop being finalized: the ticker's backlog above five minutes' worth (at least 30) for 3 minutes", () => {
      const backlogAlarm = (t: Template, threshold: number) =>
        t.hasResourceProperties("AWS::CloudWatch::Alarm", {
          Namespace: "Sparkless",
          MetricName: "PendingBatches",
          Dimensions: [{ Name: "Pipeline", Value: "word-count" }],
          Statistic: "Maximum",
          Period: 60,
          EvaluationPeriods: 3,
          Threshold: threshold,
          ComparisonOperator: "GreaterThanThreshold",
        });
      backlogAlarm(template, 30); // 10 s batches: five minutes is 30 of them
      backlogAlarm(build({ pipeline: { ...PIPELINE, batchIntervalMs: 2_000 } }).template, 150);
    });

    it("has a dashboard with iterator age, invocations, errors, duration, throttles and dead letters", () => {
      const [[, dashboard]] = resourcesOf(template, "AWS::CloudWatch::Dashboard");
      const body = JSON.stringify(dashboard!.Properties.DashboardBody);
      for (const text of ["IteratorAge", "GetRecords.IteratorAgeMilliseconds", "Invocations", "Errors", "Duration", "Throttles", "DeadLetterRecords", "Sparkless", "Pipeline", "EventSourceMappingUUID"]) {
        expect(body).toContain(text);
      }
    });
  });

  it("passes cdk-nag's AwsSolutions checks and has no warnings or errors", () => {
    expect(nagViolations(stack)).toEqual([]);
    expect(Annotations.fromStack(stack).findWarning("*", Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(stack).findError("*", Match.anyValue())).toEqual([]);
  });

  it("explains each acknowledged cdk-nag finding with a reason", () => {
    const acknowledged = stack.node
      .findAll()
      .flatMap((construct) => construct.node.metadata.filter((entry) => entry.type === "aws:cdk:acknowledged-rules"))
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>));
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const [, reason] of acknowledged) expect(reason.length).toBeGreaterThan(40);
  });

  it("keeps its child ids stable", () => {
    expect(pipeline.node.children.map((child) => child.node.id).sort()).toEqual(
      [
        "AccessLogsBucket",
        "BacklogAlarm",
        "Bucket",
        "Dashboard",
        "DeadLetterAlarm",
        "DiscardDeliveryAlarm",
        "FinalizerFunction",
        "FinalizerFunctionLogs",
        "FinalizerFunctionRole",
        "IteratorAgeAlarm",
        "ShardFunction",
        "ShardFunctionLogs",
        "ShardFunctionRole",
        "Stream",
        "Table",
        "TickerFunction",
        "TickerFunctionLogs",
        "TickerFunctionRole",
        "TickerSchedule",
      ].sort(),
    );
  });
});

describe("SparklessPipeline options", SYNTH, () => {
  it("passes the event-source mapping options through", () => {
    const { template } = build({
      batchSize: 500,
      maxBatchingWindow: Duration.seconds(3),
      retryAttempts: 2,
      maxRecordAge: Duration.hours(1),
    });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: 500,
      MaximumBatchingWindowInSeconds: 3,
      MaximumRetryAttempts: 2,
      MaximumRecordAgeInSeconds: 3600,
    });
  });

  it.each([
    [500, 0],
    [1_999, 0],
    [5_000, 2],
    [10_000, 5],
    [60_000, 30],
    [3_600_000, 300],
  ])("batches for half of a %i ms batch interval in whole seconds (%i s)", (batchIntervalMs, seconds) => {
    expect(defaultBatchingWindow(batchIntervalMs).toSeconds()).toBe(seconds);
    const { template } = build({ pipeline: { ...PIPELINE, batchIntervalMs } });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", { MaximumBatchingWindowInSeconds: seconds });
  });

  it("fails if the parallelization factor is above 1 even without state: commits are per shard", () => {
    expect(() => build({ pipeline: { ...PIPELINE, stateful: false }, parallelizationFactor: 4 })).toThrow(
      /parallelizationFactor 4 is not allowed for pipeline "word-count": the commit protocol tracks progress per shard/,
    );
  });

  it("creates an on-demand stream", () => {
    const { template } = build({ onDemand: true, retentionPeriod: Duration.hours(48) });
    template.hasResourceProperties("AWS::Kinesis::Stream", {
      StreamModeDetails: { StreamMode: "ON_DEMAND" },
      RetentionPeriodHours: 48,
    });
    const [[, stream]] = resourcesOf(template, "AWS::Kinesis::Stream");
    expect(stream!.Properties.ShardCount).toBeUndefined();
  });

  it("reads an existing stream instead of creating one", () => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const stack = new Stack(app, "Test");
    const stream = kinesis.Stream.fromStreamArn(stack, "Existing", "arn:aws:kinesis:eu-west-1:123456789012:stream/words");
    new SparklessPipeline(stack, "Pipeline", { pipeline: PIPELINE, stream });
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::Kinesis::Stream", 0);
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", { EventSourceArn: "arn:aws:kinesis:eu-west-1:123456789012:stream/words" });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ SPARKLESS_STREAM_NAME: "words", SPARKLESS_STREAM_ARN: "arn:aws:kinesis:eu-west-1:123456789012:stream/words" }) },
    });
    expect(nagViolations(stack)).toEqual([]);
  });

  it("reserves a concurrency of 1 for the finalizer on request, and for no other function", () => {
    const { template } = build({ reserveFinalizerConcurrency: true });
    template.hasResourceProperties("AWS::Lambda::Function", { Handler: "index.finalizerHandler", ReservedConcurrentExecutions: 1 });
    const others = resourcesOf(template, "AWS::Lambda::Function").filter(([, fn]) => fn.Properties.Handler !== "index.finalizerHandler");
    for (const [, fn] of others) expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  it("deletes everything, objects included, with RemovalPolicy.DESTROY and still passes cdk-nag", () => {
    const { stack, template } = build({ removalPolicy: RemovalPolicy.DESTROY });
    for (const type of ["AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Kinesis::Stream", "AWS::Logs::LogGroup"]) {
      for (const [, resource] of resourcesOf(template, type)) expect(resource.DeletionPolicy).toBe("Delete");
    }
    template.resourceCountIs("Custom::S3AutoDeleteObjects", 2);
    expect(nagViolations(stack)).toEqual([]);
  });

  it("versions the bucket on request and expires replaced versions", () => {
    const { template } = build({ versioned: true });
    template.hasResourceProperties("AWS::S3::Bucket", {
      VersioningConfiguration: { Status: "Enabled" },
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } })]) },
    });
  });

  it("takes the schedule, memory, timeouts, retention, alarm threshold and extra environment", () => {
    const { stack, pipeline, template } = build({
      tickerSchedule: events.Schedule.rate(Duration.minutes(5)),
      memorySize: 2048,
      timeout: Duration.seconds(120),
      finalizerTimeout: Duration.minutes(10),
      iteratorAgeAlarmThreshold: Duration.minutes(1),
      shardCount: 4,
      environment: { WORDS_MIN_LENGTH: "3" },
    });
    template.hasResourceProperties("AWS::Events::Rule", { ScheduleExpression: "rate(5 minutes)" });
    template.hasResourceProperties("AWS::Kinesis::Stream", { ShardCount: 4 });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", { MetricName: "IteratorAge", Threshold: 60_000 });
    const fn = (f: object) => template.toJSON().Resources[logicalIdOf(stack, f as never)].Properties;
    expect(fn(pipeline.shardFunction)).toMatchObject({ MemorySize: 2048, Timeout: 120 });
    expect(fn(pipeline.finalizerFunction)).toMatchObject({ MemorySize: 2048, Timeout: 600 });
    expect(fn(pipeline.tickerFunction).Environment.Variables.WORDS_MIN_LENGTH).toBe("3");
  });

  it("grants producers and readers what they need, scoped to the stream and the output prefixes", () => {
    const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Test");
    const pipeline = new SparklessPipeline(stack, "Pipeline", { pipeline: PIPELINE });
    const reader = new iam.Role(stack, "Reader", { assumedBy: new iam.AccountRootPrincipal() });
    pipeline.grantPutRecords(reader);
    pipeline.grantReadOutput(reader);
    pipeline.grantReadDeadLetters(reader);
    const template = Template.fromStack(stack);
    const readerStatements = statementsOf(stack, template, { role: reader });
    expect(readerStatements.flatMap((statement) => statement.Action)).toEqual(expect.arrayContaining(["kinesis:PutRecord", "kinesis:PutRecords", "s3:GetObject", "s3:ListBucket"]));
    expect(objectPrefixes(stack, template, { role: reader }, "s3:GetObject")).toEqual(["aws/lambda/*", "dead-letter/*", "late/*", "output/*"]);
  });

  it("names its metrics after the pipeline", () => {
    const { stack, pipeline } = build();
    const metric = stack.resolve(pipeline.metricDeadLetterRecords().toMetricConfig().metricStat);
    expect(metric).toMatchObject({ namespace: "Sparkless", metricName: "DeadLetterRecords", dimensions: [{ name: "Pipeline", value: "word-count" }] });
  });
});

describe("SparklessPipeline validation", SYNTH, () => {
  function fails(props: Partial<SparklessPipelineProps>, code: string, message: RegExp) {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const stack = new Stack(app, "Test");
    let error: unknown;
    try {
      new SparklessPipeline(stack, "Pipeline", { pipeline: PIPELINE, ...props });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).code).toBe(code);
    expect((error as ValidationError).message).toMatch(message);
  }

  it("fails if the parallelization factor is above 1 for a pipeline with state, and says why", () => {
    fails(
      { parallelizationFactor: 2 },
      "ParallelizationWithState",
      /parallelizationFactor 2 is not allowed for pipeline "word-count", which has windows or keyed state: the commit protocol tracks progress per shard/,
    );
  });

  it.each([0, -1, 1.5, Number.NaN])("fails if shardCount is %s (below 1 or not whole)", (shardCount) => {
    fails({ shardCount }, "InvalidShardCount", new RegExp(`shardCount must be a whole number from 1 to 10000 \\(received ${String(shardCount)}\\)`));
  });

  it.each([0, -10_000, 2.5, Number.NaN, Number.POSITIVE_INFINITY])("fails if the batch interval is %s ms", (batchIntervalMs) => {
    fails(
      { pipeline: { ...PIPELINE, batchIntervalMs } },
      "InvalidBatchInterval",
      new RegExp(`batch interval of pipeline "word-count" must be a positive whole number of milliseconds \\(received ${String(batchIntervalMs)}\\)`),
    );
  });

  it.each(["", "word count", "-leading-dash", "x".repeat(65), "wörds"])("fails if the pipeline name is %j", (name) => {
    fails({ pipeline: { ...PIPELINE, name } }, "InvalidPipelineName", /pipeline name must be 1 to 63 lowercase letters, digits or '-', starting with a letter or digit.*\(received /);
  });

  it("fails if the pipeline entry does not exist, naming the path", () => {
    fails({ pipeline: { ...PIPELINE, entry: "functions/no-such-pipeline.ts" } }, "PipelineEntryNotFound", /pipeline entry "functions\/no-such-pipeline.ts" does not exist/);
  });

  it("fails if the pipeline entry is not a module", () => {
    fails({ pipeline: { ...PIPELINE, entry: "functions/word-count.py" } }, "InvalidPipelineEntry", /\.ts or \.js module \(received "functions\/word-count.py"\)/);
  });

  it("fails if shardCount is given for an on-demand stream", () => {
    fails({ onDemand: true, shardCount: 2 }, "ShardCountWithOnDemand", /received shardCount=2/);
  });

  it("fails if stream settings are given with an existing stream", () => {
    const app = new App();
    const stack = new Stack(app, "Test");
    const stream = kinesis.Stream.fromStreamArn(stack, "Existing", "arn:aws:kinesis:eu-west-1:123456789012:stream/words");
    expect(() => new SparklessPipeline(stack, "Pipeline", { pipeline: PIPELINE, stream, shardCount: 2, retentionPeriod: Duration.hours(48) })).toThrow(
      /shardCount, retentionPeriod configure the stream the construct creates, but an existing stream was given \(received shardCount=2, retentionPeriod=2 days\)/,
    );
  });

  it("fails if retries are infinite", () => {
    fails({ retryAttempts: -1 }, "InfiniteRetries", /retryAttempts must be finite \(received -1\)/);
  });

  it("fails if retryAttempts is out of range", () => {
    fails({ retryAttempts: 10_001 }, "InvalidRetryAttempts", /received 10001/);
  });

  it("fails if maxRecordAge is not below the stream's retention", () => {
    fails({ maxRecordAge: Duration.hours(24) }, "MaxRecordAgeNotBelowRetention", /maxRecordAge \(received 1 day\) must be below the stream's retention period \(1 day\)/);
  });

  it.each([Duration.millis(1500), Duration.seconds(301)])("fails if maxBatchingWindow is %s", (maxBatchingWindow) => {
    fails({ maxBatchingWindow }, "InvalidBatchingWindow", /whole number of seconds from 0 to 300 \(received /);
  });

  it.each([0, 10_001])("fails if batchSize is %i", (batchSize) => {
    fails({ batchSize }, "InvalidBatchSize", new RegExp(`received ${batchSize}`));
  });

  it("fails if the parallelization factor is above 10", () => {
    fails({ pipeline: { ...PIPELINE, stateful: false }, parallelizationFactor: 11 }, "InvalidParallelizationFactor", /received 11/);
  });

  it("fails if memorySize is below 128 MiB", () => {
    fails({ memorySize: 64 }, "InvalidMemorySize", /received 64/);
  });

  it("fails if the extra environment sets a variable the construct owns", () => {
    fails({ environment: { SPARKLESS_TABLE: "mine", OTHER: "x" } }, "ReservedEnvironmentVariable", /SPARKLESS_TABLE are set by the construct/);
  });
});

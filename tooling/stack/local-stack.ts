/**
 * The embedded local stack (docs/architecture.md "The embedded local stack"): the CDK app deployed to emulators in this
 * process, with nothing but `npm install` — synth, emulators, resources, functions in worker sandboxes, event
 * source mappings, schedules — and stopped as a whole, leaving no process behind.
 */
import { randomUUID } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, relative, resolve as resolvePath, sep } from "node:path";
import type { KinesisClient } from "@aws-sdk/client-kinesis";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import { dynamoDbClient, kinesisClient, s3Client } from "../../lib/io/aws-clients.js";
import { BUCKET_PREFIXES, ENV } from "../../lib/contract/index.js";
import { startEmulators, type Emulators } from "../emulators/index.js";
import { startStackEnforcement, type StackEnforcement } from "../iam/stack-enforcement.js";
import type { EsmPoller, EsmPollerStats, KafkaEsmPollerStats } from "../esm-poller/index.js";
import { IllegalStateError, SparklessError, ValidationError } from "../../lib/core/errors.js";
import { readAssembly } from "./assembly.js";
import { errorText, printBlockParser, printEvent, type LocalStackEvent } from "./events.js";
import { FunctionHost, FunctionTimeoutError, type FunctionHostStats, type FunctionLogLine } from "./function-host.js";
import { mappingPoller, unappliedSettings } from "./mapping-runner.js";
import { kafkaMappingsOf, localKafkaEnvironment, startKafkaBroker, startKafkaRuntime, type KafkaBroker, type KafkaMapping, type KafkaRuntime } from "./kafka-mappings.js";
import { KafkaProgressRecorder } from "./kafka-progress.js";
import { LOCAL_ACCOUNT_ID } from "./physical-names.js";
import { LAMBDA_API_LIMITATIONS, startLambdaApi, type LambdaApi } from "./lambda-api.js";
import { InvocationRecorder } from "./invocation-metrics.js";
import { ProgressWatcher, type WatchedPipeline } from "./progress-watcher.js";
import { parseScheduleExpression, ScheduleRunner, scheduledEvent, type ScheduledJob } from "./schedule-runner.js";
import { readStackFile, removeStackFile, writeStackFile, type StackFile, type StackFileStack } from "./stack-file.js";
import { synthesizeUnlessUnchanged } from "./synth.js";
import { DEPLOYER_LIMITATIONS, deployStack, type DeployedFunction, type DeployedStack } from "./template-deployer.js";

/** The only key s3rver accepts; the other emulators take anything. */
const LOCAL_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

export interface LocalStackOptions {
  /**
   * The cloud assembly to deploy. With `synth`, the app is synthesized into it.
   * @default - `<stateDir>/cdk.out` when synthesizing (the project's own `cdk.out` is left alone), else `cdk.out`
   */
  readonly cdkOut?: string;
  /** Emulator data, poller positions, the synthesized assembly and `stack.json`. @default ".sparkless" */
  readonly stateDir?: string;
  /** Wipe the state directory first: new streams, tables and buckets, no data. @default false (resume) */
  readonly fresh?: boolean;
  /**
   * Interval of every scheduled rule, overriding the template's `rate(...)` so that quiet batches finalize in
   * seconds; 0 runs `rate()` schedules at their own rate (and skips `cron()` ones).
   * @default 2_000
   */
  readonly tickerIntervalMs?: number;
  /** Run `cdk synth` first (unless the assembly in `cdkOut` was synthesized from the same inputs). @default true */
  readonly synth?: boolean;
  /** With `synth`, deploy the assembly of an earlier synth when nothing it was made from has changed. @default true */
  readonly reuseAssembly?: boolean;
  /** @default "us-east-1" */
  readonly region?: string;
  /** Everything the stack reports. @default - {@link printEvent}: function output on stdout, problems on stderr */
  readonly onEvent?: (event: LocalStackEvent) => void;
  /** Human-readable start-up lines (what is deployed, notes, limitations). @default - stderr */
  readonly log?: (line: string) => void;
  /** The CDK project directory (cdk.json). @default process.cwd() */
  readonly cwd?: string;
  /** Aborting it stops the stack (during start-up: undoes what was started and rejects). */
  readonly signal?: AbortSignal;
  /** Shards for an ON_DEMAND stream. @default 2 */
  readonly onDemandShards?: number;
  /** How often the pollers read an idle shard. @default 1_000 */
  readonly pollIntervalMs?: number;
  /** How often batch progress, outputs and lag are checked. @default 1_000 */
  readonly watchIntervalMs?: number;
  /**
   * Enforce IAM: every call a function makes to Kinesis, DynamoDB or S3 is checked against its role's policies in
   * the template, and a denied call fails as on AWS (an `access-denied` event names the missing grant).
   * @default true
   */
  readonly iam?: boolean;
  /** Partitions of each Kafka topic created on the local broker (`local up --kafka-partitions`). @default 2 */
  readonly kafkaPartitions?: number;
}

export interface LocalStackStats {
  readonly mappings: ReadonlyArray<{ readonly logicalId: string; readonly uuid: string; readonly functionName: string; readonly poller: EsmPollerStats }>;
  readonly functions: ReadonlyArray<{ readonly name: string; readonly logicalId: string } & FunctionHostStats>;
  readonly kafkaMappings: ReadonlyArray<{ readonly logicalId: string; readonly uuid: string; readonly functionName: string; readonly poller: KafkaEsmPollerStats }>;
}

export interface LocalStack {
  readonly region: string;
  readonly stateDir: string;
  readonly cdkOut: string;
  readonly endpoints: StackFile["endpoints"];
  readonly stackFile: StackFile;
  readonly stacks: readonly DeployedStack[];
  /** Where this stack differs from AWS (the poller's, the deployer's, the schedule override's). */
  readonly limitations: readonly string[];
  stats(): LocalStackStats;
  /** A synchronous invocation of a deployed function by name or logical id. */
  invoke(functionName: string, event: unknown): Promise<unknown>;
  /** Stops schedules, pollers (after their invocations in flight), sandboxes, emulators; removes stack.json. Idempotent. */
  stop(): Promise<void>;
  /** Resolves when the stack has stopped (by `stop()` or the abort signal). */
  readonly stopped: Promise<void>;
}

interface Running {
  emulatorsStarting?: Promise<Emulators>;
  emulators?: Emulators;
  iam?: StackEnforcement;
  lambdaApi?: LambdaApi;
  clients?: { kinesis: KinesisClient; dynamodb: DynamoDBClient; s3: S3Client };
  hosts: Map<string, { host: FunctionHost; fn: DeployedFunction }>;
  pollers: Array<{ logicalId: string; uuid: string; functionName: string; poller: EsmPoller }>;
  kafkaBroker?: KafkaBroker;
  kafka?: KafkaRuntime;
  kafkaProgress?: KafkaProgressRecorder;
  schedules?: ScheduleRunner;
  watcher?: ProgressWatcher;
  invocations?: InvocationRecorder;
  stackFileWritten: boolean;
}

/** Refuses to wipe a directory that is clearly not a state directory (the project, its parent, home, root). */
function checkWipe(stateDir: string, cwd: string): void {
  const containsCwd = cwd === stateDir || cwd.startsWith(stateDir.endsWith(sep) ? stateDir : stateDir + sep);
  if (containsCwd || stateDir === resolvePath(homedir()) || stateDir === sep) {
    throw new ValidationError("UnsafeStateDir", `refusing to wipe ${stateDir} for a fresh start: it contains the project (or is home or root); use a dedicated state directory such as .sparkless`, { stateDir });
  }
}

/** The environment of a function's sandboxes: the template's, then Lambda's own variables and the emulators. */
function sandboxEnvironment(fn: DeployedFunction, region: string, endpoints: StackFile["endpoints"] & { lambda: string }, codeDirectory: string, accessKeyId: string): Record<string, string> {
  return {
    ...fn.environment,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_KINESIS: endpoints.kinesis,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_LAMBDA: endpoints.lambda,
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    LAMBDA_TASK_ROOT: codeDirectory,
    _HANDLER: fn.handler,
    ...(process.env.PATH ? { PATH: process.env.PATH } : {}),
  };
}

function pipelinesOf(d: DeployedStack): StackFileStack["pipelines"] {
  const byName = new Map<string, StackFileStack["pipelines"][number]>();
  for (const f of d.functions) {
    const e = f.environment;
    const name = e[ENV.pipeline];
    if (!name || byName.has(name)) continue;
    const interval = Number(e[ENV.batchIntervalMs]);
    byName.set(name, {
      name,
      stream: e[ENV.streamName] ?? "",
      table: e[ENV.table] ?? "",
      bucket: e[ENV.bucket] ?? "",
      ...(Number.isFinite(interval) && interval > 0 ? { batchIntervalMs: interval } : {}),
      outputPrefix: `${BUCKET_PREFIXES.output}${name}/`,
    });
  }
  return [...byName.values()];
}

/**
 * Starts the embedded local stack: synthesizes the CDK app (optional), starts the Kinesis emulator, dynalite and s3rver
 * with their data under `<stateDir>/data`, creates the templates' streams, tables and buckets, runs each Lambda
 * function from its bundled asset in worker sandboxes, each Kinesis event source mapping with the local poller,
 * each scheduled rule on a timer, and writes `<stateDir>/stack.json`. A second start on the same state directory
 * resumes: same resources, same data, pollers continue after their saved positions.
 *
 * @example
 * const shutdown = shutdownOnSignals();            // Ctrl-C / SIGTERM stop the stack cleanly
 * const stack = await startLocalStack({ signal: shutdown.signal });
 * console.log(stack.stackFile.stacks[0].pipelines); // stream, table, bucket of each pipeline
 * await stack.stopped;
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const cwd = resolvePath(options.cwd ?? process.cwd());
  const stateDir = resolvePath(cwd, options.stateDir ?? ".sparkless");
  const synth = options.synth ?? true;
  const cdkOut = resolvePath(cwd, options.cdkOut ?? (synth ? join(stateDir, "cdk.out") : "cdk.out"));
  const region = options.region ?? "us-east-1";
  const tickerIntervalMs = options.tickerIntervalMs ?? 2_000;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const onEvent = options.onEvent ?? ((e: LocalStackEvent) => printEvent(e));
  const emit = (e: LocalStackEvent) => {
    try {
      onEvent(e);
    } catch {
      // A listener's failure must not stop the stack.
    }
  };
  const notice = (message: string) => {
    log(message);
    emit({ type: "notice", message });
  };
  const signal = options.signal;
  const aborted = () => {
    if (signal?.aborted) throw new SparklessError("LocalStackAborted", "the local stack was stopped while starting");
  };

  const other = readStackFile(stateDir);
  if (other) {
    throw new IllegalStateError("LocalStackRunning", `a local stack (pid ${other.pid}, started ${other.startedAt}) is already running on ${stateDir}: stop it first, or use another state directory`, {
      pid: other.pid,
      stateDir,
    });
  }
  if (options.fresh) {
    checkWipe(stateDir, cwd);
    await rm(stateDir, { recursive: true, force: true });
  }
  await mkdir(stateDir, { recursive: true });

  const running: Running = { hosts: new Map(), pollers: [], stackFileWritten: false };
  let stopping: Promise<void> | undefined;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));

  const stopAll = async (): Promise<void> => {
    const errors: unknown[] = [];
    const step = async (fn: () => Promise<void> | undefined) => {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    };
    await step(() => running.schedules?.stop());
    await step(() => Promise.all(running.pollers.map((p) => p.poller.stop())).then(() => {}));
    await step(() => running.kafka?.stop());
    await step(() => running.kafkaBroker?.broker.stop());
    await step(() => running.kafkaProgress?.stop());
    await step(() => running.watcher?.stop());
    // Before the sandboxes: the asynchronous invocations running finish, the queued ones are dropped.
    await step(() => running.lambdaApi?.stop());
    await step(() => Promise.all([...running.hosts.values()].map((h) => h.host.stop())).then(() => {}));
    await step(() => running.iam?.stop());
    await step(() => running.invocations?.stop());
    // Our idle keep-alive connections to the emulators go first; their servers would drop them anyway.
    if (running.clients) for (const c of Object.values(running.clients)) c.destroy();
    await step(async () => (running.emulators ?? (await running.emulatorsStarting?.catch(() => undefined)))?.stop());
    if (running.stackFileWritten) await step(() => removeStackFile(stateDir));
    emit({ type: "stopped" });
    resolveStopped();
    if (errors.length > 0) throw errors[0];
  };
  const stop = () => (stopping ??= stopAll());
  const onAbort = () => void stop().catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });

  try {
    // The emulators do not depend on the assembly: they start while it is synthesized (or found unchanged).
    running.emulatorsStarting = startEmulators({ dataDir: join(stateDir, "data"), region });
    running.emulatorsStarting.catch(() => undefined); // awaited below; a failure meanwhile is not unhandled

    // 1. Synth, unless the assembly there was made from the same inputs.
    if (synth) {
      const synthesized = await synthesizeUnlessUnchanged({
        outdir: cdkOut,
        cwd,
        skip: [stateDir],
        always: options.reuseAssembly === false,
        ...(signal ? { signal } : {}),
        log: (line) => emit({ type: "synth", line }),
        onStart: (why) => notice(`sparkless: synthesizing the CDK app into ${relative(cwd, cdkOut) || cdkOut} (${why}) ...`),
      });
      notice(
        synthesized.reused
          ? `sparkless: reused the synthesized app in ${relative(cwd, cdkOut) || cdkOut} (inputs unchanged)`
          : `sparkless: synthesized in ${(synthesized.ms / 1000).toFixed(1)} s`,
      );
    }
    aborted();
    const assembly = await readAssembly(cdkOut);
    if (assembly.stacks.length === 0) throw new ValidationError("NoStacks", `the cloud assembly in ${cdkOut} has no stacks`, { cdkOut });

    // 2. Emulators.
    running.emulators = await running.emulatorsStarting;
    aborted();
    const emu = running.emulators;
    const endpoints = { kinesis: emu.kinesis.endpoint, dynamodb: emu.dynamodb.endpoint, s3: emu.s3.endpoint };
    running.clients = {
      kinesis: kinesisClient({ endpoint: endpoints.kinesis, region }),
      dynamodb: dynamoDbClient({ endpoint: endpoints.dynamodb, region }),
      s3: s3Client({ endpoint: endpoints.s3, region }),
    };
    const clients = running.clients;
    notice(`sparkless: emulators up — kinesis ${endpoints.kinesis}, dynamodb ${endpoints.dynamodb}, s3 ${endpoints.s3} (data in ${relative(cwd, join(stateDir, "data"))})`);
    if (emu.kinesis.replay?.tornBytes) {
      notice(`sparkless: kinesis: the last journal line (${emu.kinesis.replay.tornBytes} bytes) was cut short by a crash; its records were never acknowledged and were dropped`);
    }

    // 3. Resources.
    const deployed: DeployedStack[] = [];
    for (const stack of assembly.stacks) {
      const d = await deployStack(stack, clients, { region, ...(options.onDemandShards ? { onDemandShards: options.onDemandShards } : {}) });
      deployed.push(d);
      const created = (xs: readonly { name: string; created: boolean }[]) => xs.map((x) => `${x.name}${x.created ? "" : " (kept)"}`).join(", ") || "none";
      notice(`sparkless: stack ${d.stackName}: streams ${created(d.streams)}; tables ${created(d.tables)}; buckets ${created(d.buckets)}`);
      for (const n of [...d.notes, ...d.mappings.flatMap(unappliedSettings)]) notice(`sparkless:   note: ${n}`);
      const ignored = Object.entries(d.ignored).map(([t, n]) => `${t} ×${n}`);
      if (ignored.length > 0) notice(`sparkless:   not deployed locally: ${ignored.join(", ")}`);
    }
    aborted();

    // Lambda's Invoke, for the functions that invoke another (the fan-out to the finalizer partitions); the
    // hosts it runs are created below, and looked up when an invocation arrives.
    running.lambdaApi = await startLambdaApi({
      host: (name) => running.hosts.get(name)?.host,
      onAsync: (e) =>
        e.phase === "invoke"
          ? emit({ type: "invoke", functionName: e.functionName, source: "async", requestId: e.requestId })
          : emit({
              type: "result",
              functionName: e.functionName,
              source: "async",
              requestId: e.requestId,
              outcome: e.error === undefined ? "success" : e.error instanceof FunctionTimeoutError ? "timeout" : "error",
              durationMs: e.durationMs,
              ...(e.error !== undefined ? { error: errorText(e.error) } : {}),
            }),
    });
    const upstream = { ...endpoints, lambda: running.lambdaApi.endpoint };

    // IAM: the functions reach the emulators through a proxy that checks each call against their role's policies.
    if (options.iam ?? true) {
      running.iam = await startStackEnforcement({
        stacks: deployed.map((d, i) => ({ template: assembly.stacks[i]!.template, deployed: d })),
        region,
        upstream,
        upstreamCredentials: LOCAL_CREDENTIALS,
        onDenied: (d) => emit({ type: "access-denied", functionName: d.functionName, role: d.role, action: d.action, resource: d.resource, reason: d.reason, grantResource: d.grantResource, missingGrant: d.missingGrant, message: d.message }),
      });
      notice(`sparkless: IAM enforced from the template: each function's calls are checked against its role's policies (--no-iam turns it off)`);
      for (const n of running.iam.notes) notice(`sparkless:   note: ${n}`);
    }
    const functionEndpoints = running.iam?.proxy.endpoints ?? upstream;

    // Kafka: one local broker stands in for every cluster the templates name, started before the functions so
    // that their environment names it (the ticker reads the topic's partitions and offsets from it).
    const kafkaMappings: KafkaMapping[] = [];
    deployed.forEach((d, i) => {
      const found = kafkaMappingsOf(assembly.stacks[i]!.template, d);
      kafkaMappings.push(...found.mappings);
      for (const n of found.notes) notice(`sparkless:   note: ${n}`);
    });
    if (kafkaMappings.length > 0) running.kafkaBroker = await startKafkaBroker(kafkaMappings, options.kafkaPartitions);
    const kafkaBootstrap = running.kafkaBroker?.broker.bootstrapServers;

    // 4. Functions, each in its own sandboxes.
    for (const d of deployed) {
      for (const fn of d.functions) {
        const codeDirectory =
          fn.code.kind === "directory" ? fn.code.directory : await writeInlineCode(join(stateDir, "inline", d.stackName, fn.logicalId), fn.code.source);
        const parse = printBlockParser((time, lines) => emit({ type: "printed", functionName: fn.name, time, lines }));
        const host = new FunctionHost(
          {
            name: fn.name,
            arn: fn.arn,
            codeDirectory,
            handler: fn.handler,
            environment: sandboxEnvironment(
              kafkaBootstrap ? { ...fn, environment: localKafkaEnvironment(fn.environment, kafkaBootstrap) } : fn,
              region,
              functionEndpoints,
              codeDirectory,
              running.iam?.accessKeyId(d.stackName, fn.logicalId) ?? LOCAL_CREDENTIALS.accessKeyId,
            ),
            timeoutMs: fn.timeoutMs,
            memoryMb: fn.memoryMb,
            ...(fn.reservedConcurrency ? { maxConcurrency: fn.reservedConcurrency } : {}),
          },
          {
            onLog: (l: FunctionLogLine) => {
              emit({ type: "log", functionName: l.functionName, stream: l.stream, line: l.line, ...(l.requestId ? { requestId: l.requestId } : {}) });
              if (l.stream === "stdout") parse(l.line);
            },
          },
        );
        running.hosts.set(fn.name, { host, fn });
      }
      notice(`sparkless:   functions: ${d.functions.map((f) => `${f.name} (${f.handler}, ${f.timeoutMs / 1000} s)`).join(", ") || "none"}`);
    }

    // 5. Event source mappings.
    for (const d of deployed) {
      for (const m of d.mappings) {
        if (!m.enabled) {
          notice(`sparkless:   mapping ${m.logicalId} is disabled in the template; not polled`);
          continue;
        }
        const entry = running.hosts.get(m.functionName)!;
        const poller = mappingPoller({
          mapping: m,
          fn: entry.fn,
          host: entry.host,
          kinesis: clients.kinesis,
          s3: clients.s3,
          region,
          checkpointDir: join(stateDir, "esm"),
          ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
          onDiscard: (failure, delivered) =>
            emit({
              type: "discard",
              mapping: m.logicalId,
              shardId: failure.KinesisBatchInfo.shardId,
              records: failure.KinesisBatchInfo.batchSize,
              condition: failure.requestContext.condition,
              ...(delivered.key ? { key: delivered.key } : {}),
              ...(delivered.error ? { error: errorText(delivered.error) } : {}),
            }),
        });
        const records = new Map<string, number>();
        poller.on("invoke", (e) => {
          records.set(e.requestId, e.batchSize);
          emit({ type: "invoke", functionName: m.functionName, source: "mapping", requestId: e.requestId, shardId: e.shardId, records: e.batchSize });
        });
        poller.on("result", (e) => {
          records.delete(e.requestId);
          emit({
            type: "result",
            functionName: m.functionName,
            source: "mapping",
            requestId: e.requestId,
            outcome: e.outcome,
            durationMs: e.durationMs,
            shardId: e.shardId,
            records: e.batchSize,
            ...(e.error !== undefined ? { error: errorText(e.error) } : {}),
          });
        });
        poller.on("warning", (e) => emit({ type: "warning", message: `${m.logicalId}${e.shardId ? ` ${e.shardId}` : ""}: ${e.message}`, ...(e.error !== undefined ? { error: errorText(e.error) } : {}) }));
        running.pollers.push({ logicalId: m.logicalId, uuid: m.uuid, functionName: m.functionName, poller });
        await poller.start();
        notice(`sparkless:   mapping ${m.logicalId}: ${m.streamName} -> ${m.functionName} (uuid ${m.uuid})`);
      }
    }
    // 5b. Kafka event source mappings: a poller per mapping, on the local broker.
    if (running.kafkaBroker) {
      running.kafka = await startKafkaRuntime({
        mappings: kafkaMappings,
        broker: running.kafkaBroker,
        hosts: running.hosts,
        s3: clients.s3,
        region,
        ...(options.kafkaPartitions !== undefined ? { partitions: options.kafkaPartitions } : {}),
        observe: (m, poller) => {
          poller.on("invoke", (e) => emit({ type: "invoke", functionName: m.functionName, source: "mapping", requestId: e.requestId, shardId: e.partitions.join(","), records: e.batchSize }));
          poller.on("result", (e) =>
            emit({
              type: "result",
              functionName: m.functionName,
              source: "mapping",
              requestId: e.requestId,
              outcome: e.outcome,
              durationMs: e.durationMs,
              records: e.batchSize,
              ...(e.error !== undefined ? { error: errorText(e.error) } : {}),
            }),
          );
          poller.on("warning", (e) => emit({ type: "warning", message: `${m.logicalId}: ${e.message}`, ...(e.error !== undefined ? { error: errorText(e.error) } : {}) }));
        },
        onDiscard: (m, failure, delivered) =>
          emit({
            type: "discard",
            mapping: m.logicalId,
            shardId: Object.keys(failure.KafkaBatchInfo.recordsInfo).join(","),
            records: failure.KafkaBatchInfo.batchSize,
            condition: failure.requestContext.condition,
            ...(delivered.key ? { key: delivered.key } : {}),
            ...(delivered.error ? { error: errorText(delivered.error) } : {}),
          }),
      });
      const kafka = running.kafka;
      notice(`sparkless: kafka broker up — bootstrap servers ${kafka.bootstrapServers}; topics ${kafka.topics.map((t) => `${t.name} (${t.partitions} partitions)`).join(", ")}`);
      for (const { mapping: m } of kafka.pollers) {
        const was = m.source.kind === "msk" ? m.source.clusterArn : m.source.bootstrapServers.join(",") || "(no servers)";
        notice(`sparkless:   mapping ${m.logicalId}: kafka topic ${m.topic} (group ${m.consumerGroupId}) -> ${m.functionName} (template: ${was}; locally the broker above)`);
      }
      for (const m of kafkaMappings.filter((k) => !k.enabled)) notice(`sparkless:   mapping ${m.logicalId} is disabled in the template; not polled`);
      running.kafkaProgress = new KafkaProgressRecorder(stateDir, () =>
        kafka.pollers.map(({ mapping: m, poller }) => ({ logicalId: m.logicalId, functionName: m.functionName, topic: m.topic, consumerGroupId: m.consumerGroupId, partitions: poller.stats().partitions })),
      );
      await running.kafkaProgress.start();
    }
    aborted();

    // 6. Schedules.
    const jobs: ScheduledJob[] = [];
    const scheduleInfo = new Map<string, number>();
    for (const d of deployed) {
      for (const rule of d.schedules) {
        const schedule = parseScheduleExpression(rule.scheduleExpression);
        const intervalMs = tickerIntervalMs > 0 ? tickerIntervalMs : schedule.kind === "rate" ? schedule.intervalMs : undefined;
        if (intervalMs === undefined) {
          notice(`sparkless:   rule ${rule.logicalId} (${rule.scheduleExpression}): cron schedules run only with an interval override; not scheduled`);
          continue;
        }
        scheduleInfo.set(rule.logicalId, intervalMs);
        for (const target of rule.targets) {
          const { host } = running.hosts.get(target.functionName)!;
          jobs.push({
            name: `${rule.logicalId}/${target.id}`,
            intervalMs,
            run: async () => {
              const event = target.input ?? scheduledEvent(rule.arn, region, LOCAL_ACCOUNT_ID);
              const requestId = randomUUID();
              const started = Date.now();
              emit({ type: "invoke", functionName: host.name, source: "schedule", requestId });
              try {
                await host.invoke(event, { requestId });
                emit({ type: "result", functionName: host.name, source: "schedule", requestId, outcome: "success", durationMs: Date.now() - started });
              } catch (err) {
                const outcome = err instanceof FunctionTimeoutError ? "timeout" : "error";
                emit({ type: "result", functionName: host.name, source: "schedule", requestId, outcome, durationMs: Date.now() - started, error: errorText(err) });
              }
            },
          });
        }
        notice(
          `sparkless:   schedule ${rule.logicalId}: ${rule.scheduleExpression} -> ${rule.targets.map((t) => t.functionName).join(", ")}` +
            (tickerIntervalMs > 0 ? `, locally every ${intervalMs} ms` : ""),
        );
      }
    }
    running.schedules = new ScheduleRunner(jobs, {
      onError: (job, err) => emit({ type: "warning", message: `schedule ${job} failed`, error: errorText(err) }),
    });
    running.schedules.start();

    // 7. Progress: invocation counts (what `status` and the live line report), finalized batches, outputs, lag.
    running.invocations = new InvocationRecorder({
      stateDir,
      counts: () =>
        [...running.hosts.values()].map(({ host, fn }) => {
          const { invocations, errors, timeouts } = host.stats();
          return { name: fn.name, invocations, errors, timeouts, timeoutMs: fn.timeoutMs };
        }),
    });
    await running.invocations.start();
    const pipelines: WatchedPipeline[] = deployed.flatMap((d) =>
      pipelinesOf(d).map((p) => ({ name: p.name, table: p.table, bucket: p.bucket, ...(p.batchIntervalMs ? { batchIntervalMs: p.batchIntervalMs } : {}) })),
    );
    running.watcher = new ProgressWatcher({
      dynamodb: clients.dynamodb,
      s3: clients.s3,
      pipelines: pipelines.filter((p) => p.table && p.bucket),
      mappings: running.pollers,
      emit,
      ...(options.watchIntervalMs ? { intervalMs: options.watchIntervalMs } : {}),
    });
    await running.watcher.start();

    // 8. Limitations, then stack.json.
    const limitations = [
      ...(running.pollers[0]?.poller.limitations ?? []),
      ...(running.kafka?.limitations ?? []),
      ...LAMBDA_API_LIMITATIONS,
      ...(running.iam ? [...DEPLOYER_LIMITATIONS.filter((l) => !l.startsWith("IAM is not enforced")), ...running.iam.limitations] : DEPLOYER_LIMITATIONS),
      ...(tickerIntervalMs > 0 && jobs.length > 0
        ? [`Schedules run every ${tickerIntervalMs} ms instead of their template's expression (tickerIntervalMs), so quiet batches finalize quickly; EventBridge async retries are not made.`]
        : []),
      "Functions run in worker threads of this process (one per concurrent invocation): the module, environment and memory limit are the function's own, but CPU and the Node.js version are this machine's; NODE_OPTIONS other than --enable-source-maps is not applied.",
    ];
    notice("sparkless: where the local stack differs from AWS:");
    for (const l of limitations) notice(`sparkless:   - ${l}`);

    const stackFile: StackFile = {
      version: 1,
      pid: process.pid,
      startedAt: new Date().toISOString(),
      region,
      stateDir,
      cdkOut,
      endpoints,
      credentials: { ...LOCAL_CREDENTIALS },
      stacks: deployed.map((d) => ({
        name: d.stackName,
        streams: d.streams.map((s) => ({ logicalId: s.logicalId, name: s.name, arn: s.arn, shards: s.shards })),
        tables: d.tables.map((t) => ({ logicalId: t.logicalId, name: t.name, arn: t.arn })),
        buckets: d.buckets.map((b) => ({ logicalId: b.logicalId, name: b.name, arn: b.arn })),
        functions: d.functions.map((f) => ({ logicalId: f.logicalId, name: f.name, handler: f.handler, arn: f.arn })),
        eventSourceMappings: d.mappings.map((m) => ({ logicalId: m.logicalId, uuid: m.uuid, functionName: m.functionName, streamName: m.streamName })),
        schedules: d.schedules
          .filter((s) => scheduleInfo.has(s.logicalId))
          .map((s) => ({ logicalId: s.logicalId, name: s.name, scheduleExpression: s.scheduleExpression, localIntervalMs: scheduleInfo.get(s.logicalId)!, functions: s.targets.map((t) => t.functionName) })),
        pipelines: pipelinesOf(d),
      })),
      ...(running.kafka
        ? {
            kafka: {
              bootstrapServers: running.kafka.bootstrapServers,
              topics: running.kafka.topics,
              mappings: running.kafka.pollers.map(({ mapping: m }) => ({ stack: m.stackName, logicalId: m.logicalId, uuid: m.uuid, functionName: m.functionName, topic: m.topic, consumerGroupId: m.consumerGroupId })),
            },
          }
        : {}),
    };
    aborted();
    const stackFilePath = await writeStackFile(stateDir, stackFile);
    running.stackFileWritten = true;
    notice(`sparkless: local stack ready (${relative(cwd, stackFilePath)}); Ctrl-C stops it`);
    emit({ type: "ready", stateDir, stackFile: stackFilePath });

    const findHost = (name: string) =>
      running.hosts.get(name)?.host ?? [...running.hosts.values()].find((h) => h.fn.logicalId === name || h.fn.arn === name)?.host;

    return {
      region,
      stateDir,
      cdkOut,
      endpoints,
      stackFile,
      stacks: deployed,
      limitations,
      stats: () => ({
        mappings: running.pollers.map((p) => ({ logicalId: p.logicalId, uuid: p.uuid, functionName: p.functionName, poller: p.poller.stats() })),
        functions: [...running.hosts.values()].map((h) => ({ name: h.fn.name, logicalId: h.fn.logicalId, ...h.host.stats() })),
        kafkaMappings: (running.kafka?.pollers ?? []).map(({ mapping: m, poller }) => ({ logicalId: m.logicalId, uuid: m.uuid, functionName: m.functionName, poller: poller.stats() })),
      }),
      invoke: (name, event) => {
        const host = findHost(name);
        if (!host) return Promise.reject(new ValidationError("FunctionNotFound", `no function ${name} in the local stack`, { name }));
        return host.invoke(event);
      },
      stop,
      stopped,
    };
  } catch (err) {
    signal?.removeEventListener("abort", onAbort);
    await stop().catch(() => {});
    if (signal?.aborted) throw new SparklessError("LocalStackAborted", "the local stack was stopped while starting", {}, { cause: err });
    throw err;
  }
}

/** A function whose template inlines its code (`Code.ZipFile`): Lambda saves it as `index.js`. */
async function writeInlineCode(dir: string, source: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "index.js"), source);
  // Inline code is CommonJS on Lambda (exports.handler = ...).
  await writeFile(join(dir, "package.json"), '{ "type": "commonjs" }\n');
  return dir;
}

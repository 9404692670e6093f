import { mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { ListStreamsCommand, KinesisClient } from "@aws-sdk/client-kinesis";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { spawnNodeChild } from "./child-process.js";
import { freePort, once, type RunningEmulator } from "../../../tooling/emulators/types.js";

export interface KinesisMockOptions {
  /** @default - a free loopback port */
  readonly port?: number;
  /** Region the mock namespaces streams under when a request does not say. @default "us-east-1" */
  readonly region?: string;
  /** kinesis-mock's own log level (ERROR, WARN, INFO, DEBUG, TRACE). @default "ERROR" */
  readonly logLevel?: string;
  /** Persist streams to this directory and reload them at start. @default - in memory only */
  readonly dataDir?: string;
  /**
   * How long a stream stays CREATING/DELETING/UPDATING and a split or merge takes. AWS takes seconds; the
   * mock's default is 500 ms. @default 0 (transitions are immediate, tests stay fast)
   */
  readonly transitionMs?: number;
  /** Give up if the mock does not answer ListStreams within this time. @default 30_000 */
  readonly startTimeoutMs?: number;
  /** Extra environment for the mock (overrides ours), e.g. `{ SHARD_LIMIT: "200" }`. */
  readonly env?: Record<string, string>;
}

/** Where the npm package `kinesis-local` (kinesis-mock compiled with Scala.js) lives, wherever we run from. */
function packageDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve("kinesis-local/package.json"));
}

/**
 * Starts kinesis-mock (npm `kinesis-local`) as a child process on a free loopback port and resolves once it
 * answers ListStreams.
 *
 * Settings it reads from its environment (README of kinesis-mock, names confirmed in main.js):
 * KINESIS_MOCK_PLAIN_PORT (HTTP/1.1), KINESIS_MOCK_TLS_PORT (HTTPS, also opened, so it needs a free port too),
 * KINESIS_MOCK_CERT_PATH (the package's `server.json`, resolved relative to the cwd when not absolute),
 * CREATE/DELETE_STREAM_DURATION, SPLIT_SHARD/MERGE_SHARDS/UPDATE_SHARD_COUNT/UPDATE_STREAM_MODE_DURATION,
 * (DE)REGISTER_STREAM_CONSUMER_DURATION, START/STOP_STREAM_ENCRYPTION_DURATION (Scala durations: "0ms"),
 * SHARD_LIMIT (50), ON_DEMAND_STREAM_COUNT_LIMIT (10), AWS_ACCOUNT_ID, AWS_REGION, LOG_LEVEL, ROOT_LOG_LEVEL,
 * SHOULD_PERSIST_DATA, PERSIST_PATH, PERSIST_FILE_NAME, PERSIST_INTERVAL, LOAD_DATA_IF_EXISTS, INITIALIZE_STREAMS.
 *
 * @example
 * const kinesis = await startKinesisMock();
 * const client = kinesisClient({ endpoint: kinesis.endpoint });
 * // ...
 * await kinesis.stop();
 */
export interface KinesisMockEmulator extends RunningEmulator {
  /** The child process (leader of its own process group). */
  readonly pid: number;
}

export async function startKinesisMock(opts: KinesisMockOptions = {}): Promise<KinesisMockEmulator> {
  const dir = packageDir();
  if (opts.dataDir) await mkdir(opts.dataDir, { recursive: true });
  const region = opts.region ?? "us-east-1";
  const timeoutMs = opts.startTimeoutMs ?? 30_000;
  const duration = `${opts.transitionMs ?? 0}ms`;
  const plainPort = opts.port ?? (await freePort());
  let tlsPort = await freePort();
  while (tlsPort === plainPort) tlsPort = await freePort();

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    KINESIS_MOCK_PLAIN_PORT: String(plainPort),
    KINESIS_MOCK_TLS_PORT: String(tlsPort),
    KINESIS_MOCK_CERT_PATH: join(dir, "server.json"),
    AWS_REGION: region,
    LOG_LEVEL: opts.logLevel ?? "ERROR",
    ROOT_LOG_LEVEL: "ERROR",
    CREATE_STREAM_DURATION: duration,
    DELETE_STREAM_DURATION: duration,
    REGISTER_STREAM_CONSUMER_DURATION: duration,
    DEREGISTER_STREAM_CONSUMER_DURATION: duration,
    START_STREAM_ENCRYPTION_DURATION: duration,
    STOP_STREAM_ENCRYPTION_DURATION: duration,
    MERGE_SHARDS_DURATION: duration,
    SPLIT_SHARD_DURATION: duration,
    UPDATE_SHARD_COUNT_DURATION: duration,
    UPDATE_STREAM_MODE_DURATION: duration,
    ...(opts.dataDir
      ? { SHOULD_PERSIST_DATA: "true", LOAD_DATA_IF_EXISTS: "true", PERSIST_PATH: opts.dataDir, PERSIST_INTERVAL: "1s" }
      : { SHOULD_PERSIST_DATA: "false" }),
    ...opts.env,
  };
  const child = spawnNodeChild(join(dir, "main.js"), [], env, dir);
  // SIGTERM makes kinesis-mock shut down gracefully, which waits (seconds) for every client's idle keep-alive
  // connection to close. In memory there is nothing to save, so kill it outright; when persisting, let it
  // write its data file first.
  const stop = once(() => child.kill(opts.dataDir ? 5_000 : 0));
  const endpoint = `http://127.0.0.1:${plainPort}`;

  // One attempt per poll, no SDK retries (they would back off for seconds on ECONNREFUSED).
  const probe = new KinesisClient({
    endpoint,
    region,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 1_000, requestTimeout: 2_000 }),
  });
  let exitedEarly: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void child.exited.then((e) => (exitedEarly = e));
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  try {
    for (;;) {
      if (exitedEarly) {
        throw new Error(
          `kinesis-mock exited before it was ready (code ${exitedEarly.code}, signal ${exitedEarly.signal}); output:\n${child.outputTail()}`,
        );
      }
      try {
        await probe.send(new ListStreamsCommand({}));
        break;
      } catch (err) {
        lastError = err;
      }
      if (Date.now() > deadline) {
        const why = lastError instanceof Error ? lastError.message : String(lastError);
        throw new Error(
          `kinesis-mock did not answer ListStreams on ${endpoint} within ${timeoutMs} ms (last error: ${why}); output:\n${child.outputTail()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    probe.destroy();
  }
  return { endpoint, pid: child.pid, stop };
}

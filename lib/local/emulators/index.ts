import { join } from "node:path";
import { startDynalite } from "./dynalite.js";
import { startKinesisMock } from "./kinesis-mock.js";
import { startS3rver } from "./s3rver.js";
import type { RunningEmulator } from "./types.js";
import type { KinesisMockEmulator } from "./kinesis-mock.js";

export type { RunningEmulator } from "./types.js";
export { startKinesisMock, type KinesisMockOptions, type KinesisMockEmulator } from "./kinesis-mock.js";
export { startDynalite, type DynaliteOptions } from "./dynalite.js";
export { startS3rver, type S3rverOptions } from "./s3rver.js";

export interface EmulatorsOptions {
  /**
   * Keep the emulators' data here (`kinesis/`, `dynamodb/`, `s3/`) so a restart finds streams, tables and
   * objects again. @default - everything in memory or in temporary directories, gone at stop
   */
  readonly dataDir?: string;
  /** Region the Kinesis emulator namespaces streams under. @default "us-east-1" */
  readonly region?: string;
}

/** The three emulators of the embedded local stack, up and answering. */
export interface Emulators {
  readonly kinesis: KinesisMockEmulator;
  readonly dynamodb: RunningEmulator;
  readonly s3: RunningEmulator;
  /** Stops all three; resolves once every server is closed and no child process is left. */
  stop(): Promise<void>;
}

/**
 * Starts kinesis-mock, dynalite and s3rver in parallel on free loopback ports. If one fails to start, the
 * others are stopped before the error is thrown.
 *
 * @example
 * const emu = await startEmulators();
 * const kinesis = kinesisClient({ endpoint: emu.kinesis.endpoint });
 * try { ... } finally { await emu.stop(); }
 */
export async function startEmulators(opts: EmulatorsOptions = {}): Promise<Emulators> {
  const dir = (name: string) => (opts.dataDir ? join(opts.dataDir, name) : undefined);
  const results = await Promise.allSettled([
    startKinesisMock({ dataDir: dir("kinesis"), region: opts.region }),
    startDynalite({ dataDir: dir("dynamodb") }),
    startS3rver({ dataDir: dir("s3") }),
  ]);
  const up = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
  if (failed.length > 0) {
    await Promise.allSettled(up.map((e) => e.stop()));
    throw failed[0];
  }
  const [kinesis, dynamodb, s3] = up as [KinesisMockEmulator, RunningEmulator, RunningEmulator];
  let stopping: Promise<void> | undefined;
  return {
    kinesis,
    dynamodb,
    s3,
    stop: () =>
      (stopping ??= Promise.allSettled([kinesis.stop(), dynamodb.stop(), s3.stop()]).then((rs) => {
        const err = rs.find((r) => r.status === "rejected");
        if (err) throw (err as PromiseRejectedResult).reason;
      })),
  };
}

import { join } from "node:path";
import { startDynalite } from "./dynalite.js";
import { startKinesis, type KinesisEmulator } from "./kinesis.js";
import { startS3rver } from "./s3rver.js";
import type { RunningEmulator } from "./types.js";

export type { RunningEmulator } from "./types.js";
export { startKinesis, type KinesisOptions, type KinesisEmulator } from "./kinesis.js";
export { startDynalite, type DynaliteOptions } from "./dynalite.js";
export { startS3rver, type S3rverOptions } from "./s3rver.js";

export interface EmulatorsOptions {
  /**
   * Keep the emulators' data here (`kinesis/`, `dynamodb/`, `s3/`) so a restart finds streams, tables and
   * objects again. @default - everything in memory or in temporary directories, gone at stop
   */
  readonly dataDir?: string;
  /** Region of the Kinesis streams' ARNs. @default "us-east-1" */
  readonly region?: string;
}

/** The three emulators of the embedded local stack, up and answering. */
export interface Emulators {
  readonly kinesis: KinesisEmulator;
  readonly dynamodb: RunningEmulator;
  readonly s3: RunningEmulator;
  /** Stops all three; resolves once every server is closed and its data is closed. */
  stop(): Promise<void>;
}

/**
 * Starts the Kinesis emulator, dynalite and s3rver in parallel (all in this process) on free loopback ports. If one fails to start, the
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
    startKinesis({ dataDir: dir("kinesis"), region: opts.region }),
    startDynalite({ dataDir: dir("dynamodb") }),
    startS3rver({ dataDir: dir("s3") }),
  ]);
  const up = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
  if (failed.length > 0) {
    await Promise.allSettled(up.map((e) => e.stop()));
    throw failed[0];
  }
  const [kinesis, dynamodb, s3] = up as [KinesisEmulator, RunningEmulator, RunningEmulator];
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

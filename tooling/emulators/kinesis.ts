import { startKinesisServer } from "../kinesis/server.js";
import type { ReplayReport } from "../kinesis/journal.js";
import type { RunningEmulator } from "./types.js";

export interface KinesisOptions {
  /** @default 0 (a free loopback port chosen by the OS) */
  readonly port?: number;
  /** Region of the streams' ARNs. @default "us-east-1" */
  readonly region?: string;
  /** Keep the journal in this directory and replay it at start. @default - in memory only */
  readonly dataDir?: string;
  /**
   * How long a stream stays CREATING after CreateStream and UPDATING after a split or merge. AWS takes seconds.
   * @default 0 (ACTIVE at once: nothing has to wait)
   */
  readonly transitionMs?: number;
}

export interface KinesisEmulator extends RunningEmulator {
  /** What the start replayed from the journal: entries, and the bytes of a torn last line it dropped. */
  readonly replay?: ReplayReport;
}

/**
 * Starts the project's own Kinesis emulator (tooling/kinesis) in this process on a loopback port: streams,
 * shards with lineage, sequence numbers that never repeat, every iterator type, and a journal that makes an
 * acknowledged put survive a `kill -9`.
 *
 * @example
 * const kinesis = await startKinesis({ dataDir: ".sparkless/data/kinesis" });
 * const client = kinesisClient({ endpoint: kinesis.endpoint });
 * // ...
 * await kinesis.stop();
 */
export async function startKinesis(opts: KinesisOptions = {}): Promise<KinesisEmulator> {
  return startKinesisServer(opts);
}

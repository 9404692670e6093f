import { mkdir, mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";
import { once, type RunningEmulator } from "./types.js";

export interface S3rverOptions {
  /** @default 0 (a free loopback port chosen by the OS) */
  readonly port?: number;
  /**
   * Where buckets and objects are kept; left in place at stop. @default - a fresh temporary directory,
   * removed at stop
   */
  readonly dataDir?: string;
}

/**
 * Starts s3rver (an S3 emulator on the file system) in this process on a loopback port, silent.
 *
 * Quirks: it accepts only the access key `S3RVER` (our clients send it to local endpoints); it serves buckets
 * path-style here (`vhostBuckets: false`: bucket names are never sub-domains of 127.0.0.1).
 */
export async function startS3rver(opts: S3rverOptions = {}): Promise<RunningEmulator> {
  const owned = opts.dataDir === undefined;
  const directory = opts.dataDir ?? (await mkdtemp(join(tmpdir(), "sparkless-s3-")));
  const server = new S3rver({
    address: "127.0.0.1",
    port: opts.port ?? 0,
    silent: true,
    directory,
    vhostBuckets: false,
  });
  if (!owned) await mkdir(directory, { recursive: true });
  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (err) {
    if (owned) await rm(directory, { recursive: true, force: true });
    throw err;
  }
  const stop = once(async () => {
    const closing = server.close();
    // Idle keep-alive sockets of SDK clients would hold close() open.
    server.httpServer?.closeAllConnections();
    await closing;
    if (owned) await rm(directory, { recursive: true, force: true });
  });
  return { endpoint: `http://127.0.0.1:${address.port}`, stop };
}

import { mkdir } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import dynalite from "dynalite";
import { once, type RunningEmulator } from "./types.js";

export interface DynaliteOptions {
  /** @default 0 (a free loopback port chosen by the OS) */
  readonly port?: number;
  /** Keep tables in this LevelDB directory. @default - in memory */
  readonly dataDir?: string;
}

/**
 * Starts dynalite (a DynamoDB emulator on LevelDB) in this process on a loopback port.
 *
 * Tables skip the CREATING/DELETING/UPDATING states (AWS: seconds; dynalite's default: 500 ms): they are
 * ACTIVE when CreateTable returns, so nothing has to wait for them.
 *
 * What dynalite does not do, checked in its `index.js` operation list (4.0.0):
 * - no TransactWriteItems / TransactGetItems (the commit protocol uses single-item conditional writes only);
 * - no UpdateTimeToLive (DescribeTimeToLive answers DISABLED): whoever provisions a table with
 *   `TimeToLiveSpecification` must tolerate UnknownOperationException; expired items are never deleted, which
 *   is harmless because readers filter expired items by time anyway (TTL lags up to 48 h on AWS too).
 */
export async function startDynalite(opts: DynaliteOptions = {}): Promise<RunningEmulator> {
  if (opts.dataDir) await mkdir(opts.dataDir, { recursive: true });
  const server: Server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(opts.dataDir ? { path: opts.dataDir } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const stop = once(
    () =>
      new Promise<void>((resolve, reject) => {
        // dynalite's close() stops listening, then waits for pending LevelDB operations and closes the store.
        // Idle keep-alive sockets of SDK clients would hold server.close() open, so drop them.
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  );
  return { endpoint: `http://127.0.0.1:${port}`, stop };
}

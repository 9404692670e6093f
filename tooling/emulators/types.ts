import { createServer } from "node:net";

/** One emulator that is up and answering. */
export interface RunningEmulator {
  /** Base URL to give an SDK client, e.g. `http://127.0.0.1:43121`. */
  readonly endpoint: string;
  /** Stops the emulator and resolves once it is gone (server closed / child process exited). Idempotent. */
  stop(): Promise<void>;
}

/**
 * A port the OS reports free on 127.0.0.1 right now. Only for servers that must be told a port number up front
 * (a child process); in-process servers listen on port 0 instead, which has no race.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** Runs `fn` once, however many times the returned function is called; every call gets the same promise. */
export function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

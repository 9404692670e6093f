import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
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
 *
 * Crash safety: s3rver 3.7 writes an object over the old file in place and, for a body it holds in memory,
 * answers before the write has finished. A `kill -9` could then leave an acknowledged object empty, or an
 * overwritten one (a rewritten checkpoint, say) cut in half. Its `putObject` is replaced here by one that writes a
 * temporary file next to the object, waits for it, and renames it into place before answering: an object is
 * always the old content or the new one, whole. A temporary file left by a crash (`*.partial`) is not an object
 * (s3rver lists only `._S3rver_object` files).
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
  writeObjectsAtomically(server.store as FilesystemStore);
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

/** The part of s3rver's FilesystemStore that `putObject` uses. */
interface FilesystemStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
  putObject(object: { bucket: string; key: string; metadata: unknown; content: Buffer | Readable }): Promise<{ size: number; md5: string }>;
}

function writeObjectsAtomically(store: FilesystemStore): void {
  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, "object");
    await mkdir(dirname(objectPath), { recursive: true });
    const partial = `${objectPath}.${randomBytes(6).toString("hex")}.partial`;
    const md5 = createHash("md5");
    let size = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        md5.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    const source = Buffer.isBuffer(object.content) ? [object.content] : object.content;
    try {
      await pipeline(source, measure, createWriteStream(partial));
      // The content first: a crash before the metadata leaves the new object with stale metadata (s3rver
      // recomputes a missing MD5), never a torn object.
      await rename(partial, objectPath);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
    const digest = md5.digest("hex");
    await store.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };
}

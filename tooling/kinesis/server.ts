/**
 * The Kinesis emulator's HTTP front: the AWS JSON 1.1 protocol the AWS SDK for JavaScript v3 speaks to Kinesis
 * (`POST /`, `X-Amz-Target: Kinesis_20131202.<Operation>`, `Content-Type: application/x-amz-json-1.1`; blobs as
 * base64, timestamps as epoch seconds). Errors are HTTP 400 with `__type`, as Kinesis answers them. Signatures
 * are not checked.
 */
import { mkdirSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { KinesisApi, KinesisApiError } from "./api.js";
import { Journal, JOURNAL_FILE, type ReplayReport } from "./journal.js";
import { streamStateCompaction } from "./journal-compaction.js";
import { StreamState } from "./streams.js";

export interface KinesisServerOptions {
  /** @default 0 (a free loopback port chosen by the OS) */
  readonly port?: number;
  /** @default "us-east-1" */
  readonly region?: string;
  /** Keep the journal here and replay it at start. @default - in memory only */
  readonly dataDir?: string;
  /** How long CREATING/UPDATING last. @default 0 */
  readonly transitionMs?: number;
}

export interface KinesisServer {
  readonly endpoint: string;
  /** What the start found in the journal (absent in memory). */
  readonly replay?: ReplayReport;
  stop(): Promise<void>;
}

const TARGET_PREFIX = "Kinesis_20131202.";
const ACCOUNT = "000000000000";

/**
 * Starts the emulator on 127.0.0.1. With a `dataDir`, the journal there is replayed first (a damaged one fails the
 * start with `KinesisJournalUnreadable`, saying what `--fresh` would discard) and compacted if it holds dead lines.
 */
export async function startKinesisServer(opts: KinesisServerOptions = {}): Promise<KinesisServer> {
  const state = new StreamState(ACCOUNT, opts.region ?? "us-east-1");
  let journal: Journal | undefined;
  let replay: ReplayReport | undefined;
  if (opts.dataDir) {
    mkdirSync(opts.dataDir, { recursive: true });
    ({ journal, report: replay } = Journal.open(join(opts.dataDir, JOURNAL_FILE), (e) => state.apply(e), streamStateCompaction(state, Date.now)));
  }
  const api = new KinesisApi(state, journal, { transitionMs: opts.transitionMs ?? 0 });
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => serve(api, req, res));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    journal?.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    ...(replay ? { replay } : {}),
    stop: () =>
      (stopping ??= closeServer(server).finally(() => journal?.close())),
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    // Idle keep-alive sockets of SDK clients would hold close() open.
    server.closeAllConnections();
  });
}

function serve(api: KinesisApi, req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const target = String(req.headers["x-amz-target"] ?? "");
    const type = String(req.headers["content-type"] ?? "");
    try {
      if (req.method !== "POST" || !target.startsWith(TARGET_PREFIX)) {
        throw new KinesisApiError("UnknownOperationException", `expected POST with X-Amz-Target ${TARGET_PREFIX}<Operation>, got ${req.method} ${target || "(none)"}`);
      }
      if (type.includes("cbor")) {
        throw new KinesisApiError("SerializationException", "the local Kinesis emulator speaks AWS JSON 1.1 only (disable CBOR in the client)");
      }
      const body = chunks.length === 0 ? {} : (JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>);
      const out = api.handle(target.slice(TARGET_PREFIX.length), body);
      reply(res, 200, out);
    } catch (err) {
      if (err instanceof KinesisApiError) {
        reply(res, 400, { __type: err.type, message: err.message }, err.type);
      } else if (err instanceof SyntaxError) {
        reply(res, 400, { __type: "SerializationException", message: err.message }, "SerializationException");
      } else {
        reply(res, 500, { __type: "InternalFailure", message: (err as Error).message }, "InternalFailure");
      }
    }
  });
}

function reply(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/x-amz-json-1.1",
    "Content-Length": Buffer.byteLength(text),
    ...(errorType ? { "x-amzn-ErrorType": errorType } : {}),
  });
  res.end(text);
}

/**
 * The UI's web server: node:http on 127.0.0.1 only, GET (and HEAD) only, a fixed set of routes — the page, its
 * script and style, the chart library's files from node_modules, and the monitor's JSON — and 404 for any
 * other path. Live updates are server-sent events: while a page is connected the server takes a snapshot every
 * `monitor.refreshMs` and sends it to every page; no page, no reads. Nothing it serves comes from a request's
 * input except a batch time, parsed as a number.
 */
import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { Monitor, UiSnapshot } from "./snapshot.js";

export interface UiServerOptions {
  readonly monitor: Monitor;
  /** @default 0 - a free port */
  readonly port?: number;
}

export interface UiServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  readonly port: number;
  /** Ends the event streams and closes the server. */
  close(): Promise<void>;
}

/** The page's files: beside this module in the sources, under the package's tooling/ui/static when built to dist/. */
function staticDir(): string {
  for (const rel of ["./static/", "../../../tooling/ui/static/"]) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error("the UI's page (tooling/ui/static) is missing from this installation of sparkless");
}

interface Asset {
  readonly file: string;
  readonly type: string;
}

function assets(): Map<string, Asset> {
  const dir = staticDir();
  const require = createRequire(import.meta.url);
  const uplot = require.resolve("uplot/dist/uPlot.iife.min.js");
  return new Map([
    ["/", { file: `${dir}index.html`, type: "text/html; charset=utf-8" }],
    ["/app.js", { file: `${dir}app.js`, type: "text/javascript; charset=utf-8" }],
    ["/app.css", { file: `${dir}app.css`, type: "text/css; charset=utf-8" }],
    ["/vendor/uPlot.iife.min.js", { file: uplot, type: "text/javascript; charset=utf-8" }],
    ["/vendor/uPlot.min.css", { file: uplot.replace(/uPlot\.iife\.min\.js$/, "uPlot.min.css"), type: "text/css; charset=utf-8" }],
  ]);
}

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  // The page loads only its own files, and talks only to this server.
  "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
  "cache-control": "no-store",
};

export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const files = assets();
  const monitor = options.monitor;
  const streams = new Set<ServerResponse>();
  let timer: NodeJS.Timeout | undefined;
  let last: string | undefined;
  let taking: Promise<UiSnapshot> | undefined;

  // One snapshot at a time, shared by whoever asks while it is being taken.
  const snapshot = (): Promise<UiSnapshot> => (taking ??= monitor.snapshot().finally(() => (taking = undefined)));

  const push = async () => {
    timer = undefined;
    try {
      const text = JSON.stringify(await snapshot());
      last = text;
      for (const s of streams) s.write(`event: snapshot\ndata: ${text}\n\n`);
    } catch (e) {
      const text = JSON.stringify({ message: (e as Error).message });
      for (const s of streams) s.write(`event: failure\ndata: ${text}\n\n`);
    }
    if (streams.size > 0) timer = setTimeout(() => void push(), monitor.refreshMs);
  };

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { ...SECURITY_HEADERS, "content-type": "application/json; charset=utf-8" });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { ...SECURITY_HEADERS, allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
      res.end("read-only: GET only\n");
      return;
    }
    const asset = files.get(path);
    if (asset) {
      res.writeHead(200, { ...SECURITY_HEADERS, "content-type": asset.type });
      res.end(req.method === "HEAD" ? undefined : readFileSync(asset.file));
      return;
    }
    if (path === "/api/snapshot") return json(res, 200, JSON.stringify(await snapshot()));
    const batch = /^\/api\/batches\/(\d{1,16})$/.exec(path);
    if (batch) return json(res, 200, await monitor.batch(Number(batch[1])));
    if (path === "/api/events") {
      res.writeHead(200, { ...SECURITY_HEADERS, "content-type": "text/event-stream; charset=utf-8", connection: "keep-alive" });
      res.write(`retry: ${Math.max(1_000, monitor.refreshMs)}\n\n`);
      if (last !== undefined) res.write(`event: snapshot\ndata: ${last}\n\n`);
      streams.add(res);
      req.once("close", () => streams.delete(res));
      if (timer === undefined && !taking) void push();
      return;
    }
    res.writeHead(404, { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8" });
    res.end("not found\n");
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      if (!res.headersSent) json(res, 500, { message: e.message });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // Loopback only: the page shows a pipeline's data to whoever can reach it.
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: async () => {
      clearTimeout(timer);
      for (const s of streams) s.end();
      streams.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await taking?.catch(() => undefined);
      monitor.close?.();
    },
  };
}

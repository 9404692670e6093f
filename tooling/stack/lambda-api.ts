/**
 * Lambda's `Invoke` API for the functions of the local stack (`POST /2015-03-31/functions/<name>/invocations`), so
 * that a function invoking another — the shard function and the ticker fanning a batch out to the finalizer
 * partitions — runs here as on AWS. With IAM enforced the call reaches it through the enforcing proxy, which
 * checks `lambda:InvokeFunction` on the target like every other call.
 *
 * `InvocationType: Event` is Lambda's asynchronous invocation: answered 202 at once, queued, run later, retried
 * after a function error (twice, Lambda's default `MaximumRetryAttempts`), so at least once — and, as on AWS,
 * possibly more than once. `RequestResponse` runs the function and answers with its response (or
 * `X-Amz-Function-Error: Unhandled` and the error); `DryRun` answers 204.
 *
 * Not modelled: `MaximumEventAgeInSeconds`, on-failure destinations of asynchronous invocations, throttling
 * (a function's sandboxes queue the invocations beyond its concurrency), qualifiers (every name is `$LATEST`),
 * and the queue's durability: asynchronous invocations still queued when the stack stops are dropped.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { invokedFunctionRef } from "../iam/lambda-requests.js";
import { FunctionError, type FunctionHost } from "./function-host.js";
import { readBody } from "./http-body.js";

/** Lambda's default for asynchronous invocations: two retries after the first attempt fails. */
export const ASYNC_RETRY_ATTEMPTS = 2;

export const LAMBDA_API_LIMITATIONS: readonly string[] = [
  "Lambda Invoke (the functions' fan-out to the finalizer): Event invocations are queued in memory and retried twice after a function error, as Lambda's default; MaximumEventAgeInSeconds, async destinations, qualifiers and throttling are not modelled, and invocations still queued at stop are dropped.",
];

/** The function a request's path names, by name, or undefined when it is not an Invoke. */
export function invokedFunctionName(method: string, url: string): string | undefined {
  const ref = invokedFunctionRef(method, url);
  if (ref === undefined) return undefined;
  // arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>] or <account>:function:<name>
  const arn = /(?:^|:)function:([^:]+)/.exec(ref);
  return arn ? arn[1] : ref;
}

export interface LambdaApiOptions {
  /** The host of a deployed function, by name. */
  readonly host: (name: string) => FunctionHost | undefined;
  /** Each asynchronous invocation as it starts and ends (the stack's `invoke`/`result` events). */
  readonly onAsync?: (e: { phase: "invoke"; functionName: string; requestId: string; attempt: number } | { phase: "result"; functionName: string; requestId: string; attempt: number; error?: unknown; durationMs: number }) => void;
  /** @default {@link ASYNC_RETRY_ATTEMPTS} */
  readonly retryAttempts?: number;
}

export interface LambdaApi {
  readonly endpoint: string;
  stats(): { readonly queued: number; readonly running: number; readonly completed: number; readonly failed: number };
  /** Resolves once no asynchronous invocation is queued or running (tests). */
  idle(): Promise<void>;
  /** Closes the listener, drops what is queued and waits for the invocations running. Idempotent. */
  stop(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "x-amzn-requestid": headers["x-amzn-requestid"] ?? randomUUID(), ...headers, "content-length": String(Buffer.byteLength(text)) });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { Type: "User", message }, { "x-amzn-errortype": code });
}

/**
 * Starts the API on a free loopback port.
 *
 * @example
 * const api = await startLambdaApi({ host: (name) => hosts.get(name) });
 * // each function: AWS_ENDPOINT_URL_LAMBDA = api.endpoint (or the IAM proxy's lambda endpoint in front of it)
 */
export async function startLambdaApi(options: LambdaApiOptions): Promise<LambdaApi> {
  const retries = options.retryAttempts ?? ASYNC_RETRY_ATTEMPTS;
  const counts = { queued: 0, running: 0, completed: 0, failed: 0 };
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  let waiters: Array<() => void> = [];
  const settle = () => {
    if (counts.queued + counts.running > 0) return;
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };

  const runAsync = (host: FunctionHost, event: unknown, requestId: string) => {
    counts.queued++;
    const job = (async () => {
      // Lambda answers 202 before the function runs: the caller never waits for it.
      await new Promise<void>((r) => setImmediate(r));
      counts.queued--;
      counts.running++;
      try {
        for (let attempt = 0; attempt <= retries && !stopped; attempt++) {
          const started = Date.now();
          options.onAsync?.({ phase: "invoke", functionName: host.name, requestId, attempt });
          try {
            await host.invoke(event, { requestId });
            options.onAsync?.({ phase: "result", functionName: host.name, requestId, attempt, durationMs: Date.now() - started });
            counts.completed++;
            return;
          } catch (error) {
            options.onAsync?.({ phase: "result", functionName: host.name, requestId, attempt, error, durationMs: Date.now() - started });
          }
        }
        counts.failed++;
      } finally {
        counts.running--;
        settle();
      }
    })();
    inFlight.add(job);
    void job.finally(() => inFlight.delete(job));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const name = invokedFunctionName(req.method ?? "GET", req.url ?? "/");
    const body = await readBody(req);
    if (name === undefined) return sendError(res, 404, "UnknownOperationException", `the local Lambda API serves Invoke only (${req.method} ${req.url})`);
    const host = options.host(name);
    if (!host) return sendError(res, 404, "ResourceNotFoundException", `Function not found: ${name}`);
    let event: unknown = null;
    try {
      event = body.length > 0 ? JSON.parse(body.toString("utf8")) : {};
    } catch {
      return sendError(res, 400, "InvalidRequestContentException", "Could not parse request body into json");
    }
    const type = String(req.headers["x-amz-invocation-type"] ?? "RequestResponse");
    const requestId = randomUUID();
    if (type === "DryRun") return sendJson(res, 204, undefined, { "x-amzn-requestid": requestId });
    if (type === "Event") {
      if (stopped) return sendError(res, 503, "ServiceException", "the local stack is stopping");
      runAsync(host, event, requestId);
      return sendJson(res, 202, undefined, { "x-amzn-requestid": requestId });
    }
    if (type !== "RequestResponse") return sendError(res, 400, "InvalidParameterValueException", `InvocationType ${type} is not one of RequestResponse, Event, DryRun`);
    try {
      const out = await host.invoke(event, { requestId });
      sendJson(res, 200, out ?? null, { "x-amzn-requestid": requestId, "x-amz-executed-version": "$LATEST" });
    } catch (err) {
      const e = err instanceof FunctionError ? { errorType: err.errorType, errorMessage: err.errorMessage, trace: err.trace } : { errorType: (err as Error).name, errorMessage: (err as Error).message };
      sendJson(res, 200, e, { "x-amzn-requestid": requestId, "x-amz-function-error": "Unhandled", "x-amz-executed-version": "$LATEST" });
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else sendError(res, 500, "ServiceException", `the local Lambda API failed: ${(err as Error).message}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    stats: () => ({ ...counts }),
    idle: () => (counts.queued + counts.running === 0 ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
    stop: () =>
      (stopping ??= (async () => {
        stopped = true;
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await Promise.all([...inFlight]);
      })()),
  };
}

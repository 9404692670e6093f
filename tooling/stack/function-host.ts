/**
 * Runs one Lambda function of the embedded local stack: its bundled module, loaded in worker threads that stand
 * in for Lambda's execution environments (sandboxes).
 *
 * Why workers and not `import()` in this process:
 * - each function gets the environment its template gives it: a worker's `process.env` is its own copy, so two
 *   functions (and the stack itself) never see each other's variables — the handlers read them at cold start;
 * - a timed-out invocation can be stopped: the worker is terminated, as Lambda discards the sandbox of a timed-out
 *   invocation, and the next invocation starts a fresh one (cold start: module scope runs again);
 * - module state (SDK clients, caches) lives per sandbox, as on Lambda, and a crash (uncaught exception,
 *   `process.exit`, out of memory) ends only that sandbox.
 *
 * As on Lambda, one sandbox runs one invocation at a time; concurrent invocations get more sandboxes, up to
 * `maxConcurrency` (then they wait their turn — Lambda would throttle; the callers here all retry anyway).
 * Idle sandboxes are kept warm until `stop()`.
 */
import { randomUUID } from "node:crypto";
import { access } from "node:fs/promises";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { FunctionTimeoutError } from "../esm-poller/invoke.js";
import { IllegalStateError } from "../../lib/core/errors.js";

export { FunctionTimeoutError };

/** One function as the host runs it (resolved from the template by the stack). */
export interface FunctionSpec {
  /** The function's name (`FunctionName`, or the stack's physical name for it). */
  readonly name: string;
  /** @default `arn:aws:lambda:<AWS_REGION>:000000000000:function:<name>` */
  readonly arn?: string;
  /** The directory holding the code (Lambda's `LAMBDA_TASK_ROOT`): the asset directory in `cdk.out`. */
  readonly codeDirectory: string;
  /** `Handler`: `<module path>.<export>`, e.g. `index.shardHandler` (the module is `index.js`, `.mjs` or `.cjs`). */
  readonly handler: string;
  /** The variables of the function's `Environment`, plus whatever the caller adds (endpoints, region, credentials). */
  readonly environment: Readonly<Record<string, string>>;
  /** `Timeout`. @default 3_000 (Lambda's default) */
  readonly timeoutMs?: number;
  /** `MemorySize`: the worker's heap limit (an invocation past it fails and its sandbox is discarded). @default 128 */
  readonly memoryMb?: number;
  /** Sandboxes at most (`ReservedConcurrentExecutions` when set). @default 10 */
  readonly maxConcurrency?: number;
  /** How long a cold start (loading the module) may take (Lambda: 10 s). @default 10_000 */
  readonly initTimeoutMs?: number;
}

/** A line the function wrote to stdout or stderr (its CloudWatch log on AWS). */
export interface FunctionLogLine {
  readonly functionName: string;
  readonly stream: "stdout" | "stderr";
  readonly line: string;
  /** The invocation that was running when the line was written, if any. */
  readonly requestId?: string;
}

export interface FunctionHostOptions {
  /** Receives every line the function writes. @default - lines are dropped */
  readonly onLog?: (line: FunctionLogLine) => void;
}

export interface InvokeOptions {
  /** @default - a random UUID */
  readonly requestId?: string;
}

export interface FunctionHostStats {
  readonly invocations: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly coldStarts: number;
  /** Sandboxes alive now (starting, idle or busy). */
  readonly sandboxes: number;
  readonly busy: number;
  /** Invocations waiting for a sandbox. */
  readonly queued: number;
}

/**
 * An invocation's function error, in Lambda's shape: `errorType` (the error's name, or `Runtime.*` for failures
 * of the sandbox itself), `errorMessage`, `trace`.
 */
export class FunctionError extends Error {
  constructor(
    readonly functionName: string,
    readonly requestId: string,
    readonly errorType: string,
    readonly errorMessage: string,
    readonly trace: readonly string[] = [],
  ) {
    super(`${functionName} (${requestId}): ${errorType}: ${errorMessage}`);
    this.name = "FunctionError";
  }
}

/**
 * The worker's program. Plain JavaScript in a string, loaded as a `data:` URL module, so that it runs the same
 * under tsx, vitest and compiled output, with no loader hooks in the sandbox (the bundle runs as Lambda runs it).
 */
const BOOTSTRAP = `
import { parentPort, workerData } from "node:worker_threads";
import { pathToFileURL } from "node:url";
const { modulePath, exportPath } = workerData;
const serialize = (e) => ({
  errorType: (e && e.name) || "Error",
  errorMessage: e && e.message !== undefined ? String(e.message) : String(e),
  trace: e && typeof e.stack === "string" ? e.stack.split("\\n") : [],
});
let handler;
try {
  const mod = await import(pathToFileURL(modulePath).href);
  handler = exportPath.split(".").reduce((o, k) => (o == null ? undefined : o[k]), mod);
  if (typeof handler !== "function") {
    throw Object.assign(new Error(modulePath + " does not export a function named " + exportPath), { name: "Runtime.HandlerNotFound" });
  }
  parentPort.postMessage({ type: "ready" });
} catch (e) {
  const err = serialize(e);
  if (!String(err.errorType).startsWith("Runtime.")) err.errorType = "Runtime.ImportModuleError";
  parentPort.postMessage({ type: "init-error", error: err });
}
parentPort.on("message", async (m) => {
  if (!m || m.type !== "invoke" || !handler) return;
  const context = {
    ...m.context,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, m.deadline - Date.now()),
  };
  try {
    const event = JSON.parse(m.event);
    let result;
    if (handler.length >= 3) {
      result = await new Promise((resolve, reject) => {
        const r = handler(event, context, (err, value) => (err ? reject(err) : resolve(value)));
        if (r && typeof r.then === "function") r.then(resolve, reject);
      });
    } else {
      result = await handler(event, context);
    }
    parentPort.postMessage({ type: "result", id: m.id, ok: true, payload: result === undefined ? undefined : JSON.stringify(result) });
  } catch (e) {
    parentPort.postMessage({ type: "result", id: m.id, ok: false, error: serialize(e) });
  }
});
`;
const BOOTSTRAP_URL = new URL(`data:text/javascript,${encodeURIComponent(BOOTSTRAP)}`);

type WorkerMessage =
  | { type: "ready" }
  | { type: "init-error"; error: SerializedError }
  | { type: "result"; id: string; ok: true; payload?: string }
  | { type: "result"; id: string; ok: false; error: SerializedError };

interface SerializedError {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

interface Pending {
  readonly requestId: string;
  readonly resolve: (payload: unknown) => void;
  readonly reject: (error: Error) => void;
  timer?: NodeJS.Timeout;
}

/** Splits a stream's chunks into lines; `flush` emits a last line without a newline. */
function lineSplitter(emit: (line: string) => void) {
  let rest = "";
  return {
    push(chunk: Buffer | string) {
      const text = rest + chunk.toString();
      const lines = text.split("\n");
      rest = lines.pop() ?? "";
      for (const l of lines) emit(l.endsWith("\r") ? l.slice(0, -1) : l);
    },
    flush() {
      if (rest !== "") emit(rest);
      rest = "";
    },
  };
}

/** Lambda's handler string: the module path up to the first dot of the last path segment, the export after it. */
export function parseHandler(handler: string): { module: string; exportPath: string } {
  const slash = handler.lastIndexOf("/");
  const dot = handler.indexOf(".", slash + 1);
  if (dot <= slash + 1 || dot === handler.length - 1) {
    throw new FunctionError("-", "-", "Runtime.MalformedHandlerName", `bad handler ${JSON.stringify(handler)}: expected <module>.<export>, e.g. index.handler`);
  }
  return { module: handler.slice(0, dot), exportPath: handler.slice(dot + 1) };
}

/** The module file of a handler, found as Lambda's Node.js runtime looks for it: `.js`, then `.mjs`, then `.cjs`. */
export async function findHandlerModule(codeDirectory: string, handler: string): Promise<string> {
  const { module } = parseHandler(handler);
  for (const ext of [".js", ".mjs", ".cjs"]) {
    const candidate = join(codeDirectory, module + ext);
    try {
      await access(candidate);
      return candidate;
    } catch {
      // try the next extension
    }
  }
  throw new FunctionError("-", "-", "Runtime.ImportModuleError", `Cannot find module '${module}' in ${codeDirectory} (looked for .js, .mjs, .cjs)`);
}

/** One execution environment: a worker with the function's module loaded. */
class Sandbox {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  current: Pending | undefined;
  dead = false;
  /** Set once the worker has exited or been terminated. */
  readonly gone: Promise<void>;
  private readonly out: ReturnType<typeof lineSplitter>;
  private readonly err: ReturnType<typeof lineSplitter>;

  constructor(
    private readonly host: FunctionHost,
    modulePath: string,
    exportPath: string,
    spec: Required<Pick<FunctionSpec, "memoryMb" | "initTimeoutMs">> & FunctionSpec,
    onLog: ((line: FunctionLogLine) => void) | undefined,
  ) {
    const log = (stream: "stdout" | "stderr") => (line: string) =>
      onLog?.({ functionName: spec.name, stream, line, ...(this.current ? { requestId: this.current.requestId } : {}) });
    this.out = lineSplitter(log("stdout"));
    this.err = lineSplitter(log("stderr"));
    const nodeOptions = spec.environment.NODE_OPTIONS ?? "";
    this.worker = new Worker(BOOTSTRAP_URL, {
      workerData: { modulePath, exportPath },
      env: { ...spec.environment },
      // A clean runtime, as Lambda's: none of this process' loader flags (tsx, vitest); source maps when asked.
      execArgv: nodeOptions.split(/\s+/).includes("--enable-source-maps") ? ["--enable-source-maps"] : [],
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: spec.memoryMb },
      name: `lambda:${spec.name}`,
    });
    this.worker.stdout.on("data", (c: Buffer) => this.out.push(c));
    this.worker.stderr.on("data", (c: Buffer) => this.err.push(c));
    let settleReady: { resolve: () => void; reject: (e: Error) => void };
    this.ready = new Promise<void>((resolve, reject) => (settleReady = { resolve, reject }));
    // Nobody may be waiting on `ready` when the sandbox dies; the error then surfaces through `current`.
    this.ready.catch(() => {});
    const initTimer = setTimeout(() => {
      settleReady.reject(new FunctionError(spec.name, "-", "Runtime.InitTimeout", `the module did not load within ${spec.initTimeoutMs} ms`));
      this.kill();
    }, spec.initTimeoutMs);
    this.worker.on("message", (m: WorkerMessage) => {
      if (m.type === "ready") {
        clearTimeout(initTimer);
        settleReady.resolve();
      } else if (m.type === "init-error") {
        clearTimeout(initTimer);
        settleReady.reject(new FunctionError(spec.name, "-", m.error.errorType, m.error.errorMessage, m.error.trace));
        // Lambda runs init again on the next invocation: this sandbox is done.
        this.kill();
      } else if (m.type === "result") {
        const p = this.current;
        if (!p || p.requestId !== m.id) return;
        this.current = undefined;
        clearTimeout(p.timer);
        if (m.ok) p.resolve(m.payload === undefined ? null : (JSON.parse(m.payload) as unknown));
        else p.reject(new FunctionError(spec.name, p.requestId, m.error.errorType, m.error.errorMessage, m.error.trace));
        this.host.release(this);
      }
    });
    const died = (why: FunctionError) => {
      clearTimeout(initTimer);
      settleReady.reject(why);
      this.dead = true;
      const p = this.current;
      this.current = undefined;
      if (p) {
        clearTimeout(p.timer);
        p.reject(new FunctionError(spec.name, p.requestId, why.errorType, why.errorMessage, why.trace));
      }
      this.host.forget(this);
    };
    this.worker.on("error", (e: Error) => {
      const type = (e as NodeJS.ErrnoException).code === "ERR_WORKER_OUT_OF_MEMORY" ? "Runtime.OutOfMemory" : "Runtime.UnhandledError";
      died(new FunctionError(spec.name, "-", type, e.message, e.stack?.split("\n") ?? []));
    });
    this.gone = new Promise<void>((resolve) => {
      this.worker.once("exit", (code) => {
        this.out.flush();
        this.err.flush();
        died(new FunctionError(spec.name, "-", "Runtime.ExitError", `the runtime exited (code ${code}) before the invocation completed`));
        resolve();
      });
    });
  }

  /** Runs one invocation; the caller has made sure the sandbox is idle and ready. */
  run(requestId: string, event: unknown, spec: FunctionSpec & { timeoutMs: number; memoryMb: number }, arn: string): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const deadline = Date.now() + spec.timeoutMs;
      const pending: Pending = { requestId, resolve, reject };
      pending.timer = setTimeout(() => {
        if (this.current !== pending) return;
        this.current = undefined;
        // Lambda ends the sandbox of a timed-out invocation; the next one starts cold.
        reject(new FunctionTimeoutError(requestId, spec.timeoutMs));
        this.kill();
      }, spec.timeoutMs);
      this.current = pending;
      this.worker.postMessage({
        type: "invoke",
        id: requestId,
        event: JSON.stringify(event ?? null),
        deadline,
        context: {
          functionName: spec.name,
          functionVersion: "$LATEST",
          invokedFunctionArn: arn,
          memoryLimitInMB: String(spec.memoryMb),
          awsRequestId: requestId,
          logGroupName: `/aws/lambda/${spec.name}`,
          logStreamName: `local/[$LATEST]${this.worker.threadId}`,
        },
      });
    });
  }

  kill(): void {
    this.dead = true;
    void this.worker.terminate();
  }
}

/**
 * Invokes a function's bundled handler in worker-thread sandboxes, with the function's environment, memory and
 * timeout.
 *
 * @example
 * const host = new FunctionHost({
 *   name: "ticker", codeDirectory: "cdk.out/asset.1234", handler: "index.tickerHandler",
 *   environment: { SPARKLESS_TABLE: "t", AWS_REGION: "us-east-1" }, timeoutMs: 60_000,
 * }, { onLog: (l) => console.log(`[${l.functionName}] ${l.line}`) });
 * const response = await host.invoke({ source: "aws.events" });
 * await host.stop();
 */
export class FunctionHost {
  readonly spec: FunctionSpec & { timeoutMs: number; memoryMb: number; maxConcurrency: number; initTimeoutMs: number };
  readonly arn: string;
  private readonly sandboxes = new Set<Sandbox>();
  private readonly idle: Sandbox[] = [];
  private readonly waiting: Array<{ resolve: (s: Sandbox) => void; reject: (e: Error) => void }> = [];
  private readonly exits = new Set<Promise<void>>();
  private modulePath: Promise<{ path: string; exportPath: string }> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly counts = { invocations: 0, errors: 0, timeouts: 0, coldStarts: 0 };

  constructor(
    spec: FunctionSpec,
    private readonly options: FunctionHostOptions = {},
  ) {
    this.spec = {
      ...spec,
      timeoutMs: spec.timeoutMs ?? 3_000,
      memoryMb: spec.memoryMb ?? 128,
      maxConcurrency: spec.maxConcurrency ?? 10,
      initTimeoutMs: spec.initTimeoutMs ?? 10_000,
    };
    const region = spec.environment.AWS_REGION ?? "us-east-1";
    this.arn = spec.arn ?? `arn:aws:lambda:${region}:000000000000:function:${spec.name}`;
  }

  get name(): string {
    return this.spec.name;
  }

  /**
   * One synchronous invocation (`RequestResponse`): resolves with the handler's response after a JSON round trip
   * (`null` for none), rejects with a {@link FunctionError} (thrown error, crash, bad module) or a
   * {@link FunctionTimeoutError} (the sandbox is then discarded).
   */
  async invoke(event: unknown, options: InvokeOptions = {}): Promise<unknown> {
    if (this.stopping) throw new IllegalStateError("FunctionHostStopped", `function ${this.spec.name} is stopped`);
    const requestId = options.requestId ?? randomUUID();
    this.counts.invocations++;
    try {
      const sandbox = await this.acquire();
      try {
        await sandbox.ready;
      } catch (err) {
        this.forget(sandbox);
        throw err instanceof FunctionError ? new FunctionError(this.spec.name, requestId, err.errorType, err.errorMessage, err.trace) : err;
      }
      if (this.stopping) throw new IllegalStateError("FunctionHostStopped", `function ${this.spec.name} is stopped`);
      return await sandbox.run(requestId, event, this.spec, this.arn);
    } catch (err) {
      if (err instanceof FunctionTimeoutError) this.counts.timeouts++;
      else this.counts.errors++;
      throw err;
    }
  }

  stats(): FunctionHostStats {
    const busy = [...this.sandboxes].filter((s) => s.current !== undefined).length;
    return { ...this.counts, sandboxes: this.sandboxes.size, busy, queued: this.waiting.length };
  }

  /** Ends every sandbox (an invocation still running fails) and resolves once every worker has exited. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const w of this.waiting.splice(0)) w.reject(new IllegalStateError("FunctionHostStopped", `function ${this.spec.name} is stopped`));
      for (const s of [...this.sandboxes]) s.kill();
      while (this.exits.size > 0) await Promise.all([...this.exits]);
    })();
    return this.stopping;
  }

  private async acquire(): Promise<Sandbox> {
    // Resolved before the capacity check, so that the check and the sandbox's creation are one synchronous step.
    const { path, exportPath } = await (this.modulePath ??= this.resolveModule());
    if (this.stopping) throw new IllegalStateError("FunctionHostStopped", `function ${this.spec.name} is stopped`);
    for (;;) {
      const s = this.idle.pop();
      if (!s) break;
      if (!s.dead) return s;
    }
    if (this.sandboxes.size < this.spec.maxConcurrency) {
      this.counts.coldStarts++;
      const s = new Sandbox(this, path, exportPath, this.spec, this.options.onLog);
      this.sandboxes.add(s);
      const exit = s.gone.then(() => {
        this.exits.delete(exit);
      });
      this.exits.add(exit);
      return s;
    }
    return new Promise<Sandbox>((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private async resolveModule(): Promise<{ path: string; exportPath: string }> {
    try {
      const { exportPath } = parseHandler(this.spec.handler);
      return { path: await findHandlerModule(this.spec.codeDirectory, this.spec.handler), exportPath };
    } catch (err) {
      this.modulePath = undefined; // the code may appear (a synth in progress): look again next time
      if (err instanceof FunctionError) throw new FunctionError(this.spec.name, "-", err.errorType, err.errorMessage);
      throw err;
    }
  }

  /** @internal A sandbox finished an invocation and is free again. */
  release(s: Sandbox): void {
    if (s.dead) return;
    const next = this.waiting.shift();
    if (next) next.resolve(s);
    else this.idle.push(s);
  }

  /** @internal A sandbox died: a waiting invocation may start a new one in its place. */
  forget(s: Sandbox): void {
    if (!this.sandboxes.delete(s)) return;
    const i = this.idle.indexOf(s);
    if (i >= 0) this.idle.splice(i, 1);
    const next = this.waiting.shift();
    if (next && !this.stopping) this.acquire().then(next.resolve, next.reject);
    else if (next) next.reject(new IllegalStateError("FunctionHostStopped", `function ${this.spec.name} is stopped`));
  }
}

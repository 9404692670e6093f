/**
 * The function host runs a module as Lambda runs a bundled asset: in sandboxes (worker threads) with the
 * function's own environment, warm between invocations, discarded and started cold again after a timeout or a
 * crash.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { IllegalStateError } from "../../lib/core/errors.js";
import { FunctionError, FunctionHost, FunctionTimeoutError, parseHandler, type FunctionLogLine, type FunctionSpec } from "../../tooling/stack/function-host.js";

// What a bundled asset looks like to the host: an ES module exporting handlers, with module-scope state that
// shows whether a sandbox is warm (the same module instance) or cold (a new one).
const MODULE = `
const coldStart = Math.random();
let calls = 0;
export const env = async (event, context) => ({
  mine: process.env.MINE ?? null,
  other: process.env.OTHER ?? null,
  region: process.env.AWS_REGION ?? null,
  calls: ++calls,
  coldStart,
  event,
  functionName: context.functionName,
  requestId: context.awsRequestId,
  remaining: context.getRemainingTimeInMillis(),
});
export const spin = async () => { for (;;) {} };
export const sleep = async (event) => { await new Promise((r) => setTimeout(r, event.ms)); return { calls: ++calls, coldStart }; };
export const fail = async () => { throw new TypeError("boom"); };
export const exit = async () => { process.exit(3); };
export const print = async () => { console.log("line 1\\nline 2"); process.stderr.write("to stderr\\n"); return "printed"; };
export const callback = (event, context, done) => { setTimeout(() => done(null, { via: "callback", n: event.n }), 10); };
export const hog = async () => { const keep = []; for (;;) keep.push(new Array(1e6).fill(keep.length)); };
export const notAFunction = 42;
export const nested = { handler: async () => "nested" };
`;

let dir: string;
const hosts: FunctionHost[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sparkless-fnhost-"));
  await writeFile(join(dir, "index.mjs"), MODULE);
  await writeFile(join(dir, "broken.mjs"), "export const handler = async () => 1;\nthrow new Error('init failed');\n");
});
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function host(handler: string, spec: Partial<FunctionSpec> = {}, onLog?: (l: FunctionLogLine) => void): FunctionHost {
  const h = new FunctionHost({ name: `fn-${handler}`, codeDirectory: dir, handler, environment: { AWS_REGION: "eu-west-1" }, timeoutMs: 5_000, ...spec }, onLog ? { onLog } : {});
  hosts.push(h);
  return h;
}

type EnvResult = { mine: string | null; other: string | null; region: string; calls: number; coldStart: number; event: unknown; functionName: string; requestId: string; remaining: number };

describe("FunctionHost", () => {
  it("gives each function its own environment, not this process'", async () => {
    const a = host("index.env", { name: "a", environment: { MINE: "a", AWS_REGION: "eu-west-1" } });
    const b = host("index.env", { name: "b", environment: { MINE: "b", OTHER: "only-b" } });
    process.env.OTHER = "the parent's";
    try {
      const [ra, rb] = (await Promise.all([a.invoke({ n: 1 }), b.invoke({ n: 2 })])) as EnvResult[];
      expect(ra).toMatchObject({ mine: "a", other: null, region: "eu-west-1", event: { n: 1 }, functionName: "a" });
      expect(rb).toMatchObject({ mine: "b", other: "only-b", region: null, event: { n: 2 }, functionName: "b" });
      expect(process.env.MINE).toBeUndefined();
    } finally {
      delete process.env.OTHER;
    }
  });

  it("keeps a sandbox warm between invocations and gives the context Lambda's fields", async () => {
    const h = host("index.env", { timeoutMs: 4_000 });
    const first = (await h.invoke({}, { requestId: "req-1" })) as EnvResult;
    const second = (await h.invoke({})) as EnvResult;
    expect(first.requestId).toBe("req-1");
    expect(first.remaining).toBeGreaterThan(3_000);
    expect(first.remaining).toBeLessThanOrEqual(4_000);
    expect(second.calls).toBe(2);
    expect(second.coldStart).toBe(first.coldStart);
    expect(h.stats()).toMatchObject({ invocations: 2, coldStarts: 1, sandboxes: 1, busy: 0, errors: 0 });
  });

  it("terminates a timed-out invocation's sandbox and starts the next invocation cold", async () => {
    const h = host("index.spin", { timeoutMs: 300 });
    const started = Date.now();
    const err = await h.invoke({}, { requestId: "slow" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FunctionTimeoutError);
    expect((err as Error).message).toBe("Task timed out after 0.30 seconds");
    expect(Date.now() - started).toBeLessThan(3_000);
    // The busy loop never yields: only terminating the worker stops it, and the host must not wait for it.
    const warmAfter = host("index.sleep", { timeoutMs: 300 });
    const a = (await warmAfter.invoke({ ms: 1 })) as { calls: number; coldStart: number };
    await expect(warmAfter.invoke({ ms: 1_000 })).rejects.toBeInstanceOf(FunctionTimeoutError);
    const b = (await warmAfter.invoke({ ms: 1 })) as { calls: number; coldStart: number };
    expect(b.calls).toBe(1); // module state is gone: a new sandbox
    expect(b.coldStart).not.toBe(a.coldStart);
    expect(warmAfter.stats()).toMatchObject({ invocations: 3, timeouts: 1, coldStarts: 2, sandboxes: 1 });
    expect(h.stats()).toMatchObject({ timeouts: 1, sandboxes: 0 });
  });

  it("reports a thrown error in Lambda's shape and keeps the sandbox", async () => {
    const h = host("index.fail");
    const err = (await h.invoke({}, { requestId: "r" }).catch((e: unknown) => e)) as FunctionError;
    expect(err).toBeInstanceOf(FunctionError);
    expect(err).toMatchObject({ errorType: "TypeError", errorMessage: "boom", requestId: "r", functionName: "fn-index.fail" });
    expect(err.trace.join("\n")).toContain("boom");
    await expect(h.invoke({})).rejects.toMatchObject({ errorType: "TypeError" });
    expect(h.stats()).toMatchObject({ errors: 2, coldStarts: 1, sandboxes: 1 });
  });

  it("fails the invocation of a sandbox that exits, and starts a new one next time", async () => {
    const h = host("index.exit");
    await expect(h.invoke({})).rejects.toMatchObject({ errorType: "Runtime.ExitError" });
    await expect(h.invoke({})).rejects.toMatchObject({ errorType: "Runtime.ExitError" });
    expect(h.stats()).toMatchObject({ coldStarts: 2, sandboxes: 0 });
  });

  it("fails an invocation past MemorySize with Runtime.OutOfMemory", async () => {
    const h = host("index.hog", { memoryMb: 32, timeoutMs: 20_000 });
    await expect(h.invoke({})).rejects.toMatchObject({ errorType: "Runtime.OutOfMemory" });
    expect(h.stats().sandboxes).toBe(0);
  }, 30_000);

  it("forwards the function's output line by line, with the invocation's request id", async () => {
    const lines: FunctionLogLine[] = [];
    const h = host("index.print", {}, (l) => lines.push(l));
    expect(await h.invoke({}, { requestId: "p-1" })).toBe("printed");
    await h.stop(); // flushes the streams
    expect(lines.filter((l) => l.stream === "stdout").map((l) => l.line)).toEqual(["line 1", "line 2"]);
    expect(lines.filter((l) => l.stream === "stderr").map((l) => l.line)).toEqual(["to stderr"]);
    expect(lines.every((l) => l.functionName === "fn-index.print")).toBe(true);
  });

  it("supports callback handlers and nested exports", async () => {
    expect(await host("index.callback").invoke({ n: 7 })).toEqual({ via: "callback", n: 7 });
    expect(await host("index.nested.handler").invoke({})).toBe("nested");
  });

  it("runs concurrent invocations in separate sandboxes, up to maxConcurrency", async () => {
    const two = host("index.sleep", { maxConcurrency: 2 });
    const results = (await Promise.all([two.invoke({ ms: 300 }), two.invoke({ ms: 300 })])) as { coldStart: number }[];
    expect(results[0]!.coldStart).not.toBe(results[1]!.coldStart);
    expect(two.stats()).toMatchObject({ sandboxes: 2, coldStarts: 2 });

    const one = host("index.sleep", { maxConcurrency: 1 });
    const [x, y] = (await Promise.all([one.invoke({ ms: 200 }), one.invoke({ ms: 200 })])) as { calls: number; coldStart: number }[];
    expect(x!.coldStart).toBe(y!.coldStart);
    expect([x!.calls, y!.calls].sort()).toEqual([1, 2]);
    expect(one.stats()).toMatchObject({ sandboxes: 1, coldStarts: 1, queued: 0 });
  });

  it.each([
    ["an export that is missing", "index.nope", "Runtime.HandlerNotFound", /does not export a function named nope/],
    ["an export that is not a function", "index.notAFunction", "Runtime.HandlerNotFound", /notAFunction/],
    ["a module that is missing", "missing.handler", "Runtime.ImportModuleError", /Cannot find module 'missing'/],
    ["a module whose init throws", "broken.handler", "Runtime.ImportModuleError", /init failed/],
  ])("fails if the handler is %s", async (_name, handler, errorType, message) => {
    const err = (await host(handler).invoke({}).catch((e: unknown) => e)) as FunctionError;
    expect(err).toBeInstanceOf(FunctionError);
    expect(err.errorType).toBe(errorType);
    expect(err.errorMessage).toMatch(message);
  });

  it("fails if the handler string has no export", () => {
    expect(() => parseHandler("index")).toThrow(/expected <module>.<export>/);
    expect(parseHandler("src/app.main.handler")).toEqual({ module: "src/app", exportPath: "main.handler" });
  });

  it("stops every sandbox, fails an invocation in flight, and refuses new ones", async () => {
    const h = host("index.sleep", { timeoutMs: 10_000 });
    await h.invoke({ ms: 1 });
    const inFlight = h.invoke({ ms: 5_000 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    await h.stop();
    expect(await inFlight).toMatchObject({ errorType: "Runtime.ExitError" });
    expect(h.stats()).toMatchObject({ sandboxes: 0, busy: 0 });
    await expect(h.invoke({})).rejects.toBeInstanceOf(IllegalStateError);
    await h.stop(); // idempotent
  });
});

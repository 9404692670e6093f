/**
 * Lambda's Invoke on the embedded stack, as a pipeline's shard function and ticker use it to fan a batch out to the
 * finalizer partitions: `InvocationType: Event` is answered 202 at once and the target runs afterwards (and again
 * after a function error, twice, as Lambda retries asynchronous invocations); `RequestResponse` answers with the
 * response; and every Invoke is checked against the caller's role like any other call — `lambda:InvokeFunction`
 * on the target's ARN, or AccessDeniedException.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack, type LocalStackEvent } from "../../tooling/stack/index.js";
import { writeProbeAssembly } from "../fixtures/iam/probe-assembly.js";
import { until } from "../support/wait.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

let root: string;
let stack: LocalStack;
const events: LocalStackEvent[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "sparkless-invoke-"));
  const cdkOut = join(root, "cdk.out");
  await writeProbeAssembly(cdkOut, REPO);
  stack = await startLocalStack({ cdkOut, stateDir: join(root, "state"), synth: false, fresh: true, tickerIntervalMs: 60_000, onEvent: (e) => events.push(e), log: () => {} });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

type Async = Extract<LocalStackEvent, { type: "invoke" | "result" }>;
const asyncOf = (fn: string) => events.filter((e): e is Async => (e.type === "invoke" || e.type === "result") && e.source === "async" && e.functionName === fn);
const listed = async (prefix: string) => (await stack.invoke("Demo-Probe", { op: "list", prefix })) as string[];

describe("Lambda Invoke on the embedded stack", () => {
  it("answers an Event invocation 202 and runs the target afterwards, with the target's own role", async () => {
    // Writer may put checkpoint/*: the object appears once its asynchronous invocation has run.
    const r = await stack.invoke("Demo-Probe", { op: "invoke", functionName: "Demo-Writer", event: { op: "put", key: "checkpoint/from-async" } });
    expect(r).toEqual({ status: 202, payload: null, functionError: null });
    // The object is written before the invocation returns, so wait for its result, not only for the object.
    const outcomes = await until(
      "the asynchronous invocation's result",
      () => {
        const rs = asyncOf("Demo-Writer").filter((e): e is Extract<Async, { type: "result" }> => e.type === "result");
        return rs.length > 0 && rs.map((e) => e.outcome);
      },
      { timeoutMs: 60_000, everyMs: 100 },
    );
    expect(outcomes).toEqual(["success"]);
    expect(await listed("checkpoint/")).toContain("checkpoint/from-async");
  }, 90_000);

  it("retries a failed Event invocation twice, then gives up", async () => {
    const before = asyncOf("Demo-Writer").length;
    expect(await stack.invoke("Demo-Probe", { op: "invoke", functionName: "Demo-Writer", event: { op: "no-such-op" } })).toMatchObject({ status: 202 });
    const results = await until(
      "three failed attempts",
      () => {
        const rs = asyncOf("Demo-Writer").slice(before).filter((e): e is Extract<Async, { type: "result" }> => e.type === "result");
        return rs.length >= 3 && rs;
      },
      { timeoutMs: 60_000, everyMs: 100 },
    );
    expect(results.map((e) => e.outcome)).toEqual(["error", "error", "error"]);
    expect(results[0]!.error).toContain("unknown op no-such-op");
    expect(new Set(results.map((e) => e.requestId)).size).toBe(1);
  }, 90_000);

  it("answers a RequestResponse invocation with the response, by name or ARN", async () => {
    expect(await stack.invoke("Demo-Probe", { op: "invoke", functionName: "Demo-Writer", type: "RequestResponse", event: { op: "put", key: "checkpoint/sync" } })).toEqual({
      status: 200,
      payload: "ok",
      functionError: null,
    });
    const arn = stack.stacks[0]!.functions.find((f) => f.name === "Demo-Writer")!.arn;
    expect(await stack.invoke("Demo-Probe", { op: "invoke", functionName: arn, type: "RequestResponse", event: { op: "nope" } })).toMatchObject({
      status: 200,
      payload: { errorType: "Error", errorMessage: "unknown op nope" },
      functionError: "Unhandled",
    });
  }, 60_000);

  it("refuses an Invoke the caller's role does not grant, as AWS does, and never runs the target", async () => {
    const runs = asyncOf("Demo-Probe").length;
    // Writer's role grants no lambda:InvokeFunction; Probe's grants it on Writer only.
    await expect(stack.invoke("Demo-Writer", { op: "invoke", functionName: "Demo-Probe", event: { op: "list", prefix: "" } })).rejects.toMatchObject({
      errorType: "AccessDeniedException",
      errorMessage: "User: arn:aws:sts::000000000000:assumed-role/Demo-WriterRole/Demo-Writer is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:000000000000:function:Demo-Probe because no identity-based policy allows the lambda:InvokeFunction action",
    });
    await expect(stack.invoke("Demo-Probe", { op: "invoke", functionName: "Demo-Probe", event: {} })).rejects.toMatchObject({ errorType: "AccessDeniedException" });
    const denied = events.filter((e): e is Extract<LocalStackEvent, { type: "access-denied" }> => e.type === "access-denied").map((e) => [e.functionName, e.action, e.resource]);
    expect(denied).toEqual([
      ["Demo-Writer", "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:000000000000:function:Demo-Probe"],
      ["Demo-Probe", "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:000000000000:function:Demo-Probe"],
    ]);
    expect(asyncOf("Demo-Probe").length).toBe(runs);
  }, 60_000);

  it("says where it differs from Lambda", () => {
    expect(stack.limitations.some((l) => l.startsWith("Lambda Invoke"))).toBe(true);
  });
});

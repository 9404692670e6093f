/**
 * IAM enforced by the embedded stack, on a hand-written assembly (no synth): a function's AWS SDK calls go through
 * the enforcing proxy with the function's own credentials; what its role's policies allow reaches the emulators,
 * what they do not fails in the function as AWS fails it, and the stack's `access-denied` event names the
 * function, action, resource and missing grant. `iam: false` lets everything through.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack, type LocalStackEvent } from "../../tooling/stack/index.js";
import { writeProbeAssembly } from "../fixtures/iam/probe-assembly.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BUCKET = "arn:aws:s3:::demo-bucket";
const TABLE = "arn:aws:dynamodb:us-east-1:000000000000:table/Demo-Table";
const STREAM = "arn:aws:kinesis:us-east-1:000000000000:stream/Demo-Stream";

let root: string;
let cdkOut: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "sparkless-iam-"));
  cdkOut = join(root, "cdk.out");
  await writeProbeAssembly(cdkOut, REPO);
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

function start(events: LocalStackEvent[], logs: string[], iam?: boolean): Promise<LocalStack> {
  return startLocalStack({
    cdkOut,
    stateDir: join(root, `state-${iam ?? "default"}`),
    synth: false,
    fresh: true,
    tickerIntervalMs: 60_000,
    onEvent: (e) => events.push(e),
    log: (l) => logs.push(l),
    ...(iam !== undefined ? { iam } : {}),
  });
}

const denials = (events: LocalStackEvent[]) => events.filter((e): e is Extract<LocalStackEvent, { type: "access-denied" }> => e.type === "access-denied");

describe("the embedded stack with IAM enforced (the default)", () => {
  const events: LocalStackEvent[] = [];
  const logs: string[] = [];
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await start(events, logs);
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it("says so at start-up, and no longer lists IAM among the differences from AWS", () => {
    expect(logs.join("\n")).toContain("IAM enforced from the template");
    expect(stack.limitations.some((l) => l.startsWith("IAM is not enforced"))).toBe(false);
    expect(stack.limitations.some((l) => l.startsWith("IAM: each function's calls"))).toBe(true);
  });

  it("lets through every call the role's policies allow", async () => {
    expect(await stack.invoke("Demo-Probe", { op: "put", key: "output/a" })).toBe("ok");
    expect(await stack.invoke("Demo-Probe", { op: "get", key: "output/a" })).toBe("x");
    expect(await stack.invoke("Demo-Probe", { op: "list", prefix: "output/" })).toEqual(["output/a"]);
    expect(await stack.invoke("Demo-Probe", { op: "ddbPut", key: "k" })).toBe("ok");
    expect(await stack.invoke("Demo-Probe", { op: "ddbGet", key: "k" })).toBe("1");
    // GetRecords names no stream: it is checked on the stream its iterator was handed out for.
    expect(await stack.invoke("Demo-Probe", { op: "read" })).toEqual({ shards: 1, records: 0, next: true });
    expect(denials(events)).toEqual([]);
  }, 60_000);

  it("fails an S3 call with no grant as AWS does (AccessDenied, 403), and names the missing grant", async () => {
    await expect(stack.invoke("Demo-Probe", { op: "put", key: "checkpoint/word-count/meta" })).rejects.toMatchObject({
      errorType: "AccessDenied",
      errorMessage: `User: arn:aws:sts::000000000000:assumed-role/Demo-ProbeRole/Demo-Probe is not authorized to perform: s3:PutObject on resource: "${BUCKET}/checkpoint/word-count/meta" because no identity-based policy allows the s3:PutObject action`,
    });
    expect(denials(events).at(-1)).toMatchObject({
      functionName: "Demo-Probe",
      role: "ProbeRole",
      action: "s3:PutObject",
      resource: `${BUCKET}/checkpoint/word-count/meta`,
      reason: "implicit-deny",
      grantResource: `${BUCKET}/checkpoint/*`,
      missingGrant: `no statement of role ProbeRole allows s3:PutObject on ${BUCKET}/checkpoint/word-count/meta: add { "Effect": "Allow", "Action": "s3:PutObject", "Resource": "${BUCKET}/checkpoint/*" } to its policy`,
    });
    // The emulator never saw it.
    expect(await stack.invoke("Demo-Probe", { op: "list", prefix: "" })).toEqual(["output/a"]);
  }, 60_000);

  it("fails a DynamoDB call with no grant with AccessDeniedException", async () => {
    await expect(stack.invoke("Demo-Probe", { op: "ddbDelete", key: "k" })).rejects.toMatchObject({
      errorType: "AccessDeniedException",
      errorMessage: `User: arn:aws:sts::000000000000:assumed-role/Demo-ProbeRole/Demo-Probe is not authorized to perform: dynamodb:DeleteItem on resource: ${TABLE} because no identity-based policy allows the dynamodb:DeleteItem action`,
    });
    expect(await stack.invoke("Demo-Probe", { op: "ddbGet", key: "k" })).toBe("1");
  }, 60_000);

  it("fails a Kinesis call with no grant with AccessDeniedException", async () => {
    await expect(stack.invoke("Demo-Probe", { op: "write" })).rejects.toMatchObject({
      errorType: "AccessDeniedException",
      errorMessage: expect.stringContaining(`is not authorized to perform: kinesis:PutRecord on resource: ${STREAM} because no identity-based policy allows`),
    });
    expect(denials(events).at(-1)).toMatchObject({ functionName: "Demo-Probe", action: "kinesis:PutRecord", resource: STREAM });
  }, 60_000);

  it("lets an explicit Deny win over the Allow, and says which statement denies", async () => {
    expect(await stack.invoke("Demo-Probe", { op: "put", key: "output/keep/x" })).toBe("ok");
    await expect(stack.invoke("Demo-Probe", { op: "delete", key: "output/keep/x" })).rejects.toMatchObject({
      errorType: "AccessDenied",
      errorMessage: expect.stringContaining(`s3:DeleteObject on resource: "${BUCKET}/output/keep/x" with an explicit deny in an identity-based policy`),
    });
    expect(denials(events).at(-1)).toMatchObject({ reason: "explicit-deny", missingGrant: expect.stringContaining("the Deny statement ProbePolicy[3] (Sid KeepKept)") });
  }, 60_000);

  it("answers DeleteObjects key by key: the allowed keys are deleted, each denied one is an AccessDenied error", async () => {
    expect(await stack.invoke("Demo-Probe", { op: "put", key: "output/b" })).toBe("ok");
    const r = (await stack.invoke("Demo-Probe", { op: "deleteMany", keys: ["output/b", "output/keep/x"] })) as { deleted: string[]; errors: Array<{ key: string; code: string }> };
    expect(r.deleted).toEqual(["output/b"]);
    expect(r.errors).toEqual([{ key: "output/keep/x", code: "AccessDenied", message: expect.stringContaining("with an explicit deny") }]);
    expect(await stack.invoke("Demo-Probe", { op: "list", prefix: "output/" })).toEqual(["output/a", "output/keep/x"]);
  }, 60_000);

  it("checks each function against its own role", async () => {
    expect(await stack.invoke("Demo-Writer", { op: "put", key: "checkpoint/c" })).toBe("ok");
    await expect(stack.invoke("Demo-Writer", { op: "put", key: "output/c" })).rejects.toMatchObject({
      errorType: "AccessDenied",
      errorMessage: expect.stringContaining("assumed-role/Demo-WriterRole/Demo-Writer is not authorized to perform: s3:PutObject"),
    });
    expect(denials(events).at(-1)).toMatchObject({ functionName: "Demo-Writer", role: "WriterRole", grantResource: `${BUCKET}/output/*` });
  }, 60_000);
});

describe("the embedded stack with iam: false", () => {
  it("lets every call through and says IAM is not enforced", async () => {
    const events: LocalStackEvent[] = [];
    const logs: string[] = [];
    const stack = await start(events, logs, false);
    try {
      expect(await stack.invoke("Demo-Probe", { op: "put", key: "checkpoint/x" })).toBe("ok");
      expect(await stack.invoke("Demo-Probe", { op: "ddbDelete", key: "k" })).toBe("ok");
      expect(denials(events)).toEqual([]);
      expect(stack.limitations.some((l) => l.startsWith("IAM is not enforced"))).toBe(true);
    } finally {
      await stack.stop();
    }
  }, 120_000);
});

/**
 * IAM enforced on a real pipeline: the CDK app synthesized with a fixture pipeline that takes every path of the
 * runtime (test/fixtures/iam/all-paths-pipeline.ts), run by the embedded stack with enforcement on.
 *
 * - With one grant taken out of the template (the shard role's s3:PutObject on dead-letter/), the run fails with
 *   AWS's AccessDenied naming the action and the object, and the stack's event names function, action, resource
 *   and the missing grant.
 * - With the construct's grants as they are, every path runs clean: shard commit, inline and ticker finalization,
 *   checkpoint, dead letter, late data, spill — no call denied, no invocation failed.
 */
import { createHash } from "node:crypto";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kinesisClient, s3Client } from "../../lib/io/aws-clients.js";
import { readAssembly, startLocalStack, synthesize, type LocalStack, type LocalStackEvent } from "../../tooling/stack/index.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const ENTRY = "test/fixtures/iam/all-paths-pipeline.ts";
const BATCH_MS = 5_000;

let root: string;
let cdkOut: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "sparkless-iam-pipeline-"));
  cdkOut = join(root, "cdk.out");
  await synthesize({ outdir: cdkOut, cwd: REPO, env: { SPARKLESS_PIPELINE_ENTRY: ENTRY } });
}, 240_000);
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

type Denied = Extract<LocalStackEvent, { type: "access-denied" }>;

function start(assembly: string, events: LocalStackEvent[], name: string): Promise<LocalStack> {
  return startLocalStack({
    cwd: REPO,
    cdkOut: assembly,
    synth: false,
    stateDir: join(root, name),
    fresh: true,
    tickerIntervalMs: 1_000,
    pollIntervalMs: 300,
    watchIntervalMs: 500,
    onEvent: (e) => events.push(e),
    log: () => {},
  });
}

async function put(stack: LocalStack, lines: readonly string[]): Promise<void> {
  const kinesis = kinesisClient({ endpoint: stack.endpoints.kinesis });
  try {
    const stream = stack.stackFile.stacks[0]!.pipelines[0]!.stream;
    const r = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: lines.map((l, i) => ({ Data: Buffer.from(l), PartitionKey: `k${i}` })) }));
    expect(r.FailedRecordCount ?? 0).toBe(0);
  } finally {
    kinesis.destroy();
  }
}

async function keysUnder(stack: LocalStack, prefix: string): Promise<string[]> {
  const s3 = s3Client({ endpoint: stack.endpoints.s3 });
  try {
    const bucket = stack.stackFile.stacks[0]!.pipelines[0]!.bucket;
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (r.Contents ?? []).map((o) => o.Key!);
  } finally {
    s3.destroy();
  }
}

/** Polls `probe` until it returns true or `capMs` passes (a generous cap for a loaded machine); returns whether it did. */
async function eventually(probe: () => Promise<boolean> | boolean, capMs: number): Promise<boolean> {
  const deadline = Date.now() + capMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** ~670 KB that gzip cannot shrink below the spill threshold (items are compressed before the size check). */
const INCOMPRESSIBLE_WORD = Buffer.concat(Array.from({ length: 15_625 }, (_, i) => createHash("sha256").update(String(i)).digest())).toString("base64");
const firstLine = (s: string) => s.split("\n")[0]!;
const word = (t: number, w: string) => JSON.stringify({ t, w });
const describeDenials = (ds: readonly Denied[]) => [...new Set(ds.map((d) => `${d.functionName} (role ${d.role}): ${d.action} on ${d.grantResource}`))];

describe("a pipeline's template with one grant taken away", () => {
  it("fails the run with AccessDenied naming the action and resource, and the stack says which grant is missing", async () => {
    // The shard role may no longer write dead letters (a line that is not JSON is one). It is given checkpoint/
    // explicitly, so that this test is about the one grant it takes away whatever else the construct grants.
    const broken = join(root, "cdk.out-without-dead-letter-write");
    await cp(cdkOut, broken, { recursive: true });
    const [stackInfo] = (await readAssembly(broken)).stacks;
    const template = JSON.parse(await readFile(stackInfo!.templateFile, "utf8")) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const shardPolicy = Object.entries(template.Resources).find(([id, r]) => r.Type === "AWS::IAM::Policy" && /ShardFunctionRole/.test(id))!;
    const statements = (shardPolicy[1].Properties.PolicyDocument as { Statement: Array<{ Effect?: string; Action: unknown; Resource: unknown[] }> }).Statement;
    const writes = statements.find((s) => s.Action === "s3:PutObject" || (Array.isArray(s.Action) && s.Action.includes("s3:PutObject")))!;
    const before = writes.Resource.length;
    const deadLetters = writes.Resource.find((r) => JSON.stringify(r).includes("/dead-letter/*"))!;
    writes.Resource = writes.Resource.filter((r) => r !== deadLetters);
    expect(writes.Resource).toHaveLength(before - 1);
    statements.push({ Effect: "Allow", Action: "s3:PutObject", Resource: [JSON.parse(JSON.stringify(deadLetters).replace("/dead-letter/*", "/checkpoint/*"))] });
    await writeFile(stackInfo!.templateFile, JSON.stringify(template));

    const events: LocalStackEvent[] = [];
    const stack = await start(broken, events, "without-grant");
    try {
      const shardFn = stack.stacks[0]!.functions.find((f) => f.handler === "index.shardHandler")!.name;
      const bucket = stack.stackFile.stacks[0]!.pipelines[0]!.bucket;
      await put(stack, [word(Date.now(), "alpha"), "this is not json", word(Date.now(), "beta")]);
      const failed = () =>
        events.find((e) => e.type === "result" && e.functionName === shardFn && e.outcome === "error" && /\/dead-letter\//.test(e.error ?? "")) as Extract<LocalStackEvent, { type: "result" }> | undefined;
      const what = () => JSON.stringify(events.filter((e) => e.type === "result" || e.type === "access-denied" || e.type === "warning").slice(-12), null, 1);
      expect(await eventually(() => failed() !== undefined, 90_000), `no dead-letter denial; the last results, denials and warnings: ${what()}`).toBe(true);
      expect(failed()!.error).toMatch(new RegExp(`AccessDenied: User: arn:aws:sts::000000000000:assumed-role/[^/]+/${shardFn} is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::${bucket}/dead-letter/[^"]+" because no identity-based policy allows the s3:PutObject action`));
      const denied = events.find((e): e is Denied => e.type === "access-denied" && e.resource.includes("/dead-letter/"))!;
      expect(denied).toMatchObject({
        functionName: shardFn,
        role: expect.stringMatching(/ShardFunctionRole/),
        action: "s3:PutObject",
        resource: expect.stringMatching(new RegExp(`^arn:aws:s3:::${bucket}/dead-letter/`)),
        grantResource: `arn:aws:s3:::${bucket}/dead-letter/*`,
        missingGrant: expect.stringContaining(`"Action": "s3:PutObject", "Resource": "arn:aws:s3:::${bucket}/dead-letter/*"`),
      });
      // Nothing was finalized: the batch waits for the grant, as it would on AWS.
      expect(await keysUnder(stack, "output/")).toEqual([]);
    } finally {
      await stack.stop();
    }
  }, 180_000);
});

describe("the pipeline with the construct's grants", () => {
  it("runs clean with IAM enforced over every path: commit, inline and ticker finalization, checkpoint, dead letter, late data, spill", async () => {
    const events: LocalStackEvent[] = [];
    const stack = await start(cdkOut, events, "with-grants");
    const seen = new Set<string>();
    try {
      const fns = stack.stacks[0]!.functions;
      const shardFn = fns.find((f) => f.handler === "index.shardHandler")!.name;
      const tickerFn = fns.find((f) => f.handler === "index.tickerHandler")!.name;
      // The first tick fixes the pipeline's start (the first tick or the first record, whichever comes first). A
      // tick that lands after t0 but before a slow shard invocation would start the batches after t0's and make
      // its words late, so no spill: let the ticker go first, then take t0.
      expect(await eventually(() => events.some((e) => e.type === "result" && e.functionName === tickerFn && e.outcome === "success"), 120_000)).toBe(true);
      const t0 = Date.now();
      const firstBatch = Math.floor(t0 / BATCH_MS) * BATCH_MS + BATCH_MS;
      // One invocation: words of the first batch, a line that is not JSON, a word past the spill threshold, and a
      // word of the next batch, whose event time moves the watermark past the first: the shard handler's commit
      // completes it and finalizes it inline. The next batch is finalized by the ticker once the stream is quiet.
      await put(stack, [word(t0, "alpha"), word(t0, "beta"), "this is not json", word(t0, INCOMPRESSIBLE_WORD), word(t0 + BATCH_MS + 1_000, "gamma")]);

      const paths: Record<string, () => Promise<boolean> | boolean> = {
        "shard commit": () => events.some((e) => e.type === "result" && e.functionName === shardFn && e.outcome === "success"),
        "inline finalization": () => events.some((e) => e.type === "printed" && e.functionName === shardFn),
        "ticker finalization": () => events.some((e) => e.type === "printed" && e.functionName === tickerFn),
        output: async () => (await keysUnder(stack, "output/")).some((k) => k.endsWith("/_SUCCESS")),
        checkpoint: async () => (await keysUnder(stack, "checkpoint/")).length > 0,
        "dead letter": async () => (await keysUnder(stack, "dead-letter/")).length > 0,
        spill: async () => (await keysUnder(stack, "spill/")).length > 0,
        "late data": async () => (await keysUnder(stack, "late/")).length > 0,
      };
      let latePushed = false;
      // The ticker runs every second and may take the lease between the shard handler's commit and its inline
      // finalization (a busy machine widens that window). Then nudge: a word whose event time is two batches
      // ahead completes batches only that commit can complete, and its invocation finalizes them inline.
      let nudges = 0;
      let lastNudge = Date.now();
      // When calls are denied the run stalls: stop once nothing new (path or denial) has come for 30 s.
      let progress = { at: Date.now(), count: 0 };
      await eventually(async () => {
        // A record older than a finalized batch, once there is one: late.
        if (!latePushed && events.some((e) => e.type === "batch-finalized" && e.time >= firstBatch)) {
          latePushed = true;
          await put(stack, [word(t0 - 60_000, "too-late")]);
        }
        if (!seen.has("inline finalization") && seen.has("ticker finalization") && Date.now() - lastNudge > 5_000) {
          lastNudge = Date.now();
          await put(stack, [word(Date.now() + 2 * BATCH_MS + 1_000, `nudge-${nudges++}`)]);
        }
        for (const [name, probe] of Object.entries(paths)) if (!seen.has(name) && (await probe())) seen.add(name);
        const count = seen.size + describeDenials(events.filter((e): e is Denied => e.type === "access-denied")).length;
        if (count !== progress.count) progress = { at: Date.now(), count };
        const stalled = events.some((e) => e.type === "access-denied") && Date.now() - progress.at > 30_000;
        return seen.size === Object.keys(paths).length || stalled;
      }, 150_000);
    } finally {
      await stack.stop();
    }
    const denials = events.filter((e): e is Denied => e.type === "access-denied");
    const failures = events.flatMap((e) => (e.type === "result" && (e.outcome === "error" || e.outcome === "timeout") ? [`${e.functionName}: ${firstLine(e.error ?? e.outcome)}`] : []));
    if (denials.length > 0) console.log(`IAM denials with the construct's grants:\n  ${describeDenials(denials).join("\n  ")}`);
    expect({ denied: describeDenials(denials), failed: [...new Set(failures.map((f) => f.replace(/ \([0-9a-f-]{36}\)/, "")))], paths: [...seen].sort() }).toEqual({
      denied: [],
      failed: [],
      paths: ["checkpoint", "dead letter", "inline finalization", "late data", "output", "shard commit", "spill", "ticker finalization"],
    });
  }, 300_000);
});

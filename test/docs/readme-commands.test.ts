/**
 * Every shell command in README.md and examples/README.md runs as written, from the repository root. Each
 * command is listed below with what is done with it: run to completion (exit 0); started, seen to come up,
 * then stopped with Ctrl-C (long-running servers); or skipped, with the reason. A command the README gains
 * without being listed here fails the first test, so the list cannot fall behind.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const READMES = ["README.md", "examples/README.md"];

type Plan =
  | { readonly kind: "run" }
  | { readonly kind: "start-stop"; readonly ready: RegExp }
  | { readonly kind: "skip"; readonly why: string };

const PLANS: Record<string, Plan> = {
  "npm install && npm start": { kind: "skip", why: "npm install changes node_modules under the running suite; `npm start` alone is run by test/e2e/cli.e2e.test.ts" },
  "npm test": { kind: "skip", why: "the suite this test is part of" },
  "npm start -- --socket 9999 --progress": { kind: "start-stop", ready: /word-count on the local engine, .* input: socket 9999/ },
  "mkdir -p incoming && npm start -- --dir ./incoming": { kind: "start-stop", ready: /input: files moved into \.\/incoming/ },
  "npm start -- --kinesis my-stream": { kind: "skip", why: "needs a Kinesis stream named my-stream (AWS, LocalStack or a running local stack); --kinesis is run by test/integration/cli-run.test.ts" },
  "npm start -- --generated": { kind: "start-stop", ready: /input: sample lines/ },
  "SPARKLESS_EXAMPLE_PARTITIONS=4 npm start -- --fresh": { kind: "skip", why: "the embedded stack with four finalizer partitions: run with IAM enforced by test/e2e/local-stack-partitions.e2e.test.ts" },
  "npm start -- --kafka my-topic --bootstrap localhost:9092": { kind: "skip", why: "needs a Kafka broker at localhost:9092 with a topic my-topic; --kafka is run against librdkafka's mock cluster by test/integration/kafka-cli.test.ts" },
  "npx sparkless push < lines.txt": { kind: "skip", why: "needs a running stack (`npm start`) and the user's lines.txt; run by test/integration/cli-push.test.ts" },
  "npx sparkless tail": { kind: "skip", why: "needs a running stack; run by test/integration/cli-tail.test.ts" },
  "npx sparkless status": { kind: "skip", why: "needs a running stack; run by test/integration/cli-status.test.ts" },
  "npx sparkless ui": { kind: "skip", why: "needs a running stack; run by test/e2e/ui.e2e.test.ts (in headless Chromium)" },
  "npx sparkless state totals": { kind: "skip", why: "needs a running stack; run by test/e2e/ui.e2e.test.ts" },
  "npx sparkless init my-app": { kind: "skip", why: "makes a project that installs sparkless from the registry; test/e2e/package.e2e.test.ts runs init from the packed tarball, gives the project the packed install's node_modules, and runs its npm test and npm start" },
  "cd my-app": { kind: "skip", why: "part of the init walk-through above, run by test/e2e/package.e2e.test.ts" },
  "npx tsx examples/window-print.ts": { kind: "run" },
  "npx tsx examples/reduce-by-key-and-window.ts": { kind: "run" },
  "npx tsx examples/start.ts --batches 2 --lines 8 --seed 7": { kind: "run" },
};

/** The commands of the ```sh blocks of a markdown file, comments cut off. */
function shellCommands(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
  return blocks.flatMap((b) => b.split("\n").map((l) => l.replace(/\s+#.*$/, "").trim()).filter((l) => l !== "" && !l.startsWith("#")));
}

const commands = READMES.flatMap((file) => shellCommands(readFileSync(resolve(ROOT, file), "utf8")).map((command) => ({ file, command })));

const createdIncoming = !existsSync(resolve(ROOT, "incoming"));
afterAll(() => {
  if (createdIncoming) rmSync(resolve(ROOT, "incoming"), { recursive: true, force: true });
});

/** Runs `command` in a shell at the repository root in its own process group; `stop()` is Ctrl-C to the group. */
function start(command: string) {
  const child = spawn("sh", ["-c", command], { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: "0" } });
  let output = "";
  child.stdout.on("data", (d: Buffer) => void (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => void (output += d.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code, signal) => r(code ?? (signal === "SIGINT" ? 130 : null))));
  return { output: () => output, exited, stop: () => process.kill(-child.pid!, "SIGINT") };
}

/** Polls until `cond` holds; the cap only keeps a broken command from hanging the suite. */
async function until(cond: () => boolean, exited: Promise<unknown>, capMs = 300_000): Promise<boolean> {
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + capMs;
  while (!cond() && !done && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return cond();
}

describe("the READMEs' shell commands", () => {
  it("are each run, started and stopped, or skipped with a reason", () => {
    expect(commands.filter((c) => PLANS[c.command] === undefined)).toEqual([]);
    expect(Object.keys(PLANS).filter((k) => !commands.some((c) => c.command === k))).toEqual([]);
  });

  const of = (kind: Plan["kind"]) => commands.filter((c) => PLANS[c.command]?.kind === kind).map((c) => [c.file, c.command] as const);

  it.each(of("run"))("%s: `%s` runs to completion", async (_file, command) => {
    const run = start(command);
    const code = await run.exited;
    expect(code, run.output()).toBe(0);
  }, 600_000);

  it.each(of("start-stop"))("%s: `%s` comes up and stops on Ctrl-C", async (_file, command) => {
    const plan = PLANS[command] as Extract<Plan, { kind: "start-stop" }>;
    const run = start(command);
    const up = await until(() => plan.ready.test(run.output()), run.exited);
    if (up) run.stop();
    const code = await run.exited;
    expect(up, run.output()).toBe(true);
    expect(run.output()).not.toMatch(/Error|error:/);
    expect([0, 130], run.output()).toContain(code);
  }, 600_000);

  it("skips only what needs something a test run does not have, and says what runs it instead", () => {
    for (const [, command] of of("skip")) expect((PLANS[command] as { why: string }).why.length).toBeGreaterThan(20);
  });
});

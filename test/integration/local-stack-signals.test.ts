/**
 * Ctrl-C and SIGTERM on a process running the local stack (through `shutdownOnSignals`): the stack stops cleanly
 * and the process exits with nothing left behind — after start-up, and while starting.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
let root: string;

// The program under test: what a CLI does with the stack.
const PROGRAM = (stateDir: string, cdkOut: string) => `
import { shutdownOnSignals, startLocalStack } from ${JSON.stringify(pathToFileURL(join(REPO, "tooling/stack/index.ts")).href)};
const shutdown = shutdownOnSignals({ onSignal: (s) => console.log(JSON.stringify({ signal: s })) });
console.log(JSON.stringify({ starting: true }));
try {
  const stack = await startLocalStack({ cdkOut: ${JSON.stringify(cdkOut)}, stateDir: ${JSON.stringify(stateDir)}, synth: false, fresh: true, signal: shutdown.signal, log: () => {}, onEvent: () => {} });
  console.log(JSON.stringify({ ready: true }));
  await stack.stopped;
  console.log(JSON.stringify({ stopped: true }));
} catch (e) {
  console.log(JSON.stringify({ failed: e.code ?? e.message }));
  process.exitCode = 130;
} finally {
  shutdown.dispose();
}
`;

/** Processes whose environment mentions `text` (a child of the stack would have its data path under the state directory). */
async function processesMentioning(text: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if ((await readFile(`/proc/${entry}/environ`, "latin1")).includes(text)) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

async function assembly(dir: string): Promise<string> {
  const cdkOut = join(dir, "cdk.out");
  await mkdir(cdkOut, { recursive: true });
  await writeFile(join(cdkOut, "manifest.json"), JSON.stringify({ version: "55.0.0", artifacts: { S: { type: "aws:cloudformation:stack", properties: { templateFile: "S.template.json" } } } }));
  await writeFile(join(cdkOut, "S.template.json"), JSON.stringify({ Resources: { Stream: { Type: "AWS::Kinesis::Stream", Properties: { ShardCount: 1 } }, Bucket: { Type: "AWS::S3::Bucket" } } }));
  return cdkOut;
}

function run(name: string, cdkOut: string, stateDir: string) {
  const script = join(root, `${name}.mts`);
  const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  const messages: Record<string, unknown>[] = [];
  const waiters: Array<() => void> = [];
  let rest = "";
  child.stdout.on("data", (c: Buffer) => {
    const parts = (rest + c.toString()).split("\n");
    rest = parts.pop() ?? "";
    for (const p of parts) {
      try {
        messages.push(JSON.parse(p) as Record<string, unknown>);
      } catch {
        // not ours
      }
    }
    for (const w of waiters.splice(0)) w();
  });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const message = async (key: string, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = messages.find((x) => key in x);
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`no "${key}" from the program; stderr:\n${stderr}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  return {
    child,
    messages,
    exited,
    message,
    write: () => writeFile(script, PROGRAM(stateDir, cdkOut)),
  };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "sparkless-signals-"));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe("a process running the local stack", () => {
  it.each(["SIGTERM", "SIGINT"] as const)("stops it cleanly on %s and exits with nothing left", async (signal) => {
    const cdkOut = await assembly(join(root, signal));
    const stateDir = join(root, signal, "state");
    const p = run(signal, cdkOut, stateDir);
    await p.write();
    await p.message("ready");
    p.child.kill(signal);
    expect(await p.exited).toBe(0);
    expect(p.messages).toContainEqual({ signal });
    expect(p.messages).toContainEqual({ stopped: true });
    expect(await processesMentioning(stateDir)).toEqual([]);
    await expect(readFile(join(stateDir, "stack.json"))).rejects.toMatchObject({ code: "ENOENT" });
  }, 60_000);

  it("undoes a start-up interrupted by Ctrl-C", async () => {
    const cdkOut = await assembly(join(root, "early"));
    const stateDir = join(root, "early", "state");
    const p = run("early", cdkOut, stateDir);
    await p.write();
    await p.message("starting");
    p.child.kill("SIGINT");
    expect(await p.exited).toBe(130);
    expect(p.messages).toContainEqual({ failed: "LocalStackAborted" });
    expect(await processesMentioning(stateDir)).toEqual([]);
    await expect(readFile(join(stateDir, "stack.json"))).rejects.toMatchObject({ code: "ENOENT" });
  }, 60_000);
});

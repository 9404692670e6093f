import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvocationRecorder, readInvocations, type FunctionInvocations } from "../../../tooling/stack/invocation-metrics.js";

let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "sparkless-invocations-"));
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

describe("InvocationRecorder", () => {
  it("writes the functions' counts at start, when they change and when stopped; readers see only this stack's", async () => {
    let counts: FunctionInvocations[] = [{ name: "ticker", invocations: 0, errors: 0, timeouts: 0, timeoutMs: 60_000 }];
    const recorder = new InvocationRecorder({ stateDir, counts: () => counts, intervalMs: 60_000 });
    await recorder.start();
    expect(readInvocations(stateDir, process.pid)?.functions).toEqual(counts);

    counts = [{ name: "ticker", invocations: 3, errors: 1, timeouts: 1, timeoutMs: 60_000 }];
    await recorder.flush();
    expect(readInvocations(stateDir, process.pid)?.functions).toEqual([{ name: "ticker", invocations: 3, errors: 1, timeouts: 1, timeoutMs: 60_000 }]);

    counts = [{ name: "ticker", invocations: 4, errors: 1, timeouts: 2, timeoutMs: 60_000 }];
    await recorder.stop();
    expect(readInvocations(stateDir, process.pid)?.functions[0]?.timeouts).toBe(2);
    // Left by another (stopped) stack process: not this one's counts.
    expect(readInvocations(stateDir, process.pid + 1)).toBeUndefined();
  });

  it("keeps writing after a write failed", async () => {
    let counts: FunctionInvocations[] = [{ name: "f", invocations: 1, errors: 0, timeouts: 0 }];
    const recorder = new InvocationRecorder({ stateDir: join(stateDir, "file"), counts: () => counts, intervalMs: 60_000 });
    await rm(stateDir, { recursive: true });
    await writeFile(stateDir, "not a directory");
    await recorder.start(); // fails quietly: the state directory is a file
    await rm(stateDir);
    counts = [{ name: "f", invocations: 2, errors: 0, timeouts: 0 }];
    await recorder.flush();
    expect(readInvocations(join(stateDir, "file"), process.pid)?.functions[0]?.invocations).toBe(2);
    await recorder.stop();
  });
});

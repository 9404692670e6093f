/**
 * `sparkless local up` and IAM: enforcement is the stack's default, `--no-iam` (also through `npm start`) turns
 * it off, and a denied call shows as one line naming function, action, resource and the missing grant — once per
 * grant, however many objects of a prefix the function tried.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../tooling/cli/index.js";
import type { LocalStackEvent, LocalStackOptions, StartLocalStack } from "../../tooling/cli/stack-contract.js";
import { startArgv } from "../../tooling/cli/commands/start.js";
import { testIo } from "../support/cli.js";
import { waitFor } from "../support/wait.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sparkless-iam-cli-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in for startLocalStack: no pipeline (nothing to push), the options it got, its onEvent. */
function fakeStack() {
  const state = { options: undefined as LocalStackOptions | undefined, emit: (_e: LocalStackEvent) => {} };
  const start: StartLocalStack = async (options) => {
    state.options = options;
    state.emit = options.onEvent!;
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((r) => (resolveStopped = r));
    return {
      stackFile: { version: 1, pid: process.pid, startedAt: new Date().toISOString(), region: "us-east-1", stateDir: options.stateDir!, cdkOut: "", endpoints: { kinesis: "", dynamodb: "", s3: "" }, stacks: [] },
      limitations: [],
      stopped,
      stop: async () => resolveStopped(),
    };
  };
  return { start, state };
}

const denial = (key: string): LocalStackEvent => ({
  type: "access-denied",
  functionName: "wc-ticker",
  role: "TickerRole",
  action: "s3:PutObject",
  resource: `arn:aws:s3:::wc-bucket/checkpoint/word-count/${key}`,
  reason: "implicit-deny",
  grantResource: "arn:aws:s3:::wc-bucket/checkpoint/*",
  missingGrant: `no statement of role TickerRole allows s3:PutObject on arn:aws:s3:::wc-bucket/checkpoint/word-count/${key}: add { "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::wc-bucket/checkpoint/*" } to its policy`,
  message: `User: arn:aws:sts::000000000000:assumed-role/TickerRole/wc-ticker is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::wc-bucket/checkpoint/word-count/${key}" because no identity-based policy allows the s3:PutObject action`,
});

describe("local up and IAM", () => {
  it("leaves IAM to the stack's default (enforced) unless --no-iam is given", async () => {
    for (const [args, iam] of [[[], undefined], [["--no-iam"], false]] as const) {
      const fake = fakeStack();
      const t = testIo({ cwd: dir });
      const up = main(["--state-dir", join(dir, `s${args.length}`), "local", "up", "--no-sample", ...args], t.io, { startLocalStack: fake.start });
      await waitFor("local up to start the stack", () => fake.state.options !== undefined);
      expect(fake.state.options?.iam).toBe(iam);
      t.interrupt();
      expect(await up).toBe(0);
    }
  });

  it("passes --no-iam of npm start on to local up", () => {
    expect(startArgv(["--no-iam"])).toEqual(["local", "up", "--no-iam"]);
  });

  it("shows a denial once per function, action and grant, naming the resource and the grant to add; the log has each", async () => {
    const fake = fakeStack();
    const stateDir = join(dir, "shown");
    const t = testIo({ cwd: dir });
    const up = main(["--state-dir", stateDir, "local", "up", "--no-sample"], t.io, { startLocalStack: fake.start });
    await waitFor("local up to start the stack", () => fake.state.options !== undefined);
    fake.state.emit(denial("1700000005000.json"));
    fake.state.emit(denial("1700000010000.json"));
    t.interrupt();
    expect(await up).toBe(0);
    const shown = t.stdout().split("\n").filter((l) => l.includes("IAM:"));
    expect(shown).toEqual([
      "✗ IAM: wc-ticker may not s3:PutObject on arn:aws:s3:::wc-bucket/checkpoint/word-count/1700000005000.json — " +
        'no statement of role TickerRole allows s3:PutObject on arn:aws:s3:::wc-bucket/checkpoint/word-count/1700000005000.json: add { "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::wc-bucket/checkpoint/*" } to its policy',
    ]);
    const log = readFileSync(join(stateDir, "logs", "local-stack.log"), "utf8");
    expect(log.match(/access denied: User: .*TickerRole\/wc-ticker is not authorized to perform: s3:PutObject/g)).toHaveLength(2);
  });
});

/**
 * `cdk synth` as a child process: the project's CDK CLI (`aws-cdk` from node_modules, run with this Node; `npx cdk`
 * when it is not installed), quiet (`-q`), writing the cloud assembly to a directory of our choice.
 *
 * The child runs in its own process group; aborting (Ctrl-C during start-up) or our process exiting kills the
 * whole group — the CLI and the app it spawned (`npx tsx infra/app.ts`, esbuild) — so no synth outlives us.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { join, resolve as resolvePath } from "node:path";
import { SparklessError } from "../../lib/core/errors.js";
import { describeChanges, forgetInputs, reasonsToSynthesize, recordInputs, synthInputs } from "./synth-inputs.js";

export interface SynthOptions {
  /** Where the assembly goes (`cdk synth -o`). */
  readonly outdir: string;
  /** The CDK project (where `cdk.json` is). @default process.cwd() */
  readonly cwd?: string;
  /** Each line the CLI writes (bundling progress, warnings, errors). @default - dropped */
  readonly log?: (line: string) => void;
  /** Kills the synth. */
  readonly signal?: AbortSignal;
  /** Extra environment for the app (e.g. context through `CDK_CONTEXT_JSON`). */
  readonly env?: Readonly<Record<string, string>>;
}

const TAIL_LINES = 40;

/** The project's CDK CLI, else the one installed with sparkless, else whatever `npx cdk` finds. */
function cdkCommand(cwd: string): { command: string; args: string[] } {
  for (const from of [join(cwd, "package.json"), import.meta.url]) {
    try {
      return { command: process.execPath, args: [createRequire(from).resolve("aws-cdk/bin/cdk")] };
    } catch {
      // not installed there
    }
  }
  return { command: process.platform === "win32" ? "npx.cmd" : "npx", args: ["cdk"] };
}

/**
 * Synthesizes the CDK app of `cwd` into `outdir`; rejects with a `SynthFailed` error carrying the CLI's last
 * lines when it fails, or `SynthAborted` when `signal` aborts it.
 *
 * @example
 * await synthesize({ outdir: ".sparkless/cdk.out", log: (l) => console.error(`cdk | ${l}`) });
 */
export function synthesize(options: SynthOptions): Promise<void> {
  const cwd = resolvePath(options.cwd ?? process.cwd());
  const outdir = resolvePath(cwd, options.outdir);
  const { command, args } = cdkCommand(cwd);
  const argv = [...args, "synth", "-q", "-o", outdir];
  return new Promise<void>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new SparklessError("SynthAborted", "cdk synth was aborted before it started"));
      return;
    }
    const child = spawn(command, argv, {
      cwd,
      env: { ...process.env, ...options.env },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const tail: string[] = [];
    const line = (l: string) => {
      if (l.trim() === "") return;
      tail.push(l);
      if (tail.length > TAIL_LINES) tail.shift();
      options.log?.(l);
    };
    const splitter = () => {
      let rest = "";
      return {
        data: (c: Buffer) => {
          const parts = (rest + c.toString()).split("\n");
          rest = parts.pop() ?? "";
          parts.forEach(line);
        },
        end: () => rest && line(rest),
      };
    };
    const out = splitter();
    const err = splitter();
    child.stdout!.on("data", out.data);
    child.stderr!.on("data", err.data);
    const killGroup = () => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // the group is gone already
      }
    };
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      killGroup();
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    process.once("exit", killGroup);
    child.once("error", (e) => {
      options.signal?.removeEventListener("abort", onAbort);
      process.off("exit", killGroup);
      reject(new SparklessError("SynthFailed", `could not run ${command} ${argv.join(" ")}: ${e.message}`, { command }, { cause: e }));
    });
    child.once("close", (code, sig) => {
      out.end();
      err.end();
      options.signal?.removeEventListener("abort", onAbort);
      process.off("exit", killGroup);
      // esbuild or the app may have left processes in the group: end them with the synth.
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // nothing left
      }
      if (aborted) reject(new SparklessError("SynthAborted", "cdk synth was aborted"));
      else if (code === 0) resolve();
      else {
        reject(
          new SparklessError(
            "SynthFailed",
            `cdk synth failed (${code === null ? `signal ${sig}` : `exit code ${code}`}) in ${cwd}; its last output:\n${tail.map((l) => `  ${l}`).join("\n")}`,
            { code, cwd, outdir },
          ),
        );
      }
    });
  });
}

export interface ReusingSynthOptions extends SynthOptions {
  /** Directories of the project that are not inputs of the app (the state directory). */
  readonly skip?: readonly string[];
  /** Synthesize even when nothing changed. @default false */
  readonly always?: boolean;
  /** Called before synthesizing, with why (what changed, or that there is no earlier assembly). */
  readonly onStart?: (why: string) => void;
}

/**
 * Synthesizes into `outdir` unless the assembly there was synthesized from the same inputs (synth-inputs.ts:
 * the project's files, the CDK's environment), in which case it is left as it is: a second start with no
 * change skips the 10-40 s of `cdk synth`. The inputs are recorded only once a synth has succeeded.
 */
export async function synthesizeUnlessUnchanged(options: ReusingSynthOptions): Promise<{ reused: true } | { reused: false; ms: number }> {
  const cwd = resolvePath(options.cwd ?? process.cwd());
  const outdir = resolvePath(cwd, options.outdir);
  const env = { ...process.env, ...options.env };
  const inputs = await synthInputs({ cwd, skip: [outdir, ...(options.skip ?? [])], env });
  const reasons = options.always ? ["asked to synthesize"] : await reasonsToSynthesize(outdir, inputs);
  if (reasons.length === 0) return { reused: true };
  options.onStart?.(describeChanges(reasons));
  const started = Date.now();
  await forgetInputs(outdir);
  await synthesize({ ...options, cwd, outdir });
  await recordInputs(outdir, inputs);
  return { reused: false, ms: Date.now() - started };
}

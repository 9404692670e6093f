/**
 * What `cdk synth` reads, fingerprinted, so that a start whose inputs have not changed deploys the assembly it
 * synthesized last time instead of spending 10-40 s synthesizing it again.
 *
 * The CDK app is arbitrary code: `infra/app.ts` imports the pipeline module, which imports `lib/`; esbuild
 * bundles whatever the handlers import; the app may read any file. So the inputs are, on purpose, more than
 * synthesis needs: every file of the project except what cannot be an input or is covered otherwise —
 * `node_modules` (its `.package-lock.json` stands for it, as `package-lock.json` does), version-control
 * directories, the assembly directories themselves and the state directory — plus the environment variables
 * and the user file (`~/.cdk.json`) the CDK reads, and the Node.js version. An edit anywhere (a test, a README)
 * costs one synthesis too many; nothing can make a stale assembly look current.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, readlink, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, relative, resolve as resolvePath, sep } from "node:path";
import { readAssembly } from "./assembly.js";

/** Where the fingerprint of the inputs an assembly was synthesized from is kept: in the assembly directory. */
export const SYNTH_INPUTS_FILE = "sparkless-synth-inputs.json";

export interface SynthInputs {
  readonly version: 1;
  /** sha256 of every input file, by path relative to the project (`/` separated). */
  readonly files: Readonly<Record<string, string>>;
  /** The environment synthesis sees (the variables that can change its output) and the tools' versions. */
  readonly settings: Readonly<Record<string, string>>;
}

export interface SynthInputsOptions {
  /** The CDK project (where `cdk.json` is). */
  readonly cwd: string;
  /** Directories that are not inputs (the state directory, the assembly being written). Absolute. */
  readonly skip?: readonly string[];
  /** What synthesis runs with (`process.env` plus the synth's extra variables). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Directory names never walked: dependencies (fingerprinted through the lock files) and version control. */
const SKIPPED_NAMES = new Set(["node_modules", ".git", ".hg", ".svn"]);
/** Variables that change what the app produces: CDK's own, the app's (SPARKLESS_*), the region and profile. */
const SETTING_VARIABLES = /^(CDK_|SPARKLESS_|JSII_)|^(AWS_REGION|AWS_DEFAULT_REGION|AWS_PROFILE|NODE_OPTIONS)$/;

function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The fingerprint of everything synthesizing the app in `cwd` may read. */
export async function synthInputs(options: SynthInputsOptions): Promise<SynthInputs> {
  const root = resolvePath(options.cwd);
  const skip = new Set((options.skip ?? []).map((d) => resolvePath(root, d)));
  const cdkOutput = await configuredOutput(root);
  if (cdkOutput) skip.add(cdkOutput);
  const files: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      const path = join(dir, e.name);
      if (skip.has(path)) continue;
      const key = relative(root, path).split(sep).join("/");
      if (e.isDirectory()) {
        if (!SKIPPED_NAMES.has(e.name)) await walk(path);
      } else if (e.isSymbolicLink()) {
        files[key] = `link:${await readlink(path)}`;
      } else if (e.isFile()) {
        files[key] = sha256(await readFile(path));
      }
    }
  };
  await walk(root);
  // What `npm install` put in node_modules, as npm records it.
  const installed = await readFile(join(root, "node_modules", ".package-lock.json")).catch(() => undefined);
  if (installed) files["node_modules/.package-lock.json"] = sha256(installed);

  const settings: Record<string, string> = { node: process.version };
  for (const [name, value] of Object.entries(options.env ?? process.env)) {
    if (value !== undefined && SETTING_VARIABLES.test(name)) settings[`env:${name}`] = value;
  }
  const userConfig = await readFile(join(homedir(), ".cdk.json")).catch(() => undefined);
  if (userConfig) settings["~/.cdk.json"] = sha256(userConfig);
  return { version: 1, files: sortedKeys(files), settings: sortedKeys(settings) };
}

/** `cdk.json`'s `output` (where `cdk synth` writes by default), absolute; undefined when it names none. */
async function configuredOutput(root: string): Promise<string | undefined> {
  try {
    const output = (JSON.parse(await readFile(join(root, "cdk.json"), "utf8")) as { output?: unknown }).output;
    return resolvePath(root, typeof output === "string" ? output : "cdk.out");
  } catch {
    return resolvePath(root, "cdk.out");
  }
}

function sortedKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** What differs between two fingerprints, in words (`lib/x.ts changed`, `env:CDK_CONTEXT_JSON changed`); empty when none. */
export function changedInputs(recorded: SynthInputs, current: SynthInputs): string[] {
  const changes: string[] = [];
  for (const [kind, before, now] of [
    ["file", recorded.files, current.files],
    ["setting", recorded.settings, current.settings],
  ] as const) {
    for (const [name, digest] of Object.entries(now)) {
      if (!(name in before)) changes.push(`${name} added`);
      else if (before[name] !== digest) changes.push(`${name} changed`);
    }
    for (const name of Object.keys(before)) if (!(name in now)) changes.push(`${name} ${kind === "file" ? "removed" : "unset"}`);
  }
  return changes;
}

/** The fingerprint recorded with the assembly in `outdir`, or undefined (none, or unreadable). */
export async function recordedInputs(outdir: string): Promise<SynthInputs | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(outdir, SYNTH_INPUTS_FILE), "utf8")) as SynthInputs;
    return parsed.version === 1 && typeof parsed.files === "object" && typeof parsed.settings === "object" ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Records, once synthesis has succeeded, what the assembly in `outdir` was made from (atomically). */
export async function recordInputs(outdir: string, inputs: SynthInputs): Promise<void> {
  const path = join(outdir, SYNTH_INPUTS_FILE);
  await writeFile(`${path}.tmp`, JSON.stringify(inputs) + "\n");
  await rename(`${path}.tmp`, path);
}

/** Before synthesizing into `outdir`: a synth that fails or is killed half-way must not leave the old record. */
export async function forgetInputs(outdir: string): Promise<void> {
  await rm(join(outdir, SYNTH_INPUTS_FILE), { force: true });
}

/**
 * Why the assembly in `outdir` cannot be reused for `current` inputs: the differences, or that there is no
 * record or no complete assembly. Empty when it can be deployed as it is.
 */
export async function reasonsToSynthesize(outdir: string, current: SynthInputs): Promise<string[]> {
  const recorded = await recordedInputs(outdir);
  if (!recorded) return ["no earlier synthesis recorded"];
  const changes = changedInputs(recorded, current);
  if (changes.length > 0) return changes;
  try {
    const assembly = await readAssembly(outdir);
    for (const asset of assembly.stacks.flatMap((s) => s.assets)) await stat(asset.path);
  } catch {
    return ["the assembly is incomplete"];
  }
  return [];
}

/** `lib/a.ts changed, infra/b.ts added and 3 more` */
export function describeChanges(changes: readonly string[], shown = 3): string {
  if (changes.length <= shown) return changes.join(", ");
  return `${changes.slice(0, shown).join(", ")} and ${changes.length - shown} more`;
}

/**
 * `.sparkless/stack.json`: what a running `sparkless local up` writes so that other commands (push, tail,
 * status, local down) find its endpoints and resources. The embedded stack (lib/local/stack) writes it; this
 * file only reads it, leniently: fields this CLI does not use may come and go.
 */
import { readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { CliError } from "./io.js";

/** A resource of the deployed template: its logical id and its physical name. */
export interface StackResource {
  readonly logicalId: string;
  readonly name: string;
  readonly arn?: string;
}

/** One pipeline of a stack, by the physical names of its stream, table and bucket. */
export interface StackPipeline {
  readonly name: string;
  readonly stream: string;
  readonly table: string;
  readonly bucket: string;
  /** When the stack writes it (the functions' SPARKLESS_BATCH_INTERVAL_MS); lets `status` count pending batches. */
  readonly batchIntervalMs?: number;
}

export interface StackFile {
  readonly pid: number;
  readonly startedAt: string;
  readonly region: string;
  readonly endpoints: { readonly kinesis: string; readonly dynamodb: string; readonly s3: string };
  /** What the emulators accept (s3rver takes one key only). @default - the SDK's own for loopback endpoints */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly stacks: ReadonlyArray<{
    readonly name: string;
    readonly streams: readonly StackResource[];
    readonly tables: readonly StackResource[];
    readonly buckets: readonly StackResource[];
    readonly functions: readonly StackResource[];
    readonly pipelines: readonly StackPipeline[];
  }>;
}

/** The state directory (`--state-dir`, default `.sparkless`) resolved against the working directory. */
export function stateDirOf(cwd: string, stateDir: string | undefined): string {
  const dir = stateDir ?? ".sparkless";
  return isAbsolute(dir) ? dir : resolve(cwd, dir);
}

export function stackFilePath(stateDir: string): string {
  return join(stateDir, "stack.json");
}

/** The stack file, or undefined when there is none. A file that is not JSON of the right shape is an error. */
export function readStackFile(stateDir: string): StackFile | undefined {
  const path = stackFilePath(stateDir);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CliError("BadStackFile", `${path} is not valid JSON (${(e as Error).message}); remove it if no stack is running`, 1, { path });
  }
  const f = parsed as Partial<StackFile>;
  if (typeof f.pid !== "number" || typeof f.endpoints !== "object" || f.endpoints === null || !Array.isArray(f.stacks)) {
    throw new CliError("BadStackFile", `${path} does not look like a sparkless stack file (needs pid, endpoints and stacks); remove it if no stack is running`, 1, { path });
  }
  return {
    pid: f.pid,
    startedAt: String(f.startedAt ?? ""),
    region: String(f.region ?? "us-east-1"),
    endpoints: f.endpoints,
    ...(f.credentials ? { credentials: f.credentials } : {}),
    stacks: f.stacks.map((s) => ({
      name: String(s.name),
      streams: s.streams ?? [],
      tables: s.tables ?? [],
      buckets: s.buckets ?? [],
      functions: s.functions ?? [],
      pipelines: (s.pipelines ?? []).map((p: StackPipeline) => ({
        ...p,
        // The contract names resources by physical name; accept a logical id as well.
        stream: physical(s.streams ?? [], p.stream),
        table: physical(s.tables ?? [], p.table),
        bucket: physical(s.buckets ?? [], p.bucket),
      })),
    })),
  };
}

function physical(resources: readonly StackResource[], ref: string): string {
  return resources.find((r) => r.logicalId === ref)?.name ?? ref;
}

/**
 * Whether the process that wrote the stack file is still there. On Linux, a pid that now belongs to a
 * process other than Node (the number was reused after a crash) counts as gone.
 */
export function isStackRunning(file: StackFile): boolean {
  try {
    process.kill(file.pid, 0);
  } catch (e) {
    // EPERM: it exists but is not ours to signal — still running.
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const cmdline = readFileSync(`/proc/${file.pid}/cmdline`, "utf8");
    return /node|tsx|sparkless/.test(cmdline);
  } catch {
    return true; // no /proc (macOS): the signal check is all there is
  }
}

/** The running local stack, or a clear error saying there is none. */
export function requireRunningStack(stateDir: string): StackFile {
  const file = readStackFile(stateDir);
  if (!file) {
    throw new CliError("NoLocalStack", `no local stack is running (no ${stackFilePath(stateDir)}): start one with \`sparkless local up\`, or name the resources and --endpoint`, 1);
  }
  if (!isStackRunning(file)) {
    throw new CliError("NoLocalStack", `no local stack is running: ${stackFilePath(stateDir)} names pid ${file.pid}, which has exited; start one with \`sparkless local up\``, 1);
  }
  return file;
}

export interface PipelineRef extends StackPipeline {
  readonly stack: string;
}

/** Every pipeline of the file, with the stack it belongs to. */
export function pipelinesOf(file: StackFile): PipelineRef[] {
  return file.stacks.flatMap((s) => s.pipelines.map((p) => ({ ...p, stack: s.name })));
}

/** The pipeline called `name`, or the only one when no name is given. */
export function choosePipeline(file: StackFile, name: string | undefined): PipelineRef {
  const all = pipelinesOf(file);
  if (name !== undefined) {
    const found = all.find((p) => p.name === name);
    if (!found) {
      throw new CliError("NoSuchPipeline", `the local stack has no pipeline "${name}"; it has: ${all.map((p) => p.name).join(", ") || "none"}`, 2, { pipeline: name });
    }
    return found;
  }
  if (all.length === 1) return all[0]!;
  if (all.length === 0) throw new CliError("NoPipeline", "the local stack has no pipeline", 1);
  throw new CliError("AmbiguousPipeline", `the local stack has ${all.length} pipelines (${all.map((p) => p.name).join(", ")}): choose one with --pipeline`, 2);
}

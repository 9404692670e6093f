/**
 * `<stateDir>/stack.json`: how other processes (the `sparkless push|tail|status|local` CLI) find a running local
 * stack — its endpoints and, per CloudFormation stack, the local names of its resources and pipelines. Written
 * when the stack is up, removed when it stops; a file whose `pid` is not alive is left over from a crash.
 *
 * One type for the writer (local-stack.ts) and every reader. A stack started before an upgrade is read by the
 * newer CLI, so readers take the file leniently: what only some versions write is optional, and a logical id
 * where a physical name is expected is accepted.
 */
import { readFileSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { IllegalStateError } from "../../lib/core/errors.js";

export const STACK_FILE_NAME = "stack.json";

/** A resource of the deployed template: its logical id and its physical (local) name. */
export interface StackResource {
  readonly logicalId: string;
  readonly name: string;
  readonly arn?: string;
}

/** One pipeline of a stack (one `SPARKLESS_PIPELINE` value among the functions' environments). */
export interface StackPipeline {
  readonly name: string;
  /** Physical names. */
  readonly stream: string;
  readonly table: string;
  readonly bucket: string;
  /** The functions' SPARKLESS_BATCH_INTERVAL_MS, when they have it: lets `status` count pending batches. */
  readonly batchIntervalMs?: number;
  /** Where its saveAsTextFiles outputs are: `s3://<bucket>/<outputPrefix>`. */
  readonly outputPrefix?: string;
}

export interface StackFileStack {
  readonly name: string;
  readonly streams: ReadonlyArray<StackResource & { readonly shards?: number }>;
  readonly tables: readonly StackResource[];
  readonly buckets: readonly StackResource[];
  readonly functions: ReadonlyArray<StackResource & { readonly handler?: string }>;
  readonly eventSourceMappings?: ReadonlyArray<{ readonly logicalId: string; readonly uuid: string; readonly functionName: string; readonly streamName: string }>;
  readonly schedules?: ReadonlyArray<{ readonly logicalId: string; readonly name: string; readonly scheduleExpression: string; readonly localIntervalMs: number; readonly functions: readonly string[] }>;
  readonly pipelines: readonly StackPipeline[];
}

export interface StackFile {
  readonly version?: 1;
  /** The process running the stack. */
  readonly pid: number;
  /** ISO-8601 */
  readonly startedAt: string;
  readonly region: string;
  /** Absolute paths. */
  readonly stateDir?: string;
  readonly cdkOut?: string;
  readonly endpoints: { readonly kinesis: string; readonly dynamodb: string; readonly s3: string };
  /** What to sign requests with (s3rver accepts only this key). @default - the SDK's own for loopback endpoints */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly stacks: readonly StackFileStack[];
  /** The local Kafka broker, when a template has Kafka event source mappings. */
  readonly kafka?: StackKafka;
}

/** The local broker standing in for the templates' Kafka clusters, its topics and the mappings reading them. */
export interface StackKafka {
  /** `127.0.0.1:port,...`: what `sparkless push --kafka` and a user's own clients connect to. */
  readonly bootstrapServers: string;
  readonly topics: ReadonlyArray<{ readonly name: string; readonly partitions: number }>;
  readonly mappings: ReadonlyArray<{ readonly stack: string; readonly logicalId: string; readonly uuid: string; readonly functionName: string; readonly topic: string; readonly consumerGroupId: string }>;
}

export function stackFilePath(stateDir: string): string {
  return join(stateDir, STACK_FILE_NAME);
}

/** True if a process with this id exists (signal 0 checks without signalling). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Whether the process that wrote the stack file is still there. On Linux, a pid that now belongs to a
 * process other than Node (the number was reused after a crash) counts as gone.
 */
export function isStackRunning(file: Pick<StackFile, "pid">): boolean {
  if (!isProcessAlive(file.pid)) return false;
  try {
    const cmdline = readFileSync(`/proc/${file.pid}/cmdline`, "utf8");
    return /node|tsx|sparkless/.test(cmdline);
  } catch {
    return true; // no /proc (macOS): the signal check is all there is
  }
}

/**
 * The stack file of `stateDir`, or undefined when there is none — or, unless `includeStale`, when its process
 * is gone (a crash left it). A file that is not a stack file is an error saying to remove it.
 *
 * @example
 * const running = readStackFile(".sparkless");
 * if (!running) throw new Error("no local stack is running: npm start");
 * const kinesis = kinesisClient({ endpoint: running.endpoints.kinesis, region: running.region });
 */
export function readStackFile(stateDir: string, options: { readonly includeStale?: boolean } = {}): StackFile | undefined {
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
    throw new IllegalStateError("BadStackFile", `${path} is not valid JSON (${(e as Error).message}); remove it if no stack is running`, { path });
  }
  const f = parsed as Partial<StackFile>;
  if (typeof f.pid !== "number" || typeof f.endpoints !== "object" || f.endpoints === null || !Array.isArray(f.stacks)) {
    throw new IllegalStateError("BadStackFile", `${path} does not look like a sparkless stack file (needs pid, endpoints and stacks); remove it if no stack is running`, { path });
  }
  const file: StackFile = {
    ...f,
    pid: f.pid,
    startedAt: String(f.startedAt ?? ""),
    region: String(f.region ?? "us-east-1"),
    endpoints: f.endpoints,
    stacks: f.stacks.map((s) => ({
      ...s,
      name: String(s.name),
      streams: s.streams ?? [],
      tables: s.tables ?? [],
      buckets: s.buckets ?? [],
      functions: s.functions ?? [],
      pipelines: (s.pipelines ?? []).map((p: StackPipeline) => ({
        ...p,
        stream: physical(s.streams ?? [], p.stream),
        table: physical(s.tables ?? [], p.table),
        bucket: physical(s.buckets ?? [], p.bucket),
      })),
    })),
  };
  if (!options.includeStale && !isStackRunning(file)) return undefined;
  return file;
}

function physical(resources: readonly StackResource[], ref: string): string {
  return resources.find((r) => r.logicalId === ref)?.name ?? ref;
}

/** Writes the file atomically (a reader sees the old one or the new one). */
export async function writeStackFile(stateDir: string, file: StackFile): Promise<string> {
  await mkdir(stateDir, { recursive: true });
  const path = stackFilePath(stateDir);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(file, null, 2) + "\n");
  await rename(tmp, path);
  return path;
}

/** Removes the file if it is this process' (never another running stack's). */
export async function removeStackFile(stateDir: string): Promise<void> {
  let current: StackFile | undefined;
  try {
    current = readStackFile(stateDir, { includeStale: true });
  } catch {
    current = undefined; // not a stack file: nobody's, remove it
  }
  if (current && current.pid !== process.pid) return;
  await rm(stackFilePath(stateDir), { force: true });
}

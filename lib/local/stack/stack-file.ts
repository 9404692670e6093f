/**
 * `<stateDir>/stack.json`: how other processes (the `sparkless push|tail|status` CLI) find a running local stack —
 * its endpoints and, per CloudFormation stack, the local names of its resources and pipelines. Written when the
 * stack is up, removed when it stops; a file whose `pid` is not alive is left over from a crash.
 */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const STACK_FILE_NAME = "stack.json";

export interface StackFileStack {
  readonly name: string;
  readonly streams: ReadonlyArray<{ readonly logicalId: string; readonly name: string; readonly arn: string; readonly shards: number }>;
  readonly tables: ReadonlyArray<{ readonly logicalId: string; readonly name: string; readonly arn: string }>;
  readonly buckets: ReadonlyArray<{ readonly logicalId: string; readonly name: string; readonly arn: string }>;
  readonly functions: ReadonlyArray<{ readonly logicalId: string; readonly name: string; readonly handler: string; readonly arn: string }>;
  readonly eventSourceMappings: ReadonlyArray<{ readonly logicalId: string; readonly uuid: string; readonly functionName: string; readonly streamName: string }>;
  readonly schedules: ReadonlyArray<{ readonly logicalId: string; readonly name: string; readonly scheduleExpression: string; readonly localIntervalMs: number; readonly functions: readonly string[] }>;
  /** One per `SPARKLESS_PIPELINE` value among the functions' environments. */
  readonly pipelines: ReadonlyArray<{
    readonly name: string;
    readonly stream: string;
    readonly table: string;
    readonly bucket: string;
    readonly batchIntervalMs?: number;
    /** Where its saveAsTextFiles outputs are: `s3://<bucket>/<outputPrefix>`. */
    readonly outputPrefix: string;
  }>;
}

export interface StackFile {
  readonly version: 1;
  /** The process running the stack. */
  readonly pid: number;
  /** ISO-8601 */
  readonly startedAt: string;
  readonly region: string;
  /** Absolute paths. */
  readonly stateDir: string;
  readonly cdkOut: string;
  readonly endpoints: { readonly kinesis: string; readonly dynamodb: string; readonly s3: string };
  /** What to sign requests with (s3rver accepts only this key). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly stacks: readonly StackFileStack[];
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
 * The stack file of `stateDir`, or undefined when there is none or its process is gone (a crash left it).
 *
 * @example
 * const running = await readStackFile(".sparkless");
 * if (!running) throw new Error("no local stack is running: npm start");
 * const kinesis = kinesisClient({ endpoint: running.endpoints.kinesis, region: running.region });
 */
export async function readStackFile(stateDir: string, options: { includeStale?: boolean } = {}): Promise<StackFile | undefined> {
  let text: string;
  try {
    text = await readFile(stackFilePath(stateDir), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  let file: StackFile;
  try {
    file = JSON.parse(text) as StackFile;
  } catch {
    return undefined; // half-written by a crashed process: treat as absent
  }
  if (!options.includeStale && !isProcessAlive(file.pid)) return undefined;
  return file;
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
  const current = await readStackFile(stateDir, { includeStale: true });
  if (current && current.pid !== process.pid) return;
  await rm(stackFilePath(stateDir), { force: true });
}

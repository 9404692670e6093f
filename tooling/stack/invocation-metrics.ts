/**
 * `<stateDir>/invocations.json`: each function's invocations, errors and timeouts since the stack started —
 * what CloudWatch's Invocations, Errors and Duration-at-timeout metrics say on AWS. The stack writes it; the
 * live line of `local up` and `sparkless status` both read it, so they report the same failures.
 */
import { readFileSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const INVOCATIONS_FILE = "invocations.json";

export interface FunctionInvocations {
  readonly name: string;
  readonly invocations: number;
  /** Invocations that failed other than by timing out (a thrown error, a crash, a module that did not load). */
  readonly errors: number;
  /** Invocations that ran out of their function's timeout. */
  readonly timeouts: number;
  /** The function's timeout, for "timed out after 60 s". */
  readonly timeoutMs?: number;
}

export interface InvocationsFile {
  /** The stack process that wrote it: a file of another (stopped) stack is not this one's. */
  readonly pid: number;
  readonly updatedAt: string;
  readonly functions: readonly FunctionInvocations[];
}

export function invocationsFilePath(stateDir: string): string {
  return join(stateDir, INVOCATIONS_FILE);
}

/** The counts written by the stack process `pid`, or undefined (none yet, another process', unreadable). */
export function readInvocations(stateDir: string, pid: number): InvocationsFile | undefined {
  try {
    const f = JSON.parse(readFileSync(invocationsFilePath(stateDir), "utf8")) as InvocationsFile;
    return f.pid === pid && Array.isArray(f.functions) ? f : undefined;
  } catch {
    return undefined;
  }
}

export interface InvocationRecorderOptions {
  readonly stateDir: string;
  /** The counts now (the function hosts' stats). */
  readonly counts: () => readonly FunctionInvocations[];
  /** @default 500 */
  readonly intervalMs?: number;
}

/** Writes the counts when they change, at most every `intervalMs`, and once more when stopped. */
export class InvocationRecorder {
  private timer: NodeJS.Timeout | undefined;
  private last = "";
  private writing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: InvocationRecorderOptions) {}

  /** Writes the counts (zeros at start: a reader then knows the file is this stack's), then keeps them current. */
  async start(): Promise<void> {
    await this.flush();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.writing;
    await this.flush();
  }

  /** Writes now if anything changed. */
  flush(): Promise<void> {
    // A failed write (a full disk) must not stop the stack, nor the writes after it: the next flush tries again.
    this.writing = this.writing.then(() => this.write()).catch(() => undefined);
    return this.writing;
  }

  private async write(): Promise<void> {
    const functions = this.o.counts();
    const key = JSON.stringify(functions);
    if (key === this.last) return;
    const file: InvocationsFile = { pid: process.pid, updatedAt: new Date().toISOString(), functions };
    const path = invocationsFilePath(this.o.stateDir);
    await mkdir(this.o.stateDir, { recursive: true });
    await writeFile(`${path}.tmp`, JSON.stringify(file) + "\n");
    await rename(`${path}.tmp`, path);
    this.last = key;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.flush().finally(() => this.schedule()), this.o.intervalMs ?? 500);
  }
}

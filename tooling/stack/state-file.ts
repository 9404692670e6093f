/**
 * A JSON file in the stack's state directory that the running stack keeps current and other commands
 * (`local status`, `status`, the live line) read: invocation counts (invocation-metrics.ts) and Kafka progress
 * (kafka-progress.ts). The file names the stack process that wrote it, so a reader ignores a stopped stack's.
 */
import { readFileSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** What every such file starts with. */
export interface StateFileHeader {
  /** The stack process that wrote it. */
  readonly pid: number;
  readonly updatedAt: string;
}

/** The file's content if the stack process `pid` wrote it and `valid` accepts it, else undefined (none yet, another process', unreadable). */
export function readStateFile<F extends StateFileHeader>(path: string, pid: number, valid: (file: F) => boolean): F | undefined {
  try {
    const f = JSON.parse(readFileSync(path, "utf8")) as F;
    return f.pid === pid && valid(f) ? f : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes `{ pid, updatedAt, ...body() }` to `<stateDir>/<name>` when the body changed, every `intervalMs`, and
 * once more when stopped; through a temporary file and a rename, so a reader never sees half a file.
 */
export class StateFileWriter<B extends object> {
  private timer: NodeJS.Timeout | undefined;
  private last = "";
  private writing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly stateDir: string,
    private readonly name: string,
    private readonly body: () => B,
    private readonly intervalMs: number,
  ) {}

  /** Writes now (a reader then knows the file is this stack's), then keeps it current. */
  async start(): Promise<void> {
    await this.flush();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.flush();
  }

  /** Writes now if anything changed. */
  flush(): Promise<void> {
    // A failed write (a full disk) must not stop the stack, nor the writes after it: the next flush tries again.
    this.writing = this.writing.then(() => this.write()).catch(() => undefined);
    return this.writing;
  }

  private async write(): Promise<void> {
    const body = this.body();
    const key = JSON.stringify(body);
    if (key === this.last) return;
    const path = join(this.stateDir, this.name);
    await mkdir(this.stateDir, { recursive: true });
    await writeFile(`${path}.tmp`, JSON.stringify({ pid: process.pid, updatedAt: new Date().toISOString(), ...body }) + "\n");
    await rename(`${path}.tmp`, path);
    this.last = key;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.flush().finally(() => this.schedule()), this.intervalMs);
  }
}

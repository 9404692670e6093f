/**
 * `<stateDir>/kafka-progress.json`: each Kafka mapping's per-partition progress (offset committed to the
 * consumer group, offset read, log end, records waiting) as its poller sees it. The stack writes it while it
 * runs; `sparkless local status` reads it.
 */
import { readFileSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { KafkaPartitionStats } from "../esm-poller/index.js";

export const KAFKA_PROGRESS_FILE = "kafka-progress.json";

export interface KafkaMappingProgress {
  readonly logicalId: string;
  readonly functionName: string;
  readonly topic: string;
  readonly consumerGroupId: string;
  readonly partitions: readonly KafkaPartitionStats[];
}

export interface KafkaProgressFile {
  /** The stack process that wrote it. */
  readonly pid: number;
  readonly updatedAt: string;
  readonly mappings: readonly KafkaMappingProgress[];
}

export function kafkaProgressPath(stateDir: string): string {
  return join(stateDir, KAFKA_PROGRESS_FILE);
}

/** The progress written by the stack process `pid`, or undefined (none, another process', unreadable). */
export function readKafkaProgress(stateDir: string, pid: number): KafkaProgressFile | undefined {
  try {
    const f = JSON.parse(readFileSync(kafkaProgressPath(stateDir), "utf8")) as KafkaProgressFile;
    return f.pid === pid && Array.isArray(f.mappings) ? f : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the progress when it changed, every `intervalMs`, and once more when stopped. */
export class KafkaProgressRecorder {
  private timer: NodeJS.Timeout | undefined;
  private last = "";
  private writing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly stateDir: string,
    private readonly progress: () => readonly KafkaMappingProgress[],
    private readonly intervalMs = 1_000,
  ) {}

  async start(): Promise<void> {
    await this.flush();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.flush();
  }

  private flush(): Promise<void> {
    // A failed write must not stop the stack; the next flush tries again.
    this.writing = this.writing.then(() => this.write()).catch(() => undefined);
    return this.writing;
  }

  private async write(): Promise<void> {
    const mappings = this.progress();
    const key = JSON.stringify(mappings);
    if (key === this.last) return;
    const file: KafkaProgressFile = { pid: process.pid, updatedAt: new Date().toISOString(), mappings };
    const path = kafkaProgressPath(this.stateDir);
    await mkdir(this.stateDir, { recursive: true });
    await writeFile(`${path}.tmp`, JSON.stringify(file) + "\n");
    await rename(`${path}.tmp`, path);
    this.last = key;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.flush().finally(() => this.schedule()), this.intervalMs);
  }
}

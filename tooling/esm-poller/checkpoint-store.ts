import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/** Where one shard's reading has got to. */
export interface ShardCheckpoint {
  /** The last sequence number processed (delivered or discarded); reading resumes after it. */
  readonly sequenceNumber?: string;
  /** The shard is closed and every record of it was processed: it is never read again. */
  readonly shardEnd?: boolean;
}

/**
 * Keeps each shard's position so a restarted poller resumes where the last one stopped, as Lambda's event source
 * mapping does. The poller writes after every processed batch, one write at a time per shard.
 */
export interface CheckpointStore {
  load(): Promise<ReadonlyMap<string, ShardCheckpoint>>;
  save(shardId: string, checkpoint: ShardCheckpoint): Promise<void>;
}

/** Positions held in memory: a new poller (or a restarted process) starts from `startingPosition` again. */
export class MemoryCheckpointStore implements CheckpointStore {
  private readonly positions = new Map<string, ShardCheckpoint>();

  async load(): Promise<ReadonlyMap<string, ShardCheckpoint>> {
    return new Map(this.positions);
  }

  async save(shardId: string, checkpoint: ShardCheckpoint): Promise<void> {
    this.positions.set(shardId, checkpoint);
  }
}

/**
 * Positions in one JSON file (`{ "shardId-000000000000": { "sequenceNumber": "..." } }`), replaced atomically
 * (write to a temporary file, then rename) so a crash leaves the old or the new content, never half of one. Use one
 * file per event source mapping.
 */
export class FileCheckpointStore implements CheckpointStore {
  private positions: Map<string, ShardCheckpoint> | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  async load(): Promise<ReadonlyMap<string, ShardCheckpoint>> {
    if (!this.positions) {
      let text: string | undefined;
      try {
        text = await readFile(this.path, "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
      this.positions = new Map(Object.entries(text ? (JSON.parse(text) as Record<string, ShardCheckpoint>) : {}));
    }
    return new Map(this.positions);
  }

  async save(shardId: string, checkpoint: ShardCheckpoint): Promise<void> {
    if (!this.positions) await this.load();
    this.positions!.set(shardId, checkpoint);
    const body = JSON.stringify(Object.fromEntries(this.positions!), null, 2);
    // Writes are chained: the file always ends with the latest state, never an older one written late.
    const write = this.writing.then(async () => {
      await mkdir(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.${process.pid}.tmp`;
      await writeFile(tmp, body);
      await rename(tmp, this.path);
    });
    this.writing = write.catch(() => {});
    await write;
  }
}

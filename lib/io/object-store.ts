/** The S3 side of a pipeline: outputs, dead letters, late records, checkpoints, spilled payloads. */
export interface ObjectStore {
  put(key: string, body: string | Uint8Array): Promise<void>;
  get(key: string): Promise<string | undefined>;
  /** Keys under a prefix, in key order. */
  list(prefix: string): Promise<string[]>;
  delete(keys: readonly string[]): Promise<void>;
}

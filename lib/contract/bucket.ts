/**
 * The bucket's layout: every object a function writes or reads is under one of these prefixes, followed by the
 * pipeline's name. The construct grants object permissions per prefix from {@link FUNCTIONS}, so a key outside
 * them is an AccessDenied on AWS: build keys with the functions below, never by hand.
 */
export const BUCKET_PREFIXES = {
  /** What the pipeline's sinks write (saveAsTextFiles and friends). */
  output: "output/",
  /** The graph record of each deployed graph and the metadata checkpoint. */
  checkpoint: "checkpoint/",
  /** Table payloads too large for an item (~350 KB), stored as objects the item points to. */
  spill: "spill/",
  /** Records that failed to decode or whose user function threw, and batches whose user function threw. */
  deadLetter: "dead-letter/",
  /** Event-time records older than the watermark. */
  late: "late/",
  /**
   * Records the event-source mapping discards (retries or age exhausted). Lambda chooses these keys —
   * `aws/lambda/<mapping UUID>/<shard id>/YYYY/MM/DD/<time>-<uuid>` — and offers no prefix setting.
   */
  esmFailures: "aws/lambda/",
} as const;

export type BucketPrefix = keyof typeof BUCKET_PREFIXES;

/** Where a sink's directory for `path` goes (`<dir>/part-00000` …, then `<dir>/_SUCCESS`). */
export function outputDirectory(pipeline: string, path: string): string {
  return `${BUCKET_PREFIXES.output}${pipeline}/${path.replace(/^(\.\/|\/)+/, "")}`;
}

/** The record of a deployed graph, read when a later deploy brings another graph. */
export function graphRecordKey(pipeline: string, hash: string): string {
  return `${BUCKET_PREFIXES.checkpoint}${pipeline}/graphs/${hash}.json`;
}

/** The metadata checkpoint (for people and tools; the truth is in the table). */
export function metadataCheckpointKey(pipeline: string): string {
  return `${BUCKET_PREFIXES.checkpoint}${pipeline}/metadata.json`;
}

/** A record that could not be processed; `id` is its sequence number (and sub-sequence number for a KPL record). */
export function deadLetterKey(pipeline: string, shardId: string, id: string): string {
  return `${BUCKET_PREFIXES.deadLetter}${pipeline}/${shardId}/${id}.json`;
}

/** A batch whose user function threw on the merged data. */
export function failedBatchKey(pipeline: string, time: number): string {
  return `${BUCKET_PREFIXES.deadLetter}${pipeline}/batches/${time}.json`;
}

/** An event-time record older than the watermark. */
export function lateRecordKey(pipeline: string, shardId: string, id: string): string {
  return `${BUCKET_PREFIXES.late}${pipeline}/${shardId}/${id}.json`;
}

/**
 * Spilled payloads: parts live until their batch is finalized (read once), node memory as long as its item.
 * The construct's lifecycle rules expire each kind under these prefixes.
 */
export const SPILL = {
  partsPrefix: (pipeline: string) => `${BUCKET_PREFIXES.spill}${pipeline}/parts/`,
  memoryPrefix: (pipeline: string) => `${BUCKET_PREFIXES.spill}${pipeline}/mem/`,
  /**
   * mapWithState values too large for their item, one object per (key, batch). Never expired by a rule: a key's
   * value lives as long as the key does, however long ago it was written.
   */
  keyedStatePrefix: (pipeline: string) => `${BUCKET_PREFIXES.spill}${pipeline}/kst/`,
  /** Days a spilled part is kept: the parts' item TTL (7 days), after which no finalizer reads it. */
  partsExpirationDays: 7,
  /** Days spilled node memory is kept: longer than the memory items' slack (14 days) past their last reader. */
  memoryExpirationDays: 30,
} as const;

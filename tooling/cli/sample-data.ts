/**
 * The example's sample input: a few short paragraphs about the thing itself, small enough to read in the
 * printed counts, with words that repeat across rounds so the window and the running totals visibly grow.
 * `local up` pushes them in rounds a few seconds apart; `run --generated` cycles through them.
 */
import { readFileSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Source } from "../../lib/io/source.js";

export const SAMPLE_PARAGRAPHS: readonly (readonly string[])[] = [
  [
    "A stream is a river of small records.",
    "Spark cuts the river into batches, one batch every interval.",
    "Each batch is counted as it comes.",
  ],
  [
    "Kinesis keeps the records in shards, in order.",
    "Lambda reads each shard and counts the words of its batch.",
    "The counts wait in DynamoDB until every shard has passed the batch.",
  ],
  [
    "Then one function finalizes the batch: it adds the counts, prints them and writes them to S3.",
    "A window adds the last three batches; the totals add every batch since the start.",
  ],
  [
    "Push your own lines with sparkless push and watch the counts change.",
    "Every word you push is counted once, even when a batch is retried.",
  ],
];

/** How many rounds `local up` pushes, and how far apart. */
export const SAMPLE_ROUND_INTERVAL_MS = 3_000;

/**
 * `<state dir>/sample.json`: how many rounds of the sample went into which stream. The sample is pushed once
 * per fresh state: a restart that pushed it again would grow the running totals by the sample each time.
 * `--fresh` wipes the state directory, this file with it.
 */
export const SAMPLE_RECORD_FILE = "sample.json";

export interface SampleRecord {
  readonly stream: string;
  /**
   * When the stream was created (DescribeStreamSummary): a stream created again (its emulator's data was
   * removed) is empty, and gets the sample again. Absent when the emulator does not say.
   */
  readonly streamCreated?: string;
  /** Rounds pushed, from the first. */
  readonly rounds: number;
}

export function readSampleRecord(stateDir: string): SampleRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(join(stateDir, SAMPLE_RECORD_FILE), "utf8")) as Partial<SampleRecord>;
    return typeof r.stream === "string" && typeof r.rounds === "number" ? (r as SampleRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** Written after each round (atomically), so a start stopped half-way pushes only the rounds still missing. */
export async function writeSampleRecord(stateDir: string, record: SampleRecord): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  const path = join(stateDir, SAMPLE_RECORD_FILE);
  await writeFile(`${path}.tmp`, JSON.stringify(record) + "\n");
  await rename(`${path}.tmp`, path);
}

/** Rounds of the sample `stream` (created at `streamCreated`) already holds, by the record. */
export function sampleRoundsPushed(record: SampleRecord | undefined, stream: string, streamCreated: string | undefined): number {
  if (!record || record.stream !== stream) return 0;
  if (record.streamCreated !== undefined && streamCreated !== undefined && record.streamCreated !== streamCreated) return 0;
  return record.rounds;
}

/** Endless lines: the sample paragraphs, over and over, `linesPerBatch` at each take (a queue of batches). */
export class SampleLinesSource implements Source<string> {
  readonly kind = "sampleLines";
  private next = 0;
  private readonly lines = SAMPLE_PARAGRAPHS.flat();

  constructor(private readonly linesPerBatch: number) {}

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  take(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.linesPerBatch; i++) out.push(this.lines[this.next++ % this.lines.length]!);
    return out;
  }
}

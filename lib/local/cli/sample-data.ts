/**
 * The example's sample input: a few short paragraphs about the thing itself, small enough to read in the
 * printed counts, with words that repeat across rounds so the window and the running totals visibly grow.
 * `local up` pushes them in rounds a few seconds apart; `run --generated` cycles through them.
 */
import type { Source } from "../../io/source.js";

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

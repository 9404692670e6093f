import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock } from "../exec/clock.js";
import { QueueSource } from "../io/queue-source.js";
import type { Pipeline } from "../api/define-pipeline.js";

/**
 * A pipeline on the local engine, batch by batch from `zero + B` to `end`, one array of `batches` per batch:
 * the files saveAsTextFiles writes (path -> text, parts joined) and the printed blocks. The reference a
 * serverless run of the same input must equal, whatever its shard split and retries.
 */
export async function runLocal<T>(
  pipeline: Pipeline<T>,
  batches: T[][],
  zero: number,
  end: number,
  checkpointDir = join(tmpdir(), `sparkless-${pipeline.name}-${process.pid}`),
): Promise<{ files: Map<string, string>; printed: string[] }> {
  const clock = new ManualClock(zero);
  const printed: string[] = [];
  const files = new Map<string, string>();
  const ssc = pipeline.on(new QueueSource(batches.map((b) => b.slice())), {
    clock,
    out: (t) => printed.push(t),
    writeBatch: async (path, partitions) => void files.set(path, partitions.map((p) => p.map((l) => l + "\n").join("")).join("")),
    checkpointDir,
  });
  await ssc.start();
  await clock.advance(end - zero);
  await ssc.stop();
  return { files, printed };
}

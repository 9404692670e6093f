import { randomUUID } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Time } from "../core/duration.js";

/**
 * Spark's output directory name for a batch: `prefix-<time ms>` or `prefix-<time ms>.suffix`
 * (DStream.saveAsTextFiles / StreamingContext's rddToFileName).
 */
export function batchOutputPath(prefix: string, suffix: string | undefined, time: Time): string {
  return suffix ? `${prefix}-${time.milliseconds}.${suffix}` : `${prefix}-${time.milliseconds}`;
}

/** Spark's part file name: `part-00000`. */
export function partFileName(index: number): string {
  return `part-${String(index).padStart(5, "0")}`;
}

/**
 * Writes one batch's directory atomically: the parts and `_SUCCESS` go into a hidden temporary directory
 * beside the target, which is then renamed into place. A reader sees no directory or a whole one; a
 * re-run of the batch (after recovery) replaces the directory instead of adding to it.
 */
export async function writeBatchDirectory(target: string, partitions: ReadonlyArray<ReadonlyArray<string>>): Promise<void> {
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const tmp = `${parent}/._temporary-${randomUUID()}`;
  await mkdir(tmp);
  try {
    await Promise.all(
      partitions.map((lines, i) => writeFile(`${tmp}/${partFileName(i)}`, lines.length ? lines.join("\n") + "\n" : "")),
    );
    await writeFile(`${tmp}/_SUCCESS`, "");
    const old = `${parent}/._replaced-${randomUUID()}`;
    const replaced = await rename(target, old).then(
      () => true,
      (e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT") return false;
        throw e;
      },
    );
    await rename(tmp, target);
    if (replaced) await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

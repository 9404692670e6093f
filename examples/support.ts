// What the example programs share and a Spark program would not need: how a file knows it was run from the
// command line, where print() writes by default, and a throwaway checkpoint directory.
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ManualClock } from "sparkless";

/** What every window example takes, so a test can drive it and read what it printed. */
export interface ExampleOptions {
  /** The clock the batches run on; the program advances it. @default - a new ManualClock at 0 */
  readonly clock?: ManualClock;
  /** Where print() (and the foreachRDD example) writes. @default - process.stdout */
  readonly out?: (text: string) => void;
  /** How far the program advances the clock: the batches of 1 s, 2 s, … up to this many seconds run. @default 12 */
  readonly seconds?: number;
}

/** The seed's input: the numbers 1..100, one per batch (one array = one batch, as queueStream takes them). */
export function oneToHundred(): number[][] {
  return Array.from({ length: 100 }, (_, i) => [i + 1]);
}

export const stdout = (text: string): void => void process.stdout.write(text);

/** True when `moduleUrl` (pass `import.meta.url`) is the file given to `tsx` / `node` on the command line. */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  const real = (path: string) => {
    try {
      return realpathSync(path);
    } catch {
      return path;
    }
  };
  return real(fileURLToPath(moduleUrl)) === real(entry);
}

/** A fresh checkpoint directory under the OS temp dir, and how to remove it. */
export function tempCheckpointDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "sparkless-example-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A small, fast, seeded PRNG (mulberry32): the same seed gives the same numbers on every platform. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

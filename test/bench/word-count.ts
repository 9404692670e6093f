/**
 * Word count on the local engine against the same split-and-count as a hand-written loop over a
 * `Map<string, number>`: one batch of 1,000,000 lines of 5–8 words from a vocabulary of 1000, fed through
 * queueStream on a ManualClock; timed from the clock's advance to the end of the batch.
 */
import { mulberry32 } from "../../examples/support.js";
import { ManualClock, Seconds, StreamingContext } from "../../lib/index.js";
import type { Benchmark, BenchmarkFactory } from "./harness.js";

const VOCABULARY_SIZE = 1000;
const FULL_LINES = 1_000_000;


/** `n` lines of 5–8 words, each word one of `VOCABULARY_SIZE` made-up words of 3–9 letters (seeded). */
export function generateLines(n: number, seed = 1): { lines: string[]; words: number } {
  const random = mulberry32(seed);
  const letters = "abcdefghijklmnopqrstuvwxyz";
  const vocabulary = new Set<string>();
  while (vocabulary.size < VOCABULARY_SIZE) {
    let w = "";
    const len = 3 + Math.floor(random() * 7);
    for (let i = 0; i < len; i++) w += letters[Math.floor(random() * 26)];
    vocabulary.add(w);
  }
  const vocab = [...vocabulary];
  const lines: string[] = new Array(n);
  let words = 0;
  for (let i = 0; i < n; i++) {
    const k = 5 + Math.floor(random() * 4);
    const parts: string[] = new Array(k);
    for (let j = 0; j < k; j++) parts[j] = vocab[Math.floor(random() * vocab.length)]!;
    lines[i] = parts.join(" ");
    words += k;
  }
  return { lines, words };
}

/** The engine: one batch holding every line, `flatMap(split).map((w, 1)).reduceByKey(+)`, collected. */
export async function engineWordCount(lines: string[]): Promise<{ ms: number; result: Map<string, number> }> {
  const clock = new ManualClock();
  const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, out: () => undefined });
  let counts: Array<[string, number]> = [];
  ssc
    .queueStream([lines])
    .flatMap((line) => line.split(" "))
    .map((word) => [word, 1] as [string, number])
    .reduceByKey((a, b) => a + b)
    .foreachRDD((rdd) => void (counts = rdd.collect()));
  await ssc.start();
  const start = performance.now();
  await clock.advance(Seconds(1));
  const ms = performance.now() - start;
  await ssc.stop();
  return { ms, result: new Map(counts) };
}

/** The same work by hand: split every line, count in a Map. */
export async function handWordCount(lines: string[]): Promise<{ ms: number; result: Map<string, number> }> {
  const start = performance.now();
  const counts = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    const words = lines[i]!.split(" ");
    for (let j = 0; j < words.length; j++) {
      const w = words[j]!;
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  }
  return { ms: performance.now() - start, result: counts };
}

export const wordCount: BenchmarkFactory = ({ scale }): Benchmark => {
  const n = Math.max(1, Math.round(FULL_LINES * scale));
  const { lines, words } = generateLines(n);
  return {
    name: "word-count",
    title: `${n.toLocaleString("en")} lines (${words.toLocaleString("en")} words, vocabulary ${VOCABULARY_SIZE}) in one batch`,
    units: { lines: n, words },
    variants: [
      { name: "hand loop (Map)", run: () => handWordCount(lines) },
      { name: "engine reduceByKey", run: () => engineWordCount(lines) },
    ],
    check: (results) => {
      const [hand, engine] = results as Array<Map<string, number>>;
      const same = hand!.size === engine!.size && [...hand!].every(([w, c]) => engine!.get(w) === c);
      if (!same) throw new Error("word-count: the engine's counts differ from the hand loop's");
    },
  };
};

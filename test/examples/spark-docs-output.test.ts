/**
 * The example programs print what Spark Streaming prints for the same program.
 *
 * Every expected text below is worked out by hand from Spark's semantics, not by running this code:
 * - a ManualClock at 0 and a 1 s batch interval give zeroTime 0 and batch times 1000, 2000, … ms;
 * - `queueStream` of [1], [2], …, [100] gives batch k*1000 the number k, then empty batches (Spark's
 *   QueueInputDStream returns `sc.emptyRDD` once the queue is drained);
 * - a windowed stream has an RDD only at multiples of its slide (2 s here), holding the batches in (T - L, T];
 *   nothing is printed at the other batch times, and the first window is partial;
 * - `print()` writes a rule of 43 dashes, `Time: <ms> ms`, a rule, up to 10 elements (`...` when there are
 *   more) and a blank line; a pair prints as Scala's Tuple2: `(1,2)`;
 * - the order of elements after a shuffle (reduceByKey and everything built on it) is the hash partitioner's,
 *   which Spark does not define: for those programs a block's header is compared exactly and its element
 *   lines as a sorted list (`sameBlocks`). The window and reduce outputs have a defined order
 *   (UnionRDD keeps its parents' partition order; a reduce has one element) and are compared as exact text.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ManualClock } from "sparkless";
import { run as countByValueAndWindow } from "../../examples/count-by-value-and-window.js";
import { run as countByWindow } from "../../examples/count-by-window.js";
import { run as foreachRDD } from "../../examples/foreach-rdd.js";
import { run as reduceByKeyAndWindow } from "../../examples/reduce-by-key-and-window.js";
import { run as reduceByWindow } from "../../examples/reduce-by-window.js";
import { run as start } from "../../examples/start.js";
import type { ExampleOptions } from "../../examples/support.js";
import { run as windowPrint } from "../../examples/window-print.js";
import { generateLines, VOCABULARY } from "../../examples/word-count.js";

type Program = (options: ExampleOptions) => Promise<unknown>;

/** Runs a program on a ManualClock at 0 for `seconds` and returns everything it printed. */
async function printedBy(program: Program, seconds = 12): Promise<string> {
  let text = "";
  await program({ clock: new ManualClock(), out: (t) => void (text += t), seconds });
  return text;
}

/** The blocks from the one whose header says `Time: <ms> ms` on (to look at the end of a long run). */
function fromTime(text: string, ms: number): string {
  const at = text.indexOf(`-------------------------------------------\nTime: ${ms} ms\n`);
  expect(at, `no block for ${ms} ms`).toBeGreaterThanOrEqual(0);
  return text.slice(at);
}

/** print() output as blocks: the exact header and the element lines. */
function blocks(text: string): Array<{ header: string; elements: string[] }> {
  const rule = "-------------------------------------------";
  const out: Array<{ header: string; elements: string[] }> = [];
  const lines = text.split("\n");
  let i = 0;
  while (i < lines.length) {
    if (lines[i] === "" && i === lines.length - 1) break; // the final newline
    expect(lines[i], `line ${i + 1} should open a block`).toBe(rule);
    expect(lines[i + 2], `line ${i + 3} should close the header`).toBe(rule);
    const header = lines[i + 1]!;
    const elements: string[] = [];
    i += 3;
    while (i < lines.length && lines[i] !== "") elements.push(lines[i++]!);
    expect(i < lines.length, "a block ends with a blank line").toBe(true);
    i++;
    out.push({ header, elements });
  }
  return out;
}

/** Same blocks in the same order, each with the same header and the same element lines in any order. */
function sameBlocks(actual: string, expected: string): void {
  const sorted = (text: string) => blocks(text).map((b) => ({ header: b.header, elements: [...b.elements].sort() }));
  expect(sorted(actual)).toEqual(sorted(expected));
}

describe("the window programs of Spark's documentation print what Spark prints", () => {
  it("window(Seconds(3), Seconds(2)).print()", async () => {
    // Window (T - 3 s, T] at T = 2 s, 4 s, …: the first is partial (batch 0 does not exist).
    expect(await printedBy(windowPrint)).toBe(`-------------------------------------------
Time: 2000 ms
-------------------------------------------
1
2

-------------------------------------------
Time: 4000 ms
-------------------------------------------
2
3
4

-------------------------------------------
Time: 6000 ms
-------------------------------------------
4
5
6

-------------------------------------------
Time: 8000 ms
-------------------------------------------
6
7
8

-------------------------------------------
Time: 10000 ms
-------------------------------------------
8
9
10

-------------------------------------------
Time: 12000 ms
-------------------------------------------
10
11
12

`);
  });

  it("window(…).print() once the queue is drained: the windows empty out, each still prints its header", async () => {
    expect(fromTime(await printedBy(windowPrint, 106), 100000)).toBe(`-------------------------------------------
Time: 100000 ms
-------------------------------------------
98
99
100

-------------------------------------------
Time: 102000 ms
-------------------------------------------
100

-------------------------------------------
Time: 104000 ms
-------------------------------------------

-------------------------------------------
Time: 106000 ms
-------------------------------------------

`);
  });

  it("countByWindow(Seconds(3), Seconds(2)).print()", async () => {
    // Spark: map(_ => 1L).reduceByWindow(_ + _, _ - _, 3 s, 2 s) — incremental:
    // @2000 = 1 + 1 = 2; @4000 = 2 - [1000] + [3000, 4000] = 3; @6000 = 3 - [2000, 3000] + [5000, 6000] = 3; …
    expect(await printedBy(countByWindow)).toBe(`-------------------------------------------
Time: 2000 ms
-------------------------------------------
2

-------------------------------------------
Time: 4000 ms
-------------------------------------------
3

-------------------------------------------
Time: 6000 ms
-------------------------------------------
3

-------------------------------------------
Time: 8000 ms
-------------------------------------------
3

-------------------------------------------
Time: 10000 ms
-------------------------------------------
3

-------------------------------------------
Time: 12000 ms
-------------------------------------------
3

`);
  });

  it("countByWindow keeps printing once the data has left the window: 1, then 0 for ever", async () => {
    // @102000 = 3 - [98000, 99000] + [101000, 102000 (empty)] = 1; @104000 = 1 - [100000, 101000] = 0; the key
    // stays (no filter function), so Spark keeps printing 0.
    expect(fromTime(await printedBy(countByWindow, 106), 100000)).toBe(`-------------------------------------------
Time: 100000 ms
-------------------------------------------
3

-------------------------------------------
Time: 102000 ms
-------------------------------------------
1

-------------------------------------------
Time: 104000 ms
-------------------------------------------
0

-------------------------------------------
Time: 106000 ms
-------------------------------------------
0

`);
  });

  it("reduceByWindow(max, Seconds(3), Seconds(2)).print()", async () => {
    // Spark: reduce(max).window(3 s, 2 s).reduce(max): the largest of (T - 3 s, T].
    expect(await printedBy(reduceByWindow)).toBe(`-------------------------------------------
Time: 2000 ms
-------------------------------------------
2

-------------------------------------------
Time: 4000 ms
-------------------------------------------
4

-------------------------------------------
Time: 6000 ms
-------------------------------------------
6

-------------------------------------------
Time: 8000 ms
-------------------------------------------
8

-------------------------------------------
Time: 10000 ms
-------------------------------------------
10

-------------------------------------------
Time: 12000 ms
-------------------------------------------
12

`);
  });

  it("reduceByWindow without an inverse: a window with no data has no element", async () => {
    expect(fromTime(await printedBy(reduceByWindow, 106), 100000)).toBe(`-------------------------------------------
Time: 100000 ms
-------------------------------------------
100

-------------------------------------------
Time: 102000 ms
-------------------------------------------
100

-------------------------------------------
Time: 104000 ms
-------------------------------------------

-------------------------------------------
Time: 106000 ms
-------------------------------------------

`);
  });

  it("map(v => (v % 2, 1)).reduceByKeyAndWindow(_ + _, Seconds(4), Seconds(2)).print()", async () => {
    // (T - 4 s, T]: @2000 = {1, 2}: one odd, one even; from @4000 on, four numbers: two of each.
    sameBlocks(
      await printedBy(reduceByKeyAndWindow),
      `-------------------------------------------
Time: 2000 ms
-------------------------------------------
(1,1)
(0,1)

-------------------------------------------
Time: 4000 ms
-------------------------------------------
(1,2)
(0,2)

-------------------------------------------
Time: 6000 ms
-------------------------------------------
(1,2)
(0,2)

-------------------------------------------
Time: 8000 ms
-------------------------------------------
(1,2)
(0,2)

-------------------------------------------
Time: 10000 ms
-------------------------------------------
(1,2)
(0,2)

-------------------------------------------
Time: 12000 ms
-------------------------------------------
(1,2)
(0,2)

`,
    );
  });

  it("reduceByKeyAndWindow without an inverse: keys leave with their data", async () => {
    // @102000 = (98000, 102000] = {99, 100}; @104000 = (100000, 104000] holds no data at all.
    sameBlocks(
      fromTime(await printedBy(reduceByKeyAndWindow, 106), 102000),
      `-------------------------------------------
Time: 102000 ms
-------------------------------------------
(1,1)
(0,1)

-------------------------------------------
Time: 104000 ms
-------------------------------------------

-------------------------------------------
Time: 106000 ms
-------------------------------------------

`,
    );
  });

  it("countByValueAndWindow(Seconds(3), Seconds(2)).print()", async () => {
    // Spark: map((_, 1L)).reduceByKeyAndWindow(_ + _, _ - _, 3 s, 2 s, n, _._2 != 0L). The previous window is
    // the filtered output; @4000: {(1,1), (2,1)} - [1000: (1,1)] + [(3,1), (4,1)] = (1,0) (2,1) (3,1) (4,1),
    // and the filter drops (1,0). So every window lists exactly its own numbers, each once.
    sameBlocks(
      await printedBy(countByValueAndWindow),
      `-------------------------------------------
Time: 2000 ms
-------------------------------------------
(1,1)
(2,1)

-------------------------------------------
Time: 4000 ms
-------------------------------------------
(2,1)
(3,1)
(4,1)

-------------------------------------------
Time: 6000 ms
-------------------------------------------
(4,1)
(5,1)
(6,1)

-------------------------------------------
Time: 8000 ms
-------------------------------------------
(6,1)
(7,1)
(8,1)

-------------------------------------------
Time: 10000 ms
-------------------------------------------
(8,1)
(9,1)
(10,1)

-------------------------------------------
Time: 12000 ms
-------------------------------------------
(10,1)
(11,1)
(12,1)

`,
    );
  });

  it("countByValueAndWindow once the data has left: counts of 0 are filtered out, leaving empty blocks", async () => {
    // @102000 = {98, 99, 100} - [98000, 99000] = (98,0) (99,0) (100,1) -> (100,1); @104000: (100,0) -> nothing.
    sameBlocks(
      fromTime(await printedBy(countByValueAndWindow, 106), 100000),
      `-------------------------------------------
Time: 100000 ms
-------------------------------------------
(98,1)
(99,1)
(100,1)

-------------------------------------------
Time: 102000 ms
-------------------------------------------
(100,1)

-------------------------------------------
Time: 104000 ms
-------------------------------------------

-------------------------------------------
Time: 106000 ms
-------------------------------------------

`,
    );
  });

  it("window(Seconds(3), Seconds(2)).foreachRDD((rdd, time) => console.log(time.milliseconds, rdd.collect()))", async () => {
    // Called at every slide with the window's RDD, an empty one included (Spark's ForEachDStream makes a job
    // whenever the parent has an RDD).
    expect(await printedBy(foreachRDD)).toBe(`2000 [ 1, 2 ]
4000 [ 2, 3, 4 ]
6000 [ 4, 5, 6 ]
8000 [ 6, 7, 8 ]
10000 [ 8, 9, 10 ]
12000 [ 10, 11, 12 ]
`);
    expect(fromLine(await printedBy(foreachRDD, 106), "100000")).toBe(`100000 [ 98, 99, 100 ]
102000 [ 100 ]
104000 []
106000 []
`);
  });
});

function fromLine(text: string, prefix: string): string {
  return text.slice(text.indexOf(`\n${prefix} `) + 1);
}

describe("the example programs run from the command line", () => {
  const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));
  const root = fileURLToPath(new URL("../..", import.meta.url));

  it.each([
    ["window-print", windowPrint],
    ["count-by-window", countByWindow],
    ["reduce-by-window", reduceByWindow],
    ["reduce-by-key-and-window", reduceByKeyAndWindow],
    ["count-by-value-and-window", countByValueAndWindow],
    ["foreach-rdd", foreachRDD],
  ] as Array<[string, Program]>)("npx tsx examples/%s.ts prints its first 12 s, as run() does, and exits 0", async (file, program) => {
    const cli = spawnSync(tsx, [`examples/${file}.ts`], { cwd: root, encoding: "utf8", timeout: 20_000 });
    expect(cli.stderr).toBe("");
    expect(cli.status).toBe(0);
    expect(cli.stdout).toBe(await printedBy(program));
  });
});

describe("the word count of npm start", () => {
  /** Word counts of some lines, by a plain loop. */
  function count(lines: string[]): Map<string, number> {
    const counts = new Map<string, number>();
    for (const line of lines) for (const word of line.split(" ")) counts.set(word, (counts.get(word) ?? 0) + 1);
    return counts;
  }
  const asLines = (counts: Map<string, number>) => [...counts].map(([w, n]) => `(${w},${n})`).sort();

  it("prints, per batch, that batch's counts, the last 3 s's counts and the running totals", async () => {
    let text = "";
    const result = await start({ clock: new ManualClock(), out: (t) => void (text += t) });

    // The input, batch by batch, as the generator makes it (5 batches of 4 lines, seed 42: start.ts's defaults).
    const input = Array.from({ length: 5 }, (_, i) => generateLines(42, i, 4));
    const printed = blocks(text);
    expect(result.batches).toBe(5);
    expect(printed.map((b) => b.header)).toEqual(
      [1000, 2000, 3000, 4000, 5000].flatMap((ms) => [`Time: ${ms} ms`, `Time: ${ms} ms`, `Time: ${ms} ms`]),
    );
    for (let i = 0; i < 5; i++) {
      const [batch, window, totals] = printed.slice(3 * i, 3 * i + 3).map((b) => [...b.elements].sort());
      expect(batch, `batch ${i + 1}`).toEqual(asLines(count(input[i]!)));
      expect(window, `window at batch ${i + 1}`).toEqual(asLines(count(input.slice(Math.max(0, i - 2), i + 1).flat())));
      expect(totals, `totals at batch ${i + 1}`).toEqual(asLines(count(input.slice(0, i + 1).flat())));
    }
    const expectedTotals = count(input.flat());
    expect(new Map(result.totals)).toEqual(expectedTotals);
    // Ten words and print()'s ten lines: every total is on screen.
    expect(expectedTotals.size).toBeLessThanOrEqual(VOCABULARY.length);
  });

  it("drops a word from the window once it has not been seen for 3 s (the filter function), keeps it in the totals", async () => {
    // With one short line a batch, words come and go: check every window against a plain recount over more batches.
    let text = "";
    const batches = 12;
    await start({ clock: new ManualClock(), out: (t) => void (text += t), batches, linesPerBatch: 1, seed: 7 });
    const input = Array.from({ length: batches }, (_, i) => generateLines(7, i, 1));
    const windows = blocks(text).filter((_, k) => k % 3 === 1).map((b) => [...b.elements].sort());
    const counts = input.map((_, i) => count(input.slice(Math.max(0, i - 2), i + 1).flat()));
    // The input does make words leave: some window lacks a word that the one before it had.
    expect(counts.some((w, i) => i > 0 && [...counts[i - 1]!.keys()].some((word) => !w.has(word)))).toBe(true);
    expect(windows).toEqual(counts.map(asLines));
  });

  it("examples/start.ts runs on the system clock and exits 0", () => {
    const root = fileURLToPath(new URL("../..", import.meta.url));
    const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));
    const cli = spawnSync(tsx, ["examples/start.ts", "--batches", "2", "--lines", "1"], { cwd: root, encoding: "utf8", timeout: 20_000 });
    expect(cli.status).toBe(0);
    expect(cli.stderr).toContain("stopped after 2 batch(es)");
    const headers = blocks(cli.stdout).map((b) => b.header);
    expect(headers).toHaveLength(6);
    expect(headers[0]).toMatch(/^Time: \d+000 ms$/);
  });

  it("fails if --batches is not a positive integer, with the usage", () => {
    const root = fileURLToPath(new URL("../..", import.meta.url));
    const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));
    const cli = spawnSync(tsx, ["examples/start.ts", "--batches", "0"], { cwd: root, encoding: "utf8", timeout: 20_000 });
    expect(cli.status).toBe(2);
    expect(cli.stderr).toContain('--batches must be a positive integer, got "0"');
    expect(cli.stderr).toContain("usage: npx tsx examples/start.ts");
  });
});

/**
 * Output operations: print, saveAsTextFiles, foreachRDD — after Spark's DStream.print, DStream.saveAsTextFiles
 * (rddToFileName) and the JobScheduler's order of output jobs.
 *
 * DStream.print(num) prints, for every batch time at which the stream has an RDD:
 *   println("-------------------------------------------")   // 43 dashes
 *   println(s"Time: $time")                                  // Time.toString = "<ms> ms"
 *   println("-------------------------------------------")
 *   firstNum.take(num).foreach(println)                      // firstNum = rdd.take(num + 1)
 *   if (firstNum.length > num) println("...")
 *   println()
 * Tuples print as Scala's Tuple.toString: (a,1), nested (a,(1,x)).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Seconds, type DStream } from "../../../lib/index.js";
import { atTimes, runBatches, withContext } from "../../support/batch-table.js";

const DASHES = "-".repeat(43);
const block = (ms: number, lines: string[]) => [DASHES, `Time: ${ms} ms`, DASHES, ...lines, ""].join("\n") + "\n";

/** What print() writes, through the context's `out` (default process.stdout). */
async function printed(input: unknown[][], build: (s: DStream<any>) => void, batches: number): Promise<string> {
  const chunks: string[] = [];
  await withContext({ out: (text) => void chunks.push(text) }, async ({ ssc, clock }) => {
    build(ssc.queueStream(input.map((b) => [...b])));
    await ssc.start();
    await clock.advance(Seconds(batches));
  });
  return chunks.join("");
}

describe("print (Spark DStream.print)", () => {
  it.each<{ name: string; input: unknown[][]; build: (s: DStream<any>) => void; batches: number; expected: string }>([
    {
      name: "prints a block per batch, an empty batch included",
      input: [[1, 2, 3], []],
      build: (s) => s.print(),
      batches: 2,
      expected: block(1000, ["1", "2", "3"]) + block(2000, []),
    },
    {
      name: "print(n) shows n elements and ... when there are more",
      input: [[1, 2, 3], [1, 2]],
      build: (s) => s.print(2),
      batches: 2,
      expected: block(1000, ["1", "2", "..."]) + block(2000, ["1", "2"]),
    },
    {
      name: "print() shows 10 elements by default",
      input: [Array.from({ length: 11 }, (_, i) => i)],
      build: (s) => s.print(),
      batches: 1,
      expected: block(1000, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "..."]),
    },
    {
      name: "tuples print as (a,1), nested recursively; strings print bare",
      input: [[["a", 1], ["b", [1, "x"]], "plain"]],
      build: (s) => s.print(),
      batches: 1,
      expected: block(1000, ["(a,1)", "(b,(1,x))", "plain"]),
    },
    {
      name: "a windowed stream prints only at slide times",
      input: [[1], [2], [3]],
      build: (s) => s.window(Seconds(2), Seconds(2)).print(),
      batches: 4,
      expected: block(2000, ["1", "2"]) + block(4000, ["3"]),
    },
  ])("$name", async ({ input, build, batches, expected }) => {
    expect(await printed(input, build, batches)).toBe(expected);
  });

  it("writes to process.stdout by default", async () => {
    const chunks: string[] = [];
    const write = vi.spyOn(process.stdout, "write").mockImplementation(((chunk: unknown) => {
      chunks.push(String(chunk));
      return true;
    }) as typeof process.stdout.write);
    try {
      await withContext({}, async ({ ssc, clock }) => {
        ssc.queueStream([["x"]]).print();
        await ssc.start();
        await clock.advance(Seconds(1));
      });
    } finally {
      write.mockRestore();
    }
    expect(chunks.join("")).toBe(block(1000, ["x"]));
  });
});

describe("saveAsTextFiles (Spark rddToFileName: prefix-<ms>[.suffix])", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sparkless-save-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The lines of all part files of one output directory, part files in name order. */
  const linesOf = (out: string) =>
    readdirSync(out)
      .filter((f) => f.startsWith("part-"))
      .sort()
      .flatMap((f) => readFileSync(join(out, f), "utf8").split("\n").filter((l) => l !== ""));

  async function save(input: unknown[][], build: (s: DStream<any>) => void, batches: number) {
    await withContext({}, async ({ ssc, clock }) => {
      build(ssc.queueStream(input.map((b) => [...b])));
      await ssc.start();
      await clock.advance(Seconds(batches));
    });
  }

  it("writes prefix-<ms>.suffix/part-00000 and _SUCCESS for every batch, an empty one included", async () => {
    const prefix = join(dir, "out");
    await save([[["a", 1], ["b", 2]], []], (s) => s.saveAsTextFiles(prefix, "txt"), 2);
    expect(readdirSync(dir).sort()).toEqual(["out-1000.txt", "out-2000.txt"]);
    expect(existsSync(join(dir, "out-1000.txt", "part-00000"))).toBe(true);
    expect(existsSync(join(dir, "out-1000.txt", "_SUCCESS"))).toBe(true);
    expect(linesOf(join(dir, "out-1000.txt"))).toEqual(["(a,1)", "(b,2)"]);
    expect(existsSync(join(dir, "out-2000.txt", "_SUCCESS"))).toBe(true);
    expect(linesOf(join(dir, "out-2000.txt"))).toEqual([]);
  });

  it("without a suffix the directory is prefix-<ms>", async () => {
    const prefix = join(dir, "words");
    await save([["x", "y"]], (s) => s.saveAsTextFiles(prefix), 1);
    expect(readdirSync(dir)).toEqual(["words-1000"]);
    expect(linesOf(join(dir, "words-1000"))).toEqual(["x", "y"]);
  });

  it("a windowed stream writes only at slide times", async () => {
    const prefix = join(dir, "w");
    await save([[1], [2], [3]], (s) => s.window(Seconds(2), Seconds(2)).saveAsTextFiles(prefix, "out"), 4);
    expect(readdirSync(dir).sort()).toEqual(["w-2000.out", "w-4000.out"]);
    expect(linesOf(join(dir, "w-2000.out"))).toEqual(["1", "2"]);
    expect(linesOf(join(dir, "w-4000.out"))).toEqual(["3"]);
  });
});

describe("foreachRDD", () => {
  it("is called at every batch time with the batch's RDD, empty ones included", async () => {
    const out = await runBatches([[1], [], [2, 3]], (s: DStream<number>) => s, 4);
    expect(out).toEqual(atTimes([[1], [], [2, 3], []]));
  });

  it("output operations of a batch run in the order they were registered, batch after batch", async () => {
    // Spark's JobGenerator makes one job per output stream in registration order; the JobScheduler runs
    // them in that order (one job at a time by default), and batch T's jobs before T + 1's.
    const log: string[] = [];
    await withContext({}, async ({ ssc, clock }) => {
      const s = ssc.queueStream([[1], [2]]);
      s.foreachRDD((_r, t) => void log.push(`A${t.milliseconds}`));
      s.map((x) => x * 2).foreachRDD((_r, t) => void log.push(`B${t.milliseconds}`));
      await ssc.start();
      await clock.advance(Seconds(2));
    });
    expect(log).toEqual(["A1000", "B1000", "A2000", "B2000"]);
  });

  it("gets a Time whose toString is Spark's '<ms> ms'", async () => {
    const seen: string[] = [];
    await withContext({}, async ({ ssc, clock }) => {
      ssc.queueStream([[1]]).foreachRDD((_r, t) => void seen.push(String(t)));
      await ssc.start();
      await clock.advance(Seconds(1));
    });
    expect(seen).toEqual(["1000 ms"]);
  });
});

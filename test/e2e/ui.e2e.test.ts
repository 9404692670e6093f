/// <reference lib="dom" />
/**
 * `sparkless ui` end to end: the word-count app on the embedded stack (synthesized, deployed, run by its bundled
 * Lambda code), lines and one record that is not UTF-8 pushed with PutRecords, the page opened in a real headless
 * Chromium (Debian's, driven by playwright-core). The charts have points, the batch table and shard table say
 * what `sparkless status` says, the bad record is under dead letters with its reason, a batch's detail shows its
 * outputs and printed block; `sparkless state totals` holds what the last totals file says. The server answers
 * on 127.0.0.1 only, 404 outside its routes, refuses writes, and shows no credential. A screenshot is kept in
 * .sparkless/test-artifacts/ (ignored by git).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kinesisClient, s3Client } from "../../lib/io/aws-clients.js";
import { S3ObjectStore } from "../../lib/io/s3-object-store.js";
import { main } from "../../tooling/cli/index.js";
import type { PipelineStatusReport } from "../../tooling/cli/pipeline-status.js";
import type { UiSnapshot } from "../../tooling/ui/snapshot.js";
import { readStackFile, type StackFile } from "../../tooling/stack/stack-file.js";
import { testIo } from "../support/cli.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(REPO, ".sparkless", "test-artifacts");
const LINES = ["spark streaming without a cluster", "lambda kinesis spark", "state totals spark"];
/** Not UTF-8: the shard stage's decoder refuses it, so it goes to dead-letter/ with the reason. */
const BAD = Buffer.from([0xff, 0xfe, 0x61]);

let stateDir: string;
/** `npm start` (sparkless start), in this process: the embedded stack, and the page whose URL it prints first. */
let started: { readonly io: ReturnType<typeof testIo>; readonly exit: Promise<number> };
let url: string;
let stack: StackFile;
let browser: BrowserContext;
let page: Page;
let badSeq: string;
let pushedAt: number;

async function cli(...argv: string[]): Promise<string> {
  const t = testIo({ cwd: REPO });
  const code = await main([...argv, "--state-dir", stateDir], t.io);
  if (code !== 0) throw new Error(`sparkless ${argv.join(" ")} exited ${code}: ${t.stderr()}`);
  return t.stdout();
}

const status = async () => JSON.parse(await cli("status", "--json")) as PipelineStatusReport;
const snapshotOf = async () => (await (await fetch(new URL("api/snapshot", url))).json()) as UiSnapshot;

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} (Debian's chromium package; .ci/run installs it)`).toBe(true);
  stateDir = mkdtempSync(join(tmpdir(), "sparkless-ui-e2e-"));
  const io = testIo({ cwd: REPO });
  started = { io, exit: main(["--state-dir", stateDir, "start", "--fresh", "--no-sample", "--ticker-ms", "1000"], io.io) };
  await until("npm start prints the page's URL", async () => /sparkless ui: http:\/\/127\.0\.0\.1:\d+\//.test(io.stderr()));
  url = /sparkless ui: (http:\S+)/.exec(io.stderr())![1]!;
  await until("the stack is up", async () => readStackFile(stateDir) !== undefined);
  stack = readStackFile(stateDir)!;
  const pipeline = stack.stacks[0]!.pipelines.find((p) => p.name === "word-count")!;

  const kinesis = kinesisClient({ endpoint: stack.endpoints.kinesis });
  try {
    pushedAt = Date.now();
    const put = await kinesis.send(
      new PutRecordsCommand({
        StreamName: pipeline.stream,
        Records: [...LINES.map((l, i) => ({ Data: Buffer.from(l), PartitionKey: `k${i}` })), { Data: BAD, PartitionKey: "bad" }],
      }),
    );
    expect(put.FailedRecordCount ?? 0).toBe(0);
    badSeq = put.Records!.at(-1)!.SequenceNumber!;
  } finally {
    kinesis.destroy();
  }
  // Wait until the records' batches are finalized (the ticker moves the quiet shards' watermarks).
  await until("the pushed records' batch is finalized", async () => ((await status()).lastFinalized ?? 0) > pushedAt + 5_000);

  browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "sparkless-ui-chromium-")), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage();
  await page.goto(url);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  started?.io.interrupt();
  expect(await started?.exit).toBe(0);
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe("sparkless ui on the embedded stack", () => {
  it("draws the charts with a point per batch", async () => {
    await page.waitForSelector("#batches tbody tr.state-completed");
    const points = () =>
      page.evaluate(() => {
        const charts = (window as unknown as { sparklessCharts: Record<string, { timeline: { data: Array<Array<number | null>> } }> }).sparklessCharts;
        return Object.fromEntries(Object.entries(charts).map(([k, c]) => [k, c.timeline.data[1]!.filter((v) => v !== null).length]));
      });
    await expect.poll(async () => Object.entries(await points()).filter(([, n]) => n === 0).map(([metric]) => metric), { timeout: 30_000 }).toEqual([]);
    expect(Object.keys(await points()).sort()).toEqual(["input", "processing", "scheduling", "total"]);
    // Every record pushed is counted in the input rate, once.
    const s = await snapshotOf();
    expect(s.batches.reduce((n, b) => n + (b.records ?? 0), 0)).toBe(LINES.length + 1);
  });

  it("shows in its batch and shard tables what `sparkless status` reports", async () => {
    // The pipeline keeps finalizing (empty batches every 5 s): compare a page and a status read close together.
    await expect
      .poll(
        async () => {
          const [before, shown, after] = [await status(), await readTables(page), await status()];
          if (before.lastFinalized !== after.lastFinalized) return "moved while reading";
          const expected = {
            lastCompleted: after.lastFinalized,
            pending: (after.pending.ready ?? []).length,
            shards: after.shards.map((sh) => ({ id: sh.shardId + (sh.closed ? " (closed)" : ""), position: sh.seq ?? "-", behind: String(sh.recordsBehind), drained: sh.drained ? "yes" : "no" })),
            deadLetters: after.deadLetters.records,
          };
          return JSON.stringify(shown) === JSON.stringify(expected) ? "same" : JSON.stringify({ shown, expected });
        },
        { timeout: 60_000, interval: 500 },
      )
      .toBe("same");
  });

  it("lists the bad record under dead letters, with its reason and bytes", async () => {
    const row = page.locator("#dead-letters tbody tr", { hasText: badSeq });
    await row.waitFor({ timeout: 30_000 });
    const cells = await row.locator("td").allTextContents();
    expect(cells[1]).toBe(badSeq);
    expect(cells[4]).toMatch(/utf-8|encoded data/i);
    expect(cells[5]).toBe(String(BAD.length));
    expect(cells[6]).toBe(BAD.toString("base64"));
  });

  it("opens a batch's detail: its output files and printed block", async () => {
    const s = await snapshotOf();
    const busy = s.batches.find((b) => (b.records ?? 0) > 1 && b.state === "completed")!;
    expect(busy).toBeDefined();
    await page.click(`#batches tbody tr[data-time="${busy.time}"]`);
    await page.waitForSelector("#detail-content");
    const detail = await page.textContent("#batch-detail");
    expect(detail).toContain(`word-count/batch-${busy.time}.txt`);
    expect(detail).toContain("(spark,");
    // print() shows the batch's pairs as Spark does, under its "Time: <t> ms" header, in the functions' logs.
    const printed = await page.locator("#detail-content pre.printed").textContent();
    expect(printed).toContain("(spark,3)");

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "ui-streaming.png"), fullPage: true });
    console.log(`sparkless ui e2e: screenshot in ${join(ARTIFACTS, "ui-streaming.png")}`);
  });

  it("shows the totals operator's keys, and `sparkless state totals` holds what the last totals file says", async () => {
    await page.locator("#operators tbody tr[data-operator=totals]").waitFor();
    const state = JSON.parse(await cli("state", "totals", "--json")) as { batchTime: number; entries: Array<{ key: string; value: number }>; keys: number };
    const file = stack.stacks[0]!.pipelines[0]!;
    const s3 = s3Client({ endpoint: stack.endpoints.s3 });
    const objects = new S3ObjectStore({ client: s3, bucket: file.bucket });
    try {
      const text = await objects.get(`output/word-count/word-count/totals-${state.batchTime}.txt/part-00000`);
      const lines = (text ?? "").split("\n").filter((l) => l !== "");
      expect(lines.sort()).toEqual(state.entries.map((e) => `(${e.key},${e.value})`).sort());
      expect(state.entries.find((e) => e.key === "spark")?.value).toBe(3);
    } finally {
      s3.destroy();
    }
    const key = JSON.parse(await cli("state", "totals", "--key", "spark", "--json")) as { entries: unknown[] };
    expect(key.entries).toEqual([{ key: "spark", value: 3 }]);
  });

  it("answers on 127.0.0.1 only, GET only, 404 outside its routes, and shows no credential", async () => {
    expect(new URL(url).hostname).toBe("127.0.0.1");
    for (const path of ["/nope", "/api", "/static/app.js", "/../package.json", "/api/batches/abc", "/node_modules/uplot/package.json"]) {
      expect((await fetch(new URL(path, url))).status, path).toBe(404);
    }
    expect((await fetch(new URL("/api/snapshot", url), { method: "POST" })).status).toBe(405);
    const secret = JSON.parse(readFileSync(join(stateDir, "stack.json"), "utf8")).credentials?.secretAccessKey as string | undefined;
    const everything = [await page.content(), JSON.stringify(await snapshotOf())].join("\n");
    for (const s of [secret, "secretAccessKey", "accessKeyId"].filter((x): x is string => !!x)) expect(everything).not.toContain(s);
  });
});

/** Polls `cond` until it holds; the hook's timeout ends a run that never gets there. */
async function until(what: string, cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; !(await cond()); i++) {
    if (i > 0 && i % 60 === 0) console.log(`sparkless ui e2e: still waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** What the page's tables say, in the terms of `sparkless status --json`. */
async function readTables(p: Page) {
  return p.evaluate(() => {
    const rows = (id: string) => Array.from(document.querySelectorAll(`#${id} tbody tr`)).map((tr) => Array.from(tr.querySelectorAll("td")).map((td) => td.textContent ?? ""));
    const batches = Array.from(document.querySelectorAll<HTMLElement>("#batches tbody tr"));
    const completed = batches.find((b) => b.classList.contains("state-completed") || b.classList.contains("state-failed"));
    return {
      lastCompleted: completed ? Number(completed.dataset.time) : undefined,
      pending: batches.filter((b) => b.classList.contains("state-pending")).length,
      shards: rows("shards").map((c) => ({ id: c[0], position: c[1], behind: c[3]!.replace(/,/g, ""), drained: c[4] })),
      deadLetters: Number((document.getElementById("dead-letters-total")!.textContent ?? "").split(" ")[0]!.replace(/,/g, "")),
    };
  });
}

/**
 * A Kafka-sourced app on the embedded stack, end to end: examples/kafka-word-count (the construct's `kafka`
 * prop, a self-managed cluster with a SASL secret) synthesized with cdk, deployed with IAM enforced, its mapping
 * pointed at the local broker and its functions' cluster settings too (the ticker reads the topic's partitions
 * and offsets there). Lines produced to three partitions are counted once each: the last `totals` file holds
 * every word's count, and every partition's committed offset reaches its end.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { s3Client } from "../../lib/io/aws-clients.js";
import { produce } from "../../lib/io/kafka/produce.js";
import { startLocalStack, synthesize, type LocalStack, type LocalStackEvent } from "../../tooling/stack/index.js";
import { until } from "../support/wait.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const APP = join(REPO, "examples/kafka-word-count");

let root: string;
let cdkOut: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "sparkless-kafka-stack-"));
  cdkOut = join(root, "cdk.out");
  await synthesize({ outdir: cdkOut, cwd: APP });
}, 300_000);
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const LINES = ["to be or not to be", "that is the question", "to be", "whether tis nobler in the mind", "or to take arms"];

function expectedTotals(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const w of LINES.flatMap((l) => l.split(" "))) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

/** The newest `totals` directory's lines, as `word -> count`. */
async function latestTotals(stack: LocalStack): Promise<Map<string, number> | undefined> {
  const s3 = s3Client({ endpoint: stack.endpoints.s3 });
  try {
    const bucket = stack.stackFile.stacks[0]!.pipelines[0]!.bucket;
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "output/word-count/word-count/totals-", ContinuationToken: token }));
      keys.push(...(r.Contents ?? []).map((o) => o.Key!));
      token = r.NextContinuationToken;
    } while (token);
    const done = keys.filter((k) => k.endsWith("/_SUCCESS")).sort();
    const last = done.at(-1);
    if (!last) return undefined;
    const dir = last.slice(0, -"_SUCCESS".length);
    const totals = new Map<string, number>();
    for (const key of keys.filter((k) => k.startsWith(dir) && k.includes("/part-"))) {
      const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
      for (const line of body.split("\n").filter(Boolean)) {
        const m = /^\((.*),(\d+)\)$/.exec(line);
        if (m) totals.set(m[1]!, Number(m[2]));
      }
    }
    return totals;
  } finally {
    s3.destroy();
  }
}

describe("a Kafka-sourced app under the embedded stack", () => {
  it("counts every line produced to the topic's partitions exactly once, with IAM enforced", async () => {
    const events: LocalStackEvent[] = [];
    const stack = await startLocalStack({
      cwd: APP,
      cdkOut,
      synth: false,
      stateDir: join(root, "state"),
      fresh: true,
      kafkaPartitions: 3,
      tickerIntervalMs: 1_000,
      onEvent: (e) => events.push(e),
      log: () => {},
    });
    try {
      const kafka = stack.stackFile.kafka!;
      expect(kafka.topics).toEqual([{ name: "words", partitions: 3 }]);
      // One line per partition at least: keyed records spread over all three.
      await produce({ bootstrapServers: kafka.bootstrapServers }, "words", LINES.map((value, i) => ({ value, partition: i % 3 })));

      const want = expectedTotals();
      const got = await until(
        "the totals to count every produced word",
        async () => {
          const t = await latestTotals(stack);
          return t && t.size === want.size && [...want].every(([w, n]) => t.get(w) === n) ? t : undefined;
        },
        {
          timeoutMs: 240_000,
          everyMs: 500,
          context: () => JSON.stringify(events.filter((e) => e.type === "result" || e.type === "access-denied" || e.type === "warning").slice(-10)),
        },
      );
      expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
      expect(events.filter((e) => e.type === "access-denied")).toEqual([]);
      expect(events.filter((e) => e.type === "result" && e.outcome !== "success").map((e) => JSON.stringify(e))).toEqual([]);

      // Later batches keep the same totals: nothing is counted twice.
      const finalized = events.filter((e) => e.type === "batch-finalized").length;
      await until("two more batches to finalize", () => events.filter((e) => e.type === "batch-finalized").length >= finalized + 2, { timeoutMs: 120_000, everyMs: 200 });
      expect(Object.fromEntries((await latestTotals(stack))!)).toEqual(Object.fromEntries(want));
    } finally {
      await stack.stop();
    }
  }, 600_000);
});

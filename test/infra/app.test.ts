import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FIXTURE = fileURLToPath(new URL("./fixtures/word-count-pipeline.ts", import.meta.url));

describe("infra/app.ts", () => {
  const outdir = mkdtempSync(path.join(tmpdir(), "sparkless-cdk-out-"));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  // What `cdk synth` runs (cdk.json: "npx tsx infra/app.ts"), with the CLI's CDK_OUTDIR and the fixture
  // bundled in place of functions/word-count.ts.
  // A synth bundles and runs cdk-nag in a child process: seconds on an idle machine, minutes on a loaded one.
  // The cap is there to end a hung synth, not to measure one.
  it("synthesizes the word-count stack offline, with cdk-nag's AwsSolutions checks passing", { timeout: 600_000 }, async () => {
    await promisify(execFile)(path.join(ROOT, "node_modules/.bin/tsx"), ["infra/app.ts"], {
      cwd: ROOT,
      env: { ...process.env, CDK_OUTDIR: outdir, SPARKLESS_PIPELINE_ENTRY: FIXTURE },
    });
    const template = JSON.parse(readFileSync(path.join(outdir, "SparklessWordCount.template.json"), "utf8"));
    const functions = Object.values(template.Resources as Record<string, { Type: string; Properties: any }>).filter((r) => r.Type === "AWS::Lambda::Function");
    expect(functions.map((fn) => fn.Properties.Handler).sort()).toEqual(["index.finalizerHandler", "index.shardHandler", "index.tickerHandler"]);
    expect(functions[0]!.Properties.Environment.Variables).toMatchObject({ SPARKLESS_PIPELINE: "word-count", SPARKLESS_BATCH_INTERVAL_MS: "5000" });
    expect(Object.keys(template.Outputs).sort()).toEqual(["BucketName", "ShardLogGroup", "StreamName", "TableName"]);

    const report = JSON.parse(readFileSync(path.join(outdir, "validation-report.json"), "utf8"));
    const failing = (report.pluginReports as Array<{ pluginName: string; violations: unknown[] }>).filter((plugin) => plugin.violations.length > 0);
    expect(failing).toEqual([]);
    // The acknowledged findings travel with the template, each with its reason.
    const suppressions = Object.values(template.Resources as Record<string, { Metadata?: any }>).flatMap((r) => r.Metadata?.cdk_nag?.rules_to_suppress ?? []);
    expect(suppressions.map((rule: { id: string }) => rule.id)).toContain("AwsSolutions-L1");
  });
});

/**
 * A pipeline that queries with spark.sql gets DuckDB's native library in its Lambda asset, built for the
 * function's architecture, and runs from the asset alone; a pipeline that does not query gets none of DuckDB.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { afterAll, describe, expect, it } from "vitest";
import { bundlePipeline } from "../../infra/bundling.js";
import { elfMachineOf } from "../../infra/duckdb-binding.js";
import { SparklessPipeline } from "../../infra/sparkless-pipeline.js";

/** Bundling, a synth with cdk-nag and, once per DuckDB version, fetching the arm64 package take long on a busy machine. */
const SLOW = { timeout: 600_000 };

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/sql/${name}`, import.meta.url));
const ELF_X86_64 = 0x3e;
const ELF_AARCH64 = 0xb7;

const dirs: string[] = [];
/** A directory outside the repository, so nothing run from it can find the repository's node_modules. */
function scratch(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "sparkless-sql-bundle-"));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function duckDbPackages(assetDir: string): string[] {
  const dir = path.join(assetDir, "node_modules", "@duckdb");
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe("bundling a pipeline that uses spark.sql", SLOW, () => {
  it("ships DuckDB's x86_64 library beside the bundle, and the finalizer queries from the asset alone", () => {
    const asset = scratch();
    expect(bundlePipeline(fixture("sql-handlers.ts"), "handlers", {}, "x86_64", asset)).toEqual({ sql: true });
    expect(duckDbPackages(asset)).toEqual(["node-bindings-linux-x64"]);
    const binding = path.join(asset, "node_modules/@duckdb/node-bindings-linux-x64");
    expect(elfMachineOf(path.join(binding, "duckdb.node"))).toBe(ELF_X86_64);
    expect(elfMachineOf(path.join(binding, "libduckdb.so"))).toBe(ELF_X86_64);

    // As Lambda runs it: Node, the asset directory, nothing else (no NODE_PATH, no repository around it).
    const script = `const m = await import(${JSON.stringify(pathToFileURL(path.join(asset, "index.mjs")).href)}); process.stdout.write(JSON.stringify(await m.finalizerHandler({ words: ["b", "a", "b"] })));`;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: asset, encoding: "utf8", env: { PATH: process.env.PATH } });
    expect(child.stderr).toBe("");
    expect(JSON.parse(child.stdout)).toEqual([["b", 2], ["a", 1]]);
  });

  it("gives x86_64 and arm64 functions each the library for their architecture (arm64 fetched from the npm registry)", () => {
    const app = new App();
    const stack = new Stack(app, "Sql");
    new SparklessPipeline(stack, "Arm", { entry: fixture("sql-pipeline.ts"), architecture: lambda.Architecture.ARM_64 });
    new SparklessPipeline(stack, "X86", { entry: fixture("sql-pipeline.ts"), architecture: lambda.Architecture.X86_64 });
    const assembly = app.synth();
    const fns = Object.values(Template.fromStack(stack).findResources("AWS::Lambda::Function")) as Array<{ Properties: { Architectures: string[]; Code: { S3Key: unknown } } }>;
    const keyOf = (arch: string) => new Set(fns.filter((fn) => fn.Properties.Architectures[0] === arch).map((fn) => JSON.stringify(fn.Properties.Code.S3Key)));
    expect(keyOf("arm64").size).toBe(1);
    expect(keyOf("x86_64").size).toBe(1);
    expect([...keyOf("arm64")]).not.toEqual([...keyOf("x86_64")]);

    const assets = readdirSync(assembly.directory).filter((name) => name.startsWith("asset.")).map((name) => path.join(assembly.directory, name));
    const byPackage = new Map(assets.map((asset) => [duckDbPackages(asset).join(","), asset]));
    expect([...byPackage.keys()].sort()).toEqual(["node-bindings-linux-arm64", "node-bindings-linux-x64"]);
    expect(elfMachineOf(path.join(byPackage.get("node-bindings-linux-arm64")!, "node_modules/@duckdb/node-bindings-linux-arm64/duckdb.node"))).toBe(ELF_AARCH64);
    expect(elfMachineOf(path.join(byPackage.get("node-bindings-linux-arm64")!, "node_modules/@duckdb/node-bindings-linux-arm64/libduckdb.so"))).toBe(ELF_AARCH64);
    expect(elfMachineOf(path.join(byPackage.get("node-bindings-linux-x64")!, "node_modules/@duckdb/node-bindings-linux-x64/duckdb.node"))).toBe(ELF_X86_64);
  });
});

describe("bundling a pipeline that does not use spark.sql", SLOW, () => {
  it.each([
    ["a pipeline with no SQL at all", "../word-count-pipeline.ts"],
    ["a pipeline that uses DataFrames (SparkSession, with its sql(), in the bundle)", "dataframe-pipeline.ts"],
  ])("ships none of DuckDB: %s", (_, entry) => {
    const asset = scratch();
    expect(bundlePipeline(fixture(entry), "pipeline", {}, "arm64", asset)).toEqual({ sql: false });
    expect(readdirSync(asset).sort()).toEqual(["index.mjs", "index.mjs.map"]);
    expect(readFileSync(path.join(asset, "index.mjs"), "utf8")).not.toMatch(/DuckDBInstance|node-bindings/);
    // And the bundle loads, from the asset alone, as a cold start does.
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", `await import(${JSON.stringify(pathToFileURL(path.join(asset, "index.mjs")).href)});`], { cwd: asset, encoding: "utf8", env: { PATH: process.env.PATH } });
    expect(child.stderr).toBe("");
    expect(child.status).toBe(0);
  });

  it("leaves it out when bundling.sql is false, and sql() then says what is missing", () => {
    const asset = scratch();
    expect(bundlePipeline(fixture("sql-handlers.ts"), "handlers", { sql: false }, "x86_64", asset)).toEqual({ sql: false });
    expect(duckDbPackages(asset)).toEqual([]);
    const script = `const m = await import(${JSON.stringify(pathToFileURL(path.join(asset, "index.mjs")).href)}); await m.finalizerHandler({ words: ["a"] }).catch((e) => process.stdout.write(e.code + ": " + e.message));`;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: asset, encoding: "utf8", env: { PATH: process.env.PATH } });
    expect(child.stdout).toMatch(/^SqlEngineMissing: spark.sql runs on DuckDB, which could not be loaded .*set `bundling: \{ sql: true \}`/);
  });

  it("ships it anyway when bundling.sql says so (a dependency calls sql())", () => {
    const asset = scratch();
    expect(bundlePipeline(fixture("dataframe-pipeline.ts"), "pipeline", { sql: true }, "x86_64", asset)).toEqual({ sql: true });
    expect(duckDbPackages(asset)).toEqual(["node-bindings-linux-x64"]);
  });
});

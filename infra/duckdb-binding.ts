/**
 * DuckDB's native library in a pipeline's Lambda asset, for pipelines whose code reaches `spark.sql`'s engine.
 *
 * esbuild bundles DuckDB's JavaScript (`@duckdb/node-api`, `@duckdb/node-bindings`) with the pipeline but cannot
 * bundle the native part: `@duckdb/node-bindings` requires `@duckdb/node-bindings-<platform>-<arch>/duckdb.node`
 * (which loads `libduckdb.so` beside it). Those requires stay external, and the asset gets
 * `node_modules/@duckdb/node-bindings-linux-<x64|arm64>/` for the function's architecture, where the bundle's
 * `require` finds it. The package for the other architecture is not installed (npm installs the host's only), so
 * it is fetched from the npm registry with `npm pack`, at the exact version of the bundled `@duckdb/node-bindings`
 * (npm checks the tarball against the registry's integrity hash), into a cache, once per version.
 *
 * Whether a pipeline reaches DuckDB is read from esbuild's metafile: an external import of a binding package is in
 * the bundle only if the pipeline's code can reach `loadSqlEngine()`'s import of the engine.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import type { Metafile } from "esbuild";
import { SparklessError, ValidationError } from "../lib/core/errors.js";

/** Left out of the bundle: DuckDB's per-platform packages of native code. */
export const DUCKDB_NATIVE_PACKAGES = "@duckdb/node-bindings-*";

/** The Lambda architectures' names for the binding packages (and the ELF machine each must be built for). */
const TARGETS = {
  x86_64: { pkg: "@duckdb/node-bindings-linux-x64", elfMachine: 0x3e },
  arm64: { pkg: "@duckdb/node-bindings-linux-arm64", elfMachine: 0xb7 },
} as const;

export type LambdaArchitecture = keyof typeof TARGETS;

/**
 * Whether the bundle `metafile` describes reaches DuckDB, and which `@duckdb/node-bindings` it bundled. Read from
 * the output, not the inputs: esbuild reads every module the pipeline imports, and then leaves out the code
 * nothing calls (an imported `loadSqlEngine` that is never called ships nothing).
 */
export function duckDbInBundle(metafile: Metafile, workingDir: string): { bindingsDir: string } | undefined {
  const outputs = Object.values(metafile.outputs);
  const reaches = outputs.some((output) => output.imports.some((i) => i.external && i.path.startsWith("@duckdb/node-bindings-")));
  if (!reaches) return undefined;
  const entry = outputs.flatMap((output) => Object.keys(output.inputs)).find((file) => /(^|[/\\])@duckdb[/\\]node-bindings[/\\]duckdb\.js$/.test(file));
  if (!entry) throw new SparklessError("DuckDbBindingNotFound", "the bundle requires DuckDB's native binding but esbuild's metafile does not show which @duckdb/node-bindings it bundled", {});
  return { bindingsDir: path.dirname(path.resolve(workingDir, entry)) };
}

/**
 * Copies DuckDB's native package for `architecture` into `outputDir/node_modules`, matching the version of the
 * `@duckdb/node-bindings` in `bindingsDir`: the installed one if it is that version, else one fetched with `npm
 * pack` into `cacheDir`.
 */
export function shipDuckDbBinding(outputDir: string, architecture: LambdaArchitecture, bindingsDir: string, cacheDir: string): void {
  const { pkg, elfMachine } = TARGETS[architecture];
  const version = (JSON.parse(readFileSync(path.join(bindingsDir, "package.json"), "utf8")) as { version: string }).version;
  const source = installedPackage(pkg, version, bindingsDir) ?? cachedPackage(pkg, version, cacheDir);
  const machine = elfMachineOf(path.join(source, "duckdb.node"));
  if (machine !== elfMachine) {
    throw new SparklessError("DuckDbBindingMismatch", `${source}/duckdb.node is built for ELF machine 0x${machine.toString(16)}, not ${architecture}: delete it and synthesize again`, { source, architecture });
  }
  cpSync(source, path.join(outputDir, "node_modules", pkg), { recursive: true });
}

function installedPackage(pkg: string, version: string, bindingsDir: string): string | undefined {
  try {
    const manifest = createRequire(path.join(bindingsDir, "package.json")).resolve(`${pkg}/package.json`);
    const installed = JSON.parse(readFileSync(manifest, "utf8")) as { version: string };
    return installed.version === version ? path.dirname(manifest) : undefined;
  } catch {
    return undefined;
  }
}

/** The package, unpacked in the cache (fetched from the npm registry the first time). */
function cachedPackage(pkg: string, version: string, cacheDir: string): string {
  const dir = path.join(cacheDir, `${pkg}@${version}`);
  if (existsSync(path.join(dir, "duckdb.node"))) return dir;
  mkdirSync(path.dirname(dir), { recursive: true });
  const work = mkdtempSync(path.join(path.dirname(dir), ".fetch-"));
  try {
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const packed = spawnSync(npm, ["pack", `${pkg}@${version}`, "--json", "--pack-destination", work], { encoding: "utf8", shell: process.platform === "win32" });
    const file = packed.status === 0 ? (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]?.filename : undefined;
    if (!file) {
      throw new ValidationError(
        "DuckDbBindingUnavailable",
        `the pipeline uses spark.sql, and its Lambda asset needs ${pkg}@${version}, which \`npm pack\` could not fetch (${(packed.stderr || packed.error?.message || "").trim().split("\n").at(-1)}): synthesize once with access to the npm registry, or put the unpacked package at ${dir}`,
        { pkg, version, dir },
      );
    }
    const untar = spawnSync("tar", ["-xzf", path.join(work, path.basename(file)), "-C", work], { encoding: "utf8" });
    if (untar.status !== 0) throw new SparklessError("DuckDbBindingUnavailable", `could not unpack ${file}: ${untar.stderr || untar.error?.message}`, { pkg, version });
    // Renamed into place whole, so a synth that stops half way leaves no half-unpacked package in the cache.
    rmSync(dir, { recursive: true, force: true });
    renameSync(path.join(work, "package"), dir);
    return dir;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The `e_machine` field of an ELF file's header. */
export function elfMachineOf(file: string): number {
  const header = Buffer.alloc(20);
  const fd = openSync(file, "r");
  try {
    readSync(fd, header, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  if (header.readUInt32BE(0) !== 0x7f454c46) return -1;
  return header.readUInt16LE(18);
}

/**
 * The pipeline module as Lambda code: one esbuild bundle (`index.mjs`) shared by the three functions, built in
 * this process — never in Docker. A module that exposes its pipeline (`entry`) gets generated handlers; one that
 * exports the handlers itself (`pipeline.entry`) is bundled as it is.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { DockerImage, type ILocalBundling } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import type { BuildOptions } from "esbuild";
import { HANDLERS } from "../lib/contract/index.js";
import { SparklessError, ValidationError } from "../lib/core/errors.js";
import type { PipelineSummary } from "../lib/api/define-pipeline.js";
import { DUCKDB_NATIVE_PACKAGES, duckDbInBundle, shipDuckDbBinding, type LambdaArchitecture } from "./duckdb-binding.js";

/** How the pipeline module is bundled. */
export interface PipelineBundling {
  /**
   * Minify the bundle.
   *
   * @default false
   */
  readonly minify?: boolean;
  /**
   * Write a source map beside the bundle (the functions run with `--enable-source-maps`).
   *
   * @default true
   */
  readonly sourceMap?: boolean;
  /**
   * Modules left out of the bundle, to be found at run time (a Lambda layer, say).
   *
   * @default - none: everything, the AWS SDK included, is bundled, so the code runs as tested
   */
  readonly externalModules?: string[];
  /**
   * Identifiers replaced by constant expressions at bundle time (esbuild's `define`).
   *
   * @default - none
   */
  readonly define?: Record<string, string>;
  /**
   * Ship DuckDB (spark.sql's engine: its JavaScript in the bundle, its native library for the functions'
   * architecture beside it, about 72 MB unzipped). `false` leaves it out even if the code calls `sql()`, which
   * then fails with `SqlEngineMissing`.
   *
   * @default - when the pipeline's own code (outside node_modules) calls `.sql(` and can reach SparkSession
   */
  readonly sql?: boolean;
}

/** Makes `require` exist in the ESM bundle: esbuild turns a CommonJS dependency's `require("x")` of a Node
 * built-in into a call that throws "Dynamic require is not supported" unless a `require` is in scope. */
export const ESM_REQUIRE_BANNER = "import { createRequire as __sparklessCreateRequire } from 'node:module'; const require = __sparklessCreateRequire(import.meta.url);";

/** The file Lambda loads: handlers are `index.<name>`. */
export const BUNDLE_FILE = "index.mjs";

/** The SQL engine's package: optional, so a pipeline that uses no SQL bundles without it installed. */
const SQL_ENGINE_PACKAGE = "@duckdb/node-api";

/**
 * Where DuckDB's native package for the other architecture is kept once fetched: `SPARKLESS_CACHE_DIR`, or
 * `node_modules/.cache/sparkless` of the directory `cdk synth` runs in.
 */
export function bundlingCacheDir(): string {
  return process.env.SPARKLESS_CACHE_DIR ?? path.resolve("node_modules", ".cache", "sparkless");
}

/**
 * The Lambda code of a pipeline module, bundled when the stack is synthesized, for functions of `architecture`.
 * A pipeline whose code can reach `spark.sql`'s engine also gets DuckDB's native library for that architecture
 * (duckdb-binding.ts); any other pipeline gets none of DuckDB.
 */
export function pipelineCode(entry: string, exposes: "pipeline" | "handlers", options: PipelineBundling, architecture: lambda.Architecture): lambda.Code {
  return lambda.Code.fromAsset(path.dirname(entry), {
    bundling: {
      // Only used if local bundling declines, which it never does: it builds or throws.
      image: DockerImage.fromRegistry("sparkless-bundles-locally-with-esbuild"),
      local: new LocalEsbuild(entry, exposes, options, lambdaArchitecture(architecture)),
    },
  });
}

function lambdaArchitecture(architecture: lambda.Architecture): LambdaArchitecture {
  if (architecture.name === "x86_64" || architecture.name === "arm64") return architecture.name;
  throw new ValidationError("UnsupportedArchitecture", `Lambda functions run on x86_64 or arm64, not ${architecture.name}`, { architecture: architecture.name });
}

/**
 * Bundles the pipeline module into `outputDir` (`index.mjs`, its source map and, when the pipeline uses
 * spark.sql, DuckDB's native package under `node_modules/`). Returns whether DuckDB was shipped.
 *
 * Whether the pipeline uses spark.sql cannot be read from the import graph alone: `SparkSession` (and with it
 * `sql()`) is kept in every bundle that imports sparkless' index, since `rdd.toDF()` is added to RDD when it
 * loads. So the first build leaves DuckDB out; if the bundle could reach it and the pipeline's own code calls
 * `.sql(` (or `bundling.sql` says so), a second build puts DuckDB's JavaScript in and its native library beside.
 */
export function bundlePipeline(entry: string, exposes: "pipeline" | "handlers", options: PipelineBundling, architecture: LambdaArchitecture, outputDir: string): { sql: boolean } {
  const input = exposes === "pipeline" ? shimInput(handlerShim(entry), entry) : { entryPoints: [entry] };
  const outfile = path.join(outputDir, BUNDLE_FILE);
  const scratch = mkdtempSync(path.join(tmpdir(), "sparkless-bundle-"));
  let withoutSql;
  try {
    withoutSql = build({ ...bundleOptions(options), ...withoutSqlEngine(scratch), ...input, outfile, metafile: true })!;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const reaches = Object.values(withoutSql.outputs).some((output) => Object.keys(output.inputs).some((file) => file.endsWith(ABSENT_ENGINE_FILE)));
  if (!reaches || !(options.sql ?? callsSql(withoutSql))) return { sql: false };
  if (!resolvable(SQL_ENGINE_PACKAGE)) {
    throw new ValidationError(
      "SqlEngineMissing",
      `the pipeline module ${entry} uses spark.sql, which runs on DuckDB: run \`npm install ${SQL_ENGINE_PACKAGE}\` in the project that synthesizes it`,
      { entry },
    );
  }
  const withSql = build({ ...bundleOptions(options), ...input, outfile, metafile: true })!;
  const duckDb = duckDbInBundle(withSql, process.cwd());
  if (!duckDb) throw new SparklessError("DuckDbBindingNotFound", `the bundle of ${entry} does not require DuckDB's native binding, though it imports ${SQL_ENGINE_PACKAGE}`, { entry });
  shipDuckDbBinding(outputDir, architecture, duckDb.bindingsDir, bundlingCacheDir());
  return { sql: true };
}

/** sparkless' own sources (in this repository; an installed package is under node_modules). */
const OWN_SOURCES = ["lib", "functions", "dist"].map((dir) => fileURLToPath(new URL(`../${dir}/`, import.meta.url)));

/**
 * Whether the pipeline's own code (the bundled modules outside sparkless and node_modules) calls `.sql(`, comments
 * aside. A call made only inside a dependency is missed: `bundling.sql: true` says so then.
 */
function callsSql(metafile: import("esbuild").Metafile): boolean {
  for (const output of Object.values(metafile.outputs)) {
    for (const [file, { bytesInOutput }] of Object.entries(output.inputs)) {
      const absolute = path.resolve(file);
      if (bytesInOutput === 0 || /[/\\]node_modules[/\\]/.test(absolute) || OWN_SOURCES.some((dir) => absolute.startsWith(dir)) || !existsSync(absolute)) continue;
      const code = readFileSync(absolute, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
      if (/\.sql\s*\(/.test(code)) return true;
    }
  }
  return false;
}

/**
 * esbuild in this process. Its fields are data on purpose: CDK keys its cache of bundled assets on the bundling
 * options as JSON, so two pipeline modules in one directory must differ there, or the second would get the
 * first one's bundle.
 */
class LocalEsbuild implements ILocalBundling {
  constructor(
    readonly entry: string,
    readonly exposes: "pipeline" | "handlers",
    readonly options: PipelineBundling,
    /** Part of the asset's cache key too: the x86_64 and arm64 assets differ in DuckDB's native library. */
    readonly architecture: LambdaArchitecture,
  ) {}

  tryBundle(outputDir: string): boolean {
    bundlePipeline(this.entry, this.exposes, this.options, this.architecture, outputDir);
    return true;
  }
}

/**
 * The name, batch interval and statefulness of the pipeline `entry` exposes, read by bundling the module and
 * loading it in a child Node process (the CDK app may be plain JavaScript, and a construct cannot await).
 */
export function readPipelineSummary(entry: string): PipelineSummary {
  const dir = mkdtempSync(path.join(tmpdir(), "sparkless-summary-"));
  try {
    const outfile = path.join(dir, "summary.mjs");
    build({ ...bundleOptions({ sourceMap: false }), ...withoutSqlEngine(dir), ...shimInput(summaryShim(entry), entry), outfile });
    const child = spawnSync(process.execPath, [outfile], { encoding: "utf8" });
    const answer = parseAnswer(child.stdout);
    if (answer?.summary) return answer.summary;
    if (answer?.error) throw new ValidationError(answer.error.code, answer.error.message, { entry });
    // The module threw while it was loaded: its own stack trace says where.
    throw new ValidationError("PipelineModuleFailed", `loading the pipeline module ${entry} failed: ${child.stderr.trim() || child.error?.message || `exit ${child.status}`}`, { entry });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type SummaryAnswer = { summary?: PipelineSummary; error?: { code: string; message: string } };

function parseAnswer(stdout: string): SummaryAnswer | undefined {
  const last = stdout.trim().split("\n").at(-1);
  try {
    return last ? (JSON.parse(last) as SummaryAnswer) : undefined;
  } catch {
    return undefined;
  }
}

/** The generated module: the entry's pipeline behind the three handlers. */
function handlerShim(entry: string): string {
  const name = path.basename(entry);
  return [
    `import * as pipelineModule from ${JSON.stringify(entry)};`,
    `import { lambdaHandlers } from ${JSON.stringify(functionsModule("lambda-handlers"))};`,
    `import { pipelineOfModule } from ${JSON.stringify(functionsModule("pipeline-module"))};`,
    `export const { ${Object.values(HANDLERS).join(", ")} } = lambdaHandlers(pipelineOfModule(pipelineModule, ${JSON.stringify(name)}));`,
  ].join("\n");
}

/** Prints the pipeline's summary, or the error that says why the module exposes none, as one JSON line. */
function summaryShim(entry: string): string {
  return [
    `import * as pipelineModule from ${JSON.stringify(entry)};`,
    `import { pipelineOfModule } from ${JSON.stringify(functionsModule("pipeline-module"))};`,
    "let answer;",
    `try { answer = { summary: pipelineOfModule(pipelineModule, ${JSON.stringify(path.basename(entry))}).summary }; }`,
    'catch (e) { answer = { error: { code: e.code ?? "PipelineModuleFailed", message: e.message } }; }',
    'process.stdout.write("\\n" + JSON.stringify(answer) + "\\n");',
  ].join("\n");
}

function shimInput(contents: string, entry: string): BuildOptions {
  return { stdin: { contents, resolveDir: path.dirname(entry), sourcefile: "sparkless-handlers.mjs", loader: "js" } };
}

/** A module of functions/, as source in this repository or compiled in the package. */
function functionsModule(name: string): string {
  const ts = fileURLToPath(new URL(`../functions/${name}.ts`, import.meta.url));
  return existsSync(ts) ? ts : fileURLToPath(new URL(`../functions/${name}.js`, import.meta.url));
}

/** The module that stands for DuckDB in a bundle built without it. */
const ABSENT_ENGINE_FILE = "sql-engine-absent.cjs";

/**
 * esbuild options that put, in place of DuckDB's JavaScript, a module that fails as a missing package does when
 * `sql()` loads it (sql-engine-loader.ts turns that into `SqlEngineMissing`). Marking the package external would
 * not do: esbuild hoists an external import to the top of the ESM bundle, and every cold start would fail on it.
 * The module is written to `dir`, which must outlive the build only.
 */
function withoutSqlEngine(dir: string): BuildOptions {
  const file = path.join(dir, ABSENT_ENGINE_FILE);
  writeFileSync(
    file,
    `throw Object.assign(new Error("Cannot find package '${SQL_ENGINE_PACKAGE}': this bundle was built without spark.sql's engine"), { code: "ERR_MODULE_NOT_FOUND" });\n`,
  );
  return { alias: { [SQL_ENGINE_PACKAGE]: file } };
}

/** esbuild's options for the user's bundling options. */
function bundleOptions(options: PipelineBundling): BuildOptions {
  return {
    bundle: true,
    platform: "node",
    target: "node22",
    format: "esm",
    mainFields: ["module", "main"],
    banner: { js: ESM_REQUIRE_BANNER },
    sourcemap: options.sourceMap ?? true,
    minify: options.minify ?? false,
    // DuckDB's native code ships beside the bundle (duckdb-binding.ts); its JavaScript is bundled when present.
    external: [...(options.externalModules ?? []), DUCKDB_NATIVE_PACKAGES],
    define: options.define ?? {},
    logLevel: "error",
  };
}

/** Whether `pkg` resolves from sparkless' own modules, as esbuild resolves the SQL engine's import of it. */
function resolvable(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

function build(options: BuildOptions): import("esbuild").Metafile | undefined {
  const bundler = esbuild();
  try {
    return bundler.buildSync(options).metafile;
  } catch (err) {
    throw new SparklessError("BundlingFailed", `esbuild could not bundle the pipeline module: ${(err as Error).message}`, {}, { cause: err });
  }
}

/** esbuild, loaded when a stack is synthesized (not when the construct is imported), with a clear error if absent. */
function esbuild(): typeof import("esbuild") {
  try {
    return createRequire(import.meta.url)("esbuild") as typeof import("esbuild");
  } catch (err) {
    throw new SparklessError(
      "EsbuildMissing",
      "SparklessPipeline bundles the pipeline with esbuild, which is not installed: run `npm install --save-dev esbuild` in your CDK app (sparkless never bundles in Docker)",
      {},
      { cause: err },
    );
  }
}

/**
 * `sparkless init [dir]`: a new project, the way `cdk init` makes one — a pipeline module, its tests on the test
 * driver, a CDK app deploying it with SparklessPipeline, and `npm start` on the embedded stack. The files come
 * from the package's own `templates/app/` (no network); the dependency versions from its package.json, so the
 * new project gets what this sparkless was built and tested with.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { Seconds } from "../../../lib/core/duration.js";
import { definePipeline } from "../../../lib/api/define-pipeline.js";
import { CliError, type CommandContext } from "../io.js";

interface SparklessPackage {
  readonly name: string;
  readonly version: string;
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}

/** Where the package is installed (or checked out): the nearest parent directory with sparkless's package.json. */
function packageRoot(): { dir: string; pkg: SparklessPackage } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as SparklessPackage;
      if (pkg.name === "sparkless") return { dir, pkg };
    }
    const up = dirname(dir);
    if (up === dir) throw new CliError("PackageNotFound", "cannot find sparkless's package.json above this module: reinstall sparkless");
    dir = up;
  }
}

export interface InitOptions {
  /** The pipeline's name: its module is pipelines/<name>.ts. @default "clicks" */
  readonly pipeline: string;
  /** The `sparkless` dependency of the new project (a version range, a tarball path, a git URL). @default ^<this version> */
  readonly sparkless?: string;
}

/** The project files for `options`, by path relative to the project: the templates with their names filled in. */
export function scaffold(project: string, options: InitOptions): Map<string, string> {
  const { dir: root, pkg } = packageRoot();
  const templates = join(root, "templates", "app");
  const name = options.pipeline;
  const words = name.split("-");
  const fill = (text: string) =>
    text
      .replaceAll("{{project}}", project)
      .replaceAll("{{name}}", name)
      .replaceAll("{{Name}}", identifier(words).replace(/^./, (c) => c.toUpperCase()))
      .replaceAll("{{camel}}", identifier(words));
  const files = new Map<string, string>();
  for (const file of walk(templates)) {
    // npm never packs a file named .gitignore: the template is `gitignore`.
    const target = file === "gitignore" ? ".gitignore" : file.replaceAll("__name__", name);
    files.set(target, fill(readFileSync(join(templates, file), "utf8")));
  }
  files.set("package.json", JSON.stringify(packageJson(project, name, pkg, options.sparkless), null, 2) + "\n");
  return files;
}

/** `page-views` -> `pageViews`; a name that starts with a digit gets a prefix to be a JavaScript identifier. */
function identifier(words: readonly string[]): string {
  const camel = words.map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1))).join("");
  return /^[0-9]/.test(camel) ? `pipeline${camel}` : camel;
}

function walk(dir: string, prefix = ""): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => (statSync(join(dir, entry)).isDirectory() ? walk(join(dir, entry), `${prefix}${entry}/`) : [`${prefix}${entry}`]));
}

function packageJson(project: string, name: string, pkg: SparklessPackage, sparkless: string | undefined) {
  // The versions this sparkless is built and tested with: its peers, its CDK CLI, its TypeScript and vitest.
  const version = (dep: string, fallback: string) => pkg.peerDependencies?.[dep] ?? pkg.devDependencies?.[dep] ?? pkg.dependencies?.[dep] ?? fallback;
  return {
    name: project.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^[._-]+/, "") || "sparkless-app",
    version: "0.1.0",
    private: true,
    type: "module",
    scripts: {
      start: "sparkless local up --no-sample",
      test: "vitest run",
      push: `sparkless push --json --partition-key user sample/${name}.jsonl`,
      typecheck: "tsc --noEmit",
      synth: "cdk synth",
      deploy: "cdk deploy",
    },
    dependencies: {
      sparkless: sparkless ?? `^${pkg.version}`,
      "aws-cdk-lib": version("aws-cdk-lib", "^2.276.0"),
      constructs: version("constructs", "^10.8.1"),
    },
    devDependencies: {
      "@types/node": version("@types/node", "^20.19.0"),
      "aws-cdk": version("aws-cdk", "^2.1148.0"),
      tsx: version("tsx", "^4.23.0"),
      typescript: version("typescript", "^5.9.3"),
      vitest: version("vitest", "^4.1.0"),
    },
  };
}

export function initCommand(ctx: CommandContext): Command {
  return new Command("init")
    .description("create a new sparkless project: a pipeline, its tests, a CDK app, npm start on the embedded stack")
    .argument("[dir]", "where to create it (must be empty or absent)", ".")
    .option("--pipeline <name>", "the pipeline's name (lowercase letters, digits and '-')", "clicks")
    .option("--sparkless <spec>", "the new project's sparkless dependency (default: ^ this version)")
    .action((dir: string, opts: InitOptions) => {
      try {
        definePipeline(opts.pipeline, { batchInterval: Seconds(1) }, () => undefined); // the one rule for pipeline names
      } catch (e) {
        throw new CliError("BadPipelineName", `--pipeline: ${(e as Error).message}`, 2, {}, { cause: e });
      }
      const target = resolve(ctx.io.cwd, dir);
      if (existsSync(target) && readdirSync(target).length > 0) {
        throw new CliError("DirectoryNotEmpty", `${dir} is not empty: sparkless init creates a project in an empty or new directory`, 1, { dir: target });
      }
      const files = scaffold(basename(target), opts);
      for (const [path, text] of files) {
        mkdirSync(dirname(join(target, path)), { recursive: true });
        writeFileSync(join(target, path), text);
      }
      const where = relative(ctx.io.cwd, target) || ".";
      ctx.io.stdout.write(
        [
          `Created a sparkless project in ${where}: ${[...files.keys()].sort().join(", ")}`,
          "",
          "Next:",
          ...(where === "." ? [] : [`  cd ${where}`]),
          "  npm install && npm start   # the pipeline on the embedded AWS stack (Ctrl-C stops it)",
          "  npm test                   # its tests, on the test driver",
          "",
        ].join("\n"),
      );
    });
}

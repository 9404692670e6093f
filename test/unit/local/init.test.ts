/**
 * `sparkless init`: the files a new project gets from the package's templates, and the cases it refuses. The
 * project itself is installed, tested, typechecked and run on the embedded stack in test/e2e/package.e2e.test.ts.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scaffold } from "../../../tooling/cli/commands/init.js";
import { main } from "../../../tooling/cli/index.js";
import { testIo } from "../../support/cli.js";
import { tempDirs } from "../../support/temp-dirs.js";

const own = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string; peerDependencies: Record<string, string> };
const tempDir = tempDirs("sparkless-init-");

describe("sparkless init", () => {
  it("fills the templates with the project's and the pipeline's names", () => {
    const files = scaffold("My App", { pipeline: "page-views" });
    expect([...files.keys()].sort()).toEqual([
      ".gitignore",
      "README.md",
      "bin/app.ts",
      "cdk.json",
      "package.json",
      "pipelines/page-views.ts",
      "sample/page-views.jsonl",
      "test/page-views.test.ts",
      "tsconfig.json",
    ]);
    for (const [path, text] of files) expect(text, path).not.toMatch(/\{\{|__name__/);
    expect(files.get("pipelines/page-views.ts")).toContain('"page-views",');
    expect(files.get("bin/app.ts")).toContain('new SparklessPipeline(stack, "PageViews", {\n  entry: "pipelines/page-views.ts",');
    expect(files.get("test/page-views.test.ts")).toContain('import pageViews from "../pipelines/page-views.js";');
    expect(files.get("README.md")).toMatch(/^# My App\n/);
  });

  it("depends on this sparkless and the CDK versions it is built with", () => {
    const pkg = JSON.parse(scaffold("my-app", { pipeline: "clicks" }).get("package.json")!) as { name: string; scripts: Record<string, string>; dependencies: Record<string, string> };
    expect(pkg.name).toBe("my-app");
    expect(pkg.scripts).toMatchObject({ start: "sparkless local up --no-sample", test: "vitest run" });
    expect(pkg.dependencies).toEqual({ sparkless: `^${own.version}`, "aws-cdk-lib": own.peerDependencies["aws-cdk-lib"], constructs: own.peerDependencies.constructs });
    expect(JSON.parse(scaffold("my-app", { pipeline: "clicks", sparkless: "file:../sparkless.tgz" }).get("package.json")!).dependencies.sparkless).toBe("file:../sparkless.tgz");
  });

  it("writes the project into a new directory and says what to run next", async () => {
    const cwd = tempDir();
    const t = testIo({ cwd });
    expect(await main(["init", "my-app"], t.io)).toBe(0);
    expect(existsSync(join(cwd, "my-app/pipelines/clicks.ts"))).toBe(true);
    expect(t.stdout()).toContain("  cd my-app\n  npm install && npm start");
  });

  it("fails if the directory is not empty, and changes nothing", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "mine.txt"), "keep me");
    const t = testIo({ cwd });
    expect(await main(["init", "."], t.io)).toBe(1);
    expect(t.stderr()).toContain("sparkless: . is not empty: sparkless init creates a project in an empty or new directory");
    expect(existsSync(join(cwd, "package.json"))).toBe(false);
  });

  it("fails if the pipeline name could not name a pipeline", async () => {
    const t = testIo({ cwd: tempDir() });
    expect(await main(["init", "app", "--pipeline", "Page_Views"], t.io)).toBe(2);
    expect(t.stderr()).toMatch(/--pipeline: pipeline name must be [^\n]*\(received "Page_Views"\)/);
  });
});

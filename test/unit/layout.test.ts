/**
 * docs/architecture.md "Layout": lib/ is floors, each importing only those below it, and never Lambda's types or
 * aws-cdk-lib. Checked on the source text, so a new file cannot slip an upward import in.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";

const LIB = join(import.meta.dirname, "../../lib");
const FLOOR: Record<string, number> = { contract: 0, core: 0, io: 0, "pipeline-store": 0, graph: 1, sql: 1, exec: 2, api: 3, serverless: 4, testing: 5 };

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const files = sources(LIB).map((path) => ({ path: relative(LIB, path), text: readFileSync(path, "utf8") }));
const imports = (text: string) => [...text.matchAll(/(?:from|import)\s+"([^"]+)"/g)].map((m) => m[1]!);

describe("lib/ layout", () => {
  it("has a floor for every folder", () => {
    const folders = [...new Set(files.map((f) => f.path.split("/")).filter((p) => p.length > 1).map((p) => p[0]!))];
    expect(folders.filter((d) => FLOOR[d] === undefined)).toEqual([]);
  });

  it("imports no Lambda event types and no aws-cdk-lib", () => {
    const offenders = files.filter((f) => imports(f.text).some((i) => i === "aws-lambda" || i.startsWith("aws-cdk-lib")));
    expect(offenders.map((f) => f.path)).toEqual([]);
  });

  it("imports nothing from a higher floor", () => {
    const upward: string[] = [];
    for (const f of files) {
      const floor = FLOOR[f.path.split("/")[0]!];
      if (floor === undefined) continue;
      for (const i of imports(f.text).filter((i) => i.startsWith("."))) {
        const target = normalize(join(dirname(f.path), i)).split("/")[0]!;
        if ((FLOOR[target] ?? -1) > floor) upward.push(`${f.path} -> ${i}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("never imports the tooling, the construct or the Lambda adapters, which all sit on top of it", () => {
    const outward = files.flatMap((f) =>
      imports(f.text)
        .filter((i) => i.startsWith("."))
        .map((i) => normalize(join("lib", dirname(f.path), i)))
        .filter((target) => !target.startsWith("lib/"))
        .map((target) => `${f.path} -> ${target}`),
    );
    expect(outward).toEqual([]);
  });
});

describe("the folders", () => {
  const ROOT = join(import.meta.dirname, "../..");
  const TOP = ["lib", "tooling", "infra", "functions", "test", "examples", "scripts", "templates"];
  /** templates/app/ is copied into a user's project as it is: its own README speaks to that user. */
  const folders = (dir: string): string[] =>
    dir === "templates/app"
      ? []
      : [dir, ...readdirSync(join(ROOT, dir), { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => folders(`${dir}/${e.name}`))];
  const explained = (dir: string) =>
    existsSync(join(ROOT, dir, "README.md")) || (existsSync(join(ROOT, dir, "index.ts")) && readFileSync(join(ROOT, dir, "index.ts"), "utf8").startsWith("/**"));

  it("each say in a README (or an opening comment of index.ts) what belongs there and what it may import", () => {
    expect(TOP.flatMap(folders).filter((dir) => !explained(dir))).toEqual([]);
  });
});

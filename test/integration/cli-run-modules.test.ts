/**
 * `sparkless run` loads a pipeline module the way its author wrote it: ES module or CommonJS, TypeScript or
 * JavaScript (.ts .mts .cts .js .mjs .cjs), in a folder with or without `"type": "module"` — the folders are
 * written here as a user's would be, outside this repository. A module that cannot load is an error that says
 * why and what to do (it used to be "Cannot require() ES Module … in a cycle" for any .ts in a CommonJS folder).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPipeline } from "../../tooling/cli/commands/run.js";
import { main } from "../../tooling/cli/index.js";
import { testIo } from "../support/cli.js";

const ENGINE = resolve("lib/index.ts");
const esm = (name: string, types = true) =>
  `import { definePipeline, Seconds } from ${JSON.stringify(pathToFileURL(ENGINE).href)};\n` +
  `export const pipeline = definePipeline(${JSON.stringify(name)}, { batchInterval: Seconds(1) }, (lines${types ? ": any" : ""}) => {\n` +
  `  lines.flatMap((l${types ? ": string" : ""}) => l.split(" ")).print();\n});\n`;
const cjs = (name: string, types = true) =>
  `const { definePipeline, Seconds } = require(${JSON.stringify(ENGINE)});\n` +
  `module.exports.pipeline = definePipeline(${JSON.stringify(name)}, { batchInterval: Seconds(1) }, (lines${types ? ": any" : ""}) => {\n` +
  `  lines.print();\n});\n`;

/** A folder of the user's, with its own package.json. */
const FOLDERS: Record<string, { packageJson: object; files: Record<string, string> }> = {
  "commonjs-folder": {
    packageJson: { name: "my-pipelines", private: true },
    files: {
      "esm.ts": esm("esm-ts"),
      "esm-m.mts": esm("esm-mts"),
      "cjs-c.cts": cjs("cjs-cts"),
      "cjs.js": cjs("cjs-js", false),
      "esm-m-js.mjs": esm("esm-mjs", false),
      "cjs-c-js.cjs": cjs("cjs-cjs", false),
      "esm-syntax.js": esm("esm-syntax-js", false),
    },
  },
  "module-folder": {
    packageJson: { name: "my-pipelines", private: true, type: "module" },
    files: {
      "esm.ts": esm("esm-ts"),
      "esm-plain.js": esm("esm-js", false),
      "cjs-c.cts": cjs("cjs-cts"),
      "cjs-c-js.cjs": cjs("cjs-cjs", false),
      "broken.ts": "export const x = ;\n",
      "missing-import.ts": `import "./not-there.js";\n${esm("missing")}`,
      "throws.ts": `throw new Error("no config file");\n`,
    },
  },
};

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "sparkless-run-modules-"));
  for (const [folder, { packageJson, files }] of Object.entries(FOLDERS)) {
    mkdirSync(join(root, folder));
    writeFileSync(join(root, folder, "package.json"), JSON.stringify(packageJson));
    for (const [file, text] of Object.entries(files)) writeFileSync(join(root, folder, file), text);
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("sparkless run loads a pipeline module as its author wrote it", () => {
  it.each([
    ["commonjs-folder", "esm.ts", "esm-ts"],
    ["commonjs-folder", "esm-m.mts", "esm-mts"],
    ["commonjs-folder", "cjs-c.cts", "cjs-cts"],
    ["commonjs-folder", "cjs.js", "cjs-js"],
    ["commonjs-folder", "esm-m-js.mjs", "esm-mjs"],
    ["commonjs-folder", "cjs-c-js.cjs", "cjs-cjs"],
    ["commonjs-folder", "esm-syntax.js", "esm-syntax-js"],
    ["module-folder", "esm.ts", "esm-ts"],
    ["module-folder", "esm-plain.js", "esm-js"],
    ["module-folder", "cjs-c.cts", "cjs-cts"],
    ["module-folder", "cjs-c-js.cjs", "cjs-cjs"],
  ])("%s/%s", async (folder, file, name) => {
    const pipeline = await loadPipeline(join(root, folder), file, undefined);
    expect(pipeline.name).toBe(name);
  });

  it("runs a .ts module of a folder without \"type\": \"module\" end to end", async () => {
    const t = testIo({ cwd: join(root, "commonjs-folder") });
    const code = await main(["run", "esm.ts", "--generated", "--lines", "1", "--batches", "1"], t.io);
    expect(code, t.stderr()).toBe(0);
    expect(t.stdout()).toMatch(/-{43}\nTime: \d+ ms\n-{43}\n/);
  });

  it.each([
    ["broken.ts", /^sparkless: cannot load the pipeline module broken\.ts: it does not compile at .*broken\.ts:1:\d+: Unexpected ";"\n$/],
    ["missing-import.ts", /^sparkless: cannot load the pipeline module missing-import\.ts: .*not-there\.js.* \(check the import's path and extension, or npm install the package it names\)\n$/],
    ["throws.ts", /^sparkless: cannot load the pipeline module throws\.ts: it threw while loading: no config file\n$/],
    ["nowhere.ts", /^sparkless: cannot find the pipeline module nowhere\.ts \(looked for .*nowhere\.ts\)\n$/],
  ])("fails if %s cannot load, saying why", async (file, message) => {
    const t = testIo({ cwd: join(root, "module-folder") });
    expect(await main(["run", file, "--generated", "--batches", "1"], t.io)).toBe(2);
    expect(t.stderr()).toMatch(message);
  });
});

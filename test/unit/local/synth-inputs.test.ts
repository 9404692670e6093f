/**
 * Reusing a synthesized assembly: what counts as an input of `cdk synth`, and the local stack's synth step on a
 * tiny CDK app (a script that writes a one-stack assembly, run by the real CDK CLI) — synthesized once, reused
 * while nothing changes, synthesized again when a file, a setting or the assembly itself changes.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { synthesizeUnlessUnchanged } from "../../../tooling/stack/synth.js";
import { changedInputs, describeChanges, reasonsToSynthesize, recordInputs, synthInputs, SYNTH_INPUTS_FILE } from "../../../tooling/stack/synth-inputs.js";

let project: string;

beforeEach(async () => {
  project = await mkdtemp(join(tmpdir(), "sparkless-synth-inputs-"));
  await writeFile(join(project, "cdk.json"), JSON.stringify({ app: "node app.mjs", output: "out" }));
  await writeFile(join(project, "package-lock.json"), "{}");
  await mkdir(join(project, "lib"));
  await writeFile(join(project, "lib", "a.ts"), "export const a = 1;\n");
});

afterEach(async () => {
  await rm(project, { recursive: true, force: true });
});

describe("synthInputs", () => {
  it("fingerprints every project file, the installed packages and the CDK's environment; not node_modules, version control, assemblies or skipped directories", async () => {
    await mkdir(join(project, "node_modules", "x"), { recursive: true });
    await writeFile(join(project, "node_modules", "x", "index.js"), "");
    await writeFile(join(project, "node_modules", ".package-lock.json"), "{}");
    await mkdir(join(project, ".git"));
    await writeFile(join(project, ".git", "HEAD"), "ref");
    await mkdir(join(project, "out"));
    await writeFile(join(project, "out", "manifest.json"), "{}");
    await mkdir(join(project, ".sparkless", "cdk.out"), { recursive: true });
    await writeFile(join(project, ".sparkless", "stack.json"), "{}");
    await symlink("lib/a.ts", join(project, "link.ts"));

    const inputs = await synthInputs({ cwd: project, skip: [join(project, ".sparkless")], env: { CDK_CONTEXT_JSON: "{}", SPARKLESS_PIPELINE_ENTRY: "x.ts", HOME: "/h", PATH: "/bin" } });
    expect(Object.keys(inputs.files)).toEqual(["cdk.json", "lib/a.ts", "link.ts", "node_modules/.package-lock.json", "package-lock.json"]);
    expect(inputs.files["link.ts"]).toBe("link:lib/a.ts");
    expect(Object.keys(inputs.settings)).toEqual(expect.arrayContaining(["env:CDK_CONTEXT_JSON", "env:SPARKLESS_PIPELINE_ENTRY", "node"]));
    expect(Object.keys(inputs.settings)).not.toContain("env:PATH");
  });

  it("says what changed: a file edited, added or removed, a variable set or unset", async () => {
    const before = await synthInputs({ cwd: project, env: { CDK_DEFAULT_REGION: "eu-west-1" } });
    expect(changedInputs(before, await synthInputs({ cwd: project, env: { CDK_DEFAULT_REGION: "eu-west-1" } }))).toEqual([]);

    await writeFile(join(project, "lib", "a.ts"), "export const a = 2;\n");
    await writeFile(join(project, "lib", "b.ts"), "export const b = 1;\n");
    await rm(join(project, "package-lock.json"));
    const after = await synthInputs({ cwd: project, env: { AWS_REGION: "us-east-1" } });
    expect(changedInputs(before, after)).toEqual(["lib/a.ts changed", "lib/b.ts added", "package-lock.json removed", "env:AWS_REGION added", "env:CDK_DEFAULT_REGION unset"]);
    expect(describeChanges(changedInputs(before, after))).toBe("lib/a.ts changed, lib/b.ts added, package-lock.json removed and 2 more");
  });

  it("keeps an assembly only when its inputs were recorded, are unchanged, and every asset it names is there", async () => {
    const outdir = join(project, "out");
    const inputs = await synthInputs({ cwd: project, env: {} });
    expect(await reasonsToSynthesize(outdir, inputs)).toEqual(["no earlier synthesis recorded"]);

    await mkdir(outdir);
    await recordInputs(outdir, inputs);
    expect(await reasonsToSynthesize(outdir, inputs)).toEqual(["the assembly is incomplete"]); // no manifest.json

    await writeFile(
      join(outdir, "manifest.json"),
      JSON.stringify({
        version: "36.0.0",
        artifacts: {
          "S.assets": { type: "cdk:asset-manifest", properties: { file: "S.assets.json" } },
          S: { type: "aws:cloudformation:stack", properties: { templateFile: "S.template.json" } },
        },
      }),
    );
    await writeFile(join(outdir, "S.template.json"), JSON.stringify({ Resources: {} }));
    await writeFile(join(outdir, "S.assets.json"), JSON.stringify({ files: { abc: { source: { path: "asset.abc", packaging: "zip" }, destinations: {} } } }));
    expect(await reasonsToSynthesize(outdir, inputs)).toEqual(["the assembly is incomplete"]); // asset.abc is missing
    await mkdir(join(outdir, "asset.abc"));
    expect(await reasonsToSynthesize(outdir, inputs)).toEqual([]);

    await writeFile(join(project, "lib", "a.ts"), "export const a = 3;\n");
    expect(await reasonsToSynthesize(outdir, await synthInputs({ cwd: project, env: {} }))).toEqual(["lib/a.ts changed"]);
  });
});

describe("synthesizeUnlessUnchanged", () => {
  it("synthesizes, then reuses the assembly while nothing changes, and synthesizes again after an edit", async () => {
    // A CDK app in a few lines: the assembly format the CDK CLI reads, one stack.
    await writeFile(
      join(project, "app.mjs"),
      `import { mkdirSync, writeFileSync, readFileSync } from "node:fs";
       const out = process.env.CDK_OUTDIR;
       mkdirSync(out, { recursive: true });
       const a = readFileSync("lib/a.ts", "utf8");
       writeFileSync(out + "/S.template.json", JSON.stringify({ Resources: { Q: { Type: "AWS::SQS::Queue", Metadata: { a } } } }));
       writeFileSync(out + "/manifest.json", JSON.stringify({ version: "36.0.0", artifacts: { S: { type: "aws:cloudformation:stack", environment: "aws://unknown-account/unknown-region", properties: { templateFile: "S.template.json" } } } }));
       writeFileSync(out + "/cdk.out", JSON.stringify({ version: "36.0.0" }));`,
    );
    const outdir = join(project, ".sparkless", "cdk.out");
    const starts: string[] = [];
    const synth = () => synthesizeUnlessUnchanged({ cwd: project, outdir, skip: [join(project, ".sparkless")], onStart: (why) => starts.push(why) });
    const template = async () => (JSON.parse(await readFile(join(outdir, "S.template.json"), "utf8")) as { Resources: { Q: { Metadata: { a: string } } } }).Resources.Q.Metadata.a;

    expect(await synth()).toMatchObject({ reused: false });
    expect(starts).toEqual(["no earlier synthesis recorded"]);
    expect(await template()).toBe("export const a = 1;\n");

    expect(await synth()).toEqual({ reused: true });
    expect(starts).toHaveLength(1);

    await writeFile(join(project, "lib", "a.ts"), "export const a = 2;\n");
    expect(await synth()).toMatchObject({ reused: false });
    expect(starts[1]).toBe("lib/a.ts changed");
    expect(await template()).toBe("export const a = 2;\n");

    // A synth that fails leaves no record behind: the next start synthesizes again.
    await writeFile(join(project, "app.mjs"), "process.exit(3);");
    await expect(synth()).rejects.toMatchObject({ code: "SynthFailed" });
    await expect(readFile(join(outdir, SYNTH_INPUTS_FILE))).rejects.toMatchObject({ code: "ENOENT" });
  }, 240_000);
});

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Writes to `cdkOut` what `cdk synth` would for one stack `Demo` with one function asset: the manifest, the asset
 * manifest, the template and the asset's `index.mjs`.
 */
export async function writeDemoAssembly(cdkOut: string, asset: { readonly id: string; readonly module: string }, template: unknown): Promise<void> {
  const dir = `asset.${asset.id}`;
  await mkdir(join(cdkOut, dir), { recursive: true });
  await writeFile(join(cdkOut, dir, "index.mjs"), asset.module);
  await writeFile(
    join(cdkOut, "manifest.json"),
    JSON.stringify({
      version: "55.0.0",
      artifacts: {
        "Demo.assets": { type: "cdk:asset-manifest", properties: { file: "Demo.assets.json" } },
        Demo: { type: "aws:cloudformation:stack", properties: { templateFile: "Demo.template.json" }, dependencies: ["Demo.assets"] },
      },
    }),
  );
  await writeFile(
    join(cdkOut, "Demo.assets.json"),
    JSON.stringify({ version: "55.0.0", files: { [asset.id]: { source: { path: dir, packaging: "zip" }, destinations: { d: { objectKey: `${asset.id}.zip` } } } } }),
  );
  await writeFile(join(cdkOut, "Demo.template.json"), JSON.stringify(template));
}

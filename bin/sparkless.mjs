#!/usr/bin/env node
// The `sparkless` command. Installed from the package, it runs the compiled CLI in dist/ with plain Node. In a
// checkout of the repository (the TypeScript sources sit beside this file) it runs those sources through tsx's
// loader instead, so `npm install && npm start` needs no build step and never runs a stale dist/.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

// The AWS SDK warns once per process, on Node < 22, that releases from 2027 will need Node 22. It is true and
// not actionable while package.json says node >= 20; keep it out of the CLI's output unless asked for.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// `sparkless tail | head`: a reader that went away ends the command quietly, as for any Unix tool.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
}

const argv = process.argv.slice(2);
const sources = new URL("../tooling/cli/index.ts", import.meta.url);
const fromSources = existsSync(fileURLToPath(sources));

/** tsx's loader, for the CLI's own sources or for a user's TypeScript pipeline module (`sparkless run x.ts`). */
async function registerTypeScript() {
  let api;
  try {
    api = await import("tsx/esm/api");
  } catch {
    process.stderr.write("sparkless: loading a TypeScript module needs tsx: run `npm install --save-dev tsx`, or compile the module to .js first\n");
    process.exit(1);
  }
  api.register();
}

if (fromSources || argv.some((a) => /\.[cm]?tsx?$/.test(a))) await registerTypeScript();
const { main } = await import(fromSources ? sources.href : "../dist/tooling/cli/index.js");
process.exitCode = await main(argv);

#!/usr/bin/env node
// The `sparkless` command: runs the TypeScript CLI (lib/local/cli) through tsx's loader, so `npx sparkless ...`
// works in this repository without a build step. Pipeline modules given to `sparkless run` load the same way.
import { register } from "tsx/esm/api";

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

register();
const { main } = await import("../lib/local/cli/index.ts");
process.exitCode = await main(process.argv.slice(2));

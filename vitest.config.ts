import { defineConfig } from "vitest/config";

export default defineConfig({
  // `import ... from "sparkless"` (the examples, the test driver's users) resolves to the sources here, not to
  // the dist/ that only `npm run build` writes: package.json's exports carry a "sparkless-source" condition.
  ssr: { resolve: { conditions: ["sparkless-source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    typecheck: { enabled: true, include: ["test/types/**/*.test-d.ts"], tsconfig: "./tsconfig.json" },
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Vitest's default on a 2-core machine is one worker (cores - 1). Most of the slow files wait, not compute
    // (Kafka group joins, emulators, child processes such as cdk synth), so two run side by side.
    maxWorkers: 2,
    // The AWS SDK asks Node 20 users to move to 22 on every client: Lambda runs 22, the tests run on 20.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});

/**
 * The same end-to-end check against LocalStack, when `AWS_ENDPOINT_URL` points at one where
 * `npm run localstack:deploy` has deployed the app (it writes the stack's outputs to
 * cdk.out/localstack-outputs.json). Not run in our CI, which has no Docker: there the variable is unset and
 * vitest reports the test as skipped (docs/localstack.md); the embedded-stack e2e covers the same path.
 *
 *     docker compose up -d --wait && npm run localstack:deploy && AWS_ENDPOINT_URL=http://localhost:4566 npx vitest run test/e2e/localstack
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "vitest";
import { printBlockParser } from "../../tooling/stack/index.js";
import { checkWordCount } from "./word-count-check.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const OUTPUTS = resolve(REPO, "cdk.out/localstack-outputs.json");
const endpoint = process.env.AWS_ENDPOINT_URL;

describe("the word-count app on LocalStack", () => {
  it.runIf(endpoint !== undefined)("produces the local engine's outputs for the same records (when AWS_ENDPOINT_URL points at LocalStack)", async () => {
    if (!endpoint) return;
    if (!existsSync(OUTPUTS)) throw new Error(`${OUTPUTS} is missing: deploy first with npm run localstack:deploy`);
    const [, outputs] = Object.entries(JSON.parse(readFileSync(OUTPUTS, "utf8")) as Record<string, Record<string, string>>)[0]!;
    await checkWordCount(
      {
        endpoints: { kinesis: endpoint, dynamodb: endpoint, s3: process.env.AWS_ENDPOINT_URL_S3 ?? endpoint },
        pipeline: { name: "word-count", stream: outputs.StreamName!, table: outputs.TableName!, bucket: outputs.BucketName!, batchIntervalMs: 5_000 },
        // LocalStack runs the ticker at the template's rate (1 minute): a quiet stream's last batches wait for it.
        finalizeWithinMs: 180_000,
      },
      printBlockParser,
    );
  }, 240_000);
});

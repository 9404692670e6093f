/**
 * The concurrency harness (test/serverless/concurrency) on DynamoDbPipelineStore over dynalite, where the
 * conditions — the commit, the fencing token on the status item, node memory's fence — are evaluated by a
 * DynamoDB implementation rather than our in-memory model of it. Fewer schedules than in memory: every store
 * call is a request. `SPARKLESS_DYNAMO_SCHEDULES=50 npx vitest run test/integration/concurrency-dynamodb` runs more.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDbClient } from "../../lib/io/aws-clients.js";
import { MemoryObjectStore } from "../../lib/testing/memory-object-store.js";
import { startDynalite, type RunningEmulator } from "../../tooling/emulators/index.js";
import { DynamoDbPipelineStore } from "../../lib/pipeline-store/dynamodb-pipeline-store.js";
import { createPipelineTable } from "../support/emulators.js";
import { runSchedule } from "../serverless/concurrency/world.js";

const SCHEDULES = Number(process.env.SPARKLESS_DYNAMO_SCHEDULES ?? 6);
const TABLE = "sparkless-concurrency";
let dynalite: RunningEmulator | undefined;
let ddb: DynamoDBClient | undefined;

beforeAll(async () => {
  dynalite = await startDynalite();
  ddb = dynamoDbClient({ endpoint: dynalite.endpoint });
  await createPipelineTable(ddb, TABLE);
});
afterAll(async () => {
  ddb?.destroy();
  await dynalite?.stop();
});

describe("concurrent actors on DynamoDB (dynalite)", () => {
  it(`keep every batch equal to the local engine's over ${SCHEDULES} random schedules`, async () => {
    const failed: string[] = [];
    for (let seed = 1; seed <= SCHEDULES; seed++) {
      const stores = () => {
        const objects = new MemoryObjectStore();
        return { objects, store: new DynamoDbPipelineStore({ client: ddb!, tableName: TABLE, pipeline: `race-${seed}`, objects }) };
      };
      const outcome = await runSchedule(seed, { stores, maxSteps: 250, batches: 4 });
      if (outcome.problems.length) failed.push(`seed ${seed}: ${outcome.problems.slice(0, 3).join("; ")}`);
    }
    expect(failed).toEqual([]);
  }, Math.max(120_000, SCHEDULES * 60_000));
});

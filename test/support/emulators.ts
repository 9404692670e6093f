import { CreateTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll } from "vitest";
import { startEmulators, startKinesis, type Emulators, type RunningEmulator } from "../../tooling/emulators/index.js";

/**
 * Starts the three emulators before the file's tests and stops them after. Read the result's properties inside
 * tests or hooks (they are set by beforeAll):
 *
 * @example
 * const emu = useEmulators();
 * it("...", async () => { const ddb = dynamoDbClient({ endpoint: emu.dynamodb.endpoint }); ... });
 */
export function useEmulators(): Emulators {
  const get = useStarted("emulators are", startEmulators);
  return {
    get kinesis() { return get().kinesis; },
    get dynamodb() { return get().dynamodb; },
    get s3() { return get().s3; },
    stop: () => get().stop(),
  };
}

/** Only the Kinesis emulator, for files that need no DynamoDB or S3. */
export function useKinesis(): RunningEmulator {
  const get = useStarted("the Kinesis emulator is", () => startKinesis());
  return {
    get endpoint() { return get().endpoint; },
    stop: () => get().stop(),
  };
}

/** Starts something before the file's tests and stops it after; the getter fails outside tests and hooks. */
function useStarted<T extends { stop(): Promise<void> }>(what: string, start: () => Promise<T>): () => T {
  let running: T | undefined;
  beforeAll(async () => {
    running = await start();
  });
  afterAll(async () => {
    await running?.stop();
  });
  return () => {
    if (!running) throw new Error(`${what} not running: use it inside a test or a hook, after beforeAll`);
    return running;
  };
}

/** The pipeline table as the SparklessPipeline construct defines it: `pk` and `sk` strings, on demand. */
export function createPipelineTable(client: DynamoDBClient, tableName: string): Promise<unknown> {
  return client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: "pk", AttributeType: "S" },
        { AttributeName: "sk", AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
}

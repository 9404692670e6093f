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
  let running: Emulators | undefined;
  beforeAll(async () => {
    running = await startEmulators();
  });
  afterAll(async () => {
    await running?.stop();
  });
  const get = (): Emulators => {
    if (!running) throw new Error("emulators are not running: use them inside a test or a hook, after beforeAll");
    return running;
  };
  return {
    get kinesis() { return get().kinesis; },
    get dynamodb() { return get().dynamodb; },
    get s3() { return get().s3; },
    stop: () => get().stop(),
  };
}

/** Only the Kinesis emulator, for files that need no DynamoDB or S3. */
export function useKinesis(): RunningEmulator {
  let running: RunningEmulator | undefined;
  beforeAll(async () => {
    running = await startKinesis();
  });
  afterAll(async () => {
    await running?.stop();
  });
  return {
    get endpoint() {
      if (!running) throw new Error("the Kinesis emulator is not running: use it inside a test or a hook, after beforeAll");
      return running.endpoint;
    },
    stop: () => running?.stop() ?? Promise.resolve(),
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

/**
 * `AWS::DynamoDB::Table`: created from the template's keys, billing, indexes and stream, with TTL where the
 * emulator takes it, or kept as it is when it exists.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import { ValidationError } from "../../../lib/core/errors.js";
import type { CfnResource } from "../assembly.js";
import { resolve } from "../intrinsics.js";
import { arns } from "../physical-names.js";
import { at, errorName, unlessNotFound, type DeployContext } from "./deploy-context.js";

export interface DeployedTable {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly created: boolean;
}

type TtlSpecification = { AttributeName?: string; Enabled?: boolean };

export async function deployTable(d: DeployContext, logicalId: string, r: CfnResource): Promise<DeployedTable> {
  const { dynamodb } = d.clients;
  const name = d.resources.name(logicalId);
  const props = resolve(r.Properties ?? {}, d.ctx, at(d, logicalId, "Properties")) as Record<string, unknown>;
  let created = false;
  let described = await describeTable(dynamodb, name);
  if (!described) {
    try {
      await dynamodb.send(new CreateTableCommand(createTableInput(name, props)));
      created = true;
    } catch (err) {
      if (errorName(err) !== "ResourceInUseException") {
        throw new ValidationError("TableCreateFailed", `could not create table ${name} (${d.stack.stackName}/${logicalId}): ${(err as Error).message}`, { logicalId }, { cause: err });
      }
    }
    const ttl = props.TimeToLiveSpecification as TtlSpecification | undefined;
    if (created && ttl?.Enabled && ttl.AttributeName) await applyTimeToLive(d, name, ttl.AttributeName);
    described = await describeTable(dynamodb, name);
  }
  const arn = described?.TableArn ?? arns.table(d.region, name);
  const atts: Record<string, string> = { Arn: arn };
  if (described?.LatestStreamArn) atts.StreamArn = described.LatestStreamArn;
  d.resources.actual.set(logicalId, { ref: name, atts });
  return { logicalId, name, arn, created };
}

function createTableInput(name: string, props: Record<string, unknown>): CreateTableCommandInput {
  const billing = (props.BillingMode as string | undefined) ?? "PROVISIONED";
  const throughput = props.ProvisionedThroughput ?? (billing === "PROVISIONED" ? { ReadCapacityUnits: 5, WriteCapacityUnits: 5 } : undefined);
  return {
    TableName: name,
    KeySchema: props.KeySchema as CreateTableCommandInput["KeySchema"],
    AttributeDefinitions: props.AttributeDefinitions as CreateTableCommandInput["AttributeDefinitions"],
    BillingMode: billing as CreateTableCommandInput["BillingMode"],
    ...(throughput ? { ProvisionedThroughput: throughput as CreateTableCommandInput["ProvisionedThroughput"] } : {}),
    ...(props.GlobalSecondaryIndexes ? { GlobalSecondaryIndexes: props.GlobalSecondaryIndexes as CreateTableCommandInput["GlobalSecondaryIndexes"] } : {}),
    ...(props.LocalSecondaryIndexes ? { LocalSecondaryIndexes: props.LocalSecondaryIndexes as CreateTableCommandInput["LocalSecondaryIndexes"] } : {}),
    ...(props.StreamSpecification ? { StreamSpecification: { StreamEnabled: true, ...(props.StreamSpecification as object) } } : {}),
  };
}

async function applyTimeToLive(d: DeployContext, name: string, attribute: string): Promise<void> {
  try {
    await d.clients.dynamodb.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: attribute, Enabled: true } }));
  } catch (err) {
    // dynalite has no UpdateTimeToLive: tolerated (expired items stay; readers filter them by time).
    d.notes.push(`table ${name}: TTL on "${attribute}" not applied (${errorName(err) || "error"}: the emulator does not support it); expired items are kept`);
  }
}

async function describeTable(dynamodb: DynamoDBClient, name: string) {
  return (await unlessNotFound(dynamodb.send(new DescribeTableCommand({ TableName: name }))))?.Table;
}

/**
 * A DynamoDB request (JSON 1.0: `X-Amz-Target: DynamoDB_20120810.<Operation>`) as the authorization checks AWS
 * makes for it: `dynamodb:<Operation>` on the table (or `table/<t>/index/<i>` for a Query or Scan of an index);
 * one check per table for the batch operations; for the transactions, the item action of each item
 * (`PutItem`, `UpdateItem`, `DeleteItem`, `ConditionCheckItem`, `GetItem`) on its table — there is no
 * `dynamodb:TransactWriteItems` permission. Condition keys: `dynamodb:Select`, `dynamodb:ReturnValues`,
 * `dynamodb:ReturnConsumedCapacity` (not `dynamodb:LeadingKeys` or `dynamodb:Attributes`).
 */
import type { AccessRequest } from "./evaluate.js";
import { tableArn, type ResourceArns } from "./resource-arns.js";

/** Operations on no table, checked against resource `*`. */
const NO_RESOURCE = new Set(["ListTables", "DescribeLimits", "ListBackups", "ListGlobalTables", "ListExports", "ListImports", "DescribeEndpoints"]);

const TRANSACT_ITEM_ACTIONS: Record<string, string> = { Put: "PutItem", Update: "UpdateItem", Delete: "DeleteItem", ConditionCheck: "ConditionCheckItem", Get: "GetItem" };

function conditionKeys(body: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, key] of [["Select", "dynamodb:Select"], ["ReturnValues", "dynamodb:ReturnValues"], ["ReturnConsumedCapacity", "dynamodb:ReturnConsumedCapacity"]] as const) {
    if (typeof body[field] === "string") out[key] = body[field] as string;
  }
  return out;
}

/**
 * The checks for one DynamoDB operation with its JSON body.
 *
 * @example
 * dynamoDbAccess("PutItem", { TableName: "t", Item: {...} }, arns);
 * // [{ action: "dynamodb:PutItem", resource: "arn:aws:dynamodb:us-east-1:000000000000:table/t", context: {} }]
 */
export function dynamoDbAccess(operation: string, body: Record<string, unknown>, arns: ResourceArns): AccessRequest[] {
  const context = conditionKeys(body);
  if (operation === "BatchGetItem" || operation === "BatchWriteItem") {
    const tables = Object.keys((body.RequestItems ?? {}) as Record<string, unknown>);
    return tables.map((t) => ({ action: `dynamodb:${operation}`, resource: tableArn(arns, t), context }));
  }
  if (operation === "TransactWriteItems" || operation === "TransactGetItems") {
    const items = Array.isArray(body.TransactItems) ? (body.TransactItems as Array<Record<string, { TableName?: string } | undefined>>) : [];
    return items.flatMap((item) =>
      Object.entries(item).flatMap(([kind, spec]) => {
        const action = TRANSACT_ITEM_ACTIONS[kind];
        return action && typeof spec?.TableName === "string" ? [{ action: `dynamodb:${action}`, resource: tableArn(arns, spec.TableName), context }] : [];
      }),
    );
  }
  const table = typeof body.TableName === "string" ? body.TableName : typeof body.ResourceArn === "string" ? body.ResourceArn : undefined;
  if (NO_RESOURCE.has(operation) || table === undefined) return [{ action: `dynamodb:${operation}`, resource: "*", context }];
  const base = tableArn(arns, table);
  const resource = typeof body.IndexName === "string" && (operation === "Query" || operation === "Scan") ? `${base}/index/${body.IndexName}` : base;
  return [{ action: `dynamodb:${operation}`, resource, context }];
}

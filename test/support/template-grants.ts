/**
 * What a synthesized template grants a function's role, as "action on resource" lines that a test compares with
 * the contract (lib/contract): the infra grants tests for Kinesis and Kafka pipelines read it the same way.
 */
import type { Stack } from "aws-cdk-lib";
import type * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";

type Json = Record<string, any>;

/** A resource of a policy statement as text: `<logicalId>.Arn`, `<logicalId>.Arn/<prefix>*`, a `Ref`, or literal. */
export function resourceText(resource: unknown): string {
  const r = resource as Json;
  if (typeof r === "string") return r;
  if (r.Ref) return `${r.Ref}`;
  if (r["Fn::GetAtt"]) return `${r["Fn::GetAtt"][0]}.${r["Fn::GetAtt"][1]}`;
  if (r["Fn::Join"]) return (r["Fn::Join"][1] as unknown[]).map((part) => (typeof part === "string" ? part : resourceText(part))).join("");
  return JSON.stringify(r);
}

/** Every "action on resource" the role of `fn` is allowed, sorted. A Deny statement fails: the construct writes none. */
export function granted(stack: Stack, template: Json, fn: lambda.Function): string[] {
  const roleId = stack.getLogicalId(fn.role!.node.defaultChild as iam.CfnRole);
  const out = new Set<string>();
  for (const resource of Object.values(template.Resources as Record<string, Json>)) {
    if (resource.Type !== "AWS::IAM::Policy" || !(resource.Properties.Roles as Json[]).some((role) => role.Ref === roleId)) continue;
    for (const statement of resource.Properties.PolicyDocument.Statement as Json[]) {
      if (statement.Effect !== "Allow") throw new Error(`role ${roleId} has a ${String(statement.Effect)} statement: the construct grants with Allow only`);
      for (const action of [statement.Action].flat()) for (const r of [statement.Resource].flat()) out.add(`${action} on ${resourceText(r)}`);
    }
  }
  return [...out].sort();
}

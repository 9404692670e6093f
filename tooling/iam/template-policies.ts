/**
 * The policies a synthesized template gives each role, and the resource policies of its buckets, resolved against
 * the locally deployed resources with the deployer's own intrinsics resolver (so an ARN in a policy is the ARN the
 * function's request is checked against).
 *
 * Read: a role's inline `Policies`, its `ManagedPolicyArns` (a managed policy of the same template, or one of the
 * AWS managed policies in {@link AWS_MANAGED_POLICIES}), `AWS::IAM::Policy` / `AWS::IAM::ManagedPolicy` /
 * `AWS::IAM::RolePolicy` attached to it, and `AWS::S3::BucketPolicy`. What cannot be read (an unknown AWS
 * managed policy, a policy whose intrinsics do not resolve) is left out with a note: its grants are missing
 * locally, so the calls they allow are denied and the note says why.
 */
import type { CfnTemplate } from "../stack/assembly.js";
import { resolve, type ResolveContext } from "../stack/intrinsics.js";
import { parsePolicy, type Policy } from "./policy.js";

/** A role of the template with the identity-based policies attached to it. */
export interface TemplateRole {
  readonly logicalId: string;
  /** Its physical name (`Ref`). */
  readonly name: string;
  readonly arn: string;
  readonly policies: readonly Policy[];
}

/** A resource-based policy and the ARN patterns of what it is attached to (a bucket and its objects). */
export interface ResourcePolicy {
  readonly policy: Policy;
  readonly resourceArns: readonly string[];
}

export interface TemplatePolicies {
  /** By role ARN. */
  readonly roles: ReadonlyMap<string, TemplateRole>;
  readonly resourcePolicies: readonly ResourcePolicy[];
  /** Policies left out, and why. */
  readonly notes: readonly string[];
}

/** AWS managed policies a Lambda role commonly carries, as AWS publishes them (the parts sparkless can meet). */
export const AWS_MANAGED_POLICIES: Readonly<Record<string, unknown>> = {
  "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": {
    Statement: [{ Effect: "Allow", Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], Resource: "*" }],
  },
  "arn:aws:iam::aws:policy/service-role/AWSLambdaKinesisExecutionRole": {
    Statement: [
      {
        Effect: "Allow",
        Action: [
          "kinesis:DescribeStream",
          "kinesis:DescribeStreamSummary",
          "kinesis:GetRecords",
          "kinesis:GetShardIterator",
          "kinesis:ListShards",
          "kinesis:ListStreams",
          "kinesis:SubscribeToShard",
          "logs:CreateLogGroup",
          "logs:CreateLogStream",
          "logs:PutLogEvents",
        ],
        Resource: "*",
      },
    ],
  },
  "arn:aws:iam::aws:policy/AdministratorAccess": { Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] },
  "arn:aws:iam::aws:policy/AmazonS3FullAccess": { Statement: [{ Effect: "Allow", Action: ["s3:*", "s3-object-lambda:*"], Resource: "*" }] },
  "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess": { Statement: [{ Effect: "Allow", Action: ["dynamodb:*"], Resource: "*" }] },
  "arn:aws:iam::aws:policy/AmazonKinesisFullAccess": { Statement: [{ Effect: "Allow", Action: "kinesis:*", Resource: "*" }] },
};

function asList(v: unknown): unknown[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/**
 * Reads the template's roles, their policies and its bucket policies.
 *
 * @example
 * const { roles } = templatePolicies(stack.template, deployed.context);
 * roles.get(fn.roleArn)?.policies; // what the function may do
 */
export function templatePolicies(template: CfnTemplate, ctx: ResolveContext): TemplatePolicies {
  const notes: string[] = [];
  const resources = Object.entries(template.Resources);
  const stackName = ctx.pseudo.stackName;
  const tryResolve = (value: unknown, path: string): unknown => {
    try {
      return resolve(value, ctx, path);
    } catch (err) {
      notes.push(`${path} left out: ${(err as Error).message}`);
      return undefined;
    }
  };
  const policyOf = (name: string, kind: Policy["kind"], document: unknown, path: string): Policy | undefined => {
    const resolved = tryResolve(document, path);
    if (resolved === undefined) return undefined;
    try {
      return parsePolicy(name, kind, resolved);
    } catch (err) {
      notes.push(`${path} left out: ${(err as Error).message}`);
      return undefined;
    }
  };

  const roles = new Map<string, { logicalId: string; name: string; arn: string; policies: Policy[] }>();
  const byName = new Map<string, { policies: Policy[] }>();
  for (const [logicalId, r] of resources) {
    if (r.Type !== "AWS::IAM::Role") continue;
    const name = ctx.resources.ref(logicalId)!;
    const arn = ctx.resources.getAtt(logicalId, "Arn")!;
    const role = { logicalId, name, arn, policies: [] as Policy[] };
    roles.set(arn, role);
    byName.set(name, role);
  }
  const attach = (roleRefs: unknown, path: string, policy: Policy | undefined) => {
    if (!policy) return;
    const names = asList(tryResolve(roleRefs, path));
    for (const n of names) {
      const role = typeof n === "string" ? (byName.get(n) ?? byName.get(n.replace(/^arn:[^:]*:iam::[^:]*:role\/(?:.*\/)?/, ""))) : undefined;
      if (role) role.policies.push(policy);
      else notes.push(`${path}: ${JSON.stringify(n)} is not a role of this stack; the policy is not applied to it`);
    }
  };

  // The template's own managed policies, by logical id and by ARN (their `Ref`).
  const managed = new Map<string, Policy>();
  for (const [logicalId, r] of resources) {
    const p = r.Properties ?? {};
    const at = `${stackName}/${logicalId}`;
    if (r.Type === "AWS::IAM::Policy" || r.Type === "AWS::IAM::ManagedPolicy") {
      const policy = policyOf(logicalId, "identity", p.PolicyDocument, `${at}.Properties.PolicyDocument`);
      if (p.Roles !== undefined) attach(p.Roles, `${at}.Properties.Roles`, policy);
      if (r.Type === "AWS::IAM::ManagedPolicy" && policy) {
        managed.set(logicalId, policy);
        managed.set(`arn:aws:iam::${ctx.pseudo.accountId}:policy/${ctx.resources.ref(logicalId)}`, policy);
      }
    } else if (r.Type === "AWS::IAM::RolePolicy") {
      attach(p.RoleName, `${at}.Properties.RoleName`, policyOf(logicalId, "identity", p.PolicyDocument, `${at}.Properties.PolicyDocument`));
    }
  }
  for (const [logicalId, r] of resources) {
    if (r.Type !== "AWS::IAM::Role") continue;
    const p = r.Properties ?? {};
    const at = `${stackName}/${logicalId}`;
    const role = byName.get(ctx.resources.ref(logicalId)!)!;
    asList(p.Policies).forEach((inline, i) => {
      const { PolicyName, PolicyDocument } = (inline ?? {}) as { PolicyName?: unknown; PolicyDocument?: unknown };
      const policy = policyOf(`${logicalId}/${typeof PolicyName === "string" ? PolicyName : `Policies[${i}]`}`, "identity", PolicyDocument, `${at}.Properties.Policies[${i}]`);
      if (policy) role.policies.push(policy);
    });
    asList(p.ManagedPolicyArns).forEach((ref, i) => {
      // A `Ref` to a managed policy of this template: its document, read above.
      const own = ref && typeof ref === "object" && "Ref" in ref ? managed.get(String((ref as { Ref: unknown }).Ref)) : undefined;
      const arn = own ? undefined : tryResolve(ref, `${at}.Properties.ManagedPolicyArns[${i}]`);
      const known = own ?? (typeof arn === "string" ? managed.get(arn) : undefined);
      if (known) {
        role.policies.push(known);
        return;
      }
      if (typeof arn !== "string") return;
      const doc = AWS_MANAGED_POLICIES[arn];
      if (doc === undefined) {
        notes.push(`${at}: managed policy ${arn} is not known locally; its grants are not applied (what it allows is denied here)`);
        return;
      }
      const policy = policyOf(arn.replace(/^.*:policy\//, ""), "identity", doc, `${at}.Properties.ManagedPolicyArns[${i}]`);
      if (policy) role.policies.push(policy);
    });
    if (p.PermissionsBoundary !== undefined) notes.push(`${at}: the permissions boundary is not applied locally`);
  }

  const resourcePolicies: ResourcePolicy[] = [];
  for (const [logicalId, r] of resources) {
    if (r.Type !== "AWS::S3::BucketPolicy") continue;
    const p = r.Properties ?? {};
    const at = `${stackName}/${logicalId}`;
    const bucket = tryResolve(p.Bucket, `${at}.Properties.Bucket`);
    const policy = policyOf(logicalId, "resource", p.PolicyDocument, `${at}.Properties.PolicyDocument`);
    if (typeof bucket === "string" && policy) resourcePolicies.push({ policy, resourceArns: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] });
  }
  return { roles, resourcePolicies, notes };
}

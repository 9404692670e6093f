/**
 * IAM's decision for one request of a role in its own account, as AWS documents the evaluation logic:
 *
 *   an explicit Deny in any applicable policy (identity or resource)  →  denied
 *   else an Allow in an identity-based policy of the role, or in the resource's policy naming the role  →  allowed
 *   else  →  denied (implicitly: "no identity-based policy allows ...")
 *
 * Session policies, permission boundaries, SCPs and RCPs are not modelled (the construct uses none).
 */
import { conditionHolds, type RequestContext } from "./conditions.js";
import type { Policy, PrincipalSet, Statement } from "./policy.js";
import { actionMatches, resourceMatches } from "./wildcards.js";

/** Who calls: the role and the session Lambda opens with it (`assumed-role/<role>/<function>`). */
export interface Caller {
  readonly roleArn: string;
  /** `arn:aws:sts::<account>:assumed-role/<role name>/<session>`: the "User:" of AWS's denial messages. */
  readonly sessionArn: string;
  readonly accountId: string;
}

/** One authorization check: an action on a resource ARN, with the request's condition keys. */
export interface AccessRequest {
  readonly action: string;
  /** An ARN, or `*` for actions on no resource (ListStreams, ListTables). */
  readonly resource: string;
  readonly context?: RequestContext;
}

export type Decision =
  | { readonly allowed: true; readonly statement: Statement }
  | { readonly allowed: false; readonly reason: "explicit-deny"; readonly statement: Statement; readonly policyKind: Policy["kind"] }
  | { readonly allowed: false; readonly reason: "implicit-deny" };

function principalNames(set: PrincipalSet): readonly string[] | "*" {
  if (set === "*") return "*";
  const aws = set.AWS ?? [];
  return aws.includes("*") ? "*" : aws;
}

/**
 * Whether a resource policy's `Principal` names the caller. The account itself (`<id>` or `:root`) names it only
 * for a Deny: an Allow to the account delegates to the account's own IAM policies, it grants the role nothing.
 */
function principalMatches(set: PrincipalSet, caller: Caller, forDeny: boolean): boolean {
  const names = principalNames(set);
  if (names === "*") return true;
  return names.some(
    (n) => n === caller.roleArn || n === caller.sessionArn || (forDeny && (n === caller.accountId || n === `arn:aws:iam::${caller.accountId}:root`)),
  );
}

/** Whether the statement applies to the request; `undefined` when its condition uses an operator we do not know. */
function applies(s: Statement, policy: Policy, request: AccessRequest, caller: Caller): boolean | undefined {
  const action = s.actions ? s.actions.some((a) => actionMatches(a, request.action)) : !s.notActions!.some((a) => actionMatches(a, request.action));
  if (!action) return false;
  // A resource-based policy's statement without Resource is about the resource it is attached to.
  const resource = s.resources
    ? s.resources.some((r) => resourceMatches(r, request.resource))
    : s.notResources
      ? !s.notResources.some((r) => resourceMatches(r, request.resource))
      : policy.kind === "resource";
  if (!resource) return false;
  if (policy.kind === "resource") {
    const forDeny = s.effect === "Deny";
    if (s.principal && !principalMatches(s.principal, caller, forDeny)) return false;
    if (s.notPrincipal && principalMatches(s.notPrincipal, caller, true)) return false;
    if (!s.principal && !s.notPrincipal) return false;
  }
  return s.condition ? conditionHolds(s.condition, request.context ?? {}) : true;
}

/**
 * The decision for `request` by `caller`, given the role's identity-based policies and the policies of the
 * resource (a bucket policy for an S3 ARN of that bucket).
 *
 * @example
 * evaluate({ action: "s3:PutObject", resource: "arn:aws:s3:::b/checkpoint/x" }, caller, [rolePolicy], [bucketPolicy]);
 * // { allowed: false, reason: "implicit-deny" }
 */
export function evaluate(request: AccessRequest, caller: Caller, identity: readonly Policy[], resource: readonly Policy[] = []): Decision {
  let allow: Statement | undefined;
  for (const policy of [...identity, ...resource]) {
    for (const s of policy.statements) {
      const a = applies(s, policy, request, caller);
      if (s.effect === "Deny" && a !== false) return { allowed: false, reason: "explicit-deny", statement: s, policyKind: policy.kind };
      if (s.effect === "Allow" && a === true) allow ??= s;
    }
  }
  return allow ? { allowed: true, statement: allow } : { allowed: false, reason: "implicit-deny" };
}

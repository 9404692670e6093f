/**
 * The authorization of one function's calls: its role's identity-based policies, the resource policies of what it
 * touches (bucket policies), and the request context the local stack can vouch for.
 *
 * `aws:SecureTransport` is `true`: a Lambda function reaches AWS over HTTPS (the SDK's only scheme for AWS
 * endpoints), while here it talks plain HTTP to loopback emulators — judging the transport as it is on AWS keeps
 * the construct's `Deny s3:* unless aws:SecureTransport` bucket policy meaning what it means there.
 */
import type { AccessRequest, Decision } from "./evaluate.js";
import { evaluate } from "./evaluate.js";
import { denialMessage, grantResource, missingGrant, type Denial, type Service } from "./access-denied.js";
import type { FunctionIdentity } from "./identities.js";
import type { ResourcePolicy } from "./template-policies.js";
import { resourceMatches } from "./wildcards.js";

export class Enforcer {
  private readonly byKey: ReadonlyMap<string, FunctionIdentity>;

  constructor(
    identities: readonly FunctionIdentity[],
    private readonly resourcePolicies: readonly ResourcePolicy[],
    private readonly region: string,
  ) {
    this.byKey = new Map(identities.map((i) => [i.accessKeyId, i]));
  }

  identity(accessKeyId: string | undefined): FunctionIdentity | undefined {
    return accessKeyId === undefined ? undefined : this.byKey.get(accessKeyId);
  }

  /** The context keys every request carries, then the request's own. */
  private context(identity: FunctionIdentity, request: AccessRequest): AccessRequest["context"] {
    const now = new Date();
    return {
      "aws:SecureTransport": "true",
      "aws:PrincipalArn": identity.caller.roleArn,
      "aws:PrincipalAccount": identity.caller.accountId,
      "aws:PrincipalType": "AssumedRole",
      "aws:RequestedRegion": this.region,
      "aws:CurrentTime": now.toISOString(),
      "aws:EpochTime": String(Math.floor(now.getTime() / 1000)),
      "lambda:SourceFunctionArn": `arn:aws:lambda:${this.region}:${identity.caller.accountId}:function:${identity.functionName}`,
      ...request.context,
    };
  }

  decide(identity: FunctionIdentity, request: AccessRequest): Decision {
    const withContext = { ...request, context: this.context(identity, request) };
    const resource = this.resourcePolicies.filter((p) => p.resourceArns.some((arn) => resourceMatches(arn, request.resource))).map((p) => p.policy);
    return evaluate(withContext, identity.caller, identity.role?.policies ?? [], resource);
  }

  /** The first of the request's checks that is denied, as a {@link Denial}; undefined when all are allowed. */
  check(identity: FunctionIdentity, requests: readonly AccessRequest[], service: Service): Denial | undefined {
    if (!identity.role) return undefined;
    for (const request of requests) {
      const decision = this.decide(identity, request);
      if (decision.allowed) continue;
      return {
        functionName: identity.functionName,
        roleArn: identity.caller.roleArn,
        role: identity.role.logicalId,
        action: request.action,
        resource: request.resource,
        reason: decision.reason,
        ...(decision.reason === "explicit-deny" ? { deniedBy: `${decision.statement.source}${decision.statement.sid ? ` (Sid ${decision.statement.sid})` : ""}` } : {}),
        missingGrant: missingGrant(identity.role.logicalId, request, decision),
        grantResource: grantResource(request.resource),
        message: denialMessage(identity.caller, request, decision, service),
      };
    }
    return undefined;
  }
}

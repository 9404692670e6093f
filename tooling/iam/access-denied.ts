/**
 * A denial as AWS reports it — the message its services write ("User: <session> is not authorized to perform:
 * <action> on resource: <arn> because no identity-based policy allows the <action> action") and the error
 * response in the service's own wire format — and, for the stack's output, the grant that would allow it.
 */
import { randomUUID } from "node:crypto";
import type { AccessRequest, Caller, Decision } from "./evaluate.js";
import { escapeXml } from "./s3-requests.js";

export type Service = "dynamodb" | "kinesis" | "s3" | "lambda";

/** A denied call, with what the stack's output names: function, action, resource, and the missing grant. */
export interface Denial {
  readonly functionName: string;
  readonly roleArn: string;
  /** The role's logical id in the template. */
  readonly role: string;
  readonly action: string;
  readonly resource: string;
  readonly reason: "implicit-deny" | "explicit-deny";
  /** For an explicit deny: the statement that denies (`Policy[2]`, with its Sid when it has one). */
  readonly deniedBy?: string;
  /** What to change in the template: the grant to add, or the Deny that applies. */
  readonly missingGrant: string;
  /** The resource the missing Allow would name (the object's first-level prefix for S3: `bucket/checkpoint/*`). */
  readonly grantResource: string;
  /** AWS's message, as the function received it. */
  readonly message: string;
}

/** AWS's words for a denial (S3 quotes the resource). */
export function denialMessage(caller: Caller, request: AccessRequest, decision: Exclude<Decision, { allowed: true }>, service: Service): string {
  const resource = service === "s3" ? `"${request.resource}"` : request.resource;
  const why =
    decision.reason === "implicit-deny"
      ? `because no identity-based policy allows the ${request.action} action`
      : `with an explicit deny in ${decision.policyKind === "resource" ? "a resource-based policy" : "an identity-based policy"}`;
  return `User: ${caller.sessionArn} is not authorized to perform: ${request.action} on resource: ${resource} ${why}`;
}

/**
 * The grant a denied request lacks, in the template's words: an Allow of the action on the resource — for an S3
 * object, on the key's first-level prefix (`bucket/checkpoint/*`), which is how the construct scopes its grants.
 */
export function missingGrant(roleLogicalId: string, request: AccessRequest, decision: Exclude<Decision, { allowed: true }>): string {
  if (decision.reason === "explicit-deny") {
    const s = decision.statement;
    return `the Deny statement ${s.source}${s.sid ? ` (Sid ${s.sid})` : ""} applies to ${request.action} on ${request.resource}`;
  }
  const resource = grantResource(request.resource);
  return `no statement of role ${roleLogicalId} allows ${request.action} on ${request.resource}: add { "Effect": "Allow", "Action": "${request.action}", "Resource": "${resource}" } to its policy`;
}

/** The resource a grant for `resource` would name: an S3 object's first-level prefix (`bucket/checkpoint/*`), else itself. */
export function grantResource(resource: string): string {
  const object = /^(arn:aws:s3:::[^/]+\/)([^/]+\/)?/.exec(resource);
  return object && resource.length > object[0].length ? `${object[1]}${object[2] ?? ""}*` : resource;
}

/** An HTTP response to send instead of forwarding. */
export interface ErrorResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * The error response of a service's protocol: JSON (`__type`) for DynamoDB and Kinesis, XML for S3, REST JSON
 * (the code in `x-amzn-errortype`, 403 for a denial) for Lambda.
 */
export function errorResponse(service: Service, code: string, message: string, status = service === "s3" || service === "lambda" ? 403 : 400): ErrorResponse {
  const requestId = randomUUID();
  if (service === "lambda") {
    return { status, headers: { "content-type": "application/json", "x-amzn-requestid": requestId, "x-amzn-errortype": code }, body: JSON.stringify({ Type: "User", Message: message }) };
  }
  if (service === "s3") {
    return {
      status,
      headers: { "content-type": "application/xml", "x-amz-request-id": requestId },
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message><RequestId>${requestId}</RequestId></Error>`,
    };
  }
  const json = service === "dynamodb" ? { __type: `com.amazon.coral.service#${code}`, Message: message } : { __type: code, message };
  return {
    status,
    headers: { "content-type": service === "dynamodb" ? "application/x-amz-json-1.0" : "application/x-amz-json-1.1", "x-amzn-requestid": requestId, "x-amzn-errortype": code },
    body: JSON.stringify(json),
  };
}

/** AWS's error code for a denial: `AccessDenied` in S3, `AccessDeniedException` in the JSON services. */
export function accessDeniedCode(service: Service): string {
  return service === "s3" ? "AccessDenied" : "AccessDeniedException";
}

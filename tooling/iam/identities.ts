/**
 * Which function is calling: as AWS hands each execution role its own credentials, the local stack gives each
 * function its own access key id (derived from stack and function, so it is the same on every start), and the
 * enforcing proxy reads it from the request's SigV4 `Credential` to find the role whose policies apply.
 *
 * Every function shares the secret key the emulators expect: a SigV4 signature does not cover the access key id,
 * so the proxy can put the emulators' key id in its place and the signature stays valid.
 */
import { createHash } from "node:crypto";
import type { Caller } from "./evaluate.js";
import type { TemplateRole } from "./template-policies.js";

/** A function as the enforcement sees it: its credentials, its role and the session Lambda opens with it. */
export interface FunctionIdentity {
  readonly functionName: string;
  readonly logicalId: string;
  readonly accessKeyId: string;
  /** Undefined when the function's role is not a role of the template (imported): its calls are not checked. */
  readonly role?: TemplateRole;
  readonly caller: Caller;
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** An access key id shaped as AWS's temporary ones (`ASIA` + 16 characters), stable for a stack and function. */
export function accessKeyIdFor(stackName: string, logicalId: string): string {
  const digest = createHash("sha256").update(`${stackName}/${logicalId}`).digest();
  let id = "ASIA";
  for (let i = 0; i < 16; i++) id += BASE32[digest[i]! % 32];
  return id;
}

/** The session of a Lambda function's role: `arn:aws:sts::<account>:assumed-role/<role name>/<function name>`. */
export function lambdaCaller(roleArn: string, roleName: string, functionName: string, accountId: string): Caller {
  return { roleArn, sessionArn: `arn:aws:sts::${accountId}:assumed-role/${roleName}/${functionName}`, accountId };
}

/** The access key id in a request: the SigV4 `Credential` of its Authorization header (or presigned query). */
export function requestAccessKeyId(authorization: string | undefined, url: string): string | undefined {
  const header = authorization ? /Credential=([^/,\s]+)\//.exec(authorization)?.[1] : undefined;
  if (header) return header;
  const q = url.indexOf("?");
  const credential = q < 0 ? null : new URLSearchParams(url.slice(q + 1)).get("X-Amz-Credential");
  return credential?.split("/")[0] || undefined;
}

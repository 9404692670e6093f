/**
 * What IAM checks for a Lambda API request: `lambda:InvokeFunction` on the function the path names (the only
 * Lambda call a pipeline's functions make — the fan-out to the finalizer partitions). The resource is the
 * function's unqualified ARN for a name, or the ARN the request passes (a qualified one stays qualified, as IAM
 * checks it).
 */
import type { AccessRequest } from "./evaluate.js";
import type { ResourceArns } from "./resource-arns.js";

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/?]+)\/invocations(?:\?.*)?$/;

/** The function an Invoke names (a name, an ARN or a partial ARN, decoded), or undefined for another request. */
export function invokedFunctionRef(method: string, url: string): string | undefined {
  const m = method === "POST" ? INVOKE_PATH.exec(url) : null;
  return m ? decodeURIComponent(m[1]!) : undefined;
}

/** The check for an Invoke, or undefined for any other request (which the local Lambda API refuses anyway). */
export function lambdaAccess(method: string, url: string, arns: ResourceArns): AccessRequest | undefined {
  const ref = invokedFunctionRef(method, url);
  if (ref === undefined) return undefined;
  if (ref.startsWith("arn:")) return { action: "lambda:InvokeFunction", resource: ref };
  // A partial ARN (`<account>:function:<name>`) or a name.
  const partial = /^(\d{12}):function:(.+)$/.exec(ref);
  const resource = partial ? `arn:aws:lambda:${arns.region}:${partial[1]}:function:${partial[2]}` : `arn:aws:lambda:${arns.region}:${arns.accountId}:function:${ref}`;
  return { action: "lambda:InvokeFunction", resource };
}

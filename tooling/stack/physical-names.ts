/**
 * Physical names and ARNs of the embedded local stack's resources.
 *
 * CloudFormation names an unnamed resource `<stack>-<logicalId>-<random suffix>`. Locally the name must be the same
 * on every start (a second start finds the stream, table and bucket of the first), so it is the same pattern
 * without the random part: deterministic, readable, and within each service's rules. A name too long for its
 * service is cut and ends with a hash of the whole, so two long names never collide.
 */
import { createHash } from "node:crypto";

/** The account every local ARN uses: the emulators' (kinesis-mock's and dynalite's) default. */
export const LOCAL_ACCOUNT_ID = "000000000000";

function hash(text: string, length = 8): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/** `<prefix>` cut to `max` characters, ending with `-<hash of the whole>` when it had to be cut. */
function fit(name: string, max: number): string {
  if (name.length <= max) return name;
  const suffix = `-${hash(name)}`;
  return name.slice(0, max - suffix.length) + suffix;
}

/**
 * `<stack>-<logicalId>` with characters outside `[A-Za-z0-9_.-]` replaced, at most `max` characters: valid as a
 * Kinesis stream, DynamoDB table, Lambda function, EventBridge rule or IAM role name (their common alphabet).
 */
export function physicalName(stackName: string, logicalId: string, max = 64): string {
  return fit(`${stackName}-${logicalId}`.replace(/[^A-Za-z0-9_.-]/g, "-"), max);
}

/**
 * A valid S3 bucket name for an unnamed bucket: lowercase `<stack>-<logicalId>`, only `[a-z0-9-]`, no doubled or
 * edge hyphens, 3..63 characters.
 */
export function bucketName(stackName: string, logicalId: string): string {
  let name = `${stackName}-${logicalId}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-+|-+$/g, "");
  if (name.length > 63) name = fit(name, 63);
  if (name.length < 3) name = `${name}-${hash(`${stackName}/${logicalId}`)}`.replace(/^-/, "");
  return name;
}

/** A stable UUID for an event source mapping (Lambda gives each a random one; its `Ref` is that UUID). */
export function mappingUuid(stackName: string, logicalId: string): string {
  const h = createHash("sha256").update(`${stackName}/${logicalId}`).digest("hex");
  // Shaped as a version-4 UUID so tools that parse it accept it.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** ARNs as AWS writes them, in the local account. */
export const arns = {
  stream: (region: string, name: string) => `arn:aws:kinesis:${region}:${LOCAL_ACCOUNT_ID}:stream/${name}`,
  table: (region: string, name: string) => `arn:aws:dynamodb:${region}:${LOCAL_ACCOUNT_ID}:table/${name}`,
  bucket: (name: string) => `arn:aws:s3:::${name}`,
  function: (region: string, name: string) => `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${name}`,
  mapping: (region: string, uuid: string) => `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:event-source-mapping:${uuid}`,
  rule: (region: string, name: string) => `arn:aws:events:${region}:${LOCAL_ACCOUNT_ID}:rule/${name}`,
  logGroup: (region: string, name: string) => `arn:aws:logs:${region}:${LOCAL_ACCOUNT_ID}:log-group:${name}:*`,
  role: (name: string) => `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${name}`,
  queue: (region: string, name: string) => `arn:aws:sqs:${region}:${LOCAL_ACCOUNT_ID}:${name}`,
  topic: (region: string, name: string) => `arn:aws:sns:${region}:${LOCAL_ACCOUNT_ID}:${name}`,
};

/** The resource name at the end of an ARN: `stream/<name>`, `table/<name>`, `:::<bucket>`, `function:<name>`. */
export function nameFromArn(arn: string): string | undefined {
  const m = /^arn:[^:]*:([^:]*):[^:]*:[^:]*:(.*)$/.exec(arn);
  if (!m) return undefined;
  const [, service, rest] = m;
  if (service === "s3") return rest!.split("/")[0];
  if (service === "lambda") return rest!.split(":")[1];
  const slash = rest!.indexOf("/");
  if (slash >= 0) return rest!.slice(slash + 1).split("/")[0];
  return rest;
}

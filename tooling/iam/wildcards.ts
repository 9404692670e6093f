/**
 * IAM's wildcards: `*` (any run of characters, none included) and `?` (one character), in actions (case
 * insensitive: `S3:getobject` is `s3:GetObject`) and in ARNs (case sensitive, matched segment by segment, so a
 * wildcard in the region never eats the account; the last segment, the resource, may hold `/` and `:`).
 */

const cache = new Map<string, RegExp>();

function globRegExp(pattern: string, flags: string): RegExp {
  const key = `${flags}\0${pattern}`;
  let re = cache.get(key);
  if (!re) {
    const body = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[\\s\\S]*").replace(/\?/g, "[\\s\\S]");
    re = new RegExp(`^${body}$`, flags);
    if (cache.size > 10_000) cache.clear();
    cache.set(key, re);
  }
  return re;
}

/** `value` matches the glob `pattern` (`*`, `?`), case sensitive unless `ignoreCase`. */
export function globMatch(pattern: string, value: string, ignoreCase = false): boolean {
  if (pattern === "*") return true;
  if (!pattern.includes("*") && !pattern.includes("?")) return ignoreCase ? pattern.toLowerCase() === value.toLowerCase() : pattern === value;
  return globRegExp(pattern, ignoreCase ? "i" : "").test(value);
}

/** An action pattern (`dynamodb:*`, `s3:Get*`, `*`) matches an action (`dynamodb:GetItem`). */
export function actionMatches(pattern: string, action: string): boolean {
  return globMatch(pattern, action, true);
}

/** The six segments of an ARN (`arn`, partition, service, region, account, resource), or undefined. */
function arnSegments(arn: string): string[] | undefined {
  const parts = arn.split(":");
  if (parts.length < 6 || parts[0] !== "arn") return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(":")];
}

/**
 * A resource pattern of a policy matches a request's resource ARN: `*` matches everything; otherwise both are
 * ARNs and each segment matches its pattern segment (`arn:aws:s3:::bucket/output/*` matches
 * `arn:aws:s3:::bucket/output/a/b`, `arn:aws:dynamodb:*:*:table/t` any region and account).
 */
export function resourceMatches(pattern: string, resource: string): boolean {
  if (pattern === "*") return true;
  const p = arnSegments(pattern);
  const r = arnSegments(resource);
  if (!p || !r) return globMatch(pattern, resource);
  return p.every((segment, i) => globMatch(segment, r[i]!));
}

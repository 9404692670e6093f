/**
 * An S3 REST request as the authorization checks AWS makes for it, from its method, path (path-style, or a
 * virtual host `<bucket>.s3...`/`<bucket>.localhost`), sub-resource (`?uploads`, `?tagging`, `?delete` ...) and
 * headers: e.g. GET of a key is `s3:GetObject` on `arn:aws:s3:::<bucket>/<key>`, a listing is `s3:ListBucket` on
 * the bucket (with `s3:prefix`, `s3:delimiter`, `s3:max-keys`), HeadBucket is `s3:ListBucket` too, a multipart
 * upload is `s3:PutObject` throughout, CopyObject is `s3:PutObject` on the target and `s3:GetObject` on the
 * source. DeleteObjects (`POST ?delete`) is `s3:DeleteObject` on every key of its body, each denied or not on its
 * own: see {@link deleteObjectsKeys}.
 */
import type { AccessRequest } from "./evaluate.js";
import { bucketArn, objectArn } from "./resource-arns.js";

export type S3Access =
  | { readonly kind: "checks"; readonly operation: string; readonly checks: readonly AccessRequest[] }
  /** DeleteObjects: the checks depend on the keys in the body. */
  | { readonly kind: "delete-objects"; readonly bucket: string };

export interface S3RequestLine {
  readonly method: string;
  /** Path and query, as received (`/bucket/some%20key?uploads`). */
  readonly url: string;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

function header(h: S3RequestLine["headers"], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Bucket and key of the request: the first path segment is the bucket unless the host names it. */
function target(req: S3RequestLine): { bucket?: string; key?: string; query: URLSearchParams } {
  const q = req.url.indexOf("?");
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : req.url.slice(q + 1));
  const host = (header(req.headers, "host") ?? "").replace(/:\d+$/, "");
  const vhost = /^(.+?)\.(?:s3[.-].*|localhost)$/.exec(host)?.[1];
  const segments = path.replace(/^\//, "");
  const decode = (s: string) => decodeURIComponent(s);
  if (vhost) return { bucket: vhost, ...(segments !== "" ? { key: decode(segments) } : {}), query };
  if (segments === "") return { query };
  const slash = segments.indexOf("/");
  if (slash < 0 || slash === segments.length - 1) return { bucket: decode(slash < 0 ? segments : segments.slice(0, slash)), query };
  return { bucket: decode(segments.slice(0, slash)), key: decode(segments.slice(slash + 1)), query };
}

/** Sub-resources that make a bucket request another operation: method → query name → action. */
const BUCKET_SUBRESOURCES: Record<string, Record<string, string>> = {
  GET: {
    location: "GetBucketLocation",
    versions: "ListBucketVersions",
    uploads: "ListBucketMultipartUploads",
    policy: "GetBucketPolicy",
    acl: "GetBucketAcl",
    tagging: "GetBucketTagging",
    versioning: "GetBucketVersioning",
    lifecycle: "GetLifecycleConfiguration",
    cors: "GetBucketCORS",
    notification: "GetBucketNotification",
    encryption: "GetEncryptionConfiguration",
  },
  PUT: {
    policy: "PutBucketPolicy",
    acl: "PutBucketAcl",
    tagging: "PutBucketTagging",
    versioning: "PutBucketVersioning",
    lifecycle: "PutLifecycleConfiguration",
    cors: "PutBucketCORS",
    notification: "PutBucketNotification",
    encryption: "PutEncryptionConfiguration",
  },
  DELETE: { policy: "DeleteBucketPolicy", tagging: "PutBucketTagging", cors: "PutBucketCORS", lifecycle: "PutLifecycleConfiguration", encryption: "PutEncryptionConfiguration" },
};

const HEADER_KEYS = ["x-amz-acl", "x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id", "x-amz-copy-source", "x-amz-metadata-directive", "x-amz-storage-class"];

function objectAction(method: string, q: URLSearchParams, versioned: boolean): string {
  const v = (plain: string, version: string) => (versioned ? version : plain);
  switch (method) {
    case "GET":
      if (q.has("uploadId")) return "ListMultipartUploadParts";
      if (q.has("tagging")) return v("GetObjectTagging", "GetObjectVersionTagging");
      if (q.has("acl")) return v("GetObjectAcl", "GetObjectVersionAcl");
      if (q.has("attributes")) return v("GetObjectAttributes", "GetObjectVersionAttributes");
      return v("GetObject", "GetObjectVersion");
    case "HEAD":
      return v("GetObject", "GetObjectVersion");
    case "PUT":
      if (q.has("tagging")) return v("PutObjectTagging", "PutObjectVersionTagging");
      if (q.has("acl")) return v("PutObjectAcl", "PutObjectVersionAcl");
      if (q.has("retention")) return "PutObjectRetention";
      if (q.has("legal-hold")) return "PutObjectLegalHold";
      return "PutObject";
    case "POST":
      if (q.has("restore")) return "RestoreObject";
      if (q.has("select")) return "GetObject";
      return "PutObject"; // CreateMultipartUpload, CompleteMultipartUpload
    case "DELETE":
      if (q.has("uploadId")) return "AbortMultipartUpload";
      if (q.has("tagging")) return v("DeleteObjectTagging", "DeleteObjectVersionTagging");
      return v("DeleteObject", "DeleteObjectVersion");
    default:
      return `${method}Object`;
  }
}

/** The checks for one S3 request (or, for DeleteObjects, the bucket whose keys must be read from the body). */
export function s3Access(req: S3RequestLine): S3Access {
  const method = req.method.toUpperCase();
  const { bucket, key, query } = target(req);
  const context: Record<string, string> = {};
  for (const h of HEADER_KEYS) {
    const value = header(req.headers, h);
    if (value !== undefined) context[`s3:${h}`] = value;
  }
  const check = (operation: string, resource: string, ctx: Record<string, string> = context): S3Access => ({
    kind: "checks",
    operation,
    checks: [{ action: `s3:${operation}`, resource, context: ctx }],
  });
  if (bucket === undefined) return check("ListAllMyBuckets", "*");
  if (key === undefined) {
    if (method === "POST" && query.has("delete")) return { kind: "delete-objects", bucket };
    const sub = Object.entries(BUCKET_SUBRESOURCES[method] ?? {}).find(([name]) => query.has(name));
    if (sub) return check(sub[1], bucketArn(bucket));
    if (method === "GET" || method === "HEAD") {
      const list: Record<string, string> = { ...context };
      for (const [param, ck] of [["prefix", "s3:prefix"], ["delimiter", "s3:delimiter"], ["max-keys", "s3:max-keys"]] as const) {
        const value = query.get(param);
        if (value !== null) list[ck] = value;
      }
      return check("ListBucket", bucketArn(bucket), list);
    }
    if (method === "PUT") return check("CreateBucket", bucketArn(bucket));
    if (method === "DELETE") return check("DeleteBucket", bucketArn(bucket));
    return check(`${method}Bucket`, bucketArn(bucket));
  }
  const action = objectAction(method, query, query.has("versionId"));
  const main = check(action, objectArn(bucket, key)) as Extract<S3Access, { kind: "checks" }>;
  const copySource = header(req.headers, "x-amz-copy-source");
  if (method === "PUT" && copySource !== undefined && action === "PutObject") {
    const [path = "", q = ""] = decodeURIComponent(copySource).replace(/^\//, "").split("?");
    const slash = path.indexOf("/");
    if (slash > 0) {
      const readAction = new URLSearchParams(q).has("versionId") ? "s3:GetObjectVersion" : "s3:GetObject";
      return { ...main, checks: [...main.checks, { action: readAction, resource: objectArn(path.slice(0, slash), path.slice(slash + 1)), context }] };
    }
  }
  return main;
}

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#x[0-9a-fA-F]+|#\d+);/g, (_, e: string) => {
    if (e === "lt") return "<";
    if (e === "gt") return ">";
    if (e === "amp") return "&";
    if (e === "quot") return '"';
    if (e === "apos") return "'";
    return String.fromCodePoint(e.startsWith("#x") ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

/** The keys (and version ids) of a DeleteObjects body (`<Delete><Object><Key>k</Key></Object>...`). */
export function deleteObjectsKeys(xml: string): Array<{ key: string; versionId?: string }> {
  const out: Array<{ key: string; versionId?: string }> = [];
  for (const m of xml.matchAll(/<Object>([\s\S]*?)<\/Object>/g)) {
    const key = /<Key>([\s\S]*?)<\/Key>/.exec(m[1]!)?.[1];
    const version = /<VersionId>([\s\S]*?)<\/VersionId>/.exec(m[1]!)?.[1];
    if (key !== undefined) out.push({ key: unescapeXml(key), ...(version !== undefined ? { versionId: unescapeXml(version) } : {}) });
  }
  return out;
}

/** Whether a DeleteObjects body asks for a quiet answer (only the failures). */
export function deleteObjectsQuiet(xml: string): boolean {
  return /<Quiet>\s*true\s*<\/Quiet>/i.test(xml);
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!);
}

import { describe, expect, it } from "vitest";
import { evaluate, parsePolicy, type Caller, type Decision } from "../../../tooling/iam/index.js";

const caller: Caller = {
  roleArn: "arn:aws:iam::000000000000:role/Stack-ShardRole",
  sessionArn: "arn:aws:sts::000000000000:assumed-role/Stack-ShardRole/shard-fn",
  accountId: "000000000000",
};
const BUCKET = "arn:aws:s3:::demo-bucket";
const TABLE = "arn:aws:dynamodb:us-east-1:000000000000:table/demo-table";

const identity = (...statements: unknown[]) => [parsePolicy("RoleDefaultPolicy", "identity", { Version: "2012-10-17", Statement: statements })];
const outcome = (d: Decision) => (d.allowed ? "allow" : d.reason);

describe("IAM evaluation of a role's identity-based policies", () => {
  it.each([
    ["an exact action and resource", { Action: "s3:PutObject", Resource: `${BUCKET}/output/*` }, "s3:PutObject", `${BUCKET}/output/a/part-0`, "allow"],
    ["a service wildcard", { Action: "s3:*", Resource: "*" }, "s3:DeleteObject", `${BUCKET}/x`, "allow"],
    ["a prefix wildcard on the action", { Action: "s3:Get*", Resource: "*" }, "s3:GetObject", `${BUCKET}/x`, "allow"],
    ["a prefix wildcard that does not fit", { Action: "s3:Get*", Resource: "*" }, "s3:PutObject", `${BUCKET}/x`, "implicit-deny"],
    ["actions compared without case", { Action: "S3:putobject", Resource: "*" }, "s3:PutObject", `${BUCKET}/x`, "allow"],
    ["? matching one character", { Action: "dynamodb:?etItem", Resource: TABLE }, "dynamodb:GetItem", TABLE, "allow"],
    ["an object outside the granted prefix", { Action: "s3:PutObject", Resource: `${BUCKET}/output/*` }, "s3:PutObject", `${BUCKET}/checkpoint/word-count/meta`, "implicit-deny"],
    ["the bucket is not its objects", { Action: "s3:ListBucket", Resource: `${BUCKET}/*` }, "s3:ListBucket", BUCKET, "implicit-deny"],
    ["resources compared with case", { Action: "s3:GetObject", Resource: `${BUCKET}/Output/*` }, "s3:GetObject", `${BUCKET}/output/x`, "implicit-deny"],
    ["a wildcard region and account in an ARN", { Action: "dynamodb:PutItem", Resource: "arn:aws:dynamodb:*:*:table/demo-table" }, "dynamodb:PutItem", TABLE, "allow"],
    ["a table grant does not cover its indexes", { Action: "dynamodb:Query", Resource: TABLE }, "dynamodb:Query", `${TABLE}/index/byTime`, "implicit-deny"],
    ["a wildcard region does not reach into the account", { Action: "dynamodb:PutItem", Resource: "arn:aws:dynamodb:*:111111111111:table/demo-table" }, "dynamodb:PutItem", TABLE, "implicit-deny"],
    ["NotAction allows everything else", { NotAction: "s3:DeleteObject", Resource: "*" }, "s3:PutObject", `${BUCKET}/x`, "allow"],
    ["NotAction leaves out what it names", { NotAction: "s3:Delete*", Resource: "*" }, "s3:DeleteObject", `${BUCKET}/x`, "implicit-deny"],
    ["NotResource allows everything else", { Action: "s3:GetObject", NotResource: `${BUCKET}/secret/*` }, "s3:GetObject", `${BUCKET}/output/x`, "allow"],
    ["NotResource leaves out what it names", { Action: "s3:GetObject", NotResource: `${BUCKET}/secret/*` }, "s3:GetObject", `${BUCKET}/secret/x`, "implicit-deny"],
  ])("%s", (_name, statement, action, resource, expected) => {
    expect(outcome(evaluate({ action, resource }, caller, identity({ Effect: "Allow", ...statement })))).toBe(expected);
  });

  it("denies what no statement allows, implicitly", () => {
    expect(evaluate({ action: "kinesis:GetRecords", resource: "arn:aws:kinesis:us-east-1:000000000000:stream/s" }, caller, [])).toEqual({ allowed: false, reason: "implicit-deny" });
  });

  it("lets an explicit Deny override any Allow, and names the statement", () => {
    const d = evaluate(
      { action: "s3:DeleteObject", resource: `${BUCKET}/checkpoint/x` },
      caller,
      identity({ Effect: "Allow", Action: "s3:*", Resource: "*" }, { Sid: "KeepCheckpoints", Effect: "Deny", Action: "s3:DeleteObject", Resource: `${BUCKET}/checkpoint/*` }),
    );
    expect(d).toMatchObject({ allowed: false, reason: "explicit-deny", policyKind: "identity", statement: { source: "RoleDefaultPolicy[1]", sid: "KeepCheckpoints" } });
  });

  it("reads a Deny with NotResource as denying everything but what it names", () => {
    const policies = identity({ Effect: "Allow", Action: "s3:*", Resource: "*" }, { Effect: "Deny", Action: "s3:*", NotResource: [BUCKET, `${BUCKET}/*`] });
    expect(outcome(evaluate({ action: "s3:GetObject", resource: `${BUCKET}/k` }, caller, policies))).toBe("allow");
    expect(outcome(evaluate({ action: "s3:GetObject", resource: "arn:aws:s3:::other/k" }, caller, policies))).toBe("explicit-deny");
  });
});

describe("conditions", () => {
  const allowIf = (condition: unknown) => identity({ Effect: "Allow", Action: "s3:ListBucket", Resource: BUCKET, Condition: condition });
  const list = (context: Record<string, string | string[]>) => ({ action: "s3:ListBucket", resource: BUCKET, context });

  it.each([
    ["StringLike on a present key", { StringLike: { "s3:prefix": ["output/*", "checkpoint/*"] } }, { "s3:prefix": "checkpoint/word-count/" }, "allow"],
    ["StringLike on another value", { StringLike: { "s3:prefix": "output/*" } }, { "s3:prefix": "late/" }, "implicit-deny"],
    ["StringLike on a missing key", { StringLike: { "s3:prefix": "output/*" } }, {}, "implicit-deny"],
    ["StringNotEquals on a missing key", { StringNotEquals: { "s3:prefix": "secret/" } }, {}, "allow"],
    ["StringNotEquals matching none of its values", { StringNotEquals: { "s3:prefix": ["a/", "b/"] } }, { "s3:prefix": "c/" }, "allow"],
    ["StringNotEquals matching one of its values", { StringNotEquals: { "s3:prefix": ["a/", "b/"] } }, { "s3:prefix": "b/" }, "implicit-deny"],
    ["StringEqualsIfExists on a missing key", { StringEqualsIfExists: { "s3:prefix": "a/" } }, {}, "allow"],
    ["Null true on a missing key", { Null: { "s3:prefix": "true" } }, {}, "allow"],
    ["Null false on a missing key", { Null: { "s3:prefix": "false" } }, {}, "implicit-deny"],
    ["Bool on a key of another case", { Bool: { "aws:securetransport": "true" } }, { "aws:SecureTransport": "true" }, "allow"],
    ["NumericLessThanEquals", { NumericLessThanEquals: { "s3:max-keys": "1000" } }, { "s3:max-keys": "500" }, "allow"],
    ["NumericLessThanEquals exceeded", { NumericLessThanEquals: { "s3:max-keys": "1000" } }, { "s3:max-keys": "5000" }, "implicit-deny"],
    ["ArnLike", { ArnLike: { "aws:PrincipalArn": "arn:aws:iam::*:role/Stack-*" } }, { "aws:PrincipalArn": caller.roleArn }, "allow"],
    ["two keys must both hold", { StringEquals: { "s3:prefix": "a/", "s3:delimiter": "/" } }, { "s3:prefix": "a/" }, "implicit-deny"],
    ["ForAnyValue over several values", { "ForAnyValue:StringEquals": { "tag:keys": ["x", "y"] } }, { "tag:keys": ["z", "y"] }, "allow"],
    ["ForAllValues over several values", { "ForAllValues:StringEquals": { "tag:keys": ["x", "y"] } }, { "tag:keys": ["z", "y"] }, "implicit-deny"],
    ["ForAllValues on a missing key", { "ForAllValues:StringEquals": { "tag:keys": ["x"] } }, {}, "allow"],
  ])("%s", (_name, condition, context, expected) => {
    expect(outcome(evaluate(list(context), caller, allowIf(condition)))).toBe(expected);
  });

  it("reads an operator it does not know as not allowing, and as denying", () => {
    const unknown = { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } };
    expect(outcome(evaluate(list({}), caller, allowIf(unknown)))).toBe("implicit-deny");
    const deny = identity({ Effect: "Allow", Action: "s3:*", Resource: "*" }, { Effect: "Deny", Action: "s3:*", Resource: "*", Condition: unknown });
    expect(outcome(evaluate(list({}), caller, deny))).toBe("explicit-deny");
  });
});

describe("resource-based policies (bucket policies)", () => {
  // The construct's bucket policy: no access but over TLS.
  const tlsOnly = parsePolicy("BucketPolicy", "resource", {
    Statement: [{ Effect: "Deny", Principal: { AWS: "*" }, Action: "s3:*", Resource: [BUCKET, `${BUCKET}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } }],
  });
  const rolePolicy = identity({ Effect: "Allow", Action: "s3:GetObject", Resource: `${BUCKET}/*` });

  it("denies a request over plain HTTP explicitly, in a resource-based policy", () => {
    const d = evaluate({ action: "s3:GetObject", resource: `${BUCKET}/k`, context: { "aws:SecureTransport": "false" } }, caller, rolePolicy, [tlsOnly]);
    expect(d).toMatchObject({ allowed: false, reason: "explicit-deny", policyKind: "resource" });
  });

  it("leaves a request over TLS to the role's policies", () => {
    const context = { "aws:SecureTransport": "true" };
    expect(outcome(evaluate({ action: "s3:GetObject", resource: `${BUCKET}/k`, context }, caller, rolePolicy, [tlsOnly]))).toBe("allow");
    expect(outcome(evaluate({ action: "s3:PutObject", resource: `${BUCKET}/k`, context }, caller, rolePolicy, [tlsOnly]))).toBe("implicit-deny");
  });

  it("allows a role its bucket policy names, even without an identity grant (same account)", () => {
    const grant = parsePolicy("BucketPolicy", "resource", { Statement: [{ Effect: "Allow", Principal: { AWS: caller.roleArn }, Action: "s3:PutObject", Resource: `${BUCKET}/*` }] });
    expect(outcome(evaluate({ action: "s3:PutObject", resource: `${BUCKET}/k` }, caller, [], [grant]))).toBe("allow");
  });

  it("does not let an Allow to the account stand for the role's own grant", () => {
    const toAccount = parsePolicy("BucketPolicy", "resource", { Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::000000000000:root" }, Action: "s3:*", Resource: `${BUCKET}/*` }] });
    expect(outcome(evaluate({ action: "s3:PutObject", resource: `${BUCKET}/k` }, caller, [], [toAccount]))).toBe("implicit-deny");
  });

  it("does not apply a statement for another principal", () => {
    const other = parsePolicy("BucketPolicy", "resource", { Statement: [{ Effect: "Deny", Principal: { AWS: "arn:aws:iam::000000000000:role/Other" }, Action: "s3:*", Resource: `${BUCKET}/*` }] });
    expect(outcome(evaluate({ action: "s3:GetObject", resource: `${BUCKET}/k` }, caller, rolePolicy, [other]))).toBe("allow");
  });
});

describe("policy documents", () => {
  it("fails if a statement has both Action and NotAction, naming where", () => {
    expect(() => parsePolicy("P", "identity", { Statement: [{ Effect: "Allow", Action: "s3:*", NotAction: "s3:Get*", Resource: "*" }] })).toThrow(
      "P.Statement[0]: a statement has exactly one of Action and NotAction",
    );
  });

  it("fails if an effect is neither Allow nor Deny", () => {
    expect(() => parsePolicy("P", "identity", { Statement: { Effect: "allow", Action: "s3:*", Resource: "*" } })).toThrow('P.Statement[0].Effect: expected "Allow" or "Deny", got "allow"');
  });
});

import { describe, expect, it } from "vitest";
import { evaluate, templatePolicies, lambdaCaller } from "../../../tooling/iam/index.js";
import type { CfnTemplate } from "../../../tooling/stack/assembly.js";
import type { ResolveContext } from "../../../tooling/stack/intrinsics.js";

// Names as the deployer gives them: <stack>-<logicalId>; buckets lowercase.
const ctx: ResolveContext = {
  pseudo: { region: "us-east-1", accountId: "000000000000", stackName: "S" },
  resources: {
    ref: (id) => (id === "Bucket" ? "s-bucket" : `S-${id}`),
    getAtt: (id, att) => {
      if (att !== "Arn") throw new Error(`no ${att}`);
      if (id === "Bucket") return "arn:aws:s3:::s-bucket";
      if (id === "Table") return "arn:aws:dynamodb:us-east-1:000000000000:table/S-Table";
      if (id.endsWith("Role")) return `arn:aws:iam::000000000000:role/S-${id}`;
      return undefined;
    },
  },
};

const role = { Type: "AWS::IAM::Role", Properties: { AssumeRolePolicyDocument: {} } };
const template: CfnTemplate = {
  Resources: {
    Bucket: { Type: "AWS::S3::Bucket" },
    Table: { Type: "AWS::DynamoDB::Table" },
    ShardRole: {
      ...role,
      Properties: {
        Policies: [{ PolicyName: "inline", PolicyDocument: { Statement: [{ Effect: "Allow", Action: "s3:ListBucket", Resource: { "Fn::GetAtt": ["Bucket", "Arn"] } }] } }],
        ManagedPolicyArns: [
          { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]] },
          { Ref: "Shared" },
          "arn:aws:iam::aws:policy/SomethingUnheardOf",
        ],
      },
    },
    TickerRole: role,
    ShardPolicy: {
      Type: "AWS::IAM::Policy",
      Properties: {
        Roles: [{ Ref: "ShardRole" }],
        PolicyDocument: {
          Statement: [{ Effect: "Allow", Action: ["s3:PutObject"], Resource: [{ "Fn::Join": ["", [{ "Fn::GetAtt": ["Bucket", "Arn"] }, "/shuffle/*"]] }] }],
        },
      },
    },
    Shared: {
      Type: "AWS::IAM::ManagedPolicy",
      Properties: { Roles: [{ Ref: "TickerRole" }], PolicyDocument: { Statement: [{ Effect: "Allow", Action: "dynamodb:*", Resource: { "Fn::GetAtt": ["Table", "Arn"] } }] } },
    },
    BucketPolicy: {
      Type: "AWS::S3::BucketPolicy",
      Properties: {
        Bucket: { Ref: "Bucket" },
        PolicyDocument: { Statement: [{ Effect: "Deny", Principal: { AWS: "*" }, Action: "s3:*", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } }] },
      },
    },
    Broken: { Type: "AWS::IAM::Policy", Properties: { Roles: [{ Ref: "TickerRole" }], PolicyDocument: { Statement: [{ Effect: "Allow", Action: "s3:*", Resource: { "Fn::ImportValue": "x" } }] } } },
  },
};

describe("the policies of a template's roles", () => {
  const read = templatePolicies(template, ctx);
  const shard = read.roles.get("arn:aws:iam::000000000000:role/S-ShardRole")!;
  const ticker = read.roles.get("arn:aws:iam::000000000000:role/S-TickerRole")!;
  const allowed = (r: typeof shard, action: string, resource: string) =>
    evaluate({ action, resource }, lambdaCaller(r.arn, r.name, "fn", "000000000000"), r.policies).allowed;

  it("collects attached, inline and managed policies per role, resolved to the local ARNs", () => {
    expect(shard.policies.map((p) => p.name).sort()).toEqual(["ShardPolicy", "ShardRole/inline", "Shared", "service-role/AWSLambdaBasicExecutionRole"]);
    expect(allowed(shard, "s3:PutObject", "arn:aws:s3:::s-bucket/shuffle/a")).toBe(true);
    expect(allowed(shard, "s3:PutObject", "arn:aws:s3:::s-bucket/output/a")).toBe(false);
    expect(allowed(shard, "s3:ListBucket", "arn:aws:s3:::s-bucket")).toBe(true);
    expect(allowed(shard, "logs:PutLogEvents", "arn:aws:logs:us-east-1:000000000000:log-group:x:*")).toBe(true);
    // The template's managed policy, attached to one role by Roles and to the other by ManagedPolicyArns.
    expect(allowed(ticker, "dynamodb:UpdateItem", "arn:aws:dynamodb:us-east-1:000000000000:table/S-Table")).toBe(true);
    expect(allowed(shard, "dynamodb:UpdateItem", "arn:aws:dynamodb:us-east-1:000000000000:table/S-Table")).toBe(true);
    expect(allowed(ticker, "s3:PutObject", "arn:aws:s3:::s-bucket/shuffle/a")).toBe(false);
  });

  it("reads bucket policies as the bucket's resource policies", () => {
    expect(read.resourcePolicies).toHaveLength(1);
    expect(read.resourcePolicies[0]!.resourceArns).toEqual(["arn:aws:s3:::s-bucket", "arn:aws:s3:::s-bucket/*"]);
  });

  it("leaves out, with a note, what it cannot read: an unknown AWS managed policy, a policy that does not resolve", () => {
    expect(read.notes).toEqual([
      expect.stringContaining("S/Broken.Properties.PolicyDocument left out: "),
      "S/ShardRole: managed policy arn:aws:iam::aws:policy/SomethingUnheardOf is not known locally; its grants are not applied (what it allows is denied here)",
    ]);
  });
});

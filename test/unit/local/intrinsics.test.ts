import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../lib/core/errors.js";
import { NO_VALUE, resolve, resolveString, type ResolveContext } from "../../../tooling/stack/intrinsics.js";
import { bucketName, mappingUuid, nameFromArn, physicalName } from "../../../tooling/stack/physical-names.js";

/** A stack of two resources, answered the way the deployer answers: names, and ARNs by attribute. */
const ctx: ResolveContext = {
  pseudo: { region: "us-east-1", accountId: "000000000000", stackName: "Demo" },
  resources: {
    ref: (id) => ({ Stream: "Demo-Stream", Bucket: "demo-bucket", Fn: "Demo-Fn" })[id],
    getAtt: (id, att) => {
      if (id === "Stream" && att === "Arn") return "arn:aws:kinesis:us-east-1:000000000000:stream/Demo-Stream";
      if (id === "Bucket" && att === "Arn") return "arn:aws:s3:::demo-bucket";
      if (id === "Bucket" && att === "DomainName") return "demo-bucket.s3.amazonaws.com";
      if (id === "Stream" || id === "Bucket") throw new ValidationError("UnknownAttribute", `no ${att}`);
      return undefined;
    },
  },
  template: {
    Parameters: { Stage: { Type: "String", Default: "dev" }, Azs: { Type: "CommaDelimitedList", Default: "a,b" }, Ssm: { Type: "AWS::SSM::Parameter::Value<String>", Default: "/x" } },
    Mappings: { Sizes: { dev: { shards: 2 } } },
    Conditions: { IsDev: { "Fn::Equals": [{ Ref: "Stage" }, "dev"] }, IsProd: { "Fn::Not": [{ Condition: "IsDev" }] } },
  },
};

describe("resolve", () => {
  it.each([
    ["a plain value", "x", "x"],
    ["Ref to a resource (its physical id)", { Ref: "Stream" }, "Demo-Stream"],
    ["Ref to a pseudo parameter", { Ref: "AWS::Region" }, "us-east-1"],
    ["Ref AWS::AccountId", { Ref: "AWS::AccountId" }, "000000000000"],
    ["Ref AWS::Partition", { Ref: "AWS::Partition" }, "aws"],
    ["Ref AWS::StackName", { Ref: "AWS::StackName" }, "Demo"],
    ["Ref AWS::URLSuffix", { Ref: "AWS::URLSuffix" }, "amazonaws.com"],
    ["Ref to a parameter's default", { Ref: "Stage" }, "dev"],
    ["Ref to a list parameter", { Ref: "Azs" }, ["a", "b"]],
    ["Fn::GetAtt as a list", { "Fn::GetAtt": ["Stream", "Arn"] }, "arn:aws:kinesis:us-east-1:000000000000:stream/Demo-Stream"],
    ["Fn::GetAtt as a dotted string", { "Fn::GetAtt": "Bucket.DomainName" }, "demo-bucket.s3.amazonaws.com"],
    ["Fn::Join of values and intrinsics", { "Fn::Join": ["", [{ "Fn::GetAtt": ["Bucket", "Arn"] }, "/*"]] }, "arn:aws:s3:::demo-bucket/*"],
    ["Fn::Join with a delimiter and numbers", { "Fn::Join": [",", ["a", 1, true]] }, "a,1,true"],
    ["Fn::Sub with Ref and GetAtt", { "Fn::Sub": "${Stream}@${Bucket.Arn} in ${AWS::Region}" }, "Demo-Stream@arn:aws:s3:::demo-bucket in us-east-1"],
    ["Fn::Sub with a variable map", { "Fn::Sub": ["${A}-${B}", { A: { Ref: "Fn" }, B: "x" }] }, "Demo-Fn-x"],
    ["Fn::Sub keeps ${!Literal}", { "Fn::Sub": "${!NotARef}-${Stage}" }, "${NotARef}-dev"],
    ["Fn::Select", { "Fn::Select": [1, ["a", "b", "c"]] }, "b"],
    ["Fn::Select with a string index", { "Fn::Select": ["0", { "Fn::Split": ["/", "x/y"] }] }, "x"],
    ["Fn::Split", { "Fn::Split": [":", { "Fn::GetAtt": ["Stream", "Arn"] }] }, ["arn", "aws", "kinesis", "us-east-1", "000000000000", "stream/Demo-Stream"]],
    ["Fn::Select of Fn::Split (the stream name out of its ARN)", { "Fn::Select": [1, { "Fn::Split": ["/", { "Fn::GetAtt": ["Stream", "Arn"] }] }] }, "Demo-Stream"],
    ["Fn::Base64", { "Fn::Base64": "hi" }, "aGk="],
    ["Fn::FindInMap", { "Fn::FindInMap": ["Sizes", { Ref: "Stage" }, "shards"] }, 2],
    ["Fn::GetAZs", { "Fn::GetAZs": "" }, ["us-east-1a", "us-east-1b", "us-east-1c"]],
    ["Fn::If true", { "Fn::If": ["IsDev", "small", "big"] }, "small"],
    ["Fn::If false (Fn::Not of a Condition)", { "Fn::If": ["IsProd", "big", "small"] }, "small"],
    ["nested objects and arrays", { Variables: { T: { Ref: "Bucket" }, L: [{ Ref: "Fn" }, "x"] } }, { Variables: { T: "demo-bucket", L: ["Demo-Fn", "x"] } }],
  ])("%s", (_name, value, expected) => {
    expect(resolve(value, ctx)).toEqual(expected);
  });

  it("removes a property or element that is Ref AWS::NoValue", () => {
    expect(resolve({ a: { Ref: "AWS::NoValue" }, b: 1, c: ["x", { Ref: "AWS::NoValue" }] }, ctx)).toEqual({ b: 1, c: ["x"] });
    expect(resolve({ "Fn::If": ["IsProd", "x", { Ref: "AWS::NoValue" }] }, ctx)).toBe(NO_VALUE);
  });

  it("takes given parameter values over defaults", () => {
    expect(resolve({ Ref: "Stage" }, { ...ctx, parameters: { Stage: "prod" } })).toBe("prod");
  });

  it("resolveString stringifies numbers (environment variables are strings)", () => {
    expect(resolveString({ "Fn::FindInMap": ["Sizes", "dev", "shards"] }, ctx)).toBe("2");
  });

  it.each([
    ["a Ref to nothing", { Ref: "Missing" }, /\$\.Env\.Ref: Ref to Missing, which is neither a resource nor a parameter/],
    ["an unknown pseudo parameter", { Ref: "AWS::Nope" }, /unknown pseudo parameter AWS::Nope/],
    ["an unknown attribute", { "Fn::GetAtt": ["Stream", "Nope"] }, /no Nope/],
    ["Fn::GetAtt of nothing", { "Fn::GetAtt": ["Missing", "Arn"] }, /Fn::GetAtt of Missing, which is not a resource/],
    ["Fn::ImportValue (cross-stack)", { "Fn::ImportValue": "Shared-Table" }, /Fn::ImportValue is not supported by the embedded local stack/],
    ["an unknown intrinsic", { "Fn::Nope": 1 }, /unknown intrinsic function Fn::Nope/],
    ["Fn::Select out of range", { "Fn::Select": [3, ["a"]] }, /index 3 is out of range for a list of 1/],
    ["Fn::Join of a non-list", { "Fn::Join": ["", "abc"] }, /must resolve to a list/],
    ["an SSM parameter", { Ref: "Ssm" }, /reads SSM parameter \/x: there is no SSM/],
    ["an undefined condition", { "Fn::If": ["Nope", 1, 2] }, /condition Nope is not defined/],
  ])("fails if it meets %s, naming the path", (_name, value, message) => {
    const run = () => resolve({ Env: value }, ctx);
    expect(run).toThrow(ValidationError);
    expect(run).toThrow(message);
    try {
      run();
    } catch (err) {
      expect((err as ValidationError).code).toMatch(/UnresolvableIntrinsic|UnknownAttribute/);
    }
  });

  it("fails if resolveString meets a list", () => {
    expect(() => resolveString({ Ref: "Azs" }, ctx, "X.Y")).toThrow('X.Y: expected a string, got ["a","b"]');
  });
});

describe("physical names", () => {
  it("are <stack>-<logicalId>, deterministic, within the service's length", () => {
    expect(physicalName("SparklessWordCount", "WordCountStreamABE9781E")).toBe("SparklessWordCount-WordCountStreamABE9781E");
    const long = physicalName("S".repeat(40), "L".repeat(40));
    expect(long).toHaveLength(64);
    expect(long).toBe(physicalName("S".repeat(40), "L".repeat(40)));
    expect(long).not.toBe(physicalName("S".repeat(40), "L".repeat(39) + "M"));
  });

  it.each([
    ["SparklessWordCount", "WordCountBucket284FAA96", "sparklesswordcount-wordcountbucket284faa96"],
    ["My_Stack", "Bucket", "my-stack-bucket"],
    ["A", "B", "a-b"],
  ])("bucket names are lowercase and valid: %s/%s", (stack, id, expected) => {
    expect(bucketName(stack, id)).toBe(expected);
  });

  it("bucket names are at most 63 characters and end with a letter or digit", () => {
    const name = bucketName("VeryLongStackNameForTestingPurposes", "AnEvenLongerLogicalIdOfABucketResource1234");
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/);
  });

  it("mapping UUIDs are stable and shaped as UUIDs", () => {
    const u = mappingUuid("Demo", "Mapping");
    expect(u).toBe(mappingUuid("Demo", "Mapping"));
    expect(u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it.each([
    ["arn:aws:kinesis:us-east-1:000000000000:stream/Demo-Stream", "Demo-Stream"],
    ["arn:aws:dynamodb:us-east-1:000000000000:table/T", "T"],
    ["arn:aws:s3:::bucket", "bucket"],
    ["arn:aws:lambda:us-east-1:000000000000:function:Fn", "Fn"],
    ["arn:aws:lambda:us-east-1:000000000000:function:Fn:live", "Fn"],
    ["not an arn", undefined],
  ])("nameFromArn(%s)", (arn, name) => {
    expect(nameFromArn(arn)).toBe(name);
  });
});

import { describe, expect, it } from "vitest";
import { deleteObjectsKeys, dynamoDbAccess, kinesisAccess, s3Access, StreamTokens, type ResourceArns } from "../../../tooling/iam/index.js";

const arns: ResourceArns = { region: "us-east-1", accountId: "000000000000" };
const table = (t: string) => `arn:aws:dynamodb:us-east-1:000000000000:table/${t}`;
const stream = (s: string) => `arn:aws:kinesis:us-east-1:000000000000:stream/${s}`;

describe("DynamoDB requests as IAM checks", () => {
  it.each([
    ["GetItem", { TableName: "t", Key: {} }, [["dynamodb:GetItem", table("t")]]],
    ["UpdateItem", { TableName: "t", Key: {} }, [["dynamodb:UpdateItem", table("t")]]],
    ["Query", { TableName: "t", IndexName: "byTime" }, [["dynamodb:Query", `${table("t")}/index/byTime`]]],
    ["DescribeTable", { TableName: table("t") }, [["dynamodb:DescribeTable", table("t")]]],
    ["ListTables", {}, [["dynamodb:ListTables", "*"]]],
    ["BatchWriteItem", { RequestItems: { a: [], b: [] } }, [["dynamodb:BatchWriteItem", table("a")], ["dynamodb:BatchWriteItem", table("b")]]],
    [
      "TransactWriteItems",
      { TransactItems: [{ Put: { TableName: "a" } }, { ConditionCheck: { TableName: "b" } }, { Update: { TableName: "a" } }, { Delete: { TableName: "a" } }] },
      [["dynamodb:PutItem", table("a")], ["dynamodb:ConditionCheckItem", table("b")], ["dynamodb:UpdateItem", table("a")], ["dynamodb:DeleteItem", table("a")]],
    ],
  ])("%s", (operation, body, expected) => {
    expect(dynamoDbAccess(operation, body, arns).map((c) => [c.action, c.resource])).toEqual(expected);
  });

  it("names a deployed table by the ARN its policy was resolved with", () => {
    const deployed = { ...arns, tables: new Map([["t", "arn:aws:dynamodb:us-east-1:000000000000:table/t"]]) };
    expect(dynamoDbAccess("PutItem", { TableName: "t", ReturnValues: "ALL_OLD" }, deployed)).toEqual([
      { action: "dynamodb:PutItem", resource: "arn:aws:dynamodb:us-east-1:000000000000:table/t", context: { "dynamodb:ReturnValues": "ALL_OLD" } },
    ]);
  });
});

describe("Kinesis requests as IAM checks", () => {
  it("checks a request on the stream it names, by name or ARN", () => {
    const tokens = new StreamTokens();
    expect(kinesisAccess("ListShards", { StreamName: "s" }, arns, tokens)).toEqual({ action: "kinesis:ListShards", resource: stream("s") });
    expect(kinesisAccess("DescribeStreamSummary", { StreamARN: stream("x") }, arns, tokens)).toEqual({ action: "kinesis:DescribeStreamSummary", resource: stream("x") });
    expect(kinesisAccess("ListStreams", {}, arns, tokens)).toEqual({ action: "kinesis:ListStreams", resource: "*" });
  });

  it("checks GetRecords and a next ListShards page on the stream their iterator or token came from", () => {
    const tokens = new StreamTokens();
    tokens.learn({ ShardIterator: "it-1" }, stream("s"));
    tokens.learn({ NextShardIterator: "it-2", Records: [] }, stream("s"));
    tokens.learn({ Shards: [], NextToken: "page-2" }, stream("t"));
    expect(kinesisAccess("GetRecords", { ShardIterator: "it-1" }, arns, tokens)?.resource).toBe(stream("s"));
    expect(kinesisAccess("GetRecords", { ShardIterator: "it-2" }, arns, tokens)?.resource).toBe(stream("s"));
    expect(kinesisAccess("ListShards", { NextToken: "page-2" }, arns, tokens)?.resource).toBe(stream("t"));
    expect(kinesisAccess("GetRecords", { ShardIterator: "never-seen" }, arns, tokens)).toBeUndefined();
  });

  it("forgets the oldest iterators past its bound", () => {
    const tokens = new StreamTokens(2);
    for (const t of ["a", "b", "c"]) tokens.remember(t, stream("s"));
    expect([tokens.streamOf("a"), tokens.streamOf("c")]).toEqual([undefined, stream("s")]);
  });
});

describe("S3 requests as IAM checks", () => {
  const checks = (method: string, url: string, headers: Record<string, string> = {}) => {
    const a = s3Access({ method, url, headers: { host: "127.0.0.1:4569", ...headers } });
    return a.kind === "checks" ? a.checks.map((c) => [c.action, c.resource]) : a;
  };
  const B = "arn:aws:s3:::b";

  it.each([
    ["GET", "/b/output/word-count/part-0?x-id=GetObject", [["s3:GetObject", `${B}/output/word-count/part-0`]]],
    ["HEAD", "/b/checkpoint/meta.json", [["s3:GetObject", `${B}/checkpoint/meta.json`]]],
    ["GET", "/b/k?versionId=3", [["s3:GetObjectVersion", `${B}/k`]]],
    ["PUT", "/b/shuffle/a%20b/c?x-id=PutObject", [["s3:PutObject", `${B}/shuffle/a b/c`]]],
    ["DELETE", "/b/output/x", [["s3:DeleteObject", `${B}/output/x`]]],
    ["GET", "/b?list-type=2&prefix=output%2F", [["s3:ListBucket", B]]],
    ["GET", "/b/?list-type=2", [["s3:ListBucket", B]]],
    ["HEAD", "/b", [["s3:ListBucket", B]]],
    ["GET", "/b?location", [["s3:GetBucketLocation", B]]],
    ["POST", "/b/big?uploads", [["s3:PutObject", `${B}/big`]]],
    ["PUT", "/b/big?partNumber=1&uploadId=u", [["s3:PutObject", `${B}/big`]]],
    ["DELETE", "/b/big?uploadId=u", [["s3:AbortMultipartUpload", `${B}/big`]]],
    ["GET", "/", [["s3:ListAllMyBuckets", "*"]]],
  ])("%s %s", (method, url, expected) => {
    expect(checks(method, url)).toEqual(expected);
  });

  it("checks CopyObject as a write of the target and a read of the source", () => {
    expect(checks("PUT", "/b/output/new", { "x-amz-copy-source": "/b/shuffle/old%20one" })).toEqual([
      ["s3:PutObject", `${B}/output/new`],
      ["s3:GetObject", `${B}/shuffle/old one`],
    ]);
  });

  it("reads a virtual-hosted bucket from the host", () => {
    const a = s3Access({ method: "GET", url: "/k", headers: { host: "b.s3.us-east-1.amazonaws.com" } });
    expect(a).toMatchObject({ kind: "checks", checks: [{ action: "s3:GetObject", resource: `${B}/k` }] });
  });

  it("gives a listing's prefix, delimiter and max-keys as condition keys", () => {
    const a = s3Access({ method: "GET", url: "/b?list-type=2&prefix=late%2F&delimiter=%2F&max-keys=10", headers: {} });
    expect(a).toMatchObject({ kind: "checks", checks: [{ context: { "s3:prefix": "late/", "s3:delimiter": "/", "s3:max-keys": "10" } }] });
  });

  it("leaves DeleteObjects to its body's keys", () => {
    expect(s3Access({ method: "POST", url: "/b?delete", headers: {} })).toEqual({ kind: "delete-objects", bucket: "b" });
    const body = `<?xml version="1.0"?><Delete><Object><Key>output/a&amp;b</Key></Object><Object><Key>shuffle/c</Key><VersionId>v1</VersionId></Object><Quiet>true</Quiet></Delete>`;
    expect(deleteObjectsKeys(body)).toEqual([{ key: "output/a&b" }, { key: "shuffle/c", versionId: "v1" }]);
  });
});

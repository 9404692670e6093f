/**
 * The ARN a request names, built as AWS builds it for authorization: from a table or stream name in the request
 * (or the ARN the request passes instead), in the region and account of the local stack. Names of the deployed
 * resources map to the ARNs the deployer resolved, so that a policy and a request always agree on a resource.
 */

export interface ResourceArns {
  readonly region: string;
  readonly accountId: string;
  /** Deployed tables and streams by name, with the ARNs their policies were resolved with. */
  readonly tables?: ReadonlyMap<string, string>;
  readonly streams?: ReadonlyMap<string, string>;
}

export function tableArn(arns: ResourceArns, nameOrArn: string): string {
  if (nameOrArn.startsWith("arn:")) return nameOrArn;
  return arns.tables?.get(nameOrArn) ?? `arn:aws:dynamodb:${arns.region}:${arns.accountId}:table/${nameOrArn}`;
}

export function streamArn(arns: ResourceArns, nameOrArn: string): string {
  if (nameOrArn.startsWith("arn:")) return nameOrArn;
  return arns.streams?.get(nameOrArn) ?? `arn:aws:kinesis:${arns.region}:${arns.accountId}:stream/${nameOrArn}`;
}

export function bucketArn(bucket: string): string {
  return `arn:aws:s3:::${bucket}`;
}

export function objectArn(bucket: string, key: string): string {
  return `arn:aws:s3:::${bucket}/${key}`;
}

/** `AWS::S3::Bucket`: created when missing, kept with its objects when it exists. */
import { CreateBucketCommand, HeadBucketCommand } from "@aws-sdk/client-s3";
import { ValidationError } from "../../../lib/core/errors.js";
import type { CfnResource } from "../assembly.js";
import { arns } from "../physical-names.js";
import { errorName, type DeployContext } from "./deploy-context.js";

export interface DeployedBucket {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly created: boolean;
}

export async function deployBucket(d: DeployContext, logicalId: string, _r: CfnResource): Promise<DeployedBucket> {
  const { s3 } = d.clients;
  const name = d.resources.name(logicalId);
  let created = false;
  const exists = await s3.send(new HeadBucketCommand({ Bucket: name })).then(
    () => true,
    () => false,
  );
  if (!exists) {
    try {
      await s3.send(new CreateBucketCommand({ Bucket: name }));
      created = true;
    } catch (err) {
      if (!["BucketAlreadyOwnedByYou", "BucketAlreadyExists"].includes(errorName(err))) {
        throw new ValidationError("BucketCreateFailed", `could not create bucket ${name} (${d.stack.stackName}/${logicalId}): ${(err as Error).message}`, { logicalId }, { cause: err });
      }
    }
  }
  return { logicalId, name, arn: arns.bucket(name), created };
}

/**
 * Object listings with what the ObjectStore interface leaves out and the UI needs: when each object was written
 * (the finalization times of a batch's output directories) and its size (a dead letter's bytes). Bounded: a
 * listing starts after a key and stops after `max` keys, so a bucket holding months of batches is not read whole.
 */
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";

export interface ListedObject {
  readonly key: string;
  /** Epoch ms (whole seconds on AWS). */
  readonly lastModified: number;
  readonly size: number;
}

export async function listObjects(s3: S3Client, bucket: string, prefix: string, options: { startAfter?: string; max?: number } = {}): Promise<ListedObject[]> {
  const max = options.max ?? 10_000;
  const out: ListedObject[] = [];
  let token: string | undefined;
  do {
    const r = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : options.startAfter ? { StartAfter: options.startAfter } : {}),
        MaxKeys: Math.min(1_000, max - out.length),
      }),
    );
    for (const o of r.Contents ?? []) out.push({ key: o.Key!, lastModified: o.LastModified?.getTime() ?? 0, size: o.Size ?? 0 });
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token && out.length < max);
  return out;
}

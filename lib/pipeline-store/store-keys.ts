import { ValidationError } from "../core/errors.js";
import { MAX_FINALIZER_PARTITIONS } from "../core/partitioner.js";

/**
 * Checks of the values that become parts of storage keys, shared by both pipeline stores so they refuse the
 * same inputs. DynamoDB keys join segments with "#" and spill objects with "/": a segment holding either could
 * collide with another key (`a#b` + `c` = `a` + `b#c`).
 */

/** A node id, shard id or attempt id: not empty, no "#" or "/". */
export function checkSegment(what: string, value: string): void {
  if (value.length === 0 || value.includes("#") || value.includes("/")) {
    throw new ValidationError("BadStoreKey", `${what} "${value}" must be non-empty and contain neither '#' nor '/': it becomes part of storage keys`, {
      [what]: value,
    });
  }
}

/** A finalizer partition: an integer from 0 to MAX_FINALIZER_PARTITIONS - 1 (`p<p>` in keys). */
export function checkPartition(partition: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition >= MAX_FINALIZER_PARTITIONS) {
    throw new ValidationError("BadPartition", `finalizer partition ${partition} must be an integer from 0 to ${MAX_FINALIZER_PARTITIONS - 1}`, { partition });
  }
}

/** A batch time: a non-negative integer of epoch milliseconds. */
export function checkTime(time: number): void {
  if (!Number.isSafeInteger(time) || time < 0) {
    throw new ValidationError("BadBatchTime", `batch time ${time} must be a non-negative integer (epoch ms)`, { time });
  }
}

/** Times in sort keys and object keys, padded so that string order is time order (15 digits: past year 30000). */
export function padTime(time: number): string {
  return String(time).padStart(15, "0");
}

/** DynamoDB and S3 order strings by their UTF-8 bytes; JS `<` orders UTF-16 code units, which differs above U+FFFF. */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

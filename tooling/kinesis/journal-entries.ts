/**
 * One line of the Kinesis emulator's journal per change, in the order the changes were acknowledged. Each entry
 * carries the values chosen when it was made (times, sequence numbers), so replaying it rebuilds exactly the
 * state the clients were told about.
 */
export type JournalEntry =
  | { readonly op: "create"; readonly name: string; readonly at: number; readonly shards: number; readonly mode: "PROVISIONED" | "ON_DEMAND"; readonly seq: string; readonly busyMs: number }
  | { readonly op: "delete"; readonly name: string }
  | { readonly op: "retention"; readonly name: string; readonly hours: number }
  /** Records get `seq`, `seq + 1`, … in order; each is `[shardId, partitionKey, base64 data]`. */
  | { readonly op: "put"; readonly name: string; readonly at: number; readonly seq: string; readonly records: readonly (readonly [string, string, string])[] }
  /** The parent ends at `seq`; both children start at `seq + 1`. */
  | { readonly op: "split"; readonly name: string; readonly at: number; readonly shard: string; readonly hash: string; readonly seq: string; readonly busyMs: number }
  /** Both parents end at `seq`; the child starts at `seq + 1`. */
  | { readonly op: "merge"; readonly name: string; readonly at: number; readonly shard: string; readonly adjacent: string; readonly seq: string; readonly busyMs: number }
  /**
   * First line of a compacted journal: every sequence number below `next` was handed out, some to records the
   * compaction dropped, so a restart must not hand them out again.
   */
  | { readonly op: "sequence"; readonly next: string };

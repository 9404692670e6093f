/**
 * The table's schema, which the construct creates and the DynamoDB pipeline store assumes. The key layout
 * inside it (which pk/sk each kind of item has) is the store's: lib/pipeline-store/dynamodb-pipeline-store.ts.
 */
export const TABLE = {
  /** Partition key, a string: `<pipeline>#<kind>…`. */
  partitionKey: "pk",
  /** Sort key, a string. */
  sortKey: "sk",
  /** TTL attribute, epoch seconds (DynamoDB deletes up to 48 h late: readers filter by time). */
  timeToLive: "ttl",
} as const;

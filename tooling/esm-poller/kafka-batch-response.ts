/**
 * Lambda's reading of a Kafka function's partial batch response (`FunctionResponseTypes: [ReportBatchItemFailures]`,
 * provisioned mode): `{ batchItemFailures: [{ itemIdentifier: { partition: "<topic>-<partition>", offset } }] }`
 * names, per partition that stopped early, its first record not processed; that partition resumes there and every
 * other record of the batch succeeded.
 */
import type { BufferedKafkaRecord } from "./kafka-event.js";

export type KafkaBatchResponseOutcome =
  | { readonly kind: "success" }
  /** The records to deliver again: per reported partition, those from the reported offset on. */
  | { readonly kind: "partial"; readonly retry: ReadonlySet<BufferedKafkaRecord> }
  | { readonly kind: "invalid"; readonly reason: string };

/**
 * Success when the response or its `batchItemFailures` is null, absent or empty; otherwise every entry must name
 * a partition of this batch and an offset of one of its records — anything else fails the whole batch, as an
 * unreadable Kinesis response does.
 */
export function readKafkaBatchResponse(response: unknown, batch: readonly BufferedKafkaRecord[]): KafkaBatchResponseOutcome {
  if (response === null || response === undefined || typeof response !== "object") return { kind: "success" };
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === null || failures === undefined) return { kind: "success" };
  if (!Array.isArray(failures)) return { kind: "invalid", reason: "batchItemFailures is not a list" };
  if (failures.length === 0) return { kind: "success" };
  const from = new Map<string, number>();
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier as { partition?: unknown; offset?: unknown } | undefined;
    const partition = id?.partition;
    const offset = id?.offset;
    if (typeof partition !== "string" || typeof offset !== "number") return { kind: "invalid", reason: `itemIdentifier ${JSON.stringify(id)} is not { partition, offset }` };
    if (!batch.some((r) => `${r.record.topic}-${r.record.partition}` === partition && r.record.offset === offset)) {
      return { kind: "invalid", reason: `itemIdentifier ${partition}@${offset} is not a record of this batch` };
    }
    from.set(partition, Math.min(from.get(partition) ?? offset, offset));
  }
  const retry = new Set(batch.filter((r) => {
    const at = from.get(`${r.record.topic}-${r.record.partition}`);
    return at !== undefined && r.record.offset >= at;
  }));
  return { kind: "partial", retry };
}

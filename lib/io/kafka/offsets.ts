import type { TopicPartitionInfo } from "./metadata.js";

/**
 * Offsets as the direct stream keeps them: per topic and partition, the NEXT offset to hand to a batch (Kafka's
 * committed-offset convention, so the checkpoint and the consumer group say the same number), as a decimal
 * string (compare as BigInt).
 */
export type PartitionOffsets = Readonly<Record<string, Readonly<Record<string, string>>>>;

/**
 * What `KafkaDirectSource.position()` returns and the checkpoint keeps: for each partition the source knows,
 * where the records handed to batches end. A partition that has handed nothing yet records where it started
 * (so a stream started at "latest" resumes there after a restart, and skips nothing that arrived meanwhile).
 */
export interface KafkaPosition {
  readonly version: 1;
  /** The subscribed topics, sorted. */
  readonly topics: readonly string[];
  readonly offsets: PartitionOffsets;
}

/** Where a stream starts in partitions that a checkpoint does not place (Spark's `auto.offset.reset` and per-partition offsets). */
export type KafkaStartingOffsets = "earliest" | "latest" | { readonly [topic: string]: { readonly [partition: number]: number | bigint | string } };

/** How a partition's start was chosen, and whether it had to be moved into the log's range. */
export interface StartingOffset {
  readonly offset: bigint;
  readonly from: "checkpoint" | "startingOffsets" | "committed" | "earliest" | "latest";
  /** The chosen offset was before the log start (deleted by retention) or past its end, and was moved to it. */
  readonly clampedFrom?: bigint;
}

/**
 * Where one partition starts: the checkpoint's offset; else an offset given for it in `startingOffsets`; else the
 * group's committed offset; else the earliest or latest offset (`startingOffsets` as a string, "latest" when it
 * is an object, "earliest" for a partition that is not in a restored checkpoint: it appeared since, and holds
 * only records never read). The result is kept within `[earliestOffset, highWatermark]`.
 */
export function startingOffset(
  info: TopicPartitionInfo,
  choices: { readonly restored?: PartitionOffsets; readonly starting: KafkaStartingOffsets; readonly committed?: PartitionOffsets },
): StartingOffset {
  const at = (o: PartitionOffsets | undefined) => o?.[info.topic]?.[String(info.partition)];
  const low = BigInt(info.earliestOffset);
  const high = BigInt(info.highWatermark);
  const clamp = (offset: bigint, from: StartingOffset["from"]): StartingOffset =>
    offset < low ? { offset: low, from, clampedFrom: offset } : offset > high ? { offset: high, from, clampedFrom: offset } : { offset, from };

  const restored = at(choices.restored);
  if (restored !== undefined) return clamp(BigInt(restored), "checkpoint");
  if (choices.restored) return { offset: low, from: "earliest" };
  const s = choices.starting;
  if (typeof s === "object") {
    const given = s[info.topic]?.[info.partition];
    if (given !== undefined) return clamp(BigInt(given), "startingOffsets");
  }
  const committed = at(choices.committed);
  if (committed !== undefined && BigInt(committed) >= 0n) return clamp(BigInt(committed), "committed");
  return s === "earliest" ? { offset: low, from: "earliest" } : { offset: high, from: "latest" };
}

/** Validates `startingOffsets` when the stream is made, so a typo is an error before anything runs. */
export function startingOffsetsProblem(s: unknown, topics: readonly string[]): string | undefined {
  if (s === "earliest" || s === "latest") return undefined;
  if (typeof s !== "object" || s === null || Array.isArray(s)) return `startingOffsets must be "earliest", "latest" or { topic: { partition: offset } }, got ${JSON.stringify(s)}`;
  for (const [topic, partitions] of Object.entries(s)) {
    if (!topics.includes(topic)) return `startingOffsets names topic ${topic}, which the stream does not subscribe to (${topics.join(", ")})`;
    if (typeof partitions !== "object" || partitions === null) return `startingOffsets.${topic} must be { partition: offset }, got ${JSON.stringify(partitions)}`;
    for (const [partition, offset] of Object.entries(partitions as Record<string, unknown>)) {
      if (!/^\d+$/.test(partition)) return `startingOffsets.${topic}: partition ${partition} is not a partition number`;
      const ok = (typeof offset === "number" && Number.isSafeInteger(offset) && offset >= 0) || (typeof offset === "bigint" && offset >= 0n) || (typeof offset === "string" && /^\d+$/.test(offset));
      if (!ok) return `startingOffsets.${topic}[${partition}] must be an offset (a whole number from 0), got ${String(offset)}`;
    }
  }
  return undefined;
}

export function isKafkaPosition(p: unknown): p is KafkaPosition {
  if (typeof p !== "object" || p === null) return false;
  const o = p as Record<string, unknown>;
  if (o.version !== 1 || !Array.isArray(o.topics) || !o.topics.every((t) => typeof t === "string")) return false;
  if (typeof o.offsets !== "object" || o.offsets === null) return false;
  return Object.values(o.offsets).every(
    (parts: unknown) =>
      typeof parts === "object" &&
      parts !== null &&
      Object.entries(parts).every(([partition, offset]) => /^\d+$/.test(partition) && typeof offset === "string" && /^\d+$/.test(offset)),
  );
}

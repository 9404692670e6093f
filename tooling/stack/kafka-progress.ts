/**
 * `<stateDir>/kafka-progress.json`: each Kafka mapping's per-partition progress (offset committed to the
 * consumer group, offset read, log end, records waiting) as its poller sees it. The stack writes it while it
 * runs; `sparkless local status` reads it.
 */
import { join } from "node:path";
import type { KafkaPartitionStats } from "../esm-poller/index.js";
import { readStateFile, type StateFileHeader, StateFileWriter } from "./state-file.js";

export const KAFKA_PROGRESS_FILE = "kafka-progress.json";

export interface KafkaMappingProgress {
  readonly logicalId: string;
  readonly functionName: string;
  readonly topic: string;
  readonly consumerGroupId: string;
  readonly partitions: readonly KafkaPartitionStats[];
}

export interface KafkaProgressFile extends StateFileHeader {
  readonly mappings: readonly KafkaMappingProgress[];
}

export function kafkaProgressPath(stateDir: string): string {
  return join(stateDir, KAFKA_PROGRESS_FILE);
}

/** The progress written by the stack process `pid`, or undefined (none, another process', unreadable). */
export function readKafkaProgress(stateDir: string, pid: number): KafkaProgressFile | undefined {
  return readStateFile<KafkaProgressFile>(kafkaProgressPath(stateDir), pid, (f) => Array.isArray(f.mappings));
}

/** Writes the progress when it changed, every `intervalMs`, and once more when stopped. */
export class KafkaProgressRecorder extends StateFileWriter<{ mappings: readonly KafkaMappingProgress[] }> {
  constructor(stateDir: string, progress: () => readonly KafkaMappingProgress[], intervalMs = 1_000) {
    super(stateDir, KAFKA_PROGRESS_FILE, () => ({ mappings: progress() }), intervalMs);
  }
}

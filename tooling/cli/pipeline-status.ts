/**
 * How far a deployed pipeline has got, read from where the runtime keeps it: shard progress and status in
 * the table, the stream's shards and what is after each committed sequence number in Kinesis, dead letters
 * and the metadata checkpoint in the bucket. Read-only: it never takes the lease or writes anything.
 */
import type { KinesisClient } from "@aws-sdk/client-kinesis";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import { cliDynamoDbClient, cliKinesisClient, cliS3Client } from "./clients.js";
import { countRecordsAfter, type RecordsAfter } from "../../lib/io/kinesis/probe.js";
import { listShards } from "../../lib/io/kinesis/shards.js";
import { S3ObjectStore } from "../../lib/io/s3-object-store.js";
import { DynamoDbPipelineStore } from "../../lib/pipeline-store/dynamodb-pipeline-store.js";
import type { PartitionStatus } from "../../lib/pipeline-store/pipeline-store.js";
import { readInvocations, type FunctionInvocations } from "../stack/invocation-metrics.js";
import type { PipelineTarget } from "./target.js";
import { BUCKET_PREFIXES } from "../../lib/contract/index.js";

/** Count at most this many records behind a shard's committed position (the read costs GetRecords calls). */
export const BEHIND_CAP = 10_000;
/** GetRecords calls per shard when counting (Kinesis allows 5 per second per shard). */
const BEHIND_MAX_CALLS = 4;

export interface ShardStatus {
  readonly shardId: string;
  readonly parentShardId?: string;
  /** The shard takes no new records (split or merged). */
  readonly closed: boolean;
  /** Last committed sequence number; absent before the first commit. */
  readonly seq?: string;
  /** Epoch ms; absent when the shard has no progress item yet. */
  readonly watermark?: number;
  readonly drained: boolean;
  /** Records after the committed sequence number (from the start of the shard before any commit). */
  readonly recordsBehind: number;
  /** More than {@link BEHIND_CAP} were there: `recordsBehind` is a lower bound. */
  readonly recordsBehindCapped: boolean;
  /** Kinesis' MillisBehindLatest of the first GetRecords after the committed position. */
  readonly millisBehindLatest?: number;
  /** Arrival time (epoch ms) of the oldest record not yet committed: what Lambda's IteratorAge measures. */
  readonly oldestPendingArrival?: number;
}

/** One finalizer partition's progress (`listPartitionStatus`), and the complete batches it has still to finalize. */
export interface PartitionProgress {
  readonly partition: number;
  /** The last batch time it finalized; the zero time before its first. */
  readonly lastFinalized: number;
  /** Who holds its lease, until when (epoch ms); absent when no finalizer ever took it. */
  readonly leaseOwner?: string;
  readonly leaseExpiresAt?: number;
  /** Complete batches after its last finalized one (undefined when the batch interval is unknown). */
  readonly behind?: number;
}

export interface PipelineStatusReport {
  readonly pipeline: string;
  readonly stream: string;
  readonly table: string;
  readonly bucket: string;
  /** Absent until the first record or tick creates the pipeline's status item. */
  readonly zeroTime?: number;
  readonly lastFinalized?: number;
  readonly graphHash?: string;
  readonly batchIntervalMs?: number;
  /**
   * Per finalizer partition, in order (P rows; a partition that never finalized shows the zero time). A batch is
   * finalized (`lastFinalized`) when every partition has finalized it. Absent before the pipeline started.
   */
  readonly partitions?: readonly PartitionProgress[];
  readonly shards: readonly ShardStatus[];
  /**
   * Batch times after the last finalized one that every shard's watermark has passed (complete, waiting
   * for the finalizer), and the shards holding back the next batch.
   */
  readonly pending: {
    readonly ready: number[] | undefined;
    /** The first batch time not yet complete, if the batch interval is known. */
    readonly next?: number;
    readonly waitingOn: readonly string[];
  };
  readonly deadLetters: {
    /** Records the shard stage could not decode or whose user function threw (`dead-letter/<pipeline>/<shard>/`). */
    readonly records: number;
    /** Batches whose finalization failed in a user function (`dead-letter/<pipeline>/batches/`). */
    readonly batches: number;
    /** Event-source-mapping discards (retries or record age exhausted) under `aws/lambda/`. */
    readonly discarded: number;
  };
  /** The local stack's functions since it started (its invocations.json); absent off the local stack. */
  readonly invocations?: { readonly functions: readonly FunctionInvocations[] };
}

export interface StatusClients {
  readonly kinesis: KinesisClient;
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
}

export function clientsFor(target: PipelineTarget): StatusClients {
  const conn = (endpoint: string | undefined) => ({
    ...(target.region ? { region: target.region } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(target.credentials ? { credentials: target.credentials } : {}),
  });
  return {
    kinesis: cliKinesisClient(conn(target.endpoints.kinesis)),
    dynamodb: cliDynamoDbClient(conn(target.endpoints.dynamodb)),
    s3: cliS3Client(conn(target.endpoints.s3)),
  };
}

export async function collectStatus(target: PipelineTarget, clients: StatusClients = clientsFor(target)): Promise<PipelineStatusReport> {
  const objects = new S3ObjectStore({ client: clients.s3, bucket: target.bucket });
  const store = new DynamoDbPipelineStore({ client: clients.dynamodb, tableName: target.table, pipeline: target.pipeline, objects });
  const [status, partitionRows, progress, listed, deadKeys, discardKeys, metadata] = await Promise.all([
    store.getStatus(),
    store.listPartitionStatus(),
    store.listProgress(),
    listShards(clients.kinesis, target.stream),
    objects.list(`${BUCKET_PREFIXES.deadLetter}${target.pipeline}/`),
    objects.list("aws/lambda/"),
    target.batchIntervalMs === undefined ? objects.get(`checkpoint/${target.pipeline}/metadata.json`) : Promise.resolve(undefined),
  ]);
  const batchIntervalMs = target.batchIntervalMs ?? intervalFrom(metadata);
  const byId = new Map(progress.map((p) => [p.shardId, p]));
  // Shards the stream lists, then any the table knows that the stream no longer lists (expired parents).
  const ids = [...listed.map((s) => s.shardId), ...progress.map((p) => p.shardId).filter((id) => !listed.some((s) => s.shardId === id))];
  const shards = await Promise.all(
    ids.map(async (shardId): Promise<ShardStatus> => {
      const info = listed.find((s) => s.shardId === shardId);
      const p = byId.get(shardId);
      const behind = info ? await recordsBehind(clients.kinesis, target.stream, shardId, p?.seq) : { count: 0, capped: false };
      return {
        shardId,
        ...(info?.parentShardId ? { parentShardId: info.parentShardId } : {}),
        closed: info ? info.closed : true,
        ...(p?.seq !== undefined ? { seq: p.seq } : {}),
        ...(p ? { watermark: p.watermark } : {}),
        drained: p?.drained ?? false,
        recordsBehind: behind.count,
        recordsBehindCapped: behind.capped,
        ...(behind.millis !== undefined ? { millisBehindLatest: behind.millis } : {}),
        ...(behind.oldestArrival !== undefined ? { oldestPendingArrival: behind.oldestArrival } : {}),
      };
    }),
  );

  // As the finalizer decides (finalizer.ts isComplete): T is complete when every listed shard is drained or
  // has a watermark at or past T; a listed shard without progress holds everything back.
  const open = shards.filter((s) => listed.some((l) => l.shardId === s.shardId) && !s.drained);
  const noProgress = open.filter((s) => s.watermark === undefined);
  const minWatermark = noProgress.length > 0 ? undefined : open.length === 0 ? Infinity : Math.min(...open.map((s) => s.watermark!));
  let ready: number[] | undefined;
  let next: number | undefined;
  if (status && batchIntervalMs !== undefined) {
    ready = [];
    let t = status.lastFinalized + batchIntervalMs;
    // Cap the list: a pipeline whose finalizer is stuck could be days of batches behind.
    for (; minWatermark !== undefined && t <= minWatermark && ready.length < 10_000; t += batchIntervalMs) ready.push(t);
    next = t;
  }
  const waitingOn =
    noProgress.length > 0
      ? noProgress.map((s) => s.shardId)
      : next !== undefined
        ? open.filter((s) => s.watermark! < next!).map((s) => s.shardId)
        : open.filter((s) => s.watermark === minWatermark).map((s) => s.shardId);

  const partitions = status ? partitionProgress(status, partitionRows, ready) : undefined;
  const invocations = target.localStack ? readInvocations(target.localStack.stateDir, target.localStack.pid) : undefined;
  const batchDeadLetters = deadKeys.filter((k) => k.startsWith(`${BUCKET_PREFIXES.deadLetter}${target.pipeline}/batches/`)).length;
  return {
    pipeline: target.pipeline,
    stream: target.stream,
    table: target.table,
    bucket: target.bucket,
    ...(status ? { zeroTime: status.zeroTime, lastFinalized: status.lastFinalized, graphHash: status.graphHash } : {}),
    ...(batchIntervalMs !== undefined ? { batchIntervalMs } : {}),
    ...(partitions ? { partitions } : {}),
    shards,
    pending: { ready, ...(next !== undefined ? { next } : {}), waitingOn },
    deadLetters: { records: deadKeys.length - batchDeadLetters, batches: batchDeadLetters, discarded: discardKeys.length },
    ...(invocations ? { invocations: { functions: invocations.functions } } : {}),
  };
}

/**
 * Every partition 0..P-1 (P from the status, else the rows listed): a partition whose finalizer has not run yet
 * has no item of its own, and stands at the zero time.
 */
function partitionProgress(status: { zeroTime: number; partitions?: number }, rows: readonly PartitionStatus[], ready: readonly number[] | undefined): PartitionProgress[] {
  const count = Math.max(status.partitions ?? 1, ...rows.map((r) => r.partition + 1));
  return Array.from({ length: count }, (_, partition) => {
    const row = rows.find((r) => r.partition === partition);
    const lastFinalized = row?.lastFinalized ?? status.zeroTime;
    // The complete batches the pipeline still waits on that this partition has not finalized.
    const behind = ready?.filter((t) => t > lastFinalized).length;
    return {
      partition,
      lastFinalized,
      ...(row?.leaseOwner !== undefined ? { leaseOwner: row.leaseOwner, leaseExpiresAt: row.leaseExpiresAt! } : {}),
      ...(behind !== undefined ? { behind } : {}),
    };
  });
}

function intervalFrom(metadata: string | undefined): number | undefined {
  if (metadata === undefined) return undefined;
  try {
    const v = (JSON.parse(metadata) as { batchIntervalMs?: unknown }).batchIntervalMs;
    return typeof v === "number" && v > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Records after `afterSeq` in a shard (from TRIM_HORIZON when there is none), up to {@link BEHIND_CAP}, and
 * the MillisBehindLatest of the first read.
 */
export function recordsBehind(client: KinesisClient, stream: string, shardId: string, afterSeq: string | undefined): Promise<RecordsAfter> {
  return countRecordsAfter(client, stream, shardId, afterSeq, { cap: BEHIND_CAP, maxCalls: BEHIND_MAX_CALLS });
}

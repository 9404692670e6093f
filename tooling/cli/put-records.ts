/**
 * PutRecords in batches within Kinesis' limits, retrying what Kinesis refused for a while (throttling, internal
 * failures) and nothing else, and accounting for every record: sent, skipped (it can never fit), or failed.
 */
import { PutRecordsCommand, type PutRecordsCommandOutput } from "@aws-sdk/client-kinesis";
import { CliError } from "./io.js";

/** Kinesis' limits (PutRecords API reference): records per request, bytes per record and per request, partition keys included. */
export const MAX_RECORDS_PER_REQUEST = 500;
export const MAX_RECORD_BYTES = 1024 * 1024;
export const MAX_REQUEST_BYTES = 5 * 1024 * 1024;
/** A partition key is 1 to 256 Unicode characters. */
export const MAX_PARTITION_KEY_CHARS = 256;

/** One record to put, with the input line it came from (for messages). */
export interface PutEntry {
  readonly data: Uint8Array;
  readonly partitionKey: string;
  readonly line: number;
}

/** A record that was not put, and why. */
export interface NotPut {
  readonly line: number;
  readonly reason: string;
}

/** What sends PutRecords: a KinesisClient, or a test's fake. */
export interface PutRecordsSender {
  send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput>;
}

export interface RecordPutterOptions {
  readonly client: PutRecordsSender;
  /** A stream name, or its ARN (`arn:...`). */
  readonly stream: string;
  /**
   * Tries of one request (the first included) before the records still refused count as failed. The SDK
   * client retries throttled calls a few times on its own below this.
   * @default 8
   */
  readonly maxAttempts?: number;
  /** First backoff; it doubles with each retry, with full jitter. @default 100 */
  readonly baseDelayMs?: number;
  /** @default 5000 */
  readonly maxDelayMs?: number;
  /** Told after each request: how many records were sent by it, how many bytes, and how many it must retry. */
  readonly onRequest?: (info: { readonly sent: number; readonly bytes: number; readonly retrying: number; readonly attempt: number }) => void;
  /** Told of each record that is skipped or finally fails, as it happens. */
  readonly onNotPut?: (entry: NotPut & { readonly kind: "skipped" | "failed" }) => void;
  /** @default - a real timer */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
}

export interface PutStats {
  records: number;
  bytes: number;
  requests: number;
  /** Records that needed more than one try (counted once per retry). */
  retriedRecords: number;
  /** Whole requests that failed (throttled, network) and were sent again. */
  retriedRequests: number;
  readonly skipped: NotPut[];
  readonly failed: NotPut[];
}

/** Per-record errors worth another try; anything else (KMS access denied, say) will not get better. */
const RETRYABLE_RECORD_ERRORS = new Set(["ProvisionedThroughputExceededException", "InternalFailure", "KMSThrottlingException", "ServiceUnavailable"]);
/** Whole-request errors worth another try (beyond the SDK's own retries). */
const RETRYABLE_REQUEST_ERRORS = new Set([
  "ProvisionedThroughputExceededException",
  "LimitExceededException",
  "ThrottlingException",
  "InternalFailure",
  "InternalFailureException",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "TimeoutError",
  "RequestTimeout",
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
]);

function entryBytes(e: PutEntry): number {
  return e.data.byteLength + Buffer.byteLength(e.partitionKey, "utf8");
}

/**
 * Buffers records and sends them with PutRecords, at most 500 and 5 MiB (partition keys included) per request,
 * one request at a time so records of one partition key keep their input order (unless one is retried).
 * A record over 1 MiB is skipped and reported, never sent; records Kinesis refuses for a retryable reason are
 * sent again — only those — with exponential backoff.
 *
 * @example
 * const putter = new RecordPutter({ client: kinesisClient(), stream: "clicks" });
 * for (const [i, line] of lines.entries()) await putter.add({ data: Buffer.from(line), partitionKey: "k", line: i + 1 });
 * await putter.flush();
 * console.log(putter.stats);
 */
export class RecordPutter {
  readonly stats: PutStats = { records: 0, bytes: 0, requests: 0, retriedRecords: 0, retriedRequests: 0, skipped: [], failed: [] };
  private batch: PutEntry[] = [];
  private batchBytes = 0;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: RecordPutterOptions) {
    this.maxAttempts = options.maxAttempts ?? 8;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 5_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.random = options.random ?? Math.random;
  }

  /** Adds a record; sends the buffered batch first when this record would not fit in it. */
  async add(entry: PutEntry): Promise<void> {
    const bytes = entryBytes(entry);
    if (bytes > MAX_RECORD_BYTES) {
      this.notPut("skipped", {
        line: entry.line,
        reason: `${bytes.toLocaleString("en-US")} bytes with its partition key, over Kinesis' limit of ${MAX_RECORD_BYTES.toLocaleString("en-US")} bytes (1 MiB) per record`,
      });
      return;
    }
    if (this.batch.length >= MAX_RECORDS_PER_REQUEST || this.batchBytes + bytes > MAX_REQUEST_BYTES) await this.flush();
    this.batch.push(entry);
    this.batchBytes += bytes;
  }

  /** Sends what is buffered. */
  async flush(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    if (batch.length > 0) await this.send(batch);
  }

  private async send(batch: PutEntry[]): Promise<void> {
    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt++) {
      let res: PutRecordsCommandOutput;
      try {
        this.stats.requests++;
        res = await this.options.client.send(
          new PutRecordsCommand({
            ...(this.options.stream.startsWith("arn:") ? { StreamARN: this.options.stream } : { StreamName: this.options.stream }),
            Records: pending.map((e) => ({ Data: e.data, PartitionKey: e.partitionKey })),
          }),
        );
      } catch (e) {
        const name = errorName(e);
        if (RETRYABLE_REQUEST_ERRORS.has(name) && attempt < this.maxAttempts) {
          this.stats.retriedRequests++;
          await this.backoff(attempt);
          continue;
        }
        if (name === "ResourceNotFoundException") {
          throw new CliError("StreamNotFound", `stream ${this.options.stream} does not exist (${(e as Error).message})`, 1, { stream: this.options.stream }, { cause: e });
        }
        throw new CliError("PutRecordsFailed", `PutRecords to ${this.options.stream} failed: ${name}: ${(e as Error).message}`, 1, { stream: this.options.stream }, { cause: e });
      }
      const results = res.Records ?? [];
      const retry: PutEntry[] = [];
      let sent = 0;
      let bytes = 0;
      pending.forEach((entry, i) => {
        const r = results[i];
        // A response without an entry for a record says nothing about it: treat it as refused for now.
        const code = r === undefined ? "InternalFailure" : r.ErrorCode;
        if (code === undefined || code === null || code === "") {
          sent++;
          bytes += entry.data.byteLength;
        } else if (RETRYABLE_RECORD_ERRORS.has(code) && attempt < this.maxAttempts) {
          retry.push(entry);
        } else {
          const why = `${code}${r?.ErrorMessage ? `: ${r.ErrorMessage}` : ""}`;
          this.notPut("failed", { line: entry.line, reason: RETRYABLE_RECORD_ERRORS.has(code) ? `${why} (still refused after ${attempt} tries)` : why });
        }
      });
      this.stats.records += sent;
      this.stats.bytes += bytes;
      this.stats.retriedRecords += retry.length;
      this.options.onRequest?.({ sent, bytes, retrying: retry.length, attempt });
      pending = retry;
      if (pending.length > 0) await this.backoff(attempt);
    }
  }

  private notPut(kind: "skipped" | "failed", entry: NotPut): void {
    (kind === "skipped" ? this.stats.skipped : this.stats.failed).push(entry);
    this.options.onNotPut?.({ ...entry, kind });
  }

  /** Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): spreads retries of many writers. */
  private backoff(attempt: number): Promise<void> {
    const cap = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    return this.sleep(Math.round(this.random() * cap));
  }
}

function errorName(e: unknown): string {
  const err = e as { name?: string; code?: string; Code?: string };
  return err.code && /^E[A-Z]+$/.test(err.code) ? err.code : (err.name ?? err.Code ?? "Error");
}

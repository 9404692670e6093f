/**
 * DynamoDB's and S3's cost in time, modelled: the bench runs the runtime on the in-memory stores (so it measures
 * the finalizer's own CPU, not an emulator's) and wraps them to count, per store call, the requests and bytes
 * the DynamoDB store and S3 would serve, and the time they would take from inside a Lambda function.
 *
 * The model (stated in the bench's output and docs/serverless.md):
 * - DynamoDB: {@link MODEL}.dynamoMs per request round trip (single-digit ms in-region); BatchWriteItem carries
 *   at most 25 items, BatchGetItem 100 keys; a Query returns at most 1 MB per page and its pages are read one
 *   after the other; an item over 350 KB is spilled to S3 (one S3 request more, the item then small).
 * - S3: {@link MODEL}.s3Ms per request (first byte of a GET, acknowledgement of a PUT); LIST 1,000 keys a page.
 * - Bytes: each request also takes bytes / {@link MODEL}.mbPerSecond (a Lambda function's network share);
 *   bytes are the payloads as the runtime encodes them, before the DynamoDB store's gzip (so an upper bound).
 * - Parallelism: the requests of one store call run up to {@link MODEL}.parallel at a time (batch writes); store
 *   calls the runtime has in flight together (a `Promise.all` of part-file puts, of the partitions' frontier
 *   reads) run in waves of {@link MODEL}.parallel; calls it awaits one after the other add up.
 */
import type { ObjectStore } from "../../lib/io/object-store.js";
import type { Part, PipelineStore } from "../../lib/pipeline-store/pipeline-store.js";

export const MODEL = { dynamoMs: 6, s3Ms: 25, mbPerSecond: 60, parallel: 16, batchWrite: 25, queryPageBytes: 1 << 20, spillBytes: 350 * 1024, listPage: 1_000 } as const;

/** Requests and bytes per service, and the modelled milliseconds they take. */
export interface StoreCost {
  dynamoRequests: number;
  dynamoBytes: number;
  s3Requests: number;
  s3Bytes: number;
  ms: number;
}

export const noCost = (): StoreCost => ({ dynamoRequests: 0, dynamoBytes: 0, s3Requests: 0, s3Bytes: 0, ms: 0 });

export function addCost(into: StoreCost, c: StoreCost): StoreCost {
  into.dynamoRequests += c.dynamoRequests;
  into.dynamoBytes += c.dynamoBytes;
  into.s3Requests += c.s3Requests;
  into.s3Bytes += c.s3Bytes;
  into.ms += c.ms;
  return into;
}

const SMALL_ITEM = 200;
const bytesOf = (s: string | undefined) => (s === undefined ? 0 : Buffer.byteLength(s));
const transfer = (bytes: number) => (bytes / (MODEL.mbPerSecond * 1e6)) * 1000;

/** A store call's cost, with its latency apart from its transfer time (calls in flight together share waves). */
type CallCost = StoreCost & { latencyMs: number };

/** One store call: `dynamo` requests (one after the other with `sequentialDynamo`, else in waves), `s3` requests in waves. */
function call(dynamo: number, dynamoBytes: number, s3: number, s3Bytes: number, sequentialDynamo = false): CallCost {
  const waves = (n: number) => Math.ceil(n / MODEL.parallel);
  const latencyMs = (sequentialDynamo ? dynamo : waves(dynamo)) * MODEL.dynamoMs + waves(s3) * MODEL.s3Ms;
  return { dynamoRequests: dynamo, dynamoBytes, s3Requests: s3, s3Bytes, latencyMs, ms: latencyMs + transfer(dynamoBytes + s3Bytes) };
}

/** Calls that were in flight together: the slowest call's latency once per wave, and every byte. */
function together(calls: readonly CallCost[]): StoreCost {
  const c = noCost();
  for (const x of calls) addCost(c, x);
  c.ms = Math.ceil(calls.length / MODEL.parallel) * Math.max(...calls.map((x) => x.latencyMs)) + transfer(c.dynamoBytes + c.s3Bytes);
  return c;
}

/** Items as DynamoDB holds them: a payload over the spill size is an S3 object and a small item. */
function items(payloads: readonly number[]): { dynamoBytes: number; spilled: number; spilledBytes: number } {
  let dynamoBytes = 0;
  let spilled = 0;
  let spilledBytes = 0;
  for (const b of payloads) {
    if (b > MODEL.spillBytes) {
      spilled++;
      spilledBytes += b;
      dynamoBytes += SMALL_ITEM;
    } else dynamoBytes += b + SMALL_ITEM;
  }
  return { dynamoBytes, spilled, spilledBytes };
}

const partBytes = (p: Part) => bytesOf(p.payload);

/** What each store call costs, from its arguments and result. */
function storeCallCost(method: string, args: unknown[], result: unknown): CallCost {
  switch (method) {
    case "getParts": {
      const it = items((result as Part[]).map(partBytes));
      return call(Math.max(1, Math.ceil(it.dynamoBytes / MODEL.queryPageBytes)), it.dynamoBytes, it.spilled, it.spilledBytes, true);
    }
    case "putParts": {
      const parts = args[0] as Part[];
      const markers = (args[1] as unknown[] | undefined) ?? [];
      const it = items(parts.map(partBytes));
      return call(Math.ceil((parts.length + markers.length) / MODEL.batchWrite), it.dynamoBytes + markers.length * SMALL_ITEM, it.spilled, it.spilledBytes);
    }
    case "putMemory":
    case "getMemory": {
      const payload = method === "putMemory" ? (args[2] as string) : (result as string | undefined);
      const it = items([bytesOf(payload)]);
      return call(1, it.dynamoBytes, it.spilled, it.spilledBytes);
    }
    case "listProgress":
    case "listPartitionStatus":
    case "getCommitMarkers": {
      const n = Array.isArray(result) ? result.length : 1;
      const bytes = n * SMALL_ITEM;
      return call(Math.max(1, Math.ceil(bytes / MODEL.queryPageBytes)), bytes, 0, 0, true);
    }
    default:
      return call(1, SMALL_ITEM, 0, 0);
  }
}

function objectCallCost(method: string, args: unknown[], result: unknown): CallCost {
  switch (method) {
    case "put":
      return call(0, 0, 1, bytesOf(typeof args[1] === "string" ? args[1] : String(args[1] ?? "")));
    case "get":
      return call(0, 0, 1, bytesOf(result as string | undefined));
    case "list":
      return call(0, 0, Math.max(1, Math.ceil(((result as unknown[]) ?? []).length / MODEL.listPage)), 0);
    default:
      return call(0, 0, 1, 0);
  }
}

/** Counts what is done through the stores `wrap` returns, until {@link take} hands it over. */
export class StoreMeter {
  private cost = noCost();
  private inFlight = 0;
  private group: CallCost[] = [];

  /** The cost counted since the last take, and a fresh count. */
  take(): StoreCost {
    const c = this.cost;
    this.cost = noCost();
    return c;
  }

  private settled(c: CallCost): void {
    this.group.push(c);
    if (--this.inFlight > 0) return;
    addCost(this.cost, together(this.group));
    this.group = [];
  }

  wrapStore<S extends PipelineStore>(store: S): S {
    return this.wrap(store, storeCallCost);
  }

  wrapObjects<O extends ObjectStore>(objects: O): O {
    return this.wrap(objects, objectCallCost);
  }

  private wrap<T extends object>(target: T, cost: (method: string, args: unknown[], result: unknown) => CallCost): T {
    return new Proxy(target, {
      get: (t, prop, receiver) => {
        const value = Reflect.get(t, prop, receiver) as unknown;
        if (typeof value !== "function" || typeof prop !== "string") return value;
        return (...args: unknown[]) => {
          const out = (value as (...a: unknown[]) => unknown).apply(t, args);
          if (!(out instanceof Promise)) return out;
          this.inFlight++;
          return out.then(
            (result) => {
              this.settled(cost(prop, args, result));
              return result;
            },
            (e: unknown) => {
              this.settled(call(0, 0, 0, 0));
              throw e;
            },
          );
        };
      },
    });
  }
}

/** The model in one paragraph, for the bench's output. */
export function modelText(): string {
  return (
    `store model: DynamoDB ${MODEL.dynamoMs} ms a request (BatchWriteItem ${MODEL.batchWrite} items, Query pages of 1 MB read in turn, items over 350 KB spilled to S3), ` +
    `S3 ${MODEL.s3Ms} ms a request (LIST ${MODEL.listPage} keys a page), every byte at ${MODEL.mbPerSecond} MB/s, requests in flight together in waves of ${MODEL.parallel}, ` +
    `awaited calls one after the other; bytes before gzip (upper bound); CPU measured in this process (process.cpuUsage)`
  );
}

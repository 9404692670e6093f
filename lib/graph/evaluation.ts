import { Time } from "../core/duration.js";
import type { RDD } from "../core/rdd.js";
import { IllegalStateError, UserFunctionError } from "../core/errors.js";
import type { Node } from "./node.js";
import type { Job, StreamGraph } from "./stream-graph.js";

/** Where a batch's output operations put what they produce: the runner's choice, never the plan's. */
export interface BatchOutputs {
  /** Where print() writes a batch's block: stdout locally, the function's log on AWS. */
  print(text: string): void;
  /** Where saveAsTextFiles/saveAsObjectFiles put a batch's directory: the local file system, or S3 on AWS. */
  writeBatch(path: string, partitions: string[][]): Promise<void>;
}

/**
 * Hands in a node's RDD for a time instead of computing it: the serverless finalizer supplies the boundary
 * RDDs merged from the shards' parts and what earlier batches stored. `undefined`: compute it.
 */
export type Supplier = (node: Node, time: Time) => { readonly rdd: RDD<unknown> | undefined } | undefined;

/**
 * One run of the plan (the graph) over batch times: the RDDs it generated, where its inputs come from beyond
 * the sources (`supply`) and where its outputs go. The plan stays as built; whoever runs it brings an
 * evaluation — the local engine one for its lifetime (its RDDs are the windows' and state's memory and what
 * a checkpoint stores), the finalizer one per batch (its memory is in the pipeline's table).
 */
export class Evaluation {
  private readonly generated = new Map<Node, Map<number, RDD<unknown> | undefined>>();

  constructor(
    readonly graph: StreamGraph,
    readonly outputs: BatchOutputs,
    private readonly supply?: Supplier,
  ) {}

  /** The RDD of `node` for `time`, computing it once; `undefined` where the node has no RDD then (Spark's None). */
  getOrCompute<T>(node: Node<T>, time: Time): RDD<T> | undefined {
    const ms = time.milliseconds;
    let mine = this.generated.get(node);
    if (mine?.has(ms)) return mine.get(ms) as RDD<T> | undefined;
    if (!node.isTimeValid(time)) return undefined;
    const supplied = this.supply?.(node, time);
    let rdd: RDD<T> | undefined;
    if (supplied) {
      rdd = supplied.rdd as RDD<T> | undefined;
    } else {
      try {
        rdd = node.compute(time, this);
      } catch (e) {
        throw e instanceof UserFunctionError || !(e instanceof Error) || isSparklessError(e) ? e : new UserFunctionError(node.label, e);
      }
    }
    if (rdd && node.persisted) rdd.cache();
    if (!mine) this.generated.set(node, (mine = new Map()));
    mine.set(ms, rdd);
    return rdd;
  }

  /** RDDs of `node` for the times in [from, to] (aligned to its slide), skipping times with no RDD. */
  slice<T>(node: Node<T>, from: Time, to: Time): RDD<T>[] {
    const zero = node.zeroTime;
    if (zero === undefined) throw new IllegalStateError("NotInitialized", `${node.label} has not been initialized: start the context first`);
    const slide = node.slideDuration.milliseconds;
    // Spark aligns both ends down to the slide grid (DStream.slice).
    const align = (t: number) => zero.milliseconds + Math.floor((t - zero.milliseconds) / slide) * slide;
    const out: RDD<T>[] = [];
    for (let t = align(from.milliseconds); t <= align(to.milliseconds); t += slide) {
      if (t < zero.milliseconds) continue;
      const rdd = this.getOrCompute(node, new Time(t));
      if (rdd) out.push(rdd);
    }
    return out;
  }

  /** The output operations' jobs for `time` (Spark's DStreamGraph.generateJobs); computing them computes the batch. */
  generateJobs(time: Time): Job[] {
    const jobs: Job[] = [];
    for (const o of this.graph.outputs) {
      const job = o.generateJob(time, this);
      if (job) jobs.push(job);
    }
    return jobs;
  }

  /** Forgets RDDs no later batch can read: those at or before `time` less each node's remember duration. */
  clearMetadata(time: Time): void {
    for (const [node, rdds] of this.generated) {
      const remember = node.rememberDuration;
      if (remember === undefined) continue;
      const keepAfter = time.milliseconds - remember.milliseconds;
      for (const t of rdds.keys()) if (t <= keepAfter) rdds.delete(t);
    }
  }

  /** The RDDs this evaluation remembers of `node`, oldest first (for checkpoints). */
  remembered<T>(node: Node<T>): Array<[number, RDD<T> | undefined]> {
    return [...(this.generated.get(node)?.entries() ?? [])].sort((a, b) => a[0] - b[0]) as Array<[number, RDD<T> | undefined]>;
  }

  /** Puts back an RDD from a checkpoint. */
  restore(node: Node, time: number, rdd: RDD<unknown> | undefined): void {
    let mine = this.generated.get(node);
    if (!mine) this.generated.set(node, (mine = new Map()));
    mine.set(time, rdd);
  }
}

function isSparklessError(e: Error): boolean {
  return typeof (e as { code?: unknown }).code === "string" && "details" in e;
}

import type { Duration, Time } from "../../core/duration.js";
import { combineByKey, type RDD } from "../../core/rdd.js";
import type { Evaluation } from "../evaluation.js";
import { Node } from "../node.js";

/**
 * reduceByKey, combineByKey, groupByKey (and through them count, countByValue, reduce): values of one batch
 * folded per key. The serverless planner splits stages here: shards fold partial aggregates with
 * `createCombiner`/`mergeValue`, the finalizer merges partials with `mergeCombiners`.
 */
export class CombineByKeyNode<K, V, C> extends Node<[K, C]> {
  constructor(
    readonly parent: Node<[K, V]>,
    readonly createCombiner: (value: V) => C,
    readonly mergeValue: (combiner: C, value: V) => C,
    readonly mergeCombiners: (a: C, b: C) => C,
    kind: string,
    readonly numPartitions = 1,
    /**
     * For reduceByKey: the reduce function itself. Two reduceByKeys of one parent with the same function compute
     * the same thing, so the serverless shard stage folds and stores them once.
     */
    readonly reduceFn?: unknown,
    name?: string,
  ) {
    super(parent.graph, kind, name);
  }

  get dependencies(): ReadonlyArray<Node> {
    return [this.parent];
  }

  get slideDuration(): Duration {
    return this.parent.slideDuration;
  }

  override describe(): Record<string, unknown> {
    return { numPartitions: this.numPartitions };
  }

  compute(time: Time, ev: Evaluation): RDD<[K, C]> | undefined {
    const rdd = ev.getOrCompute(this.parent, time);
    return rdd && combineByKey(rdd, this.createCombiner, this.mergeValue, this.label, this.numPartitions);
  }
}

import type { Duration, Time } from "../../core/duration.js";
import type { RDD } from "../../core/rdd.js";
import type { BatchOutputs, Evaluation } from "../evaluation.js";
import { Node } from "../node.js";
import type { Job, OutputNode } from "../stream-graph.js";

/**
 * An output operation (Spark's ForEachDStream): print, saveAsTextFiles, saveAsObjectFiles, foreachRDD. For
 * each batch time where the parent has an RDD, one job calls the sink with it.
 */
export class ForEachNode<T> extends Node<never> implements OutputNode {
  constructor(
    readonly parent: Node<T>,
    /** The user's operation; `outputs` is where the evaluation running the batch sends prints and files. */
    readonly sink: (rdd: RDD<T>, time: Time, outputs: BatchOutputs) => unknown,
    kind: string,
    private readonly params: Record<string, unknown> = {},
  ) {
    super(parent.graph, kind);
    parent.graph.addOutput(this);
  }

  get dependencies(): ReadonlyArray<Node> {
    return [this.parent];
  }

  get slideDuration(): Duration {
    return this.parent.slideDuration;
  }

  override describe(): Record<string, unknown> {
    return this.params;
  }

  compute(): undefined {
    return undefined;
  }

  generateJob(time: Time, ev: Evaluation): Job | undefined {
    const rdd = ev.getOrCompute(this.parent, time);
    if (!rdd) return undefined;
    return { time, output: this, run: async () => void (await this.sink(rdd, time, ev.outputs)) };
  }
}

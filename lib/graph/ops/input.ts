import type { Duration, Time } from "../../core/duration.js";
import { RDD } from "../../core/rdd.js";
import type { Source } from "../../io/source.js";
import { Node } from "../node.js";
import type { StreamGraph } from "../stream-graph.js";

/** A source in the graph (Spark's InputDStream): one RDD per batch, from whatever the source received. */
export class InputNode<T> extends Node<T> {
  constructor(graph: StreamGraph, readonly source: Source<T>, name?: string) {
    super(graph, source.kind, name);
    graph.addInput(this);
  }

  get dependencies(): ReadonlyArray<Node> {
    return [];
  }

  get slideDuration(): Duration {
    return this.graph.batchDuration;
  }

  compute(time: Time): RDD<T> | undefined {
    if (this.source.takePartitions) {
      const partitions = this.source.takePartitions(time);
      return partitions === undefined ? undefined : RDD.fromPartitions(partitions);
    }
    const values = this.source.take(time);
    return values === undefined ? undefined : RDD.of(values);
  }
}

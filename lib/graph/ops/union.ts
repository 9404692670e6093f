import type { Duration, Time } from "../../core/duration.js";
import { RDD } from "../../core/rdd.js";
import { ValidationError } from "../../core/errors.js";
import type { Evaluation } from "../evaluation.js";
import { Node } from "../node.js";
import { requireSameSlide } from "./narrow.js";

/** The elements of all parents for each batch time (Spark's UnionDStream). */
export class UnionNode<T> extends Node<T> {
  constructor(readonly parents: ReadonlyArray<Node<T>>) {
    if (parents.length === 0) throw new ValidationError("EmptyUnion", "union needs at least one stream");
    super(parents[0].graph, "union");
    requireSameSlide(parents, "union");
  }

  get dependencies(): ReadonlyArray<Node> {
    return this.parents;
  }

  get slideDuration(): Duration {
    return this.parents[0].slideDuration;
  }

  compute(time: Time, ev: Evaluation): RDD<T> | undefined {
    // Spark fails the batch when a parent has no RDD; a stream with nothing yet (a state stream before its
    // first batch) adds nothing instead, and with no parent RDD at all there is no RDD, as for transform.
    // The README lists this difference.
    const rdds = this.parents.map((p) => ev.getOrCompute(p, time)).filter((r): r is RDD<T> => r !== undefined);
    return rdds.length === 0 ? undefined : RDD.union(rdds);
  }
}

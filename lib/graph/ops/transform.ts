import type { Duration, Time } from "../../core/duration.js";
import { RDD } from "../../core/rdd.js";
import { UserFunctionError, ValidationError } from "../../core/errors.js";
import type { BatchOutputs, Evaluation } from "../evaluation.js";
import { Node } from "../node.js";
import { requireSameSlide } from "./narrow.js";

/**
 * A function of the parents' RDDs at each batch time (Spark's TransformedDStream): transform, transformWith,
 * ssc.transform, and the joins, which Spark also builds this way.
 */
export class TransformNode<U> extends Node<U> {
  constructor(
    readonly parents: ReadonlyArray<Node>,
    /** `outputs`: where the evaluation running the batch sends prints and files (a DataFrame's show and write). */
    readonly fn: (rdds: RDD<unknown>[], time: Time, outputs: BatchOutputs) => RDD<U>,
    kind: string,
    name?: string,
  ) {
    if (parents.length === 0) throw new ValidationError("EmptyTransform", `${kind} needs at least one stream`);
    super(parents[0].graph, kind, name);
    requireSameSlide(parents, kind);
  }

  get dependencies(): ReadonlyArray<Node> {
    return this.parents;
  }

  get slideDuration(): Duration {
    return this.parents[0].slideDuration;
  }

  compute(time: Time, ev: Evaluation): RDD<U> | undefined {
    // Spark fails the batch ("Couldn't generate RDD from parent") when a parent has no RDD. Here a parent with
    // nothing yet is an empty RDD, and when no parent has one there is no RDD and the function is not called,
    // as union does. The README lists this difference.
    const parents = this.parents.map((p) => ev.getOrCompute(p, time));
    if (parents.every((rdd) => rdd === undefined)) return undefined;
    const rdds: RDD<unknown>[] = parents.map((rdd) => rdd ?? RDD.empty());
    let out: RDD<U>;
    try {
      out = this.fn(rdds, time, ev.outputs);
    } catch (e) {
      throw e instanceof UserFunctionError ? e : new UserFunctionError(this.label, e);
    }
    if (!(out instanceof RDD)) {
      throw new ValidationError(
        "TransformReturnedNothing",
        `the function given to ${this.label} returned ${out === null ? "null" : typeof out}, not an RDD: return RDD.empty() to mean no elements (Spark: "Transform function must not return null")`,
      );
    }
    return out;
  }
}

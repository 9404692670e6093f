import type { Duration, Time } from "../../core/duration.js";
import type { RDD } from "../../core/rdd.js";
import type { Step } from "../../core/steps.js";
import { ValidationError } from "../../core/errors.js";
import type { Evaluation } from "../evaluation.js";
import { Node } from "../node.js";

/** map, flatMap, filter, mapValues, flatMapValues: one step applied to each element. */
export class NarrowNode<T, U> extends Node<U> {
  readonly step: Step<T, U>;

  /** `makeStep` gets the operator's label ("map at wordcount.ts:12") for the errors its function raises. */
  constructor(readonly parent: Node<T>, makeStep: (label: string) => Step<T, U>, kind: string) {
    super(parent.graph, kind);
    this.step = makeStep(this.label);
  }

  get dependencies(): ReadonlyArray<Node> {
    return [this.parent];
  }

  get slideDuration(): Duration {
    return this.parent.slideDuration;
  }

  compute(time: Time, ev: Evaluation): RDD<U> | undefined {
    return ev.getOrCompute(this.parent, time)?.through(this.step);
  }
}

/** mapPartitions, glom, repartition: a function of a whole RDD that keeps the batch's time. */
export class PartitionwiseNode<T, U> extends Node<U> {
  constructor(
    readonly parent: Node<T>,
    readonly fn: (rdd: RDD<T>) => RDD<U>,
    kind: string,
    private readonly params: Record<string, unknown> = {},
  ) {
    super(parent.graph, kind);
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

  compute(time: Time, ev: Evaluation): RDD<U> | undefined {
    const rdd = ev.getOrCompute(this.parent, time);
    return rdd && this.fn(rdd);
  }
}

/** Throws Spark's error when streams that must line up in time do not. */
export function requireSameSlide(nodes: ReadonlyArray<Node>, operator: string): void {
  const slides = nodes.map((n) => n.slideDuration.milliseconds);
  if (new Set(slides).size > 1) {
    throw new ValidationError(
      "DifferentSlideDurations",
      `${operator}: the streams have different slide durations (${slides.map((s) => `${s} ms`).join(", ")}); window them to the same slide first`,
      { slides },
    );
  }
}

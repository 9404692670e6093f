import { Duration, Time } from "../../core/duration.js";
import { RDD } from "../../core/rdd.js";
import { ValidationError } from "../../core/errors.js";
import type { Evaluation } from "../evaluation.js";
import { Node } from "../node.js";

/**
 * The batches of the last `window` duration, every `slide` (Spark's WindowedDStream).
 *
 * With batch interval B, window L = 3B and slide S = 2B, zero time 0:
 *
 *     batches:   |  B1  |  B2  |  B3  |  B4  |  B5  |  B6  |
 *     time:      0     1B     2B     3B     4B     5B     6B
 *     window@2B: (-1B, 2B] = B1 B2          <- partial window at the start
 *     window@4B: ( 1B, 4B] = B2 B3 B4
 *     window@6B: ( 3B, 6B] = B4 B5 B6
 *
 * Output only at multiples of the slide; a window at T holds the parent's RDDs in (T - L, T].
 */
export class WindowNode<T> extends Node<T> {
  constructor(
    readonly parent: Node<T>,
    readonly windowDuration: Duration,
    private readonly slide: Duration,
    kind = "window",
  ) {
    super(parent.graph, kind);
    validateWindow(parent, windowDuration, slide);
    parent.persisted = true;
  }

  get dependencies(): ReadonlyArray<Node> {
    return [this.parent];
  }

  get slideDuration(): Duration {
    return this.slide;
  }

  override get parentRememberDuration(): Duration {
    return this.rememberDuration!.plus(this.windowDuration);
  }

  override describe(): Record<string, unknown> {
    return { windowMs: this.windowDuration.milliseconds };
  }

  compute(time: Time, ev: Evaluation): RDD<T> | undefined {
    const from = time.minus(this.windowDuration).plus(this.parent.slideDuration);
    return RDD.union(ev.slice(this.parent, from, time).concat(RDD.empty<T>()));
  }
}

/** Spark's checks: window and slide must be positive multiples of the parent's slide (the batch interval). */
export function validateWindow(parent: Node, window: Duration, slide: Duration): void {
  const parentSlide = parent.slideDuration;
  if (window.milliseconds <= 0 || !window.isMultipleOf(parentSlide)) {
    throw new ValidationError(
      "WindowNotMultipleOfBatch",
      `window duration (${window}) must be a multiple of the slide duration of the parent stream (${parentSlide}), which is the batch interval unless the parent is itself windowed`,
      { windowMs: window.milliseconds, parentSlideMs: parentSlide.milliseconds },
    );
  }
  if (slide.milliseconds <= 0 || !slide.isMultipleOf(parentSlide)) {
    throw new ValidationError(
      "SlideNotMultipleOfBatch",
      `slide duration (${slide}) must be a multiple of the slide duration of the parent stream (${parentSlide}), which is the batch interval unless the parent is itself windowed`,
      { slideMs: slide.milliseconds, parentSlideMs: parentSlide.milliseconds },
    );
  }
}

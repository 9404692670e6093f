import { Seconds, type Duration } from "../../lib/core/duration.js";
import type { DeadLetterEntry, SourceContext } from "../../lib/io/source.js";

/** A SourceContext for driving a source's `take(time)` directly, without the engine: a settable clock and a dead-letter list. */
export class FakeSourceContext implements SourceContext {
  readonly deadLetters: DeadLetterEntry[] = [];

  constructor(
    readonly batchInterval: Duration = Seconds(1),
    /** The clock, in epoch milliseconds; tests set it. */
    public clock = 0,
  ) {}

  now(): number {
    return this.clock;
  }

  deadLetter(entry: DeadLetterEntry): void {
    this.deadLetters.push(entry);
  }
}

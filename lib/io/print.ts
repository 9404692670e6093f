import type { Time } from "../core/duration.js";
import { formatElement } from "../core/format.js";

const RULE = "-------------------------------------------";

/**
 * Spark's `DStream.print(num)` block for one batch: a rule, `Time: <ms> ms`, a rule, up to `num` elements,
 * `...` when there were more, and a blank line.
 */
export function printBlock(time: Time, firstElements: readonly unknown[], num: number): string {
  const lines = [RULE, `Time: ${time.milliseconds} ms`, RULE];
  for (const v of firstElements.slice(0, num)) lines.push(formatElement(v));
  if (firstElements.length > num) lines.push("...");
  return lines.join("\n") + "\n\n";
}

import { Time } from "../../lib/core/duration.js";
import { runInBatch } from "../../lib/sql/batch-scope.js";

/** What `fn` printed (show, printSchema), caught through the batch scope a streaming job gives it. */
export function printed(fn: () => void): string {
  let text = "";
  runInBatch({ time: new Time(0), writeBatch: async () => undefined, out: (t) => void (text += t) }, fn);
  return text;
}

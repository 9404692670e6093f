/**
 * What the embedded local stack reports while it runs (`onEvent`), and a default printer for a terminal.
 */

/** One shard of a mapping, from the poller's stats. */
export interface ShardLag {
  readonly shardId: string;
  readonly state: string;
  /** From the last GetRecords: how far the reader is behind the tip of the shard. */
  readonly millisBehindLatest?: number;
  /** Age of the newest record of the last invoked batch (Lambda's IteratorAge). */
  readonly iteratorAgeMs?: number;
  readonly bufferedRecords: number;
  readonly checkpoint?: string;
}

export type LocalStackEvent =
  /** A line of `cdk synth`'s output. */
  | { readonly type: "synth"; readonly line: string }
  /** Start-up information: what was deployed, decided, ignored; the limitations. */
  | { readonly type: "notice"; readonly message: string }
  /** Everything is running. */
  | { readonly type: "ready"; readonly stateDir: string; readonly stackFile: string }
  /** A line a function wrote (stdout or stderr). */
  | { readonly type: "log"; readonly functionName: string; readonly stream: "stdout" | "stderr"; readonly line: string; readonly requestId?: string }
  /** A `print()` block (Spark's `Time: <ms> ms` block) a function wrote; `lines` are its elements (and `...`). */
  | { readonly type: "printed"; readonly functionName: string; readonly time: number; readonly lines: readonly string[] }
  /** A function invocation started: by an event source mapping (records in), a schedule, or another function's asynchronous Invoke. */
  | {
      readonly type: "invoke";
      readonly functionName: string;
      readonly source: "mapping" | "schedule" | "async";
      readonly requestId: string;
      readonly shardId?: string;
      readonly records?: number;
    }
  /** A function invocation ended. */
  | {
      readonly type: "result";
      readonly functionName: string;
      readonly source: "mapping" | "schedule" | "async";
      readonly requestId: string;
      readonly outcome: "success" | "partial" | "error" | "timeout";
      readonly durationMs: number;
      readonly shardId?: string;
      readonly records?: number;
      readonly error?: string;
    }
  /** Records a mapping gave up on, and where their on-failure record went. */
  | {
      readonly type: "discard";
      readonly mapping: string;
      readonly shardId: string;
      readonly records: number;
      readonly condition: string;
      readonly key?: string;
      readonly error?: string;
    }
  /** A pipeline's status item says batch `time` is finalized (its outputs are complete). */
  | { readonly type: "batch-finalized"; readonly pipeline: string; readonly time: number }
  /** A new output directory with `_SUCCESS` in a pipeline's bucket. */
  | { readonly type: "output"; readonly pipeline: string; readonly bucket: string; readonly directory: string; readonly keys: readonly string[] }
  /** Per-shard position of a mapping (emitted when it changes). */
  | { readonly type: "lag"; readonly mapping: string; readonly functionName: string; readonly shards: readonly ShardLag[] }
  /**
   * A function's call was denied by IAM (its role's policies in the template): the call failed in the function as
   * it would on AWS (`AccessDeniedException` / `AccessDenied`). `missingGrant` says what to change in the template.
   */
  | {
      readonly type: "access-denied";
      readonly functionName: string;
      /** The role's logical id in the template. */
      readonly role: string;
      readonly action: string;
      readonly resource: string;
      readonly reason: "implicit-deny" | "explicit-deny";
      /** The resource a grant for this call would name (an S3 object's first-level prefix: `bucket/checkpoint/*`). */
      readonly grantResource: string;
      readonly missingGrant: string;
      /** AWS's message, as the function received it. */
      readonly message: string;
    }
  /** Something went wrong outside a function (a poll, a write, a tick); the stack carries on. */
  | { readonly type: "warning"; readonly message: string; readonly error?: string }
  /** `stop()` finished: nothing of the stack is running. */
  | { readonly type: "stopped" };

/** The message of an unknown error value. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * The printer `startLocalStack` uses when no `onEvent` is given: function output as it is on stdout (Spark's
 * `print()` blocks; JSON lines — structured logs, EMF metrics, the ticker's report — are left out), failures,
 * discards and warnings on stderr.
 */
export function printEvent(e: LocalStackEvent, out: (text: string) => void = (t) => process.stdout.write(t), err: (text: string) => void = (t) => process.stderr.write(t)): void {
  switch (e.type) {
    case "log":
      if (e.line.trimStart().startsWith("{")) return;
      (e.stream === "stdout" ? out : err)(`${e.line}\n`);
      return;
    case "result":
      if (e.outcome === "error" || e.outcome === "timeout") {
        err(`sparkless: ${e.functionName} invocation ${e.requestId} failed (${e.outcome})${e.error ? `: ${e.error}` : ""}\n`);
      }
      return;
    case "discard":
      err(`sparkless: ${e.records} record(s) of ${e.shardId} discarded by ${e.mapping} (${e.condition})${e.key ? `, kept in s3 ${e.key}` : ""}${e.error ? `: ${e.error}` : ""}\n`);
      return;
    case "access-denied":
      err(`sparkless: IAM denied ${e.functionName} ${e.action} on ${e.resource}: ${e.missingGrant}\n`);
      return;
    case "warning":
      err(`sparkless: warning: ${e.message}${e.error ? ` (${e.error})` : ""}\n`);
      return;
    default:
      return;
  }
}

const RULE = /^-{10,}$/;
const TIME = /^Time: (\d+) ms$/;

/**
 * Follows one function's stdout line by line and calls `onBlock` for each complete `print()` block (a rule,
 * `Time: <ms> ms`, a rule, the elements, a blank line).
 */
export function printBlockParser(onBlock: (time: number, lines: string[]) => void): (line: string) => void {
  let block: { time: number; lines: string[]; ruled: boolean } | undefined;
  return (line) => {
    const time = TIME.exec(line);
    if (time) {
      block = { time: Number(time[1]), lines: [], ruled: false };
      return;
    }
    if (!block) return;
    if (!block.ruled && RULE.test(line)) {
      block.ruled = true;
      return;
    }
    if (line === "") {
      onBlock(block.time, block.lines);
      block = undefined;
      return;
    }
    block.lines.push(line);
  };
}

/**
 * The embedded stack (lib/local/stack) as `local up` uses it: `startLocalStack(options)` and the events it
 * reports (the shapes of lib/local/stack/events.ts, for the events `local up` shows). The module is imported
 * when `local up` runs, not when the CLI loads: push, tail, status and run start without loading the stack
 * (the deployer, the function host, the poller), and they work in a checkout that lacks it.
 */
import { CliError } from "./io.js";
import type { StackFile } from "./stack-file.js";

export interface LocalStackOptions {
  /** @default - `<stateDir>/cdk.out` when synthesizing, else `cdk.out` */
  readonly cdkOut?: string;
  readonly stateDir?: string;
  readonly fresh?: boolean;
  readonly tickerIntervalMs?: number;
  readonly synth?: boolean;
  /** The CDK project directory. */
  readonly cwd?: string;
  /** Aborting it stops the stack (during start-up too). */
  readonly signal?: AbortSignal;
  /** Start-up lines: what is deployed, notes, limitations. */
  readonly log?: (line: string) => void;
  readonly onEvent?: (event: StackEvent) => void;
}

export interface LocalStackHandle {
  readonly stackFile: StackFile;
  /** Where the stack differs from AWS. */
  readonly limitations: readonly string[];
  /** Idempotent; resolves once nothing of the stack runs. */
  stop(): Promise<void>;
  /** Resolves when the stack has stopped, whoever stopped it. */
  readonly stopped: Promise<void>;
}

export type StartLocalStack = (options: LocalStackOptions) => Promise<LocalStackHandle>;

export interface ShardLag {
  readonly shardId: string;
  readonly state: string;
  readonly millisBehindLatest?: number;
  readonly iteratorAgeMs?: number;
  readonly bufferedRecords: number;
  readonly checkpoint?: string;
}

/** The events `local up` reads; others (synth output, notices, ready, stopped) pass by. */
export type StackEvent =
  | { readonly type: "log"; readonly functionName: string; readonly stream: "stdout" | "stderr"; readonly line: string; readonly requestId?: string }
  | { readonly type: "printed"; readonly functionName: string; readonly time: number; readonly lines: readonly string[] }
  | { readonly type: "invoke"; readonly functionName: string; readonly source: "mapping" | "schedule"; readonly requestId: string; readonly shardId?: string; readonly records?: number }
  | {
      readonly type: "result";
      readonly functionName: string;
      readonly source: "mapping" | "schedule";
      readonly requestId: string;
      readonly outcome: "success" | "partial" | "error" | "timeout";
      readonly durationMs: number;
      readonly shardId?: string;
      readonly records?: number;
      readonly error?: string;
    }
  | { readonly type: "discard"; readonly mapping: string; readonly shardId: string; readonly records: number; readonly condition: string; readonly key?: string; readonly error?: string }
  | { readonly type: "batch-finalized"; readonly pipeline: string; readonly time: number }
  | { readonly type: "output"; readonly pipeline: string; readonly bucket: string; readonly directory: string; readonly keys: readonly string[] }
  | { readonly type: "lag"; readonly mapping: string; readonly functionName: string; readonly shards: readonly ShardLag[] }
  | { readonly type: "warning"; readonly message: string; readonly error?: string }
  | { readonly type: "synth"; readonly line: string }
  | { readonly type: "notice"; readonly message: string }
  | { readonly type: "ready"; readonly stateDir: string; readonly stackFile: string }
  | { readonly type: "stopped" };

/** Where the stack module lives, relative to this file. */
const STACK_MODULE = "../stack/index.js";

export async function loadStartLocalStack(): Promise<StartLocalStack> {
  let mod: { startLocalStack?: StartLocalStack };
  try {
    mod = (await import(/* @vite-ignore */ STACK_MODULE)) as { startLocalStack?: StartLocalStack };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" && String((e as Error).message).includes("stack")) {
      throw new CliError("NoEmbeddedStack", "the embedded local stack (lib/local/stack) is not in this checkout: `sparkless run functions/word-count.ts` runs the pipeline on the local engine instead", 1, {}, { cause: e });
    }
    throw e;
  }
  if (typeof mod.startLocalStack !== "function") throw new CliError("NoEmbeddedStack", "lib/local/stack does not export startLocalStack", 1);
  return mod.startLocalStack;
}

/** Spark's print() block, as the function printed it (the stack hands over its time and element lines). */
export function sparkBlock(time: number, lines: readonly string[]): string {
  const rule = "-------------------------------------------";
  return `${rule}\nTime: ${time} ms\n${rule}\n${lines.map((l) => l + "\n").join("")}\n`;
}

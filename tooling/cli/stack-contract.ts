/**
 * The embedded stack (tooling/stack) as `local up` uses it. The module is imported when `local up` runs, not
 * when the CLI loads, so that push, tail, status and run start without loading the deployer, the function
 * host and the poller.
 */
import type { LocalStackEvent, LocalStackOptions, ShardLag } from "../stack/index.js";
import type { StackFile } from "./stack-file.js";

export type { LocalStackEvent, LocalStackOptions, ShardLag };

/** What `local up` needs of a started stack (tests hand it a stand-in). */
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

export async function loadStartLocalStack(): Promise<StartLocalStack> {
  return (await import("../stack/index.js")).startLocalStack;
}

/** Spark's print() block, as the function printed it (the stack hands over its time and element lines). */
export function sparkBlock(time: number, lines: readonly string[]): string {
  const rule = "-------------------------------------------";
  return `${rule}\nTime: ${time} ms\n${rule}\n${lines.map((l) => l + "\n").join("")}\n`;
}

/**
 * `<stateDir>/invocations.json`: each function's invocations, errors and timeouts since the stack started —
 * what CloudWatch's Invocations, Errors and Duration-at-timeout metrics say on AWS. The stack writes it; the
 * live line of `local up` and `sparkless status` both read it, so they report the same failures.
 */
import { join } from "node:path";
import { readStateFile, type StateFileHeader, StateFileWriter } from "./state-file.js";

export const INVOCATIONS_FILE = "invocations.json";

export interface FunctionInvocations {
  readonly name: string;
  readonly invocations: number;
  /** Invocations that failed other than by timing out (a thrown error, a crash, a module that did not load). */
  readonly errors: number;
  /** Invocations that ran out of their function's timeout. */
  readonly timeouts: number;
  /** The function's timeout, for "timed out after 60 s". */
  readonly timeoutMs?: number;
}

export interface InvocationsFile extends StateFileHeader {
  readonly functions: readonly FunctionInvocations[];
}

export function invocationsFilePath(stateDir: string): string {
  return join(stateDir, INVOCATIONS_FILE);
}

/** The counts written by the stack process `pid`, or undefined (none yet, another process', unreadable). */
export function readInvocations(stateDir: string, pid: number): InvocationsFile | undefined {
  return readStateFile<InvocationsFile>(invocationsFilePath(stateDir), pid, (f) => Array.isArray(f.functions));
}

export interface InvocationRecorderOptions {
  readonly stateDir: string;
  /** The counts now (the function hosts' stats). */
  readonly counts: () => readonly FunctionInvocations[];
  /** @default 500 */
  readonly intervalMs?: number;
}

/** Writes the counts when they change, at most every `intervalMs`, and once more when stopped (zeros at start). */
export class InvocationRecorder extends StateFileWriter<{ functions: readonly FunctionInvocations[] }> {
  constructor(o: InvocationRecorderOptions) {
    super(o.stateDir, INVOCATIONS_FILE, () => ({ functions: o.counts() }), o.intervalMs ?? 500);
  }
}

/**
 * The CLI's side of `.sparkless/stack.json` (the file and its one type: tooling/stack/stack-file.ts): where the
 * state directory is, the running stack or a clear error, and which of its pipelines a command means.
 */
import { isAbsolute, resolve } from "node:path";
import { isStackRunning, readStackFile, stackFilePath, type StackFile, type StackPipeline } from "../stack/stack-file.js";
import { CliError } from "./io.js";

export { isStackRunning, readStackFile, stackFilePath, type StackFile, type StackPipeline, type StackResource } from "../stack/stack-file.js";

/** The state directory (`--state-dir`, default `.sparkless`) resolved against the working directory. */
export function stateDirOf(cwd: string, stateDir: string | undefined): string {
  const dir = stateDir ?? ".sparkless";
  return isAbsolute(dir) ? dir : resolve(cwd, dir);
}

/** The running local stack, or a clear error saying there is none. */
export function requireRunningStack(stateDir: string): StackFile {
  const file = readStackFile(stateDir, { includeStale: true });
  if (!file) {
    throw new CliError("NoLocalStack", `no local stack is running (no ${stackFilePath(stateDir)}): start one with \`sparkless local up\`, or name the resources and --endpoint`, 1);
  }
  if (!isStackRunning(file)) {
    throw new CliError("NoLocalStack", `no local stack is running: ${stackFilePath(stateDir)} names pid ${file.pid}, which has exited; start one with \`sparkless local up\``, 1);
  }
  return file;
}

export interface PipelineRef extends StackPipeline {
  readonly stack: string;
}

/** Every pipeline of the file, with the stack it belongs to. */
export function pipelinesOf(file: StackFile): PipelineRef[] {
  return file.stacks.flatMap((s) => s.pipelines.map((p) => ({ ...p, stack: s.name })));
}

/** The pipeline called `name`, or the only one when no name is given. */
export function choosePipeline(file: StackFile, name: string | undefined): PipelineRef {
  const all = pipelinesOf(file);
  if (name !== undefined) {
    const found = all.find((p) => p.name === name);
    if (!found) {
      throw new CliError("NoSuchPipeline", `the local stack has no pipeline "${name}"; it has: ${all.map((p) => p.name).join(", ") || "none"}`, 2, { pipeline: name });
    }
    return found;
  }
  if (all.length === 1) return all[0]!;
  if (all.length === 0) throw new CliError("NoPipeline", "the local stack has no pipeline", 1);
  throw new CliError("AmbiguousPipeline", `the local stack has ${all.length} pipelines (${all.map((p) => p.name).join(", ")}): choose one with --pipeline`, 2);
}

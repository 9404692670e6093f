/**
 * `AWS::Lambda::Function`: nothing is created; the function is resolved to what the function host runs (code from
 * the assembly, handler, environment, limits). Only Node.js functions run locally; others are skipped with a note.
 */
import { functionCode, type CfnResource, type FunctionCode } from "../assembly.js";
import { resolve, resolveString } from "../intrinsics.js";
import { arns, nameFromArn } from "../physical-names.js";
import { at, num, type DeployContext } from "./deploy-context.js";

/** A Lambda function as the local stack runs it. */
export interface DeployedFunction {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly handler: string;
  readonly runtime: string;
  readonly code: FunctionCode;
  /** The template's `Environment.Variables`, resolved. */
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly memoryMb: number;
  readonly reservedConcurrency?: number;
  readonly roleArn?: string;
}

export async function deployFunction(d: DeployContext, logicalId: string, r: CfnResource): Promise<DeployedFunction | undefined> {
  const p = r.Properties ?? {};
  const path = (suffix: string) => at(d, logicalId, suffix);
  const runtime = p.Runtime === undefined ? "nodejs" : resolveString(p.Runtime, d.ctx, path("Runtime"));
  if (!runtime.startsWith("nodejs")) {
    d.notes.push(`function ${logicalId} (${runtime}) is skipped: only Node.js functions run locally`);
    return undefined;
  }
  const name = d.resources.name(logicalId);
  const reserved = num(p.ReservedConcurrentExecutions, d.ctx, path("ReservedConcurrentExecutions"));
  const roleArn = p.Role === undefined ? undefined : resolveString(p.Role, d.ctx, path("Role"));
  return {
    logicalId,
    name,
    arn: arns.function(d.region, name),
    handler: resolveString(p.Handler ?? "index.handler", d.ctx, path("Handler")),
    runtime,
    code: await functionCode(d.stack, logicalId),
    environment: environmentOf(d, logicalId, p),
    timeoutMs: (num(p.Timeout, d.ctx, path("Timeout")) ?? 3) * 1000,
    memoryMb: num(p.MemorySize, d.ctx, path("MemorySize")) ?? 128,
    ...(reserved !== undefined ? { reservedConcurrency: reserved } : {}),
    ...(roleArn !== undefined ? { roleArn } : {}),
  };
}

/** `Environment.Variables`, resolved; a value that is not a string (a number, say) becomes its JSON text. */
function environmentOf(d: DeployContext, logicalId: string, p: Record<string, unknown>): Record<string, string> {
  const variables = resolve((p.Environment as { Variables?: unknown } | undefined)?.Variables ?? {}, d.ctx, at(d, logicalId, "Properties.Environment.Variables"));
  const environment: Record<string, string> = {};
  for (const [k, v] of Object.entries(variables as Record<string, unknown>)) {
    environment[k] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return environment;
}

/** The function a template value names: by name, ARN (qualified or not) or logical id. */
export function findFunction(functions: readonly DeployedFunction[], ref: string): DeployedFunction | undefined {
  return (
    functions.find((f) => f.name === ref || f.arn === ref || ref.startsWith(`${f.arn}:`) || f.logicalId === ref) ??
    functions.find((f) => f.name === nameFromArn(ref))
  );
}

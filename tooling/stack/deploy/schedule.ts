/**
 * `AWS::Events::Rule` with a `ScheduleExpression`: resolved to the local functions it targets and the input each
 * gets. Event-pattern rules (there is no bus locally), disabled rules and targets that are not local functions
 * are skipped with a note.
 */
import { ValidationError } from "../../../lib/core/errors.js";
import type { CfnResource } from "../assembly.js";
import { resolve, resolveString } from "../intrinsics.js";
import { arns } from "../physical-names.js";
import { at, type DeployContext } from "./deploy-context.js";
import { findFunction, type DeployedFunction } from "./function.js";

/** An `AWS::Events::Rule` with a schedule, and the functions it targets. */
export interface DeployedSchedule {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly scheduleExpression: string;
  readonly targets: readonly ScheduleTarget[];
}

export interface ScheduleTarget {
  readonly id: string;
  readonly functionName: string;
  readonly input?: unknown;
}

export function deploySchedule(d: DeployContext, logicalId: string, r: CfnResource, functions: readonly DeployedFunction[]): DeployedSchedule | undefined {
  const p = r.Properties ?? {};
  if (p.ScheduleExpression === undefined) {
    d.notes.push(`rule ${logicalId} matches an event pattern: there is no EventBridge bus locally; skipped`);
    return undefined;
  }
  const state = p.State === undefined ? "ENABLED" : resolveString(p.State, d.ctx, at(d, logicalId, "State"));
  if (state !== "ENABLED") {
    d.notes.push(`rule ${logicalId} is ${state}; not scheduled`);
    return undefined;
  }
  const name = d.resources.name(logicalId);
  const listed = resolve(p.Targets ?? [], d.ctx, at(d, logicalId, "Targets")) as Array<Record<string, unknown>>;
  return {
    logicalId,
    name,
    arn: arns.rule(d.region, name),
    scheduleExpression: resolveString(p.ScheduleExpression, d.ctx, at(d, logicalId, "ScheduleExpression")),
    targets: listed.flatMap((t) => scheduleTarget(d, logicalId, t, functions) ?? []),
  };
}

function scheduleTarget(d: DeployContext, logicalId: string, t: Record<string, unknown>, functions: readonly DeployedFunction[]): ScheduleTarget | undefined {
  const fn = findFunction(functions, String(t.Arn ?? ""));
  if (!fn) {
    d.notes.push(`rule ${logicalId}: target ${String(t.Id)} (${String(t.Arn)}) is not a local function; skipped`);
    return undefined;
  }
  if (t.InputPath !== undefined || t.InputTransformer !== undefined) {
    d.notes.push(`rule ${logicalId}: target ${String(t.Id)} has InputPath/InputTransformer, not applied (the scheduled event is sent)`);
  }
  let input: unknown;
  if (typeof t.Input === "string") {
    try {
      input = JSON.parse(t.Input);
    } catch {
      throw new ValidationError("TemplateInvalid", `${at(d, logicalId, "Targets")}: Input of target ${String(t.Id)} is not JSON`, { logicalId });
    }
  }
  return { id: String(t.Id ?? fn.name), functionName: fn.name, ...(input !== undefined ? { input } : {}) };
}

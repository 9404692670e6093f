/**
 * IAM policy documents as the evaluator reads them: every element that may be a string or a list made a list,
 * `Action`/`NotAction`, `Resource`/`NotResource` and `Principal`/`NotPrincipal` kept apart, the statement's place
 * (policy name, index, `Sid`) kept so that a decision can name the statement that made it.
 */
import { ValidationError } from "../../lib/core/errors.js";

export type Effect = "Allow" | "Deny";

/** `Condition`: operator (`StringLike`, `ForAnyValue:StringEquals`, `BoolIfExists` ...) → context key → values. */
export type ConditionBlock = Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;

/** `Principal` of a resource-based policy: `"*"`, or principals by kind (`AWS`, `Service`, `Federated`). */
export type PrincipalSet = "*" | Readonly<Record<string, readonly string[]>>;

export interface Statement {
  /** Where the statement is: the policy's name and its index in it, e.g. `TickerRoleDefaultPolicy[3]`. */
  readonly source: string;
  readonly sid?: string;
  readonly effect: Effect;
  /** Exactly one of `actions` / `notActions` is set. */
  readonly actions?: readonly string[];
  readonly notActions?: readonly string[];
  /** Exactly one of `resources` / `notResources` is set (a resource-based policy may have neither: its resource). */
  readonly resources?: readonly string[];
  readonly notResources?: readonly string[];
  readonly principal?: PrincipalSet;
  readonly notPrincipal?: PrincipalSet;
  readonly condition?: ConditionBlock;
}

/** A policy as it applies: its statements and what kind of policy it is (the decision's wording depends on it). */
export interface Policy {
  /** The name a user finds in the template: the logical id of the policy resource, or role + inline policy name. */
  readonly name: string;
  readonly kind: "identity" | "resource";
  readonly statements: readonly Statement[];
}

function list(value: unknown, path: string): string[] {
  if (value === undefined) return [];
  const values = Array.isArray(value) ? value : [value];
  return values.map((v, i) => {
    if (typeof v === "string") return v;
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    throw new ValidationError("PolicyInvalid", `${path}${Array.isArray(value) ? `[${i}]` : ""}: expected a string, got ${JSON.stringify(v)}`, { path });
  });
}

function principalSet(value: unknown, path: string): PrincipalSet {
  if (value === "*") return "*";
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ValidationError("PolicyInvalid", `${path}: expected "*" or an object of principals, got ${JSON.stringify(value)}`, { path });
  }
  const out: Record<string, string[]> = {};
  for (const [kind, v] of Object.entries(value)) out[kind] = list(v, `${path}.${kind}`);
  return out;
}

function conditionBlock(value: unknown, path: string): ConditionBlock {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ValidationError("PolicyInvalid", `${path}: expected an object of condition operators`, { path });
  }
  const out: Record<string, Record<string, string[]>> = {};
  for (const [operator, keys] of Object.entries(value)) {
    if (keys === null || typeof keys !== "object" || Array.isArray(keys)) {
      throw new ValidationError("PolicyInvalid", `${path}.${operator}: expected an object of context keys`, { path });
    }
    const byKey: Record<string, string[]> = {};
    for (const [key, v] of Object.entries(keys)) byKey[key] = list(v, `${path}.${operator}.${key}`);
    out[operator] = byKey;
  }
  return out;
}

/**
 * A resolved policy document (no intrinsics left) as a {@link Policy}.
 *
 * @example
 * parsePolicy("ShardRoleDefaultPolicy", "identity", {
 *   Version: "2012-10-17",
 *   Statement: [{ Effect: "Allow", Action: ["s3:PutObject"], Resource: "arn:aws:s3:::bucket/output/*" }],
 * });
 */
export function parsePolicy(name: string, kind: Policy["kind"], document: unknown): Policy {
  const doc = document as { Statement?: unknown } | null;
  if (doc === null || typeof doc !== "object") throw new ValidationError("PolicyInvalid", `${name}: a policy document must be an object`, { name });
  const raw = doc.Statement === undefined ? [] : Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  const statements = raw.map((s, i): Statement => {
    const path = `${name}.Statement[${i}]`;
    if (s === null || typeof s !== "object") throw new ValidationError("PolicyInvalid", `${path}: a statement must be an object`, { path });
    const st = s as Record<string, unknown>;
    if (st.Effect !== "Allow" && st.Effect !== "Deny") {
      throw new ValidationError("PolicyInvalid", `${path}.Effect: expected "Allow" or "Deny", got ${JSON.stringify(st.Effect)}`, { path });
    }
    if ((st.Action === undefined) === (st.NotAction === undefined)) {
      throw new ValidationError("PolicyInvalid", `${path}: a statement has exactly one of Action and NotAction`, { path });
    }
    return {
      source: `${name}[${i}]`,
      ...(typeof st.Sid === "string" && st.Sid !== "" ? { sid: st.Sid } : {}),
      effect: st.Effect,
      ...(st.Action !== undefined ? { actions: list(st.Action, `${path}.Action`) } : { notActions: list(st.NotAction, `${path}.NotAction`) }),
      ...(st.Resource !== undefined ? { resources: list(st.Resource, `${path}.Resource`) } : {}),
      ...(st.NotResource !== undefined ? { notResources: list(st.NotResource, `${path}.NotResource`) } : {}),
      ...(st.Principal !== undefined ? { principal: principalSet(st.Principal, `${path}.Principal`) } : {}),
      ...(st.NotPrincipal !== undefined ? { notPrincipal: principalSet(st.NotPrincipal, `${path}.NotPrincipal`) } : {}),
      ...(st.Condition !== undefined ? { condition: conditionBlock(st.Condition, `${path}.Condition`) } : {}),
    };
  });
  return { name, kind, statements };
}

/**
 * CloudFormation intrinsic functions, resolved against the resources of the embedded local stack.
 *
 * Only what a deployment of a CDK app needs locally: the values of function environments and event-source
 * mapping properties (and resource names). Everything else in a template (policies, alarms, dashboards) is never
 * resolved, so an intrinsic the stack cannot evaluate only fails where its value is actually used, with the
 * path of that value in the message.
 *
 * Supported: `Ref` (resources, parameters with a `Default`, pseudo parameters, `AWS::NoValue`), `Fn::GetAtt`,
 * `Fn::Join`, `Fn::Sub` (both forms, `${!Literal}` escapes), `Fn::Select`, `Fn::Split`, `Fn::Base64`,
 * `Fn::FindInMap`, `Fn::GetAZs`, `Fn::If` with `Fn::Equals`/`Fn::And`/`Fn::Or`/`Fn::Not`/`Condition`.
 * Not supported (a clear error): `Fn::ImportValue` (cross-stack exports), `Fn::Cidr`, `Fn::Transform`,
 * `Fn::GetStackOutput`, `Fn::ToJsonString`, `Fn::Length`, `Fn::ForEach`.
 */
import { ValidationError } from "../../lib/core/errors.js";

/** The value of `Ref: AWS::NoValue`: the property it stands in is removed. */
export const NO_VALUE: unique symbol = Symbol("AWS::NoValue");

/** The pseudo parameters (`AWS::Region`, ...) of a local deployment. */
export interface PseudoParameters {
  readonly region: string;
  readonly accountId: string;
  /** @default "aws" */
  readonly partition?: string;
  readonly stackName: string;
  /** @default - an ARN made of the stack name */
  readonly stackId?: string;
  /** @default "amazonaws.com" */
  readonly urlSuffix?: string;
}

/** How `Ref` and `Fn::GetAtt` of a template's own resources are answered. */
export interface ResourceLookup {
  /** The physical id `Ref` returns (a name, an ARN or a URL, by resource type). Undefined: no such resource. */
  ref(logicalId: string): string | undefined;
  /** The attribute's value; throws a ValidationError when the resource type has no such attribute locally. */
  getAtt(logicalId: string, attribute: string): string | undefined;
}

/** The template parts the resolver reads besides resources. */
export interface TemplateSections {
  readonly Parameters?: Record<string, { Default?: unknown; Type?: string }>;
  readonly Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  readonly Conditions?: Record<string, unknown>;
}

export interface ResolveContext {
  readonly pseudo: PseudoParameters;
  readonly resources: ResourceLookup;
  readonly template?: TemplateSections;
  /** Parameter values that override the template's defaults. */
  readonly parameters?: Readonly<Record<string, string>>;
}

const UNSUPPORTED = new Set([
  "Fn::ImportValue",
  "Fn::Cidr",
  "Fn::Transform",
  "Fn::GetStackOutput",
  "Fn::ToJsonString",
  "Fn::Length",
  "Fn::ForEach",
]);

function fail(path: string, message: string, details: Record<string, unknown> = {}): never {
  throw new ValidationError("UnresolvableIntrinsic", `${path}: ${message}`, { path, ...details });
}

/** True when `value` is an intrinsic function call: an object with one key, `Ref`, `Condition` or `Fn::*`. */
export function isIntrinsic(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === "Ref" || keys[0] === "Condition" || keys[0]!.startsWith("Fn::"));
}

/**
 * Resolves every intrinsic in `value`, recursively, to plain JSON. `AWS::NoValue` removes the property (or array
 * element) it stands in; at the top level it returns {@link NO_VALUE}. `path` names the value in error messages
 * (e.g. `SparklessWordCount/WordCountShardFunctionED5F72E9.Properties.Environment.Variables.SPARKLESS_TABLE`).
 *
 * @example
 * resolve({ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":s3:::", { Ref: "Bucket" }]] }, ctx)
 * // "arn:aws:s3:::sparklesswordcount-bucket"
 */
export function resolve(value: unknown, ctx: ResolveContext, path = "$"): unknown {
  if (Array.isArray(value)) {
    return value.map((v, i) => resolve(v, ctx, `${path}[${i}]`)).filter((v) => v !== NO_VALUE);
  }
  if (value === null || typeof value !== "object") return value;
  if (isIntrinsic(value)) {
    const [name, arg] = Object.entries(value)[0]!;
    return call(name, arg, ctx, `${path}.${name}`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const r = resolve(v, ctx, `${path}.${k}`);
    if (r !== NO_VALUE) out[k] = r;
  }
  return out;
}

/** Resolves `value` and requires a string (numbers and booleans are stringified, as CloudFormation does). */
export function resolveString(value: unknown, ctx: ResolveContext, path = "$"): string {
  const r = resolve(value, ctx, path);
  if (typeof r === "string") return r;
  if (typeof r === "number" || typeof r === "boolean") return String(r);
  return fail(path, `expected a string, got ${JSON.stringify(r)}`);
}

function call(name: string, arg: unknown, ctx: ResolveContext, path: string): unknown {
  switch (name) {
    case "Ref":
      return ref(arg, ctx, path);
    case "Fn::GetAtt":
      return getAtt(arg, ctx, path);
    case "Fn::Join": {
      if (!Array.isArray(arg) || arg.length !== 2) fail(path, "Fn::Join takes [delimiter, [values]]");
      const delimiter = resolve(arg[0], ctx, `${path}[0]`);
      const list = resolve(arg[1], ctx, `${path}[1]`);
      if (typeof delimiter !== "string") fail(path, "the delimiter of Fn::Join must be a string");
      if (!Array.isArray(list)) fail(path, "the second argument of Fn::Join must resolve to a list");
      return list.map((v, i) => scalar(v, `${path}[1][${i}]`)).join(delimiter);
    }
    case "Fn::Sub":
      return sub(arg, ctx, path);
    case "Fn::Select": {
      if (!Array.isArray(arg) || arg.length !== 2) fail(path, "Fn::Select takes [index, [values]]");
      const index = Number(resolve(arg[0], ctx, `${path}[0]`));
      const list = resolve(arg[1], ctx, `${path}[1]`);
      if (!Array.isArray(list)) fail(path, "the second argument of Fn::Select must resolve to a list");
      if (!Number.isInteger(index) || index < 0 || index >= list.length) {
        fail(path, `index ${String(arg[0])} is out of range for a list of ${list.length}`);
      }
      return list[index];
    }
    case "Fn::Split": {
      if (!Array.isArray(arg) || arg.length !== 2) fail(path, "Fn::Split takes [delimiter, string]");
      const delimiter = resolve(arg[0], ctx, `${path}[0]`);
      const source = resolve(arg[1], ctx, `${path}[1]`);
      if (typeof delimiter !== "string" || delimiter === "") fail(path, "the delimiter of Fn::Split must be a non-empty string");
      if (typeof source !== "string") fail(path, "the second argument of Fn::Split must resolve to a string");
      return source.split(delimiter);
    }
    case "Fn::Base64":
      return Buffer.from(resolveString(arg, ctx, path), "utf8").toString("base64");
    case "Fn::GetAZs":
      return ["a", "b", "c"].map((az) => `${ctx.pseudo.region}${az}`);
    case "Fn::FindInMap": {
      if (!Array.isArray(arg) || arg.length < 3) fail(path, "Fn::FindInMap takes [map, topKey, secondKey]");
      const [map, top, second] = arg.slice(0, 3).map((v, i) => resolveString(v, ctx, `${path}[${i}]`));
      const found = ctx.template?.Mappings?.[map!]?.[top!]?.[second!];
      if (found === undefined) fail(path, `Mappings.${map}.${top}.${second} does not exist`);
      return found;
    }
    case "Fn::If": {
      if (!Array.isArray(arg) || arg.length !== 3 || typeof arg[0] !== "string") {
        fail(path, "Fn::If takes [conditionName, valueIfTrue, valueIfFalse]");
      }
      return condition(arg[0], ctx, path) ? resolve(arg[1], ctx, `${path}[1]`) : resolve(arg[2], ctx, `${path}[2]`);
    }
    case "Fn::Equals":
    case "Fn::And":
    case "Fn::Or":
    case "Fn::Not":
    case "Condition":
      return evaluateCondition({ [name]: arg }, ctx, path);
    default:
      if (UNSUPPORTED.has(name)) fail(path, `${name} is not supported by the embedded local stack`, { intrinsic: name });
      return fail(path, `unknown intrinsic function ${name}`, { intrinsic: name });
  }
}

function scalar(v: unknown, path: string): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return fail(path, `expected a string, got ${JSON.stringify(v)}`);
}

function pseudo(name: string, ctx: ResolveContext): string | undefined {
  const p = ctx.pseudo;
  const partition = p.partition ?? "aws";
  switch (name) {
    case "AWS::Region":
      return p.region;
    case "AWS::AccountId":
      return p.accountId;
    case "AWS::Partition":
      return partition;
    case "AWS::StackName":
      return p.stackName;
    case "AWS::StackId":
      return p.stackId ?? `arn:${partition}:cloudformation:${p.region}:${p.accountId}:stack/${p.stackName}/local`;
    case "AWS::URLSuffix":
      return p.urlSuffix ?? "amazonaws.com";
    default:
      return undefined;
  }
}

function ref(arg: unknown, ctx: ResolveContext, path: string): unknown {
  if (typeof arg !== "string") fail(path, "Ref takes a logical id or a pseudo parameter name");
  if (arg === "AWS::NoValue") return NO_VALUE;
  if (arg === "AWS::NotificationARNs") return [];
  const p = pseudo(arg, ctx);
  if (p !== undefined) return p;
  if (arg.startsWith("AWS::")) fail(path, `unknown pseudo parameter ${arg}`);
  const physical = ctx.resources.ref(arg);
  if (physical !== undefined) return physical;
  const param = ctx.template?.Parameters?.[arg];
  if (param) {
    const given = ctx.parameters?.[arg];
    if (given !== undefined) return given;
    if (param.Default !== undefined) {
      // SSM parameter types hold the parameter's name, not its value: there is no SSM locally.
      if (param.Type?.startsWith("AWS::SSM::Parameter::Value")) {
        fail(path, `parameter ${arg} reads SSM parameter ${String(param.Default)}: there is no SSM in the embedded local stack`);
      }
      return param.Type?.startsWith("List<") || param.Type === "CommaDelimitedList" ? String(param.Default).split(",") : param.Default;
    }
    fail(path, `parameter ${arg} has no Default and no value was given`);
  }
  return fail(path, `Ref to ${arg}, which is neither a resource nor a parameter of the template`, { logicalId: arg });
}

function getAtt(arg: unknown, ctx: ResolveContext, path: string): unknown {
  let logicalId: unknown;
  let attribute: unknown;
  if (typeof arg === "string") {
    const dot = arg.indexOf(".");
    if (dot < 0) fail(path, "Fn::GetAtt takes [logicalId, attribute] or \"logicalId.attribute\"");
    logicalId = arg.slice(0, dot);
    attribute = arg.slice(dot + 1);
  } else if (Array.isArray(arg) && arg.length === 2) {
    logicalId = arg[0];
    attribute = resolve(arg[1], ctx, `${path}[1]`);
  } else {
    fail(path, "Fn::GetAtt takes [logicalId, attribute] or \"logicalId.attribute\"");
  }
  if (typeof logicalId !== "string" || typeof attribute !== "string") fail(path, "Fn::GetAtt takes strings");
  const value = ctx.resources.getAtt(logicalId, attribute);
  if (value === undefined) fail(path, `Fn::GetAtt of ${logicalId}, which is not a resource of the template`, { logicalId });
  return value;
}

/**
 * `Fn::Sub`: `${Name}` is a Ref (resource, parameter, pseudo parameter or variable), `${Name.Attr}` a GetAtt,
 * `${!Text}` the literal `${Text}`.
 */
function sub(arg: unknown, ctx: ResolveContext, path: string): string {
  let template: unknown;
  let variables: Record<string, unknown> = {};
  if (typeof arg === "string") template = arg;
  else if (Array.isArray(arg) && arg.length === 2 && arg[1] && typeof arg[1] === "object") {
    template = arg[0];
    variables = arg[1] as Record<string, unknown>;
  } else fail(path, "Fn::Sub takes a string or [string, { variables }]");
  if (typeof template !== "string") fail(path, "the template of Fn::Sub must be a string");
  return template.replace(/\$\{([^}]*)\}/g, (whole, inner: string) => {
    if (inner.startsWith("!")) return `\${${inner.slice(1)}}`;
    const name = inner.trim();
    if (Object.hasOwn(variables, name)) return scalar(resolve(variables[name], ctx, `${path}.${name}`), `${path}.${name}`);
    const dot = name.indexOf(".");
    if (dot > 0 && !name.startsWith("AWS::")) {
      return scalar(getAtt([name.slice(0, dot), name.slice(dot + 1)], ctx, `${path}(${whole})`), path);
    }
    return scalar(ref(name, ctx, `${path}(${whole})`), path);
  });
}

function condition(name: string, ctx: ResolveContext, path: string): boolean {
  const body = ctx.template?.Conditions?.[name];
  if (body === undefined) fail(path, `condition ${name} is not defined in the template's Conditions`);
  return evaluateCondition(body, ctx, `Conditions.${name}`);
}

function evaluateCondition(body: unknown, ctx: ResolveContext, path: string): boolean {
  if (typeof body === "boolean") return body;
  if (!isIntrinsic(body)) fail(path, "a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition");
  const [name, arg] = Object.entries(body)[0]!;
  const list = (): unknown[] => {
    if (!Array.isArray(arg)) fail(path, `${name} takes a list`);
    return arg;
  };
  switch (name) {
    case "Fn::Equals": {
      const [a, b] = list().map((v, i) => resolve(v, ctx, `${path}[${i}]`));
      return JSON.stringify(a) === JSON.stringify(b);
    }
    case "Fn::And":
      return list().every((c, i) => evaluateCondition(c, ctx, `${path}[${i}]`));
    case "Fn::Or":
      return list().some((c, i) => evaluateCondition(c, ctx, `${path}[${i}]`));
    case "Fn::Not":
      return !evaluateCondition(list()[0], ctx, `${path}[0]`);
    case "Condition":
      if (typeof arg !== "string") fail(path, "Condition takes a condition name");
      return condition(arg, ctx, path);
    default:
      return fail(path, `${name} is not a condition function`);
  }
}

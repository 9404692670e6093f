/**
 * A statement's `Condition` against a request's context keys, with IAM's rules:
 * - every operator of the block must hold, and within an operator every key (AND); a key's values are
 *   alternatives (OR) — for a negated operator (`StringNotEquals`, `ArnNotLike` ...) the context value must match
 *   none of them;
 * - a key the request does not have: a positive operator is false, a negated one true; `...IfExists` is true;
 *   `Null: { key: "true" }` is true exactly when the key is missing;
 * - a multi-valued key: `ForAnyValue:` (some value satisfies it; none present: false), `ForAllValues:` (every value
 *   does; none present: true); without a qualifier, any value.
 * Key names are case insensitive, as in IAM.
 */
import { globMatch, resourceMatches } from "./wildcards.js";

/** The request's context keys (`aws:SecureTransport`, `s3:prefix` ...), lower-cased or not: looked up case-blind. */
export type RequestContext = Readonly<Record<string, string | readonly string[]>>;

type Compare = (contextValue: string, policyValue: string) => boolean;

const num = (v: string) => (v.trim() === "" ? NaN : Number(v));
const date = (v: string) => (/^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v));
const bool = (v: string) => v.toLowerCase();

/** Operators by base name; `negated` ones hold when no policy value matches. */
const OPERATORS: Record<string, { compare: Compare; negated: boolean }> = {
  StringEquals: { compare: (c, p) => c === p, negated: false },
  StringNotEquals: { compare: (c, p) => c === p, negated: true },
  StringEqualsIgnoreCase: { compare: (c, p) => c.toLowerCase() === p.toLowerCase(), negated: false },
  StringNotEqualsIgnoreCase: { compare: (c, p) => c.toLowerCase() === p.toLowerCase(), negated: true },
  StringLike: { compare: (c, p) => globMatch(p, c), negated: false },
  StringNotLike: { compare: (c, p) => globMatch(p, c), negated: true },
  NumericEquals: { compare: (c, p) => num(c) === num(p), negated: false },
  NumericNotEquals: { compare: (c, p) => num(c) === num(p), negated: true },
  NumericLessThan: { compare: (c, p) => num(c) < num(p), negated: false },
  NumericLessThanEquals: { compare: (c, p) => num(c) <= num(p), negated: false },
  NumericGreaterThan: { compare: (c, p) => num(c) > num(p), negated: false },
  NumericGreaterThanEquals: { compare: (c, p) => num(c) >= num(p), negated: false },
  DateEquals: { compare: (c, p) => date(c) === date(p), negated: false },
  DateNotEquals: { compare: (c, p) => date(c) === date(p), negated: true },
  DateLessThan: { compare: (c, p) => date(c) < date(p), negated: false },
  DateLessThanEquals: { compare: (c, p) => date(c) <= date(p), negated: false },
  DateGreaterThan: { compare: (c, p) => date(c) > date(p), negated: false },
  DateGreaterThanEquals: { compare: (c, p) => date(c) >= date(p), negated: false },
  Bool: { compare: (c, p) => bool(c) === bool(p), negated: false },
  ArnEquals: { compare: (c, p) => resourceMatches(p, c), negated: false },
  ArnLike: { compare: (c, p) => resourceMatches(p, c), negated: false },
  ArnNotEquals: { compare: (c, p) => resourceMatches(p, c), negated: true },
  ArnNotLike: { compare: (c, p) => resourceMatches(p, c), negated: true },
};

interface ParsedOperator {
  readonly set?: "ForAnyValue" | "ForAllValues";
  readonly base: string;
  readonly ifExists: boolean;
}

function parseOperator(operator: string): ParsedOperator {
  const colon = operator.indexOf(":");
  const set = colon > 0 ? operator.slice(0, colon) : undefined;
  let base = colon > 0 ? operator.slice(colon + 1) : operator;
  const ifExists = base !== "Null" && base.endsWith("IfExists");
  if (ifExists) base = base.slice(0, -"IfExists".length);
  return { ...(set === "ForAnyValue" || set === "ForAllValues" ? { set } : {}), base, ifExists };
}

/** The operator names in a block that the evaluator does not know (`IpAddress`, `BinaryEquals` ...). */
export function unsupportedOperators(block: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(block).filter((operator) => {
    const { base } = parseOperator(operator);
    return base !== "Null" && !OPERATORS[base];
  });
}

function lookup(context: RequestContext, key: string): readonly string[] | undefined {
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(context)) {
    if (k.toLowerCase() === lower) return typeof v === "string" ? [v] : v;
  }
  return undefined;
}

function keyHolds(op: ParsedOperator, contextValues: readonly string[] | undefined, policyValues: readonly string[]): boolean {
  if (op.base === "Null") {
    const missing = contextValues === undefined || contextValues.length === 0;
    return policyValues.some((p) => bool(p) === String(missing));
  }
  const { compare, negated } = OPERATORS[op.base]!;
  if (contextValues === undefined || contextValues.length === 0) {
    if (op.set === "ForAllValues") return true;
    if (op.set === "ForAnyValue") return false;
    return op.ifExists || negated;
  }
  const one = (c: string) => {
    const any = policyValues.some((p) => compare(c, p));
    return negated ? !any : any;
  };
  return op.set === "ForAllValues" ? contextValues.every(one) : contextValues.some(one);
}

/**
 * Whether a statement's condition block holds for the request. An operator the evaluator does not know makes
 * the block "unknown": `undefined`, which the evaluator reads as "applies" for a Deny and "does not" for an Allow.
 */
export function conditionHolds(block: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>, context: RequestContext): boolean | undefined {
  let unknown = false;
  for (const [operator, keys] of Object.entries(block)) {
    const op = parseOperator(operator);
    if (op.base !== "Null" && !OPERATORS[op.base]) {
      unknown = true;
      continue;
    }
    for (const [key, values] of Object.entries(keys)) {
      if (!keyHolds(op, lookup(context, key), values)) return false;
    }
  }
  return unknown ? undefined : true;
}

import { AnalysisError } from "../core/errors.js";
import { caster } from "./cast.js";
import { exprString, type Expr } from "./column.js";
import type { DataType, Row } from "./data-types.js";
import { arithmeticDecimalType, decimalForType, decimalString, divideHalfUp, literalDecimalType, pow10, toDecimalValue, unscaledAt, type DecimalType } from "./decimal.js";
import { typeOf } from "./infer-schema.js";
import { arithmeticNullable, castNullable } from "./nullability.js";
import { resolveCall } from "./scalar-functions.js";
import { BooleanType, DoubleType, StringType, commonType, isNumeric, sameType, simpleString, sqlTypeName, widerNumeric } from "./types.js";
import { compareNonNull } from "./values.js";

/**
 * A column of a DataFrame's output. `id` is Spark's expression id: a column passed through `select`, `where`,
 * `join` … keeps it, so `df.col("id")` still finds its column after a join that made the name ambiguous.
 */
export interface Attribute {
  readonly name: string;
  readonly dataType: DataType;
  readonly nullable: boolean;
  readonly id: number;
  /**
   * How to read the column from a row, when rows are not positional arrays: a DataFrame made from plain
   * objects with flat columns reads their properties instead of copying every object into an array first.
   * @default - `row[index]`
   */
  readonly get?: (row: Row) => unknown;
}

/** An expression resolved against an input: its output column and how to compute it from an input row. */
export interface Bound {
  readonly name: string;
  readonly dataType: DataType;
  readonly nullable: boolean;
  readonly eval: (row: Row) => unknown;
  /** Set when the expression is a plain reference: the output column is the input column. */
  readonly id?: number;
}

let lastId = 0;
export const newId = (): number => ++lastId;

/** What an expression can refer to; `aggregate` resolves an aggregate call (only `agg` allows them). */
export interface Scope {
  readonly attrs: readonly Attribute[];
  readonly aggregate?: (e: Extract<Expr, { kind: "aggregate" }>) => Bound;
}

const available = (attrs: readonly Attribute[]) => `[${attrs.map((a) => `\`${a.name}\``).join(", ")}]`;

/** The error for a name that matches no column: Spark's message, listing every column there is. */
export function unresolvedColumn(name: string, attrs: readonly Attribute[]): AnalysisError {
  return new AnalysisError(
    "UnresolvedColumn",
    `[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column or function parameter with name \`${name}\` cannot be resolved. Did you mean one of the following? ${available(attrs)}.`,
    { errorClass: "UNRESOLVED_COLUMN.WITH_SUGGESTION", column: name, available: attrs.map((a) => a.name) },
  );
}

function mismatch(e: Expr, why: string): AnalysisError {
  return new AnalysisError("DatatypeMismatch", `[DATATYPE_MISMATCH] Cannot resolve "${exprString(e)}" due to data type mismatch: ${why}.`, {
    errorClass: "DATATYPE_MISMATCH",
    expression: exprString(e),
  });
}

/** Finds a column by name, case-insensitively; `a.b` reaches into a struct column `a`. */
export function resolveName(name: string, attrs: readonly Attribute[]): Bound {
  const lower = name.toLowerCase();
  const matches = attrs.map((a, i) => [a, i] as const).filter(([a]) => a.name.toLowerCase() === lower);
  if (matches.length > 1) {
    throw new AnalysisError("AmbiguousReference", `[AMBIGUOUS_REFERENCE] Reference \`${name}\` is ambiguous, could be: ${available(matches.map(([a]) => a))}: name it through its DataFrame, as left.col("${name}").`, {
      errorClass: "AMBIGUOUS_REFERENCE",
      column: name,
    });
  }
  if (matches.length === 1) {
    const [a, i] = matches[0]!;
    return { name: a.name, dataType: a.dataType, nullable: a.nullable, id: a.id, eval: a.get ?? ((row) => row[i]) };
  }
  const dot = name.indexOf(".");
  if (dot > 0) {
    const parent = attrs.find((a) => a.name.toLowerCase() === name.slice(0, dot).toLowerCase());
    if (parent) return field(resolveName(parent.name, attrs), name.slice(dot + 1), name, attrs);
  }
  throw unresolvedColumn(name, attrs);
}

function field(struct: Bound, path: string, full: string, attrs: readonly Attribute[]): Bound {
  const [head, ...rest] = path.split(".");
  const t = struct.dataType;
  const i = t.kind === "struct" ? t.fields.findIndex((f) => f.name.toLowerCase() === head!.toLowerCase()) : -1;
  if (t.kind !== "struct" || i < 0) throw unresolvedColumn(full, attrs);
  const f = t.fields[i]!;
  const parent = struct.eval;
  const bound: Bound = {
    name: f.name,
    dataType: f.dataType,
    nullable: struct.nullable || f.nullable,
    eval: (row) => {
      const v = parent(row) as Row | null;
      return v === null || v === undefined ? null : v[i];
    },
  };
  return rest.length ? field(bound, rest.join("."), full, attrs) : bound;
}

/** Resolves `e` against the scope's columns: an unknown column or a type mismatch is an AnalysisError now. */
export function resolve(e: Expr, scope: Scope): Bound {
  switch (e.kind) {
    case "name":
      return resolveName(e.name, scope.attrs);
    case "attribute": {
      const i = scope.attrs.findIndex((a) => a.id === e.id);
      if (i < 0) {
        throw new AnalysisError(
          "MissingAttributes",
          `[MISSING_ATTRIBUTES.RESOLVED_ATTRIBUTE] Resolved attribute(s) \`${e.name}\` missing from ${available(scope.attrs)}: the column belongs to another DataFrame.`,
          { errorClass: "MISSING_ATTRIBUTES.RESOLVED_ATTRIBUTE", column: e.name, available: scope.attrs.map((a) => a.name) },
        );
      }
      const a = scope.attrs[i]!;
      return { name: a.name, dataType: a.dataType, nullable: a.nullable, id: a.id, eval: a.get ?? ((row) => row[i]) };
    }
    case "literal": {
      const v = e.value;
      return { name: exprString(e), dataType: e.dataType ?? typeOf(v), nullable: v === null, eval: () => v };
    }
    case "alias": {
      const child = resolve(e.child, scope);
      return { name: e.name, dataType: child.dataType, nullable: child.nullable, eval: child.eval };
    }
    case "cast": {
      const child = resolve(e.child, scope);
      const f = caster(child.dataType, e.to, exprString(e));
      const inner = child.eval;
      return { name: exprString(e), dataType: e.to, nullable: castNullable(child.dataType, e.to, child.nullable), eval: (row) => f(inner(row)) };
    }
    case "arithmetic":
      return arithmetic(e, resolve(e.left, scope), resolve(e.right, scope));
    case "negate": {
      const child = resolve(e.child, scope);
      if (!isNumeric(child.dataType) && child.dataType.kind !== "null") throw mismatch(e, `the operand is ${sqlTypeName(child.dataType)}, not a number`);
      const f = child.eval;
      const wrap = child.dataType.kind === "integer";
      if (child.dataType.kind === "decimal") {
        const { scale } = child.dataType;
        return { name: exprString(e), dataType: child.dataType, nullable: child.nullable, eval: (row) => {
          const v = f(row);
          return v === null || v === undefined ? null : decimalString(-unscaledAt(v, scale), scale);
        } };
      }
      return { name: exprString(e), dataType: child.dataType, nullable: child.nullable, eval: (row) => {
        const v = f(row) as number | null;
        return v === null || v === undefined ? null : wrap ? -v | 0 : -v;
      } };
    }
    case "compare":
      return comparison(e, resolve(e.left, scope), resolve(e.right, scope));
    case "logic": {
      const l = requireBoolean(e, resolve(e.left, scope));
      const r = requireBoolean(e, resolve(e.right, scope));
      const fl = l.eval;
      const fr = r.eval;
      const and = e.op === "AND";
      return { name: exprString(e), dataType: BooleanType, nullable: l.nullable || r.nullable, eval: (row) => {
        const a = fl(row) as boolean | null;
        if (a === (and ? false : true)) return a;
        const b = fr(row) as boolean | null;
        if (b === (and ? false : true)) return b;
        return a === null || a === undefined || b === null || b === undefined ? null : a;
      } };
    }
    case "not": {
      const child = requireBoolean(e, resolve(e.child, scope));
      const f = child.eval;
      return { name: exprString(e), dataType: BooleanType, nullable: child.nullable, eval: (row) => {
        const v = f(row);
        return v === null || v === undefined ? null : !v;
      } };
    }
    case "isNull": {
      const f = resolve(e.child, scope).eval;
      const negated = e.negated;
      return { name: exprString(e), dataType: BooleanType, nullable: false, eval: (row) => {
        const v = f(row);
        return (v === null || v === undefined) !== negated;
      } };
    }
    case "in": {
      const child = resolve(e.child, scope);
      const tests = e.values.map((v) => comparison({ kind: "compare", op: "=", left: e.child, right: v }, child, resolve(v, scope)).eval);
      return { name: exprString(e), dataType: BooleanType, nullable: true, eval: (row) => {
        let sawNull = false;
        for (const t of tests) {
          const r = t(row);
          if (r === true) return true;
          if (r === null) sawNull = true;
        }
        return sawNull ? null : false;
      } };
    }
    case "aggregate":
      if (!scope.aggregate) {
        throw new AnalysisError("AggregateNotAllowed", `[MISSING_GROUP_BY] the aggregate ${exprString(e)} is only allowed in agg(): use df.groupBy(...).agg(${exprString(e)}) or df.agg(${exprString(e)})`, {
          errorClass: "MISSING_GROUP_BY",
        });
      }
      return scope.aggregate(e);
    case "caseWhen":
      return caseWhen(e, scope);
    case "call":
      return resolveCall(e, e.args.map((a) => resolve(a, scope)));
    case "sortOrder":
      throw new AnalysisError("SortOrderNotAllowed", `${exprString(e)} orders rows: use it in orderBy() or sort(), not as a value`, {});
  }
}

/**
 * Spark's CaseWhen: conditions must be boolean, values share a type (numbers widen, a null gives way); null when
 * no condition is true and there is no `otherwise`, so nullable then, or when any value is.
 */
function caseWhen(e: Extract<Expr, { kind: "caseWhen" }>, scope: Scope): Bound {
  const branches = e.branches.map((b) => ({ condition: requireBoolean(e, resolve(b.condition, scope)), value: resolve(b.value, scope) }));
  const otherwise = e.otherwise && resolve(e.otherwise, scope);
  const values = [...branches.map((b) => b.value), ...(otherwise ? [otherwise] : [])];
  let type: DataType | undefined = values[0]!.dataType;
  for (const v of values) type = type && commonType(type, v.dataType);
  if (!type) {
    throw mismatch(e, `THEN and ELSE expressions should all be same type or coercible to a common type, got CASE WHEN ... THEN ${values.map((v) => sqlTypeName(v.dataType)).join(" ... ")} END`);
  }
  const tests = branches.map((b) => b.condition.eval);
  const results = branches.map((b) => coerced(b.value, type!, e));
  const otherwiseEval = otherwise && coerced(otherwise, type, e);
  return { name: exprString(e), dataType: type, nullable: !otherwise || values.some((v) => v.nullable), eval: (row) => {
    for (let i = 0; i < tests.length; i++) if (tests[i]!(row) === true) return results[i]!(row) ?? null;
    return otherwiseEval ? (otherwiseEval(row) ?? null) : null;
  } };
}

/**
 * `b`'s values as values of `to`, the type it shares with other values (a CASE's branches, coalesce's
 * arguments): a decimal's digits change with its scale and a decimal meeting a double becomes one, where JS
 * numbers of int, bigint and double are one representation already.
 */
export function coerced(b: Bound, to: DataType, e: Expr): (row: Row) => unknown {
  const f = b.eval;
  if (sameType(b.dataType, to) || (to.kind !== "decimal" && b.dataType.kind !== "decimal")) return f;
  const c = caster(b.dataType, to, exprString(e));
  return (row) => c(f(row));
}

function requireBoolean(e: Expr, b: Bound): Bound {
  if (b.dataType.kind !== "boolean" && b.dataType.kind !== "null") throw mismatch(e, `"${b.name}" is ${sqlTypeName(b.dataType)}, not "BOOLEAN"`);
  return b;
}

function arithmetic(e: Extract<Expr, { kind: "arithmetic" }>, l: Bound, r: Bound): Bound {
  const lt = l.dataType.kind === "null" ? r.dataType : l.dataType;
  const rt = r.dataType.kind === "null" ? l.dataType : r.dataType;
  if ((lt.kind === "decimal" || rt.kind === "decimal") && lt.kind !== "double" && rt.kind !== "double") {
    const dl = operandDecimal(e.left, lt);
    const dr = operandDecimal(e.right, rt);
    if (!dl || !dr) {
      throw mismatch(e, `the left and right operands of the binary operator have incompatible types (${sqlTypeName(l.dataType)} and ${sqlTypeName(r.dataType)})`);
    }
    return decimalArithmetic(e, l, r, dl, dr);
  }
  const wider = lt.kind === "null" ? DoubleType : widerNumeric(lt, rt);
  if (!wider) {
    throw mismatch(e, `the left and right operands of the binary operator have incompatible types (${sqlTypeName(l.dataType)} and ${sqlTypeName(r.dataType)})`);
  }
  const type = e.op === "/" ? DoubleType : wider;
  const int = type.kind === "integer";
  const fl = l.eval;
  const fr = r.eval;
  const op = OPS[e.op];
  const nullable = arithmeticNullable(e.op, l.nullable, r.nullable);
  return { name: exprString(e), dataType: type, nullable, eval: (row) => {
    const a = fl(row) as number | null;
    if (a === null || a === undefined) return null;
    const b = fr(row) as number | null;
    if (b === null || b === undefined) return null;
    const v = op(Number(a), Number(b));
    return v === null ? null : int ? v | 0 : v;
  } };
}

/**
 * The decimal an operand of decimal arithmetic is (DecimalPrecision): a decimal itself, an int or bigint column
 * decimal(10,0) or decimal(20,0), an integer literal only as many digits as it has
 * (spark.sql.legacy.literal.pickMinimumPrecision, true by default), so that `2 * 1.5` is decimal(4,1).
 */
function operandDecimal(e: Expr, t: DataType): DecimalType | undefined {
  if (e.kind === "literal" && (typeof e.value === "number" || typeof e.value === "bigint") && (t.kind === "integer" || t.kind === "long")) {
    return literalDecimalType({ unscaled: BigInt(e.value), scale: 0 });
  }
  return decimalForType(t);
}

/**
 * Spark's decimal arithmetic, exact on the unscaled values: the result type is DecimalPrecision's, a result
 * with more fraction digits than its type keeps is rounded HALF_UP, one beyond its precision is null, and so
 * is a division or remainder by zero (non-ANSI). Always nullable for that reason.
 */
function decimalArithmetic(e: Extract<Expr, { kind: "arithmetic" }>, l: Bound, r: Bound, dl: DecimalType, dr: DecimalType): Bound {
  const type = arithmeticDecimalType(e.op, dl, dr);
  const s1 = dl.scale;
  const s2 = dr.scale;
  const wide = Math.max(s1, s2);
  const up1 = pow10(wide - s1);
  const up2 = pow10(wide - s2);
  const op: (a: bigint, b: bigint) => string | null = {
    "+": (a: bigint, b: bigint) => toDecimalValue(a * up1 + b * up2, wide, type),
    "-": (a: bigint, b: bigint) => toDecimalValue(a * up1 - b * up2, wide, type),
    "*": (a: bigint, b: bigint) => toDecimalValue(a * b, s1 + s2, type),
    // a/10^s1 ÷ b/10^s2 at the result's scale: a·10^(s2+scale) ÷ b·10^s1, rounded once.
    "/": (a: bigint, b: bigint) => {
      if (b === 0n) return null;
      const q = divideHalfUp(a * pow10(s2 + type.scale), b * pow10(s1));
      return toDecimalValue(q, type.scale, type);
    },
    // Java's BigDecimal.remainder: the sign of the dividend.
    "%": (a: bigint, b: bigint) => (b === 0n ? null : toDecimalValue((a * up1) % (b * up2), wide, type)),
  }[e.op];
  const fl = l.eval;
  const fr = r.eval;
  return { name: exprString(e), dataType: type, nullable: arithmeticNullable(e.op, l.nullable, r.nullable, true), eval: (row) => {
    const a = fl(row);
    if (a === null || a === undefined) return null;
    const b = fr(row);
    if (b === null || b === undefined) return null;
    return op(unscaledAt(a, s1), unscaledAt(b, s2));
  } };
}

// Spark's non-ANSI arithmetic: a division or remainder by zero is null; `/` is a double division.
const OPS: Record<"+" | "-" | "*" | "/" | "%", (a: number, b: number) => number | null> = {
  "+": (a, b) => a + b,
  "-": (a, b) => a - b,
  "*": (a, b) => a * b,
  "/": (a, b) => (b === 0 ? null : a / b),
  "%": (a, b) => (b === 0 ? null : a % b),
};

/**
 * A comparison: numbers compare across int, bigint and double; a string compared with a number is cast to
 * that number's type (null when it does not parse), as Spark 3.5 does; other mixes are a type mismatch.
 */
function comparison(e: Extract<Expr, { kind: "compare" }>, l: Bound, r: Bound): Bound {
  let type: DataType | undefined;
  let fl = l.eval;
  let fr = r.eval;
  const lk = l.dataType.kind;
  const rk = r.dataType.kind;
  if (lk === "null") type = r.dataType;
  else if (rk === "null") type = l.dataType;
  else if (simpleString(l.dataType) === simpleString(r.dataType)) type = l.dataType;
  else if ((type = widerNumeric(l.dataType, r.dataType))) {
    // Numbers of different widths compare as numbers; a decimal meeting a double is one (decimals meeting
    // decimals or integers compare exactly, whatever their scales: values.ts).
    if (type.kind === "double") [fl, fr] = [toDouble(l), toDouble(r)];
  } else if ((lk === "string" && rk === "decimal") || (lk === "decimal" && rk === "string")) {
    // TypeCoercion.findCommonTypeForBinaryComparison (SPARK-22469): no decimal fits any string, so both are doubles.
    type = DoubleType;
    fl = (lk === "string" ? stringToDouble(l, e) : toDouble(l));
    fr = (rk === "string" ? stringToDouble(r, e) : toDouble(r));
  } else if (lk === "string" && isNumeric(r.dataType)) {
    type = r.dataType;
    const c = caster(StringType, type, exprString(e));
    const f = l.eval;
    fl = (row) => c(f(row));
  } else if (rk === "string" && isNumeric(l.dataType)) {
    type = l.dataType;
    const c = caster(StringType, type, exprString(e));
    const f = r.eval;
    fr = (row) => c(f(row));
  } else {
    throw mismatch(e, `the left and right operands of the binary operator have incompatible types (${sqlTypeName(l.dataType)} and ${sqlTypeName(r.dataType)})`);
  }
  const t = type;
  const test = TESTS[e.op === "<=>" ? "=" : e.op];
  if (e.op === "<=>") {
    return { name: exprString(e), dataType: BooleanType, nullable: false, eval: (row) => {
      const a = fl(row);
      const b = fr(row);
      const an = a === null || a === undefined;
      const bn = b === null || b === undefined;
      return an || bn ? an && bn : compareNonNull(a, b, t) === 0;
    } };
  }
  return { name: exprString(e), dataType: BooleanType, nullable: castNullable(l.dataType, t, l.nullable) || castNullable(r.dataType, t, r.nullable), eval: (row) => {
    const a = fl(row);
    if (a === null || a === undefined) return null;
    const b = fr(row);
    if (b === null || b === undefined) return null;
    return test(compareNonNull(a, b, t));
  } };
}

function toDouble(b: Bound): (row: Row) => unknown {
  const f = b.eval;
  if (b.dataType.kind !== "decimal") return f;
  return (row) => {
    const v = f(row);
    return v === null || v === undefined ? null : Number(v);
  };
}

function stringToDouble(b: Bound, e: Expr): (row: Row) => unknown {
  const c = caster(StringType, DoubleType, exprString(e));
  const f = b.eval;
  return (row) => c(f(row));
}

const TESTS: Record<"=" | "<" | "<=" | ">" | ">=", (c: number) => boolean> = {
  "=": (c) => c === 0,
  "<": (c) => c < 0,
  "<=": (c) => c <= 0,
  ">": (c) => c > 0,
  ">=": (c) => c >= 0,
};

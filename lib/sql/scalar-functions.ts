import { AnalysisError } from "../core/errors.js";
import { caster } from "./cast.js";
import { exprString, type Expr } from "./column.js";
import type { Row } from "./data-types.js";
import { coerced, type Bound } from "./resolve.js";
import { IntegerType, StringType, commonType, isNumeric, sqlTypeName } from "./types.js";

/**
 * Spark's scalar functions a first program reaches for (`upper`, `lower`, `length`, `trim`, `abs`, `coalesce`,
 * `concat`), resolved from a `call` expression: functions.ts builds them as Columns, the expression parser
 * (`selectExpr`, `expr`) by name. Each follows Spark 3.5: null in gives null out (coalesce aside), a non-string
 * argument of a string function is cast to string, as Spark's implicit cast does.
 */
type Resolver = (args: readonly Bound[], e: Extract<Expr, { kind: "call" }>) => Omit<Bound, "name">;

const nullable = (args: readonly Bound[]) => args.some((a) => a.nullable);

/** A string function of one argument: the argument cast to string, null for null. */
function stringFn(f: (s: string) => unknown, type = StringType): Resolver {
  return ([a], e) => {
    const arg = a!;
    const cast = caster(arg.dataType, StringType, exprString(e));
    const g = arg.eval;
    return { dataType: type, nullable: arg.nullable, eval: (row) => {
      const v = cast(g(row));
      return v === null || v === undefined ? null : f(v as string);
    } };
  };
}

const FUNCTIONS: Record<string, { arity: [number, number]; resolve: Resolver }> = {
  upper: { arity: [1, 1], resolve: stringFn((s) => s.toUpperCase()) },
  lower: { arity: [1, 1], resolve: stringFn((s) => s.toLowerCase()) },
  // Characters, not UTF-16 units: Spark counts a string's code points.
  length: { arity: [1, 1], resolve: stringFn((s) => [...s].length, IntegerType) },
  // Spark's trim removes the space character only, not every kind of white space.
  trim: { arity: [1, 1], resolve: stringFn((s) => s.replace(/^ +| +$/g, "")) },
  ltrim: { arity: [1, 1], resolve: stringFn((s) => s.replace(/^ +/, "")) },
  rtrim: { arity: [1, 1], resolve: stringFn((s) => s.replace(/ +$/, "")) },
  abs: {
    arity: [1, 1],
    resolve: ([a], e) => {
      const arg = a!;
      if (!isNumeric(arg.dataType) && arg.dataType.kind !== "null") throw argumentType(e, 1, arg, '"NUMERIC"');
      const g = arg.eval;
      // Non-ANSI: abs of Int.MinValue wraps to itself, as Java's Math.abs.
      const wrap = arg.dataType.kind === "integer";
      if (arg.dataType.kind === "decimal") return { dataType: arg.dataType, nullable: arg.nullable, eval: (row) => {
        const v = g(row) as string | null;
        return v === null || v === undefined ? null : v.replace(/^-/, "");
      } };
      return { dataType: arg.dataType, nullable: arg.nullable, eval: (row) => {
        const v = g(row) as number | null;
        return v === null || v === undefined ? null : wrap ? Math.abs(v) | 0 : Math.abs(v);
      } };
    },
  },
  coalesce: {
    arity: [1, Infinity],
    resolve: (args, e) => {
      const type = args.reduce((t, a) => t && commonType(t, a.dataType), args[0]!.dataType as ReturnType<typeof commonType>);
      if (!type) throw new AnalysisError("DatatypeMismatch", `[DATATYPE_MISMATCH.DATA_DIFF_TYPES] Cannot resolve "${exprString(e)}" due to data type mismatch: Input to \`coalesce\` should all be the same type, but it's [${args.map((a) => sqlTypeName(a.dataType)).join(", ")}].`, { errorClass: "DATATYPE_MISMATCH.DATA_DIFF_TYPES" });
      const fs = args.map((a) => coerced(a, type, e));
      return { dataType: type, nullable: args.every((a) => a.nullable), eval: (row) => {
        for (const f of fs) {
          const v = f(row);
          if (v !== null && v !== undefined) return v;
        }
        return null;
      } };
    },
  },
  concat: {
    arity: [0, Infinity],
    resolve: (args, e) => {
      const fs = args.map((a) => {
        const cast = caster(a.dataType, StringType, exprString(e));
        const g = a.eval;
        return (row: Row) => cast(g(row)) as string | null;
      });
      return { dataType: StringType, nullable: nullable(args), eval: (row) => {
        let out = "";
        for (const f of fs) {
          const v = f(row);
          if (v === null || v === undefined) return null;
          out += v;
        }
        return out;
      } };
    },
  },
};

/** The names `call` expressions may use. */
export const SCALAR_FUNCTIONS: readonly string[] = Object.keys(FUNCTIONS);

/** Resolves a call of a scalar function on its resolved arguments; an unknown name or a wrong count is an AnalysisError. */
export function resolveCall(e: Extract<Expr, { kind: "call" }>, args: readonly Bound[]): Bound {
  const fn = FUNCTIONS[e.fn];
  if (!fn) {
    throw new AnalysisError("UnresolvedRoutine", `[UNRESOLVED_ROUTINE] Cannot resolve function \`${e.fn}\` on search path: the functions here are ${[...SCALAR_FUNCTIONS, "count", "sum", "avg", "min", "max"].join(", ")}; for others, use a temp view and spark.sql().`, {
      errorClass: "UNRESOLVED_ROUTINE",
      routine: e.fn,
    });
  }
  const [lo, hi] = fn.arity;
  if (args.length < lo || args.length > hi) {
    const expected = lo === hi ? `${lo}` : hi === Infinity ? `at least ${lo}` : `${lo} to ${hi}`;
    throw new AnalysisError("WrongNumArgs", `[WRONG_NUM_ARGS.WITHOUT_SUGGESTION] The \`${e.fn}\` requires ${expected} parameters but the actual number is ${args.length}.`, {
      errorClass: "WRONG_NUM_ARGS.WITHOUT_SUGGESTION",
      routine: e.fn,
    });
  }
  return { name: exprString(e), ...fn.resolve(args, e) };
}

function argumentType(e: Expr, position: number, arg: Bound, expected: string): AnalysisError {
  const ordinal = ["zeroth", "first", "second", "third"][position] ?? `${position}th`;
  return new AnalysisError(
    "DatatypeMismatch",
    `[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve "${exprString(e)}" due to data type mismatch: the ${ordinal} parameter requires the ${expected} type, however "${arg.name}" has the type ${sqlTypeName(arg.dataType)}.`,
    { errorClass: "DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE", column: arg.name },
  );
}

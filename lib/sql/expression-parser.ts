import { AnalysisError } from "../core/errors.js";
import type { AggregateName, Expr } from "./column.js";
import { decimalString, literalDecimalType, parseBigDecimal } from "./decimal.js";
import { DoubleType, LongType, parseTypeName } from "./types.js";

/**
 * Spark SQL's expression syntax, as `selectExpr("age + 1 AS next")`, `expr("upper(name)")` and `where("age > 21")`
 * take it, parsed into the same expression tree Columns build — so a name that is not a column fails as it does
 * for `col(...)`, listing the columns there are. What it reads:
 *
 * - names (`age`, `` `odd name` ``, `address.city`), literals (`1`, `3000000000`, `10L`, `1.5` and `1.5BD`
 *   decimals, `1.5D` and `1e3` doubles, `'text'` or `"text"`, `true`, `null`), typed as Spark's lexer types them;
 * - `+ - * / %`, unary `-`, `= == != <> < <= > >= <=>`, `AND`, `OR`, `NOT`, `IS [NOT] NULL`, `[NOT] IN (…)`,
 *   `[NOT] BETWEEN a AND b`, parentheses, with Spark's precedence;
 * - `CAST(x AS type)`, `CASE WHEN … THEN … [ELSE …] END`, `count(*)`, `count(DISTINCT a, b)`, `sum`, `avg`,
 *   `mean`, `min`, `max`, and the scalar functions of scalar-functions.ts;
 * - an alias: `expr AS name` or `expr name`.
 */
export function parseExpression(text: string): Expr {
  const p = new Parser(text);
  const e = p.aliased();
  p.end();
  return e;
}

type Token = { kind: "name" | "quoted" | "number" | "string" | "op" | "end"; text: string; pos: number };

const KEYWORDS = new Set(["AND", "OR", "NOT", "IS", "NULL", "IN", "BETWEEN", "AS", "CAST", "CASE", "WHEN", "THEN", "ELSE", "END", "TRUE", "FALSE", "DISTINCT"]);
const AGGREGATES: Record<string, AggregateName> = { count: "count", sum: "sum", avg: "avg", mean: "avg", min: "min", max: "max" };
const COMPARISONS: Record<string, "=" | "<" | "<=" | ">" | ">=" | "<=>" | "!="> = { "=": "=", "==": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "<=>": "<=>", "!=": "!=", "<>": "!=" };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (/[A-Za-z_]/.test(c)) {
      while (i < text.length && /[A-Za-z0-9_]/.test(text[i]!)) i++;
      tokens.push({ kind: "name", text: text.slice(start, i), pos: start });
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(text[i + 1] ?? ""))) {
      const m = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:[bB][dD]|[dDlL])?/.exec(text.slice(i))!;
      i += m[0].length;
      tokens.push({ kind: "number", text: m[0], pos: start });
    } else if (c === "'" || c === '"' || c === "`") {
      let value = "";
      i++;
      for (;;) {
        if (i >= text.length) throw syntaxError(text, start, c === "`" ? "an unclosed quoted name" : "an unclosed string");
        const d = text[i]!;
        if (d === "\\" && c !== "`" && i + 1 < text.length) {
          const next = text[i + 1]!;
          value += next === "n" ? "\n" : next === "t" ? "\t" : next;
          i += 2;
        } else if (d === c && text[i + 1] === c) {
          value += c;
          i += 2;
        } else if (d === c) {
          i++;
          break;
        } else {
          value += d;
          i++;
        }
      }
      tokens.push({ kind: c === "`" ? "quoted" : "string", text: value, pos: start });
    } else {
      const op = ["<=>", "<=", ">=", "<>", "!=", "==", "||"].find((o) => text.startsWith(o, i)) ?? c;
      if (!"+-*/%=<>!(),.".includes(op[0]!) || op === "||") throw syntaxError(text, start);
      i += op.length;
      tokens.push({ kind: "op", text: op, pos: start });
    }
  }
  tokens.push({ kind: "end", text: "<EOF>", pos: text.length });
  return tokens;
}

/** Spark's parse error: the token, its position, and the text with a marker under it. */
function syntaxError(text: string, pos: number, what?: string): AnalysisError {
  const near = what ?? `'${/^\S*/.exec(text.slice(pos))![0] || "<EOF>"}'`;
  const line = text.slice(0, pos).split("\n").length;
  const column = pos - (text.lastIndexOf("\n", pos - 1) + 1);
  return new AnalysisError(
    "ParseSyntaxError",
    `[PARSE_SYNTAX_ERROR] Syntax error at or near ${near}.(line ${line}, pos ${column})\n\n== SQL ==\n${text}\n${"-".repeat(column)}^^^`,
    { errorClass: "PARSE_SYNTAX_ERROR", expression: text, position: pos },
  );
}

const LONG_MAX = 2n ** 63n - 1n;

/**
 * A number as Spark's lexer and AstBuilder type it: `1.5` is decimal(2,1) (its digits and the digits after the
 * point; `0.05` decimal(2,2)), `1.5BD` too; an exponent (`1e3`, `1.5E0`) or a `D` suffix makes a double; `2` is an
 * int, a bigint when it needs one (or says `2L`), a decimal(p,0) beyond a bigint.
 */
function numberLiteral(text: string): Expr {
  const suffix = /(bd|d|l)$/i.exec(text)?.[1]?.toLowerCase();
  const body = suffix ? text.slice(0, -suffix.length) : text;
  if (suffix === "d" || (suffix !== "bd" && /[eE]/.test(body))) return { kind: "literal", value: Number(body), dataType: DoubleType };
  if (suffix === "bd" || body.includes(".")) return decimalLiteral(body);
  const n = BigInt(body);
  if (n > LONG_MAX) return decimalLiteral(body);
  const value = n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  return suffix === "l" || n > 2147483647n ? { kind: "literal", value, dataType: LongType } : { kind: "literal", value };
}

function decimalLiteral(text: string): Expr {
  const d = parseBigDecimal(text)!;
  return { kind: "literal", value: decimalString(d.unscaled, d.scale), dataType: literalDecimalType(d) };
}

class Parser {
  private readonly tokens: Token[];
  private i = 0;

  constructor(private readonly text: string) {
    this.tokens = tokenize(text);
  }

  end(): void {
    if (this.peek().kind !== "end") this.fail();
  }

  /** An expression with an optional alias (`x AS y`, `x y`). */
  aliased(): Expr {
    const e = this.or();
    if (this.keyword("AS") || (this.peek().kind === "name" && !KEYWORDS.has(this.peek().text.toUpperCase())) || this.peek().kind === "quoted") {
      const t = this.next();
      if (t.kind !== "name" && t.kind !== "quoted") this.fail(t);
      return { kind: "alias", child: e, name: t.text };
    }
    return e;
  }

  private or(): Expr {
    let e = this.and();
    while (this.keyword("OR")) e = { kind: "logic", op: "OR", left: e, right: this.and() };
    return e;
  }

  private and(): Expr {
    let e = this.not();
    while (this.keyword("AND")) e = { kind: "logic", op: "AND", left: e, right: this.not() };
    return e;
  }

  private not(): Expr {
    if (this.keyword("NOT")) return { kind: "not", child: this.not() };
    return this.predicate();
  }

  private predicate(): Expr {
    const left = this.additive();
    const t = this.peek();
    if (t.kind === "op" && COMPARISONS[t.text]) {
      this.i++;
      const op = COMPARISONS[t.text]!;
      const right = this.additive();
      return op === "!=" ? { kind: "not", child: { kind: "compare", op: "=", left, right } } : { kind: "compare", op, left, right };
    }
    if (this.keyword("IS")) {
      const negated = this.keyword("NOT");
      if (!this.keyword("NULL")) this.fail();
      return { kind: "isNull", negated, child: left };
    }
    const negated = this.keyword("NOT");
    if (this.keyword("IN")) {
      this.expectOp("(");
      const values = this.list();
      const e: Expr = { kind: "in", child: left, values };
      return negated ? { kind: "not", child: e } : e;
    }
    if (this.keyword("BETWEEN")) {
      const lo = this.additive();
      if (!this.keyword("AND")) this.fail();
      const hi = this.additive();
      const e: Expr = { kind: "logic", op: "AND", left: { kind: "compare", op: ">=", left, right: lo }, right: { kind: "compare", op: "<=", left, right: hi } };
      return negated ? { kind: "not", child: e } : e;
    }
    if (negated) this.fail();
    return left;
  }

  private additive(): Expr {
    let e = this.multiplicative();
    for (;;) {
      const t = this.peek();
      if (t.kind !== "op" || (t.text !== "+" && t.text !== "-")) return e;
      this.i++;
      e = { kind: "arithmetic", op: t.text, left: e, right: this.multiplicative() };
    }
  }

  private multiplicative(): Expr {
    let e = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== "op" || (t.text !== "*" && t.text !== "/" && t.text !== "%")) return e;
      this.i++;
      e = { kind: "arithmetic", op: t.text, left: e, right: this.unary() };
    }
  }

  private unary(): Expr {
    if (this.isOp("-")) {
      this.i++;
      const child = this.unary();
      // A negative number is one literal, as Spark parses `-1`.
      if (child.kind === "literal" && (typeof child.value === "number" || typeof child.value === "bigint")) return { ...child, value: -child.value };
      if (child.kind === "literal" && child.dataType?.kind === "decimal" && typeof child.value === "string") {
        const d = parseBigDecimal(child.value)!;
        return { ...child, value: decimalString(-d.unscaled, d.scale) };
      }
      return { kind: "negate", child };
    }
    if (this.isOp("+")) {
      this.i++;
      return this.unary();
    }
    return this.primary();
  }

  private primary(): Expr {
    const t = this.next();
    switch (t.kind) {
      case "number":
        return numberLiteral(t.text);
      case "string":
        return { kind: "literal", value: t.text };
      case "quoted":
        return this.dotted(t.text);
      case "op":
        if (t.text === "(") {
          const e = this.or();
          this.expectOp(")");
          return e;
        }
        return this.fail(t);
      case "name": {
        const upper = t.text.toUpperCase();
        if (upper === "NULL") return { kind: "literal", value: null };
        if (upper === "TRUE" || upper === "FALSE") return { kind: "literal", value: upper === "TRUE" };
        if (upper === "CASE") return this.caseWhen();
        if (upper === "CAST" && this.isOp("(")) return this.cast();
        if (this.isOp("(")) return this.call(t.text.toLowerCase());
        if (KEYWORDS.has(upper)) return this.fail(t);
        return this.dotted(t.text);
      }
      default:
        return this.fail(t);
    }
  }

  private dotted(first: string): Expr {
    let name = first;
    while (this.isOp(".")) {
      this.i++;
      const t = this.next();
      if (t.kind !== "name" && t.kind !== "quoted") this.fail(t);
      name += `.${t.text}`;
    }
    return { kind: "name", name };
  }

  private call(fn: string): Expr {
    this.expectOp("(");
    const aggregate = AGGREGATES[fn];
    if (aggregate) {
      const distinct = this.keyword("DISTINCT");
      if (fn === "count" && !distinct && this.isOp("*")) {
        this.i++;
        this.expectOp(")");
        return { kind: "aggregate", fn: "count", child: "*", distinct: false };
      }
      const [child, ...more] = this.list();
      if (!child || (more.length > 0 && !(distinct && fn === "count"))) return this.fail(this.tokens[this.i - 1]);
      return { kind: "aggregate", fn: aggregate, child, distinct, ...(more.length > 0 ? { more } : {}) };
    }
    return { kind: "call", fn, args: this.isOp(")") ? (this.i++, []) : this.list() };
  }

  private cast(): Expr {
    this.expectOp("(");
    const child = this.or();
    if (!this.keyword("AS")) this.fail();
    const start = this.peek().pos;
    let depth = 0;
    while (!(this.isOp(")") && depth === 0)) {
      const t = this.next();
      if (t.kind === "end") this.fail(t);
      if (t.text === "(" || t.text === "<") depth++;
      if (t.text === ")" || t.text === ">") depth--;
    }
    const typeText = this.text.slice(start, this.peek().pos);
    this.expectOp(")");
    return { kind: "cast", child, to: parseTypeName(typeText) };
  }

  private caseWhen(): Expr {
    // CASE x WHEN v THEN … is CASE WHEN x = v THEN …
    const subject = this.peek().kind === "name" && this.peek().text.toUpperCase() === "WHEN" ? undefined : this.or();
    const branches: Array<{ condition: Expr; value: Expr }> = [];
    while (this.keyword("WHEN")) {
      const when = this.or();
      if (!this.keyword("THEN")) this.fail();
      branches.push({ condition: subject ? { kind: "compare", op: "=", left: subject, right: when } : when, value: this.or() });
    }
    if (branches.length === 0) this.fail();
    const otherwise = this.keyword("ELSE") ? this.or() : undefined;
    if (!this.keyword("END")) this.fail();
    return { kind: "caseWhen", branches, ...(otherwise ? { otherwise } : {}) };
  }

  /** Expressions separated by commas, up to and including the closing parenthesis. */
  private list(): Expr[] {
    const items = [this.or()];
    while (this.isOp(",")) {
      this.i++;
      items.push(this.or());
    }
    this.expectOp(")");
    return items;
  }

  private peek(): Token {
    return this.tokens[this.i]!;
  }

  private next(): Token {
    return this.tokens[this.i++]!;
  }

  private isOp(op: string): boolean {
    const t = this.peek();
    return t.kind === "op" && t.text === op;
  }

  private expectOp(op: string): void {
    if (!this.isOp(op)) this.fail();
    this.i++;
  }

  private keyword(word: string): boolean {
    const t = this.peek();
    if (t.kind !== "name" || t.text.toUpperCase() !== word) return false;
    this.i++;
    return true;
  }

  private fail(t: Token = this.peek()): never {
    throw syntaxError(this.text, t.pos, t.kind === "end" ? "end of input" : undefined);
  }
}

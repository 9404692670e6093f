/**
 * A query spark.sql cannot run fails with a SqlError that says what is wrong, where (line and column, the query
 * quoted with a caret), and which views and columns there are.
 */
import { afterAll, describe, expect, it } from "vitest";
import { SqlError } from "../../lib/core/errors.js";
import type { DataType, Table } from "../../lib/sql/data-types.js";
import type { SqlEngine } from "../../lib/sql/sql-engine.js";
import { loadSqlEngine } from "../../lib/sql/sql-engine-loader.js";

const column = (name: string, dataType: DataType) => ({ name, dataType, nullable: true });
const words: Table = {
  schema: { kind: "struct", fields: [column("word", { kind: "string" }), column("n", { kind: "integer" }), column("tags", { kind: "array", elementType: { kind: "string" }, containsNull: true })] },
  rows: [["a", 1, ["x"]], ["b", 2, []]],
};
const views = new Map([["words", words]]);

let engine: SqlEngine;
async function failure(query: string, v: ReadonlyMap<string, Table> = views): Promise<SqlError> {
  engine ??= await loadSqlEngine();
  const error = await engine.query(query, v).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SqlError);
  return error as SqlError;
}
afterAll(() => engine?.close());

describe("spark.sql errors", () => {
  it("reports a syntax error with its position, the query and a caret", async () => {
    const error = await failure("SELECT word FORM words");
    expect(error.code).toBe("SqlSyntaxError");
    expect(error.details).toMatchObject({ query: "SELECT word FORM words", line: 1, column: 18 });
    expect(error.message).toBe(
      [
        'spark.sql failed: Parser Error: syntax error at or near "words"',
        "at line 1, column 18:",
        "  SELECT word FORM words",
        "                   ^",
        "views: words(word: string, n: int, tags: array<string>)",
      ].join("\n"),
    );
  });

  it("reports an unknown column with the views' columns", async () => {
    const error = await failure("SELECT wrod FROM words");
    expect(error.code).toBe("SqlAnalysisError");
    expect(error.message).toContain('Referenced column "wrod" not found');
    expect(error.message).toContain("at line 1, column 8:");
    expect(error.message).toContain("views: words(word: string, n: int, tags: array<string>)");
  });

  it("reports an unknown table, and says how to register one when there is none", async () => {
    expect((await failure("SELECT * FROM nope")).message).toMatch(/Table with name nope does not exist[\s\S]*at line 1, column 15/);
    expect((await failure("SELECT * FROM nope", new Map())).message).toContain("views: none (register one with df.createOrReplaceTempView(name))");
  });

  it("reports a type mismatch on the line it is on, in a query of several lines", async () => {
    const query = "SELECT word,\n       n + tags\nFROM words";
    const error = await failure(query);
    expect(error.code).toBe("SqlAnalysisError");
    expect(error.details).toMatchObject({ line: 2, column: 10 });
    // The list of every overload DuckDB has for `+` is left out.
    expect(error.message).not.toContain("Candidate functions");
    expect(error.message).toContain(["at line 2, column 10:", "  SELECT word,", "         n + tags", "           ^", "  FROM words"].join("\n"));
  });

  it("finds the column in a long line DuckDB shortens around the error", async () => {
    const query = `SELECT ${Array.from({ length: 30 }, (_, i) => `n AS c${i}`).join(", ")}, nosuch FROM words`;
    const error = await failure(query);
    expect((error.cause as Error).message).toMatch(/LINE 1: \.\.\./);
    expect(error.details).toMatchObject({ line: 1, column: query.indexOf("nosuch") + 1 });
  });

  it("reports a value that does not fit at run time", async () => {
    const error = await failure("SELECT CAST(word AS INT) FROM words");
    expect(error.code).toBe("SqlExecutionError");
    expect(error.message).toMatch(/Could not convert string 'a' to INT32/);
  });

  it("runs one query, not several statements and not DDL", async () => {
    expect((await failure("SELECT 1; SELECT 2")).message).toContain("spark.sql runs one statement, and the query has 2");
    expect((await failure("DROP TABLE words")).message).toContain("spark.sql runs queries (SELECT, WITH … SELECT, VALUES)");
  });

  it("refuses a result column with no Spark type, naming it", async () => {
    expect((await failure("SELECT INTERVAL 1 DAY AS gap")).message).toContain("column gap is of DuckDB type INTERVAL, which has no Spark type here");
  });

  it("names the view, row and column of a value that does not match the view's schema", async () => {
    const bad: Table = { schema: { kind: "struct", fields: [column("n", { kind: "integer" })] }, rows: [[1], ["two"]] };
    const error = await failure("SELECT * FROM bad", new Map([["bad", bad]]));
    expect(error.code).toBe("SqlViewInvalid");
    expect(error.message).toContain('view bad, row 1, column n (integer): expected an integer, got "two"');
    // The engine is still usable, and the bad view was not half loaded.
    const good: Table = { schema: bad.schema, rows: [[1], [2]] };
    expect((await engine.query("SELECT sum(n) AS s FROM bad", new Map([["bad", good]]))).rows).toEqual([[3]]);
  });
});

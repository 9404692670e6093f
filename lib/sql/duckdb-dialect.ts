/**
 * Where DuckDB's SQL (what `spark.sql` runs) differs from Spark SQL, in the ways users hit first, and the Spark
 * functions the engine adds as DuckDB macros because the translation is exact and cheap. Nothing rewrites the
 * query's text: a macro is a function DuckDB resolves like its own.
 *
 * Same in both (with the macros below): `/` on integers gives a double (7 / 2 = 3.5); `count(*)` is a long (named `count(1)`, as Spark names it); `avg` a double; `sum` of
 * ints or longs a long (DuckDB computes HUGEINT, read back as long); integer overflow fails the query (Spark's
 * ANSI mode, the default since Spark 4); `row_number()`, `rank()`, `dense_rank()`, `ntile()` are ints in the result's schema
 * (duckdb-result-facts.ts); identifiers and view names match case-insensitively; window functions,
 * CASE, subqueries, joins; `substring`/`substr`, `lower`/`lcase`, `upper`/`ucase`, `instr`, `length`, `trim`,
 * `concat_ws`, `coalesce`, `ifnull`, `if`, `round`, `abs`, `floor`, `ceil`, `array_contains`, `split`,
 * `regexp_replace`, `date_add`, `year`/`month`/`day`.
 *
 * Different (write it DuckDB's way):
 * - `"text"` is an identifier, not a string: write string literals with single quotes (`name = 'bob'`).
 * - `a div b` does not parse: write `a // b` for integer division.
 * - `concat('a', NULL)` is `'a'` (Spark: NULL); `'a' || NULL` is NULL in both.
 * - A string is not implicitly cast to a number (`'1' + 1` fails to bind; Spark casts): `CAST('1' AS INT) + 1`.
 * - `explode(...)` is `unnest(...)`; `named_struct('a', 1)` is `{'a': 1}`; `date_format(d, fmt)` is
 *   `strftime(d, fmt)` with C-style patterns.
 * - `datediff(end, start)` is `datediff('day', start, end)`.
 * - `CAST(1.5 AS INT)` rounds to 2 (Spark truncates toward zero: 1): `CAST(trunc(x) AS INT)` gives Spark's.
 * - `CAST('a' AS INT)` fails the query, as in Spark 4's ANSI mode (Spark 3.5: NULL): `TRY_CAST('a' AS INT)` is NULL.
 * - Result columns DuckDB names for an expression without an alias are named DuckDB's way (`(7 / 2)`,
 *   `lower('A')`; Spark: `(7 / 2)`, `lower(A)`): give the columns a program reads an alias.
 */
export const SPARK_FUNCTIONS = [
  // Spark's null-handling helpers.
  "CREATE MACRO nvl(a, b) AS coalesce(a, b);",
  "CREATE MACRO nvl2(a, b, c) AS CASE WHEN a IS NOT NULL THEN b ELSE c END;",
  // Spark's positive modulus.
  "CREATE MACRO pmod(a, b) AS ((a % b) + b) % b;",
  // Spark's size of an array (NULL for NULL, as in Spark's ANSI mode).
  "CREATE MACRO size(x) AS len(x);",
  // Spark's collect_list/collect_set skip nulls; DuckDB's list keeps them.
  // Spark's collect_list/collect_set skip nulls and give an empty array for a group of nulls only; DuckDB's list
  // keeps nulls and gives NULL there.
  "CREATE MACRO collect_list(x) AS coalesce(list(x) FILTER (WHERE x IS NOT NULL), []);",
  "CREATE MACRO collect_set(x) AS coalesce(list(DISTINCT x) FILTER (WHERE x IS NOT NULL), []);",
  // Spark types these as int, DuckDB as bigint: the macros (in the main schema, found before DuckDB's own in the
  // system schema) cast DuckDB's result.
  ...["length", "year", "month", "day", "hour", "minute", "second"].map((name) => `CREATE MACRO ${name}(a) AS CAST(system.main.${name}(a) AS INTEGER);`),
  "CREATE MACRO instr(a, b) AS CAST(system.main.instr(a, b) AS INTEGER);",
].join("\n");

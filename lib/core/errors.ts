/**
 * Every error sparkless throws. A class says what the caller should do about it; `code` is a stable
 * PascalCase name to match on; `details` carries the values involved.
 *
 * - {@link ValidationError}: the program is wrong (fix the pipeline definition); thrown when the graph is
 *   built or the context starts, never in the middle of a batch.
 * - {@link IllegalStateError}: the call is not allowed now (Spark's IllegalStateException).
 * - {@link UserFunctionError}: a function the user passed threw; names the operator and, once known, the
 *   batch time.
 * - {@link NoSuchElementError}: Spark's NoSuchElementException (State.get on an unset state, first() of an
 *   empty RDD).
 * - {@link CheckpointError}: a checkpoint cannot be read or does not match the program.
 * - {@link SourceError}: a source cannot reach or read its input any more (a socket that stays down, a
 *   Kinesis stream that was deleted); the stream stops with it.
 * - {@link AnalysisError}: a DataFrame operation names a column that does not exist, or combines types that do
 *   not go together (Spark's AnalysisException).
 */
export class SparklessError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ValidationError extends SparklessError {}

export class IllegalStateError extends SparklessError {}

export class NoSuchElementError extends SparklessError {}

export class CheckpointError extends SparklessError {}

export class SourceError extends SparklessError {}

/**
 * A DataFrame operation cannot be resolved against its input: a column that does not exist (the message lists
 * the ones that do), an ambiguous name, operands whose types do not go together. Spark's AnalysisException,
 * named as this file names Spark's exceptions (NoSuchElementError for NoSuchElementException). The message
 * starts with Spark's error class (`[UNRESOLVED_COLUMN.WITH_SUGGESTION] ...`), which `details.errorClass` also
 * holds. Inside foreachRDD or transform it fails that batch's job, as any error the function throws does.
 */
export class AnalysisError extends SparklessError {}

export class UserFunctionError extends SparklessError {
  constructor(
    readonly operator: string,
    cause: unknown,
    readonly batchTime?: number,
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    const at = batchTime === undefined ? "" : ` in the batch of time ${batchTime} ms`;
    super("UserFunctionFailed", `the function given to ${operator} threw${at}: ${why}`, { operator, batchTime }, { cause });
  }

  /** The same failure, now that the batch it happened in is known. */
  atBatch(time: number): UserFunctionError {
    return this.batchTime === undefined ? new UserFunctionError(this.operator, this.cause, time) : this;
  }
}

/**
 * A value cannot be written where it must go (a part, node memory, a checkpoint): a circular object, a
 * function. Per record, the shard stage turns it into a dead letter; elsewhere it fails the batch.
 */
export class EncodingError extends SparklessError {}

/**
 * A pair operation (reduceByKey, join, updateStateByKey …) met an element that is not a `[key, value]` array.
 * TypeScript rejects such a pipeline at compile time; plain JavaScript does not, and `"a"[0]` would quietly
 * make a key of a string's first letter. Handled as a throwing user function: the batch fails locally, and
 * the record is dead-lettered on the serverless shard stage.
 */
export class NotAPairError extends UserFunctionError {
  constructor(
    operator: string,
    readonly element: unknown,
    batchTime?: number,
  ) {
    const why = `needs [key, value] pairs and got ${describeElement(element)}: map each element to a [key, value] array before ${operator.split(" ")[0]}`;
    super(operator, new TypeError(why), batchTime);
    const at = batchTime === undefined ? "" : ` (batch of time ${batchTime} ms)`;
    // The inherited message says a function threw; here the data is wrong, and the message says so.
    Object.assign(this, { code: "NotAKeyValuePair", message: `${operator} ${why}${at}` });
  }

  override atBatch(time: number): UserFunctionError {
    return this.batchTime === undefined ? new NotAPairError(this.operator, this.element, time) : this;
  }
}

function describeElement(value: unknown): string {
  const kind = value === null ? "null" : Array.isArray(value) ? `an array of ${value.length}` : `a ${typeof value}`;
  let text: string;
  try {
    text = typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  if (text.length > 60) text = `${text.slice(0, 57)}...`;
  return `${text} (${kind})`;
}

/**
 * `spark.sql(...)` could not run the query: a syntax error (`SqlSyntaxError`), an unknown table, column or
 * function or a type mismatch (`SqlAnalysisError`), a value that does not fit at run time (`SqlExecutionError`),
 * a view's row that does not match its schema (`SqlViewInvalid`), or no SQL engine installed (`SqlEngineMissing`).
 * The message quotes the query with a caret at the position and lists the views and their columns; `details`
 * holds `query`, `line` and `column` (1-based, when the engine reports them) and `views`. Thrown inside a batch's
 * job, it fails that job like any error a user function throws: the batch's dead letter records it, and later
 * batches run.
 */
export class SqlError extends SparklessError {}

import { ValidationError } from "../core/errors.js";
import { writeBatchDirectory } from "../io/text-file-sink.js";
import { currentBatch } from "./batch-scope.js";
import type { DataFrame } from "./dataframe.js";
import { rowToJson, rowsToCsv } from "./text-formats.js";

/** How a write treats what the path holds (Spark's `SaveMode`, the two a batch can repeat safely). */
export type SaveMode = "overwrite" | "append";

/**
 * Writes a DataFrame's rows (Spark's `DataFrameWriter`): `df.write.json(path)`, `df.write.option("header",
 * true).csv(path)`, `df.write.mode("append").format("json").save(path)`. A write returns a promise: await it
 * in an async `foreachRDD` function.
 *
 * Inside a batch it goes where `saveAsTextFiles` goes — local files, or the pipeline's output prefix in S3
 * when the finalizer runs the batch on AWS — and is idempotent per batch time, since a batch may run again
 * (after recovery locally, at least once on AWS):
 *
 * - `overwrite` (the default here): `path/part-00000` and `path/_SUCCESS`, replacing what was there. Put the
 *   batch time in the path (`out/people-${time.milliseconds}`) to keep each batch's rows.
 * - `append`: `path/time=<batch time ms>/part-00000`, a directory per batch that a run of the same batch
 *   replaces; Spark reads `path` back as one table with a `time` partition column.
 *
 * Spark's default mode, `errorifexists`, is not offered: a batch that runs again must be able to write again.
 */
export class DataFrameWriter {
  private saveMode: SaveMode = "overwrite";
  private formatName: "json" | "csv" = "json";
  private readonly options: Record<string, string> = {};

  /** @internal */
  constructor(private readonly df: DataFrame) {}

  mode(mode: SaveMode | string): this {
    const m = mode.toLowerCase();
    if (m !== "overwrite" && m !== "append") {
      throw new ValidationError(
        "UnsupportedSaveMode",
        `save mode "${mode}" is not supported: use "overwrite" (replace the path) or "append" (a directory per batch under the path); a batch may run again, so a write must be repeatable`,
        { mode },
      );
    }
    this.saveMode = m;
    return this;
  }

  format(source: string): this {
    const f = source.toLowerCase();
    if (f !== "json" && f !== "csv") throw new ValidationError("UnsupportedFormat", `format "${source}" is not supported: use "json" (JSON lines) or "csv"`, { format: source });
    this.formatName = f;
    return this;
  }

  /** A CSV option: `header` (default false), `sep`/`delimiter` (default ","), `nullValue` (default ""). */
  option(key: string, value: string | number | boolean): this {
    this.options[key.toLowerCase()] = String(value);
    return this;
  }

  json(path: string): Promise<void> {
    return this.format("json").save(path);
  }

  csv(path: string): Promise<void> {
    return this.format("csv").save(path);
  }

  async save(path: string): Promise<void> {
    const schema = this.df.schema;
    const rows = this.df.collect();
    const lines =
      this.formatName === "json"
        ? rows.map((row) => rowToJson(row, schema))
        : rowsToCsv(rows, schema, {
            header: this.options.header === "true",
            sep: this.options.sep ?? this.options.delimiter,
            nullValue: this.options.nullvalue,
          });
    const batch = currentBatch();
    if (this.saveMode === "append" && !batch) {
      throw new ValidationError("AppendOutsideBatch", `mode("append") writes one directory per batch time under ${path}: call it inside foreachRDD, or use mode("overwrite")`, { path });
    }
    const target = this.saveMode === "append" ? `${path.replace(/\/+$/, "")}/time=${batch!.time.milliseconds}` : path;
    if (batch) await batch.writeBatch(target, [lines]);
    else await writeBatchDirectory(target, [lines]);
  }
}

import { valueToString } from "./cast.js";
import type { Row, StructType } from "./data-types.js";
import { escapeMetaCharacters } from "./types.js";

// Spark's Utils.fullWidthRegex: East Asian wide characters take two columns of a terminal.
const FULL_WIDTH = /[\u1100-\u115F\u2E80-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE10-\uFE19\uFE30-\uFE6F\uFF00-\uFF60\uFFE0-\uFFE6]/g;

/** Spark's `Utils.stringHalfWidth`: UTF-16 length, plus one for each full-width character. */
export function stringHalfWidth(s: string): number {
  return s.length + (s.match(FULL_WIDTH)?.length ?? 0);
}

/**
 * Spark's `Dataset.showString(numRows, truncate)`: the table `show()` prints. `rows` holds up to `numRows + 1`
 * rows (one more tells whether to add the "only showing" footer). Cells are rendered as ToPrettyString does
 * (`NULL`, Java's doubles), cut to `truncate` characters with `...`, right-aligned when truncating and
 * left-aligned when not, in columns at least 3 wide.
 */
export function showString(schema: StructType, rows: readonly Row[], numRows: number, truncate: number): string {
  const shown = rows.slice(0, numRows);
  const cut = (s: string) => {
    if (truncate <= 0 || s.length <= truncate) return s;
    return truncate < 4 ? s.slice(0, truncate) : `${s.slice(0, truncate - 3)}...`;
  };
  const table: string[][] = [
    schema.fields.map((f) => escapeMetaCharacters(f.name)),
    ...shown.map((row) => schema.fields.map((f, i) => cut(escapeMetaCharacters(valueToString(row[i], f.dataType, "NULL"))))),
  ];
  const widths = schema.fields.map((_, i) => Math.max(3, ...table.map((r) => stringHalfWidth(r[i]!))));
  const pad = (cell: string, i: number) => {
    const fill = " ".repeat(widths[i]! - stringHalfWidth(cell));
    return truncate > 0 ? fill + cell : cell + fill;
  };
  const sep = `+${widths.map((w) => "-".repeat(w)).join("+")}+\n`;
  const line = (r: string[]) => `|${r.map(pad).join("|")}|\n`;
  let out = sep + line(table[0]!) + sep;
  for (const r of table.slice(1)) out += line(r);
  out += sep;
  if (rows.length > numRows) out += `only showing top ${numRows} ${numRows === 1 ? "row" : "rows"}\n`;
  return out;
}

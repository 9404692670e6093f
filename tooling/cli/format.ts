/** Plain-text layout for command output: aligned tables and times, no colour codes (output is often piped). */

/** Columns padded to their widest cell; `right` columns (numbers) are right-aligned. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, right: ReadonlySet<number> = new Set()): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

/** `label   value` lines with the labels aligned. */
export function fields(pairs: ReadonlyArray<readonly [string, string]>): string {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n") + "\n";
}

/** An epoch-ms time as ISO-8601 (UTC), the form every AWS console and log shows. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A duration for people: 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

/** A batch time as Spark shows it in print(), with the clock time beside it: `1718000005000 ms (12:00:05Z)`. */
export function batchTime(ms: number): string {
  return `${ms} ms (${iso(ms).slice(11, 19)}Z)`;
}

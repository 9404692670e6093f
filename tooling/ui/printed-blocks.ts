/**
 * A batch's print() block from the embedded stack's function logs (`<state dir>/logs/*.log`, where the stack
 * appends each function's output and `sparkless tail` follows it), parsed as the stack parses it live.
 */
import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { printBlockParser } from "../stack/events.js";

/** The end of each log file read, at most: the batches the page shows are recent. */
const TAIL_BYTES = 4 * 1024 * 1024;

/** The last block printed for `time` in any of the log files, or undefined. */
export function printedBlock(logsDir: string, time: number): string[] | undefined {
  let found: string[] | undefined;
  let names: string[];
  try {
    names = readdirSync(logsDir).filter((n) => n.endsWith(".log"));
  } catch {
    return undefined;
  }
  for (const name of names) {
    const parse = printBlockParser((t, lines) => {
      if (t === time) found = lines;
    });
    for (const line of tail(join(logsDir, name)).split("\n")) parse(line);
  }
  return found;
}

function tail(file: string): string {
  const size = statSync(file).size;
  const start = Math.max(0, size - TAIL_BYTES);
  const buf = Buffer.alloc(size - start);
  const fd = openSync(file, "r");
  try {
    readSync(fd, buf, 0, buf.length, start);
  } finally {
    closeSync(fd);
  }
  return buf.toString("utf8");
}

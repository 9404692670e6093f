import type { OutStream } from "./io.js";

const CLEAR_LINE = "\r\x1b[2K";

/**
 * Output that scrolls, plus one status line kept at the bottom on a terminal (redrawn in place, never
 * repeated). Off a terminal the status line is not drawn at all: whoever calls `status` also prints the
 * events that matter as lines, so a log file reads as a calm list of what happened.
 */
export class Screen {
  private current: string | undefined;

  constructor(private readonly out: OutStream) {}

  get live(): boolean {
    return this.out.isTTY === true;
  }

  /** Text that stays (printed blocks, events); the status line is redrawn below it. */
  print(text: string): void {
    const t = text.endsWith("\n") ? text : text + "\n";
    if (this.live && this.current !== undefined) this.out.write(CLEAR_LINE + t + this.current);
    else this.out.write(t);
  }

  /** Replaces the status line (terminal only). */
  status(text: string): void {
    if (!this.live) return;
    const cols = this.out.columns;
    const fitted = cols && text.length >= cols ? text.slice(0, Math.max(1, cols - 2)) + "…" : text;
    if (fitted === this.current) return;
    this.current = fitted;
    this.out.write(CLEAR_LINE + fitted);
  }

  /** Removes the status line, so what follows starts on a clean line. */
  close(): void {
    if (this.live && this.current !== undefined) this.out.write(CLEAR_LINE);
    this.current = undefined;
  }
}

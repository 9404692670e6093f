import { connect, type Socket } from "node:net";
import type { Time } from "../core/duration.js";
import { SourceError, ValidationError } from "../core/errors.js";
import type { Source, SourceContext } from "./source.js";

/**
 * A source that cannot deliver: it could not connect, lost its connection, or gave up. `code` says which
 * (`SocketConnectFailed`, `SocketConnectionLost`, `SocketSourceFailed`, `KinesisStreamNotFound`, ...).
 *
 * Proposed for lib/errors.ts beside the other classes; it lives here until that file takes it.
 */
export { SourceError };

/** Where a receiver-style source is: what `status` reports. */
export type SourceStatus = "idle" | "connecting" | "connected" | "retrying" | "failed" | "stopped";

export interface SocketTextSourceOptions {
  /**
   * Wait before the first reconnection after the server went away or refused; doubled after each failed
   * attempt up to `maxBackoffMs`.
   * @default 100
   */
  readonly initialBackoffMs?: number;
  /** @default 5000 */
  readonly maxBackoffMs?: number;
  /**
   * Consecutive failed connection attempts after which the source gives up: its status becomes `failed` and
   * `take` throws a {@link SourceError} (`SocketSourceFailed`). `Infinity` retries for ever, as Spark's receiver
   * does (it restarts every 2 s and only logs).
   * @default 10
   */
  readonly maxConnectAttempts?: number;
  /** How long one connection attempt may take. @default 10000 */
  readonly connectTimeoutMs?: number;
  /**
   * Told of every failed attempt, lost connection and of the final failure, as it happens (Spark's
   * `StreamingListener.onReceiverError`).
   * @default - nothing: read `lastError` and `status`
   */
  readonly onError?: (error: SourceError) => void;
  /**
   * Told each time a connection is made (after failures too), so a caller that reported them can say it
   * recovered.
   * @default - nothing: read `status`
   */
  readonly onConnect?: (address: string) => void;
}

const DEFAULTS = { initialBackoffMs: 100, maxBackoffMs: 5_000, maxConnectAttempts: 10, connectTimeoutMs: 10_000 };

/**
 * Spark's `socketTextStream(host, port)`: a TCP client that reads newline-separated UTF-8 text, one element per
 * line. Each batch holds the lines received since the previous batch (a record goes to the batch during which
 * it was received).
 *
 * - Lines end with `\n` (a `\r` before it is dropped). A line without its newline waits for it; when the server
 *   closes the connection cleanly, a last unterminated line is delivered, as Java's `BufferedReader.readLine`
 *   does for Spark. Bytes that are not UTF-8 decode to U+FFFD, as Java's reader does.
 * - When the server goes away the source reconnects with exponential backoff (capped); a connection reset in the
 *   middle of a line dead-letters the partial line (it cannot be completed: the next connection is a new stream).
 * - A connection it cannot make is reported, never hidden: `status`, `lastError`, `onError`, and after
 *   `maxConnectAttempts` consecutive failures the source fails (`take` throws, once it has handed over every
 *   line it received).
 * - No `position()`: socket data cannot be replayed. As in Spark without a write-ahead log, lines received but
 *   not yet handed to a completed batch are lost if the process dies.
 * - Backoff uses real timers, not the context's clock: it paces network I/O, not batches.
 *
 * @example
 * // nc -lk 9999
 * const lines = new SocketTextSource("127.0.0.1", 9999, { maxConnectAttempts: Infinity });
 */
export class SocketTextSource implements Source<string> {
  readonly kind = "socket";
  private readonly options: Required<Omit<SocketTextSourceOptions, "onError" | "onConnect">> & Pick<SocketTextSourceOptions, "onError" | "onConnect">;
  private context: SourceContext | undefined;
  private socket: Socket | undefined;
  private framer = new LineFramer();
  private buffer: string[] = [];
  private failedAttempts = 0;
  private backoffMs: number;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private closed: Promise<void> = Promise.resolve();
  private _status: SourceStatus = "idle";
  private _lastError: SourceError | undefined;
  private failure: SourceError | undefined;

  constructor(
    readonly host: string,
    readonly port: number,
    options: SocketTextSourceOptions = {},
  ) {
    const o = { ...DEFAULTS, ...options };
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new ValidationError("SocketPortInvalid", `socket port must be an integer from 1 to 65535, got ${port}`, { port });
    }
    if (host === "") throw new ValidationError("SocketHostEmpty", "socket host must not be empty");
    for (const name of ["initialBackoffMs", "maxBackoffMs", "connectTimeoutMs"] as const) {
      if (!(o[name] > 0) || !Number.isFinite(o[name])) {
        throw new ValidationError("SocketOptionInvalid", `${name} must be a positive number of milliseconds, got ${o[name]}`, { [name]: o[name] });
      }
    }
    if (!(o.maxConnectAttempts >= 1) || (Number.isFinite(o.maxConnectAttempts) && !Number.isInteger(o.maxConnectAttempts))) {
      throw new ValidationError("SocketOptionInvalid", `maxConnectAttempts must be a whole number >= 1 or Infinity, got ${o.maxConnectAttempts}`, {
        maxConnectAttempts: o.maxConnectAttempts,
      });
    }
    this.options = o;
    this.backoffMs = o.initialBackoffMs;
  }

  /** Where the connection is now. */
  get status(): SourceStatus {
    return this._status;
  }

  /** The most recent failure (kept after a later success, so a flapping server can be seen). */
  get lastError(): SourceError | undefined {
    return this._lastError;
  }

  /** Starts connecting; resolves once the first attempt has connected or failed (it never rejects). */
  start(context: SourceContext): Promise<void> {
    if (this._status !== "idle") {
      return Promise.reject(new SourceError("SourceAlreadyStarted", `socket source ${this.address} was already started`));
    }
    this.context = context;
    return new Promise((resolve) => this.connect(resolve));
  }

  async stop(): Promise<void> {
    if (this._status === "stopped") return;
    this._status = "stopped";
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.connectTimer);
    this.socket?.destroy();
    await this.closed;
  }

  /** Every line received since the previous call, in order; throws the {@link SourceError} once the source failed. */
  take(_time: Time): string[] {
    const lines = this.buffer;
    this.buffer = [];
    if (lines.length === 0 && this.failure) throw this.failure;
    return lines;
  }

  private get address(): string {
    return `${this.host}:${this.port}`;
  }

  private connect(settled?: () => void): void {
    if (this._status === "stopped") return settled?.();
    this._status = "connecting";
    const socket = connect({ host: this.host, port: this.port });
    this.socket = socket;
    let connected = false;
    let lostWith: Error | undefined;
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));

    this.connectTimer = setTimeout(() => {
      socket.destroy(Object.assign(new Error(`no connection within ${this.options.connectTimeoutMs} ms`), { code: "ETIMEDOUT" }));
    }, this.options.connectTimeoutMs);

    socket.on("connect", () => {
      clearTimeout(this.connectTimer);
      connected = true;
      this.failedAttempts = 0;
      this.backoffMs = this.options.initialBackoffMs;
      this.framer = new LineFramer();
      this._status = "connected";
      try {
        this.options.onConnect?.(this.address);
      } catch {
        // As for onError: a listener does not decide whether the source runs.
      }
      settled?.();
    });
    socket.on("data", (chunk: Buffer) => {
      for (const line of this.framer.push(chunk)) this.buffer.push(line);
    });
    socket.on("end", () => {
      // The server closed its side cleanly: a last line without newline is still a line.
      const last = this.framer.end();
      if (last !== undefined) this.buffer.push(last);
    });
    socket.on("error", (err) => {
      lostWith = err;
    });
    socket.on("close", () => {
      clearTimeout(this.connectTimer);
      if (this._status === "stopped") return settled?.();
      if (connected) {
        if (lostWith) this.connectionLost(lostWith);
        this.scheduleReconnect();
      } else {
        this.connectFailed(lostWith ?? new Error("connection closed before it was established"));
      }
      settled?.();
    });
  }

  private connectionLost(err: Error): void {
    const partial = this.framer.reset();
    if (partial !== "") {
      this.context?.deadLetter({
        source: `socket ${this.address}`,
        position: { host: this.host, port: this.port },
        reason: `connection lost in the middle of a line (${err.message}): the line cannot be completed`,
        raw: partial,
      });
    }
    this.report(
      new SourceError(
        "SocketConnectionLost",
        `connection to ${this.address} lost: ${err.message}; reconnecting in ${this.backoffMs} ms`,
        { host: this.host, port: this.port, errno: (err as NodeJS.ErrnoException).code },
        { cause: err },
      ),
    );
  }

  private connectFailed(err: Error): void {
    this.failedAttempts += 1;
    const max = this.options.maxConnectAttempts;
    const errno = (err as NodeJS.ErrnoException).code;
    const of = Number.isFinite(max) ? ` of ${max}` : "";
    const details = { host: this.host, port: this.port, attempt: this.failedAttempts, errno };
    if (this.failedAttempts >= max) {
      this._status = "failed";
      this.failure = new SourceError(
        "SocketSourceFailed",
        `socket source gave up connecting to ${this.address} after ${this.failedAttempts} attempts: ${err.message}` +
          ` (is a server listening there? e.g. \`nc -lk ${this.port}\`)`,
        details,
        { cause: err },
      );
      this.report(this.failure);
      return;
    }
    this.report(
      new SourceError(
        "SocketConnectFailed",
        `cannot connect to ${this.address} (attempt ${this.failedAttempts}${of}): ${err.message}; retrying in ${this.backoffMs} ms`,
        details,
        { cause: err },
      ),
    );
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this._status = "retrying";
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private report(error: SourceError): void {
    this._lastError = error;
    try {
      this.options.onError?.(error);
    } catch {
      // A throwing listener must not take the connection loop down with it.
    }
  }
}

/**
 * Cuts a byte stream into UTF-8 lines. Bytes may arrive in any chunking: a character split across chunks is
 * decoded once whole, and a line split across chunks waits for its newline.
 */
export class LineFramer {
  // Not fatal: malformed bytes become U+FFFD, as Java's InputStreamReader does for Spark's socket receiver.
  private decoder = new TextDecoder("utf-8");
  private pending: string[] = [];

  /** The lines completed by this chunk (without their `\n` / `\r\n`). */
  push(chunk: Uint8Array): string[] {
    const text = this.decoder.decode(chunk, { stream: true });
    const lines: string[] = [];
    let from = 0;
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", from)) {
      let line = text.slice(from, nl);
      if (this.pending.length > 0) {
        line = this.pending.join("") + line;
        this.pending = [];
      }
      lines.push(line.endsWith("\r") ? line.slice(0, -1) : line);
      from = nl + 1;
    }
    if (from < text.length) this.pending.push(text.slice(from));
    return lines;
  }

  /** End of stream: the unterminated last line, if any. */
  end(): string | undefined {
    const rest = this.reset();
    return rest === "" ? undefined : rest;
  }

  /** Drops and returns what was waiting for a newline (an incomplete character decodes to U+FFFD). */
  reset(): string {
    const rest = this.pending.join("") + this.decoder.decode();
    this.pending = [];
    return rest;
  }
}

import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Time } from "../../lib/core/duration.js";
import { LineFramer, SocketTextSource, SourceError, type SocketTextSourceOptions } from "../../lib/io/socket-text-source.js";
import { FakeSourceContext } from "../support/fake-source-context.js";

/** A line server like `nc -lk`: keeps its connected clients so the test can write to them and drop them. */
class LineServer {
  readonly clients: Socket[] = [];
  private constructor(private readonly server: Server) {
    server.on("connection", (s) => {
      s.setNoDelay(true);
      this.clients.push(s);
    });
  }

  static listen(port = 0): Promise<LineServer> {
    const server = createServer();
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve(new LineServer(server)));
    });
  }

  get port(): number {
    const addr = this.server.address();
    return typeof addr === "object" && addr ? addr.port : 0;
  }

  async connected(n = 1): Promise<Socket> {
    await vi.waitFor(() => expect(this.clients.length).toBeGreaterThanOrEqual(n), { timeout: 5_000, interval: 5 });
    return this.clients[n - 1]!;
  }

  /** Stops accepting, then ends (or resets) the open connections, and resolves once they are closed. */
  async close(how: "end" | "reset" = "end"): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.clients) {
      if (how === "end") c.end();
      else c.resetAndDestroy();
    }
    await closed;
  }
}

/** Runs the batches at 1000, 2000, ... ms until `want` lines have been taken; returns every batch. */
async function takeUntil(source: SocketTextSource, want: number, from = 1): Promise<string[][]> {
  const batches: string[][] = [];
  let t = from;
  await vi.waitFor(
    () => {
      batches.push(source.take(new Time(t++ * 1000)));
      expect(batches.flat().length).toBeGreaterThanOrEqual(want);
    },
    { timeout: 5_000, interval: 10 },
  );
  return batches;
}

const sources: SocketTextSource[] = [];
const servers: LineServer[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()));
  await Promise.all(servers.splice(0).map((s) => s.close().catch(() => undefined)));
});

function track<T extends SocketTextSource | LineServer>(x: T): T {
  if (x instanceof SocketTextSource) sources.push(x);
  else servers.push(x);
  return x;
}

describe("LineFramer", () => {
  it("decodes a multi-byte character split across chunks and waits for a line's newline", () => {
    const f = new LineFramer();
    const bytes = Buffer.from("héllo wörld\r\nzwei €\n", "utf8");
    const out: string[] = [];
    for (let i = 0; i < bytes.length; i++) out.push(...f.push(bytes.subarray(i, i + 1))); // one byte at a time
    expect(out).toEqual(["héllo wörld", "zwei €"]);
    expect(f.push(Buffer.from("no newline yet"))).toEqual([]);
    expect(f.push(Buffer.from(" - now\n\nlast"))).toEqual(["no newline yet - now", ""]);
    expect(f.end()).toBe("last");
    expect(f.end()).toBeUndefined();
  });
});

describe("SocketTextSource", () => {
  it("delivers every line once, in order, across the server going away and coming back", async () => {
    const first = track(await LineServer.listen());
    const port = first.port;
    const errors: SourceError[] = [];
    const source = track(new SocketTextSource("127.0.0.1", port, { initialBackoffMs: 20, maxBackoffMs: 100, onError: (e) => errors.push(e) }));
    const ctx = new FakeSourceContext();
    await source.start(ctx);
    expect(source.status).toBe("connected");

    const client = await first.connected();
    client.write("one\ntwo\nthr");
    client.write(Buffer.from([0x65, 0x65, 0x20, 0xe2, 0x82])); // "ee " and the first 2 bytes of "€"
    client.write(Buffer.from([0xac, 0x0a])); // the last byte of "€", newline
    const early = await takeUntil(source, 3);
    expect(early.flat()).toEqual(["one", "two", "three €"]);

    // The server goes away, leaving an unterminated last line: delivered, as BufferedReader.readLine does.
    client.write("four");
    await first.close("end");
    await vi.waitFor(() => expect(source.lastError?.code).toBe("SocketConnectFailed"), { timeout: 5_000, interval: 5 });
    expect(source.lastError!.message).toMatch(new RegExp(`^cannot connect to 127\\.0\\.0\\.1:${port} \\(attempt \\d+ of 10\\): .*ECONNREFUSED`));
    expect(source.status).toBe("retrying");

    // It comes back on the same port: the source reconnects by itself.
    const second = track(await LineServer.listen(port));
    const again = await second.connected();
    again.write("five\nsix\n");
    const late = await takeUntil(source, 3, 100);
    expect(late.flat()).toEqual(["four", "five", "six"]);
    expect(source.status).toBe("connected");
    expect(errors.every((e) => e instanceof SourceError && e.code === "SocketConnectFailed")).toBe(true);
    expect(ctx.deadLetters).toEqual([]);
    // Once handed over, a line is never handed again.
    expect(source.take(new Time(1_000_000))).toEqual([]);
  });

  it("dead-letters a partial line when the connection is reset in the middle of it", async () => {
    const server = track(await LineServer.listen());
    const ctx = new FakeSourceContext();
    const port = server.port;
    const source = track(new SocketTextSource("127.0.0.1", port, { initialBackoffMs: 20 }));
    await source.start(ctx);
    const client = await server.connected();
    client.write("whole\nhalf a li");
    await takeUntil(source, 1);
    await server.close("reset");
    await vi.waitFor(() => expect(ctx.deadLetters).toHaveLength(1), { timeout: 5_000, interval: 5 });
    expect(ctx.deadLetters[0]).toMatchObject({
      source: `socket 127.0.0.1:${port}`,
      position: { host: "127.0.0.1", port },
      raw: "half a li",
      reason: expect.stringMatching(/^connection lost in the middle of a line \(.*ECONNRESET.*\): the line cannot be completed$/),
    });
    expect(source.take(new Time(99_000))).toEqual([]);
  });

  it("fails if nothing listens on the port: reports each attempt, then gives up with a clear error", async () => {
    const probe = await LineServer.listen();
    const port = probe.port;
    await probe.close(); // the port is now free, with nothing listening

    const errors: SourceError[] = [];
    const source = track(new SocketTextSource("127.0.0.1", port, { initialBackoffMs: 5, maxConnectAttempts: 3, onError: (e) => errors.push(e) }));
    await source.start(new FakeSourceContext());
    expect(source.lastError?.code).toBe("SocketConnectFailed");
    await vi.waitFor(() => expect(source.status).toBe("failed"), { timeout: 5_000, interval: 5 });

    expect(errors.map((e) => e.code)).toEqual(["SocketConnectFailed", "SocketConnectFailed", "SocketSourceFailed"]);
    expect(errors[0]!.message).toMatch(new RegExp(`^cannot connect to 127\\.0\\.0\\.1:${port} \\(attempt 1 of 3\\): .*ECONNREFUSED.*; retrying in 5 ms$`));
    const failure = source.lastError!;
    expect(failure).toBeInstanceOf(SourceError);
    expect(failure.message).toMatch(
      new RegExp(`^socket source gave up connecting to 127\\.0\\.0\\.1:${port} after 3 attempts: .*ECONNREFUSED.* \\(is a server listening there\\? e\\.g\\. \`nc -lk ${port}\`\\)$`),
    );
    expect(failure.details).toMatchObject({ host: "127.0.0.1", port, attempt: 3, errno: "ECONNREFUSED" });
    expect(() => source.take(new Time(1000))).toThrow(failure);
  });

  it.each<[{ port?: number; opts?: SocketTextSourceOptions }, string]>([
    [{ port: 0 }, "socket port must be an integer from 1 to 65535, got 0"],
    [{ port: 70_000 }, "socket port must be an integer from 1 to 65535, got 70000"],
    [{ opts: { maxConnectAttempts: 0 } }, "maxConnectAttempts must be a whole number >= 1 or Infinity, got 0"],
    [{ opts: { initialBackoffMs: -1 } }, "initialBackoffMs must be a positive number of milliseconds, got -1"],
  ])("fails if the constructor is given %j", ({ port, opts }, message) => {
    expect(() => new SocketTextSource("127.0.0.1", port ?? 9999, opts)).toThrow(message);
  });
});

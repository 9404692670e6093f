import { createServer, type Server, type Socket, connect } from "node:net";
import { createServer as createTlsServer, type TlsOptions } from "node:tls";
import { IllegalStateError } from "../../lib/core/errors.js";

/*
 * Adding partitions to a topic, for tests, on a mock cluster that cannot: a TCP proxy in front of each mock broker
 * that answers Metadata requests with only the first N partitions of the topics it hides, until told to show
 * more. To a client that is what adding partitions looks like: new partition ids appear in the metadata, empty.
 * (Write to a hidden partition only after it is shown, through the mock's own address.)
 *
 * It speaks just enough of the protocol for that: request and response frames (a 4-byte size), the request
 * header (api key, version, correlation id), and the Metadata response of versions 1 to 8 (the non-flexible
 * ones; kafkajs asks for 6). Every other byte passes through unchanged. Broker addresses in Metadata answers are
 * rewritten to the proxies, so a client never reaches the mock around it.
 *
 * Two more things a test may ask of it, since every request passes through it: TLS in front of the mock (which
 * speaks plaintext only), with Node's server options (`requestCert` and `rejectUnauthorized` make a broker that
 * requires a client certificate, as mTLS does), and a look at each request's API key as it passes (which Kafka
 * operations a client used, e.g. to check them against the IAM actions MSK would authorize).
 */

export interface PartitionProxyOptions {
  /** Serve TLS to clients with these options (the mock behind stays plaintext). @default - plaintext */
  readonly tls?: TlsOptions;
  /** Called with each request's API key and version as it passes. @default - none */
  readonly onRequest?: (apiKey: number, version: number) => void;
}

export interface PartitionProxy {
  /** The proxies' addresses, one per mock broker, as a client's bootstrap servers. */
  readonly brokers: readonly string[];
  readonly bootstrapServers: string;
  /** Shows the first `count` partitions of `topic` (all of them: a count at least the topic's). */
  show(topic: string, count: number): void;
  stop(): Promise<void>;
}

/**
 * Starts one proxy per broker of `upstream` ("host:port" each) on a loopback port; `visible` says how many
 * partitions of which topics clients see at first.
 *
 * @example
 * const proxy = await startPartitionProxy(kafka.brokers, { clicks: 2 }); // clicks has 3; clients see 0 and 1
 * proxy.show("clicks", 3); // partition 2 "is added"
 */
export async function startPartitionProxy(upstream: readonly string[], visible: Readonly<Record<string, number>>, options: PartitionProxyOptions = {}): Promise<PartitionProxy> {
  const shown = new Map(Object.entries(visible));
  const sockets = new Set<Socket>();
  const servers: Server[] = [];
  const portOf = new Map<number, number>(); // upstream port -> proxy port
  for (const address of upstream) {
    const [host, port] = splitAddress(address);
    const server: Server = options.tls
      ? createTlsServer(options.tls, (client) => pipe(client, host, port)).on("tlsClientError", () => {})
      : createServer((client) => pipe(client, host, port));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push(server);
    portOf.set(port, (server.address() as { port: number }).port);
  }

  function pipe(client: Socket, host: string, port: number): void {
    const broker = connect(port, host);
    sockets.add(client).add(broker);
    const asked = new Map<number, { apiKey: number; version: number }>();
    const close = () => {
      client.destroy();
      broker.destroy();
      sockets.delete(client);
      sockets.delete(broker);
    };
    client.on("error", close).on("close", close);
    broker.on("error", close).on("close", close);
    frames(client, (frame) => {
      asked.set(frame.readInt32BE(8), { apiKey: frame.readInt16BE(4), version: frame.readInt16BE(6) });
      options.onRequest?.(frame.readInt16BE(4), frame.readInt16BE(6));
      broker.write(frame);
    });
    frames(broker, (frame) => {
      const correlationId = frame.readInt32BE(4);
      const request = asked.get(correlationId);
      asked.delete(correlationId);
      client.write(request?.apiKey === 3 ? rewriteMetadata(frame, request.version, shown, portOf) : frame);
    });
  }

  const brokers = servers.map((s) => `127.0.0.1:${(s.address() as { port: number }).port}`);
  return {
    brokers,
    bootstrapServers: brokers.join(","),
    show: (topic, count) => void shown.set(topic, count),
    stop: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    },
  };
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(":");
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

/** Calls `onFrame` with each whole size-prefixed frame (size included) read from `socket`. */
function frames(socket: Socket, onFrame: (frame: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      const size = 4 + pending.readInt32BE(0);
      onFrame(pending.subarray(0, size));
      pending = pending.subarray(size);
    }
  });
}

/** A Metadata response frame with hidden partitions left out and broker ports pointing at the proxies. */
function rewriteMetadata(frame: Buffer, version: number, shown: ReadonlyMap<string, number>, portOf: ReadonlyMap<number, number>): Buffer {
  if (version < 1 || version > 8) throw new IllegalStateError("PartitionProxyVersion", `the partition proxy reads Metadata v1 to v8, the client asked for v${version}`);
  const r = new Reader(frame, 8);
  const w = new Writer();
  w.int32(frame.readInt32BE(4)); // correlation id
  if (version >= 3) w.int32(r.int32()); // throttle time
  w.array(r, () => {
    w.int32(r.int32()); // node id
    w.string(r.string()); // host: the proxies listen on loopback, as the mock does
    w.int32(portOf.get(r.int32()) ?? 0);
    w.string(r.string()); // rack
  });
  if (version >= 2) w.string(r.string()); // cluster id
  w.int32(r.int32()); // controller id
  w.array(r, () => {
    w.int16(r.int16()); // error code
    const name = r.string();
    w.string(name);
    w.int8(r.int8()); // is internal
    const limit = name === null ? undefined : shown.get(name);
    const partitions: Buffer[] = [];
    const count = r.int32();
    for (let i = 0; i < count; i++) {
      const p = new Writer();
      p.int16(r.int16()); // error code
      const index = r.int32();
      p.int32(index);
      p.int32(r.int32()); // leader
      if (version >= 7) p.int32(r.int32()); // leader epoch
      for (let lists = version >= 5 ? 3 : 2; lists > 0; lists--) {
        const n = r.int32();
        p.int32(n);
        for (let j = 0; j < n; j++) p.int32(r.int32());
      }
      if (limit === undefined || index < limit) partitions.push(p.bytes());
    }
    w.int32(partitions.length);
    for (const p of partitions) w.raw(p);
    if (version >= 8) w.int32(r.int32()); // topic authorized operations
  });
  if (version >= 8) w.int32(r.int32()); // cluster authorized operations
  const body = w.bytes();
  const out = Buffer.alloc(4 + body.length);
  out.writeInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

class Reader {
  constructor(
    private readonly buf: Buffer,
    private at: number,
  ) {}
  int8(): number {
    return this.buf.readInt8(this.at++);
  }
  int16(): number {
    const v = this.buf.readInt16BE(this.at);
    this.at += 2;
    return v;
  }
  int32(): number {
    const v = this.buf.readInt32BE(this.at);
    this.at += 4;
    return v;
  }
  string(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    const v = this.buf.toString("utf8", this.at, this.at + n);
    this.at += n;
    return v;
  }
}

class Writer {
  private readonly parts: Buffer[] = [];
  private fixed(size: number, write: (b: Buffer) => void): void {
    const b = Buffer.alloc(size);
    write(b);
    this.parts.push(b);
  }
  int8(v: number): void {
    this.fixed(1, (b) => b.writeInt8(v));
  }
  int16(v: number): void {
    this.fixed(2, (b) => b.writeInt16BE(v));
  }
  int32(v: number): void {
    this.fixed(4, (b) => b.writeInt32BE(v));
  }
  string(v: string | null): void {
    if (v === null) return this.int16(-1);
    const bytes = Buffer.from(v, "utf8");
    this.int16(bytes.length);
    this.parts.push(bytes);
  }
  raw(b: Buffer): void {
    this.parts.push(b);
  }
  /** An array read from `r` and written as it is read, element by element. */
  array(r: Reader, each: () => void): void {
    const n = r.int32();
    this.int32(n);
    for (let i = 0; i < n; i++) each();
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

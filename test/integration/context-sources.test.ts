/**
 * The context's source methods end to end: what a user types (ssc.socketTextStream, ssc.textFileStream)
 * against a real TCP server and a real directory, counted by the engine.
 */
import { mkdtempSync, renameSync, utimesSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, Seconds, StreamingContext } from "../../lib/index.js";

const contexts: StreamingContext[] = [];
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.stop()));
});

function wordCounts(ssc: StreamingContext, lines: ReturnType<StreamingContext["socketTextStream"]>) {
  const seen = new Map<string, number>();
  lines
    .flatMap((l) => l.split(" "))
    .map((w) => [w, 1] as [string, number])
    .reduceByKey((a, b) => a + b)
    .foreachRDD((rdd) => {
      for (const [w, n] of rdd.collect()) seen.set(w, (seen.get(w) ?? 0) + n);
    });
  contexts.push(ssc);
  return seen;
}

describe("ssc.socketTextStream", () => {
  it("counts the lines a TCP server sends, as nc -lk would", async () => {
    const clients: Socket[] = [];
    const server = createServer((socket) => {
      clients.push(socket);
      socket.end("to be or\nnot to be\n");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const clock = new ManualClock();
      const ssc = new StreamingContext({ batchInterval: Seconds(1), clock });
      const counts = wordCounts(ssc, ssc.socketTextStream("127.0.0.1", port, { maxConnectAttempts: 3 }));
      await ssc.start();
      // The lines arrive over a real socket: let batches pass until they have been received (bounded).
      for (let i = 0; i < 50 && (counts.get("be") ?? 0) < 2; i++) {
        await new Promise((r) => setTimeout(r, 20));
        await clock.advance(Seconds(1));
      }
      expect(Object.fromEntries(counts)).toEqual({ to: 2, be: 2, or: 1, not: 1 });
    } finally {
      for (const c of clients) c.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});

describe("ssc.textFileStream", () => {
  it("counts the lines of files moved into the directory after start, each file once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sparkless-files-"));
    const staging = mkdtempSync(join(tmpdir(), "sparkless-staging-"));
    writeFileSync(join(dir, "before.txt"), "old old old\n"); // there before start: not read (Spark's rule)
    const clock = new ManualClock(10_000);
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock });
    const counts = wordCounts(ssc, ssc.textFileStream(dir));
    await ssc.start();
    const put = (name: string, text: string, mtime: number) => {
      writeFileSync(join(staging, name), text);
      utimesSync(join(staging, name), mtime / 1000, mtime / 1000); // the file's time in the manual clock's range
      renameSync(join(staging, name), join(dir, name));
    };
    put("a.txt", "to be or\n", 10_500);
    await clock.advance(Seconds(1));
    put("b.txt", "not to be\n", 11_500);
    await clock.advance(Seconds(3));
    expect(Object.fromEntries(counts)).toEqual({ to: 2, be: 2, or: 1, not: 1 });
  });
});

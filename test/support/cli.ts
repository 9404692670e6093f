import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from "@aws-sdk/client-kinesis";
import type { CliIo } from "../../tooling/cli/io.js";
import type { StackFile } from "../../tooling/cli/stack-file.js";

/** A CliIo that collects what a command writes, with a stop button (Ctrl-C) and optional stdin. */
export function testIo(options: { cwd: string; stdin?: string | NodeJS.ReadableStream; env?: Record<string, string | undefined>; tty?: boolean }) {
  const out: string[] = [];
  const err: string[] = [];
  const controller = new AbortController();
  const io: CliIo = {
    stdout: { write: (s: string) => void out.push(s), isTTY: options.tty ?? false, columns: 120 },
    stderr: { write: (s: string) => void err.push(s), isTTY: false },
    stdin: typeof options.stdin === "object" ? options.stdin : Readable.from(options.stdin === undefined ? [] : [options.stdin]),
    // Only what the test gives: the developer's AWS_ENDPOINT_URL or AWS_PROFILE must not leak into a test.
    env: options.env ?? {},
    cwd: options.cwd,
    signal: controller.signal,
  };
  return {
    io,
    stdout: () => out.join(""),
    stderr: () => err.join(""),
    /** Ctrl-C. */
    interrupt: () => controller.abort(),
  };
}

/** Writes `<stateDir>/stack.json` as a running `local up` would, naming this process (which is alive). */
export function writeStackFile(stateDir: string, file: Omit<StackFile, "pid" | "startedAt"> & Partial<Pick<StackFile, "pid" | "startedAt">>): void {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, "stack.json"), JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString(), ...file }, null, 2));
}

/** Every record of every shard of a stream, from the start (polls until two empty rounds in a row). */
export async function readAllRecords(kinesis: KinesisClient, stream: string): Promise<Array<{ shardId: string; data: string; partitionKey: string; sequenceNumber: string }>> {
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  const all: Array<{ shardId: string; data: string; partitionKey: string; sequenceNumber: string }> = [];
  for (const s of shards) {
    let iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: s.ShardId!, ShardIteratorType: "TRIM_HORIZON" }))).ShardIterator;
    for (let empty = 0; iterator && empty < 2; ) {
      const r = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      const records = r.Records ?? [];
      for (const rec of records) {
        all.push({ shardId: s.ShardId!, data: Buffer.from(rec.Data!).toString("utf8"), partitionKey: rec.PartitionKey!, sequenceNumber: rec.SequenceNumber! });
      }
      empty = records.length === 0 ? empty + 1 : 0;
      iterator = r.NextShardIterator;
    }
  }
  return all;
}

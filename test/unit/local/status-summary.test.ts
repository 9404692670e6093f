import { describe, expect, it } from "vitest";
import type { PipelineStatusReport, ShardStatus } from "../../../tooling/cli/pipeline-status.js";
import { statusSummary } from "../../../tooling/cli/status-summary.js";

const NOW = 1_700_000_100_000;

function report(shards: ShardStatus[], extra: Partial<PipelineStatusReport> = {}): PipelineStatusReport {
  return {
    pipeline: "p",
    stream: "s",
    table: "t",
    bucket: "b",
    shards,
    pending: { ready: [], waitingOn: [] },
    deadLetters: { records: 0, batches: 0, discarded: 0 },
    ...extra,
  };
}

const shard = (n: number, behind: number, more: Partial<ShardStatus> = {}): ShardStatus => ({
  shardId: `shardId-${String(n).padStart(12, "0")}`,
  closed: false,
  drained: false,
  recordsBehind: behind,
  recordsBehindCapped: false,
  ...(behind > 0 ? { oldestPendingArrival: NOW - 45_000 } : {}),
  ...more,
});

describe("statusSummary", () => {
  it("names each open shard's records behind and the age of its oldest, the complete batches waiting, and every failure by function", () => {
    const s = statusSummary(
      report([shard(0, 2_000), shard(1, 0), shard(2, 0, { closed: true })], {
        pending: { ready: Array.from({ length: 10 }, (_, i) => i), waitingOn: [] },
        invocations: {
          functions: [
            { name: "shard", invocations: 40, errors: 0, timeouts: 0 },
            { name: "ticker", invocations: 12, errors: 1, timeouts: 3, timeoutMs: 60_000 },
          ],
        },
      }),
      NOW,
    );
    expect(s.line).toBe("invocations 52, 4 failed: ticker timed out ×3 (after 1 min 00 s), ticker failed ×1 · pending 10 batches · lag shard 0: 2,000 records, oldest 45.0 s; shard 1: 0");
    expect(s.timedOut).toBe(true);
  });

  it("sums the lag of many shards, says when the count is a lower bound, and leaves out what it does not know", () => {
    const shards = [0, 1, 2, 3, 4].map((n) => shard(n, 100, n === 2 ? { recordsBehindCapped: true } : {}));
    const s = statusSummary(report(shards, { pending: { ready: undefined, waitingOn: [] } }), NOW);
    expect(s.line).toBe("lag > 500 records on 5 shards, oldest 45.0 s");
    expect(s.pending).toBeUndefined();
    expect(s.invocations).toBeUndefined();
    expect(s.timedOut).toBe(false);
  });

  it("says none failed and none are pending when that is so", () => {
    const s = statusSummary(report([shard(0, 0)], { invocations: { functions: [{ name: "f", invocations: 3, errors: 0, timeouts: 0 }] } }), NOW);
    expect(s.line).toBe("invocations 3, none failed · pending none · lag shard 0: 0");
  });
});

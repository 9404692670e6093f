import { describe, expect, it } from "vitest";
import { type BatchInfo, ManualClock, Seconds, StreamingContext, Time } from "../../../lib/index.js";
import { formatProgress, ProgressLine } from "../../../lib/exec/progress-line.js";

function info(over: Partial<BatchInfo> = {}): BatchInfo {
  return {
    batchTime: new Time(12_000),
    numRecords: 42,
    submissionTime: 12_000,
    processingStartTime: 12_001,
    processingEndTime: 12_004,
    schedulingDelay: 1,
    processingDelay: 3,
    totalDelay: 4,
    outputOperations: 1,
    numDeadLetters: 0,
    ...over,
  };
}

function sink(isTTY: boolean, columns?: number) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns, write: (t: string) => void writes.push(t) } };
}

describe("progress line", () => {
  it("says batch time, records, processing time, scheduling delay and dead letters", () => {
    expect(formatProgress(info())).toBe("batch 12000 ms | 42 records | 3 ms processing | 1 ms scheduling delay | 0 dead letters");
    expect(formatProgress(info({ numRecords: 1, numDeadLetters: 1 }))).toBe(
      "batch 12000 ms | 1 record | 3 ms processing | 1 ms scheduling delay | 1 dead letter",
    );
    expect(formatProgress(info({ failure: new Error("the function given to map threw\nstack") }))).toMatch(/\| FAILED: the function given to map threw$/);
  });

  it("redraws one line in place on a terminal", () => {
    const { writes, stream } = sink(true, 200);
    const progress = new ProgressLine({ stream });
    progress.onBatchCompleted(info({ batchTime: new Time(1000), numRecords: 2 }));
    progress.onBatchCompleted(info({ batchTime: new Time(2000), numRecords: 3, numDeadLetters: 1 }));
    expect(writes).toEqual([
      "\r\x1b[2Kbatch 1000 ms | 2 records | 3 ms processing | 1 ms scheduling delay | 0 dead letters | 1 batch, 2 records",
      "\r\x1b[2Kbatch 2000 ms | 3 records | 3 ms processing | 1 ms scheduling delay | 1 dead letter | 2 batches, 5 records",
    ]);
    expect(writes.join("")).not.toContain("\n");
    progress.close();
    expect(writes.at(-1)).toBe("\n");
    expect(progress.totals).toEqual({ batches: 2, records: 5, deadLetters: 1, failures: 0 });
  });

  it("never wraps on a terminal: the line is cut to its width", () => {
    const { writes, stream } = sink(true, 30);
    new ProgressLine({ stream }).onBatchCompleted(info());
    expect(writes[0]).toBe("\r\x1b[2K" + "batch 12000 ms | 42 records …");
    expect(writes[0].length - "\r\x1b[2K".length).toBeLessThan(30);
  });

  it("writes a plain line per batch when the stream is not a terminal", () => {
    const { writes, stream } = sink(false);
    const progress = new ProgressLine({ stream });
    progress.onBatchCompleted(info({ batchTime: new Time(1000) }));
    progress.onBatchCompleted(info({ batchTime: new Time(2000) }));
    progress.close();
    expect(writes).toEqual([
      "batch 1000 ms | 42 records | 3 ms processing | 1 ms scheduling delay | 0 dead letters | 1 batch, 42 records\n",
      "batch 2000 ms | 42 records | 3 ms processing | 1 ms scheduling delay | 0 dead letters | 2 batches, 84 records\n",
    ]);
  });

  it("lets other output through without tearing the status line", () => {
    const { writes, stream } = sink(true, 200);
    const progress = new ProgressLine({ stream });
    progress.write("before any batch\n");
    progress.onBatchCompleted(info({ batchTime: new Time(1000) }));
    progress.write("-------\nTime: 1000 ms\n-------\n\n");
    expect(writes[0]).toBe("before any batch\n");
    expect(writes[2]).toBe(`\r\x1b[2K-------\nTime: 1000 ms\n-------\n\n${writes[1].slice("\r\x1b[2K".length)}`);
  });

  it("follows a running context as a listener", async () => {
    const clock = new ManualClock();
    const { writes, stream } = sink(false);
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock });
    ssc.addStreamingListener(new ProgressLine({ stream }));
    ssc.queueStream([[1, 2], [3]]).foreachRDD(() => {});
    await ssc.start();
    await clock.advance(Seconds(2));
    await ssc.stop();
    expect(writes).toEqual([
      "batch 1000 ms | 2 records | 0 ms processing | 0 ms scheduling delay | 0 dead letters | 1 batch, 2 records\n",
      "batch 2000 ms | 1 record | 0 ms processing | 0 ms scheduling delay | 0 dead letters | 2 batches, 3 records\n",
    ]);
  });
});

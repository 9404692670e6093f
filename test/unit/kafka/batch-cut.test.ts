import { describe, expect, it } from "vitest";
import { type FetchedRecord, PartitionQueue } from "../../../lib/io/kafka/batch-cut.js";

const rec = (offset: number, timestamp: number): FetchedRecord => ({ offset: BigInt(offset), timestamp, key: null, value: null, headers: {} });
const offsets = (rs: FetchedRecord[]) => rs.map((r) => Number(r.offset));

function queueOf(...rs: Array<[number, number]>): PartitionQueue {
  const q = new PartitionQueue();
  for (const [o, t] of rs) q.push(rec(o, t));
  return q;
}

describe("a partition's batch cut", () => {
  it.each([
    ["takes the records timestamped up to the batch time", [[0, 100], [1, 900], [2, 1000]], 1000, [0, 1, 2], 0],
    ["leaves the records timestamped after it", [[0, 100], [1, 1001]], 1000, [0], 1],
    ["takes a late record (timestamped in a batch that already ran)", [[0, 10]], 5000, [0], 0],
    ["takes a record without a timestamp (-1) at once", [[0, -1]], 1000, [0], 0],
    ["stops at the first record for a later batch: those behind it wait, whatever their timestamps", [[5, 1200], [6, 1800], [7, 1999], [8, 2100], [9, 1500]], 2000, [5, 6, 7], 2],
    ["takes nothing from an empty queue", [], 1000, [], 0],
  ] as Array<[string, Array<[number, number]>, number, number[], number]>)("%s", (_what, records, time, taken, left) => {
    const q = queueOf(...records);
    expect(offsets(q.cut(time))).toEqual(taken);
    expect(q.size).toBe(left);
  });

  it("hands each record once, in offset order, over successive batches", () => {
    const q = queueOf([0, 500], [1, 1500], [2, 1200], [3, 2500]);
    expect([1000, 2000, 3000].map((t) => offsets(q.cut(t)))).toEqual([[0], [1, 2], [3]]);
    expect(q.size).toBe(0);
  });

  it("re-runs a batch by offsets: exactly the records before the journaled end, whatever their timestamps", () => {
    const q = queueOf([0, 500], [1, 5000], [2, 700], [3, 800]);
    expect(offsets(q.cutBefore(3n))).toEqual([0, 1, 2]);
    expect(offsets(q.cut(1000))).toEqual([3]);
  });

  it("keeps working after many records (the taken prefix is dropped, nothing else)", () => {
    const q = new PartitionQueue();
    for (let i = 0; i < 5000; i++) q.push(rec(i, i));
    let handed = 0;
    for (let t = 999; t < 5000; t += 1000) handed += q.cut(t).length;
    expect(handed).toBe(5000);
    q.push(rec(5000, 6000));
    expect(offsets(q.cut(6000))).toEqual([5000]);
  });
});

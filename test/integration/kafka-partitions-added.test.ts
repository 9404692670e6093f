/**
 * A partition added to a topic while kafkaStream runs is consumed from its first record. librdkafka's mock
 * cannot add partitions, so the stream reaches the mock through tooling/kafka/partition-proxy.ts, which hides
 * the topic's last partition until the test "adds" it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KafkaDirectSource, type KafkaRecord, ManualClock, Seconds, StreamingContext } from "../../lib/index.js";
import { listTopicPartitions } from "../../lib/io/kafka/metadata.js";
import { produce } from "../../lib/io/kafka/produce.js";
import { type MockKafka, startMockKafka } from "../../tooling/kafka/mock-broker.js";
import { type PartitionProxy, startPartitionProxy } from "../../tooling/kafka/partition-proxy.js";

let kafka: MockKafka;
let proxy: PartitionProxy;
beforeAll(async () => {
  kafka = await startMockKafka({ brokers: 3, topics: [{ name: "growing", partitions: 3 }] });
  proxy = await startPartitionProxy(kafka.brokers, { growing: 2 });
});
afterAll(async () => {
  await proxy?.stop();
  await kafka?.stop();
});

async function until(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  // Polls a condition; the test's own timeout bounds it.
  while (!(await cond())) await new Promise((r) => setTimeout(r, 50));
  void what;
}

describe("partitions added while kafkaStream runs", () => {
  it("the proxy shows a client the partitions it is told to", async () => {
    expect((await listTopicPartitions({ bootstrapServers: proxy.bootstrapServers }, ["growing"])).map((p) => p.partition)).toEqual([0, 1]);
  });

  it("are picked up and read from their first record", async () => {
    const direct = { bootstrapServers: kafka.bootstrapServers };
    const clock = new ManualClock();
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock });
    const source = new KafkaDirectSource("growing", { bootstrapServers: proxy.bootstrapServers, groupId: "growing-g", startingOffsets: "earliest", partitionSyncIntervalMs: 300, maxWaitTimeMs: 100, sessionTimeoutMs: 6000 });
    const batches: Array<[number, string[]]> = [];
    ssc.receiverStream(source).foreachRDD((rdd, time) => {
      batches.push([time.milliseconds, (rdd.collect() as KafkaRecord[]).map((r) => `${r.partition}:${r.value}`)]);
    });
    await produce(direct, "growing", [{ value: "a", partition: 0, timestamp: 100 }, { value: "b", partition: 1, timestamp: 200 }]);
    await ssc.start();
    await clock.setTime(1000);

    proxy.show("growing", 3);
    await produce(direct, "growing", [{ value: "c", partition: 2, timestamp: 1100 }, { value: "d", partition: 2, timestamp: 1200 }]);
    await until("the new partition to be placed", () => source.position().offsets.growing?.["2"] !== undefined);
    await source.caughtUp();
    await clock.setTime(2000);
    await ssc.stop();

    expect(batches).toEqual([
      [1000, ["0:a", "1:b"]],
      [2000, ["2:c", "2:d"]],
    ]);
  }, 180_000);
});

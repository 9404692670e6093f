/**
 * The {{name}} pipeline through the code its Lambda functions run, with no AWS and no emulator: clicks on two
 * shards at chosen times, delivered as Lambda delivers them (once more, to show duplicates are skipped), and
 * batches completed by moving the test's clock.
 */
import { Seconds } from "sparkless";
import { PipelineTestDriver } from "sparkless/testing";
import { describe, expect, it } from "vitest";
import {{camel}} from "../pipelines/{{name}}.js";

const T0 = 1_700_000_000_000; // a multiple of the batch interval: batches end at T0 + 5 s, T0 + 10 s …

describe("the {{name}} pipeline", () => {
  it("counts views per page per batch, and in total, each click once", async () => {
    const driver = new PipelineTestDriver({{camel}}, { shards: 2, startTime: T0 });
    driver.send({ user: "ann", page: "/home" }, { shard: 0, at: T0 + 1_000 });
    driver.send({ user: "bob", page: "/home" }, { shard: 1, at: T0 + 2_000 });
    driver.send({ user: "ann", page: "/cart" }, { shard: 1, at: T0 + 6_000 });
    await driver.deliver();
    await driver.deliverAgain(1); // Lambda delivers at least once

    await driver.advanceTime(Seconds(15)); // the ticker: quiet shards follow the clock, batches complete

    const perPage = await driver.output("{{name}}/per-page");
    expect(perPage.get(T0 + 5_000)).toEqual(["(/home,2)"]);
    expect(perPage.get(T0 + 10_000)).toEqual(["(/cart,1)"]);
    expect((await driver.state<[string, number]>("page-totals"))?.sort()).toEqual([
      ["/cart", 1],
      ["/home", 2],
    ]);
  });

  it("sends a record that is not JSON to the dead letters and carries on", async () => {
    const driver = new PipelineTestDriver({{camel}}, { startTime: T0 });
    driver.send("not json", { at: T0 + 1_000 });
    driver.send({ user: "ann", page: "/home" }, { at: T0 + 2_000 });
    await driver.deliver();
    await driver.advanceTime(Seconds(10));

    expect((await driver.output("{{name}}/per-page")).get(T0 + 5_000)).toEqual(["(/home,1)"]);
    expect(await driver.deadLetters()).toHaveLength(1);
  });
});

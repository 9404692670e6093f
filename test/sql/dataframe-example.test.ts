/**
 * examples/dataframe-people.ts prints what Spark prints for the same program and rows. Expected text worked
 * out by hand: Michael has no age, so his cell is NULL (Spark 3.5+) and the first batch's average is Andy's 30
 * as a double, `30.0`; each show() is followed by the empty line `println` adds.
 */
import { describe, expect, it } from "vitest";
import { run } from "../../examples/dataframe-people.js";

describe("examples/dataframe-people.ts", () => {
  it("prints Spark's tables for every batch", async () => {
    let text = "";
    await run({ out: (t) => void (text += t) });
    expect(text).toBe(`+-------+----+
|   name| age|
+-------+----+
|Michael|NULL|
|   Andy|  30|
+-------+----+

+--------+
|avg(age)|
+--------+
|    30.0|
+--------+

+------+---+
|  name|age|
+------+---+
|Justin| 19|
+------+---+

+--------+
|avg(age)|
+--------+
|    19.0|
+--------+

`);
  });
});

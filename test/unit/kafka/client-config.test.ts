import { describe, expect, it } from "vitest";
import { bootstrapBrokers } from "../../../lib/io/kafka/client.js";

describe("bootstrapServers", () => {
  it.each([
    ["one string", "127.0.0.1:9092", ["127.0.0.1:9092"]],
    ["a comma-separated string, spaces ignored", "a:1, b:2 ,c:3", ["a:1", "b:2", "c:3"]],
    ["a list", ["kafka-1.internal:9094", "[::1]:9092"], ["kafka-1.internal:9094", "[::1]:9092"]],
  ])("accepts %s", (_what, given, brokers) => {
    expect(bootstrapBrokers({ bootstrapServers: given })).toEqual(brokers);
  });

  it("fails if no broker is named", () => {
    expect(() => bootstrapBrokers({ bootstrapServers: " , " })).toThrow(/bootstrapServers must name at least one broker \("host:port"\), got " , "/);
    expect(() => bootstrapBrokers({ bootstrapServers: [] })).toThrow(/at least one broker/);
  });

  it("fails if a broker has no port", () => {
    expect(() => bootstrapBrokers({ bootstrapServers: "a:1,localhost" })).toThrow(/a bootstrap server is "host:port", got "localhost"/);
  });
});

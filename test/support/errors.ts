import { expect } from "vitest";
import { SparklessError } from "../../lib/core/errors.js";

/** The SparklessError `run` throws (failing the test if it throws nothing, or something else), to check its fields. */
export function sparklessErrorOf(run: () => unknown): SparklessError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SparklessError);
    return error as SparklessError;
  }
  throw new Error("expected an error");
}

/**
 * The contract's own rules: the one pipeline-name rule (the same names refused by definePipeline, the construct
 * and a deployed function), the environment a function reads at cold start, and how a pipeline module exposes
 * its pipeline to the generated handlers.
 */
import { describe, expect, it } from "vitest";
import { pipelineOfModule } from "../../functions/pipeline-module.js";
import { checkPipelineName, ENV, environmentVariables, readEnvironment } from "../../lib/contract/index.js";
import { Seconds } from "../../lib/core/duration.js";
import { ValidationError } from "../../lib/core/errors.js";
import { definePipeline } from "../../lib/api/define-pipeline.js";
import { sparklessErrorOf } from "../support/errors.js";

const build = () => {};

describe("the pipeline-name rule", () => {
  it.each(["word-count", "a", "clicks-2", "x".repeat(63)])("accepts %j everywhere", (name) => {
    expect(() => checkPipelineName(name)).not.toThrow();
    expect(definePipeline(name, { batchInterval: Seconds(1) }, build).name).toBe(name);
  });

  it.each(["", "Word-Count", "word_count", "-dash", "a.b", "a#b", "a/b", "x".repeat(64), "wörds"])("fails if the name is %j, in definePipeline too", (name) => {
    const error = sparklessErrorOf(() => definePipeline(name, { batchInterval: Seconds(1) }, build));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.code).toBe("InvalidPipelineName");
    expect(error.message).toMatch(/pipeline name must be 1 to 63 lowercase letters, digits or '-', starting with a letter or digit.*\(received /);
  });
});

describe("the functions' environment", () => {
  const values = { pipeline: "clicks", table: "t", bucket: "b", streamName: "s", streamArn: "arn:aws:kinesis:eu-west-1:1:stream/s", batchIntervalMs: 5000 };

  it("reads back what the construct sets, with the emulators' endpoints when given", () => {
    const env = { ...environmentVariables(values), AWS_ENDPOINT_URL: "http://127.0.0.1:1", AWS_ENDPOINT_URL_S3: "http://127.0.0.1:2" };
    expect(readEnvironment(env)).toEqual({ ...values, finalizerPartitions: 1, endpoints: { kinesis: "http://127.0.0.1:1", dynamodb: "http://127.0.0.1:1", s3: "http://127.0.0.1:2", lambda: "http://127.0.0.1:1" } });
  });

  it("reads P and, on the functions that fan out, the finalizer's name; P is 1 when absent (deployed before partitions)", () => {
    expect(readEnvironment(environmentVariables({ ...values, finalizerPartitions: 4, finalizerFunction: "clicks-finalizer" }))).toMatchObject({ finalizerPartitions: 4, finalizerFunction: "clicks-finalizer" });
    const env: Record<string, string | undefined> = environmentVariables(values);
    delete env[ENV.finalizerPartitions];
    expect(readEnvironment(env).finalizerPartitions).toBe(1);
    expect(readEnvironment(env).finalizerFunction).toBeUndefined();
    const error = sparklessErrorOf(() => readEnvironment({ ...environmentVariables(values), [ENV.finalizerPartitions]: "0" }));
    expect(error.code).toBe("InvalidEnvironment");
    expect(error.message).toMatch(/SPARKLESS_FINALIZER_PARTITIONS must be a positive whole number \(received "0"\)/);
  });

  const optional: string[] = [ENV.finalizerPartitions, ENV.finalizerFunction];
  it.each(Object.values(ENV).filter((name) => !optional.includes(name)))("fails at cold start if %s is missing, naming it", (name) => {
    const env: Record<string, string | undefined> = environmentVariables(values);
    delete env[name];
    const error = sparklessErrorOf(() => readEnvironment(env));
    expect(error.code).toBe("MissingEnvironment");
    expect(error.message).toContain(`environment variable ${name} is not set`);
  });

  it("fails if the batch interval is not a positive whole number of milliseconds", () => {
    const error = sparklessErrorOf(() => readEnvironment({ ...environmentVariables(values), [ENV.batchIntervalMs]: "5s" }));
    expect(error.code).toBe("InvalidEnvironment");
    expect(error.message).toMatch(/SPARKLESS_BATCH_INTERVAL_MS must be a positive whole number of milliseconds \(received "5s"\)/);
  });

  it("fails if the pipeline name breaks the rule", () => {
    expect(sparklessErrorOf(() => readEnvironment({ ...environmentVariables(values), [ENV.pipeline]: "Clicks" })).code).toBe("InvalidPipelineName");
  });
});

describe("a pipeline module", () => {
  const a = definePipeline("a", { batchInterval: Seconds(1) }, build);
  const b = definePipeline("b", { batchInterval: Seconds(1) }, build);

  it("exposes its default export, or else its only exported Pipeline", () => {
    expect(pipelineOfModule({ default: a, b }, "m.ts")).toBe(a);
    expect(pipelineOfModule({ a, helper: () => 1, shardHandler: async () => undefined }, "m.ts")).toBe(a);
  });

  it("fails if it exports no Pipeline, or several and no default, saying what to export", () => {
    expect(sparklessErrorOf(() => pipelineOfModule({ shardHandler: build }, "m.ts")).message).toBe(
      "the pipeline module m.ts exports no Pipeline: export the one to deploy as its default (export default definePipeline(...))",
    );
    const several = sparklessErrorOf(() => pipelineOfModule({ a, b }, "m.ts"));
    expect(several.code).toBe("PipelineModuleWithoutPipeline");
    expect(several.message).toMatch(/exports 2 Pipelines \(a, b\): export the one to deploy as its default/);
  });
});

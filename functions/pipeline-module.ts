/**
 * How a pipeline module exposes its pipeline to the generated handlers (SparklessPipeline's `entry`): its
 * default export, or else its only exported `Pipeline`. Anything else is an error that says what to export.
 */
import { ValidationError } from "../lib/core/errors.js";
import { Pipeline } from "../lib/api/define-pipeline.js";

export function pipelineOfModule(module: Record<string, unknown>, entry: string): Pipeline<unknown> {
  if (Pipeline.isPipeline(module.default)) return module.default;
  const exported = Object.entries(module).filter(([, value]) => Pipeline.isPipeline(value));
  if (exported.length === 1) return exported[0]![1] as Pipeline<unknown>;
  const found = exported.length === 0 ? "exports no Pipeline" : `exports ${exported.length} Pipelines (${exported.map(([name]) => name).join(", ")})`;
  throw new ValidationError(
    "PipelineModuleWithoutPipeline",
    `the pipeline module ${entry} ${found}: export the one to deploy as its default (export default definePipeline(...))`,
    { entry, exports: exported.map(([name]) => name) },
  );
}

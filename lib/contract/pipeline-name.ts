import { ValidationError } from "../core/errors.js";

/**
 * The one rule for a pipeline's name. The name starts every table key and S3 key of the pipeline, is the
 * `Pipeline` dimension of its metrics and appears in its functions' descriptions, so it must be valid in all
 * of them: lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters.
 */
export const PIPELINE_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Throws `InvalidPipelineName` unless `name` follows {@link PIPELINE_NAME_PATTERN}. */
export function checkPipelineName(name: unknown): asserts name is string {
  if (typeof name === "string" && PIPELINE_NAME_PATTERN.test(name)) return;
  throw new ValidationError(
    "InvalidPipelineName",
    `pipeline name must be 1 to 63 lowercase letters, digits or '-', starting with a letter or digit: it starts every storage key and names the metrics (received ${JSON.stringify(name)})`,
    { name },
  );
}

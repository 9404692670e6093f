import type { BuiltPipeline, Pipeline } from "../api/define-pipeline.js";

/**
 * The plan of each pipeline module, built once per container. A plan never changes once built (running it is
 * an Evaluation's work, brought by each batch), so the shard stage, every finalization and the ticker of one
 * container share it; only a different zero time (a status created afresh) builds it again.
 */
const built = new WeakMap<Pipeline<unknown>, CachedPlan<unknown>>();

/** A built plan with its graph hash (compared with the status's on every call, so computed once too). */
export type CachedPlan<T> = BuiltPipeline<T> & { readonly zeroTime: number; readonly graphHash: string };

export function builtPlan<T>(pipeline: Pipeline<T>, zeroTime: number): CachedPlan<T> {
  const cached = built.get(pipeline as Pipeline<unknown>) as CachedPlan<T> | undefined;
  if (cached?.zeroTime === zeroTime) return cached;
  const fresh = pipeline.instantiate(zeroTime);
  const plan: CachedPlan<T> = { ...fresh, zeroTime, graphHash: fresh.ssc.graph.hash() };
  built.set(pipeline as Pipeline<unknown>, plan as CachedPlan<unknown>);
  return plan;
}

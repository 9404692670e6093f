import { Time } from "../core/duration.js";
import { CheckpointError } from "../core/errors.js";
import { InputNode } from "../graph/ops/input.js";
import type { Evaluation } from "../graph/evaluation.js";
import { type CheckpointBody, decodeRDDs } from "./checkpoint.js";
import { decodeValue } from "./checkpoint-codec.js";

/*
 * Recovery from a checkpoint (Spark's JobGenerator.restart), on a graph the factory rebuilt:
 *
 *   1. the graph starts with the checkpoint's zero time, so batch times, windows and timeout scans line up;
 *   2. every stored node gets its remembered RDDs back, input nodes including the input of pending batches;
 *   3. every source is put back at its stored position (before it starts);
 *   4. the scheduler re-runs, in order, every batch after the checkpoint time T up to the clock's current
 *      time — the batches that were pending when the checkpoint was taken (their input comes from the
 *      checkpoint) and the ones that completed after it or fell due while the program was down (their input
 *      is taken from the restored sources) — and then continues on the clock.
 *
 *     checkpoint at T      kill                    restart (now)
 *     ------|-------------x- - - - - - - - - - - - - -|---------------->
 *           |  T+B ... (pending, or done after T) ...  |  first tick
 *           |<--------- re-run, in order ------------->|
 *
 * Re-run batches run their output operations again: file sinks rewrite their batch directory (atomically), so
 * nothing is duplicated; foreachRDD sees those batches twice (at-least-once, as in Spark).
 */

/** Puts the checkpoint's RDDs back into the local engine's evaluation and its source positions into the started graph's sources. */
export function restoreGraph(ev: Evaluation, body: CheckpointBody): void {
  const graph = ev.graph;
  for (const [id, stored] of Object.entries(body.nodes)) {
    const node = graph.node(id);
    if (!node) {
      // verifySameGraph has run: a node that holds data is in both graphs.
      throw new CheckpointError("GraphChanged", `the checkpoint holds data of ${id} (${stored.kind}), which the pipeline no longer has`, { node: id });
    }
    for (const [t, rdd] of decodeRDDs(stored)) ev.restore(node, t, rdd);
  }
  for (const node of graph.inputs) {
    if (!(node instanceof InputNode)) continue;
    if (!Object.prototype.hasOwnProperty.call(body.sources, node.id)) continue;
    const position = decodeValue(body.sources[node.id]);
    const source = (node as InputNode<unknown>).source;
    if (!source.restore) {
      throw new CheckpointError(
        "SourceNotRestorable",
        `the checkpoint holds a position of ${node.id}, but its source (${source.kind}) cannot restore one`,
        { node: node.id, kind: source.kind },
      );
    }
    source.restore(position);
  }
}

/**
 * The first batch time on the clock after recovery, and the batches to re-run before it: every batch time
 * after the checkpoint time up to (and including) `now`.
 */
export function recoveryPlan(body: CheckpointBody, now: number): { first: Time; replay: Time[] } {
  const b = body.batchIntervalMs;
  const afterCheckpoint = body.time + b;
  // The next batch time after now, on the zero time's grid (Spark: the clock's next batch time).
  const next = body.zeroTime + (Math.floor((now - body.zeroTime) / b) + 1) * b;
  const first = Math.max(next, afterCheckpoint);
  const replay: Time[] = [];
  for (let t = afterCheckpoint; t < first; t += b) replay.push(new Time(t));
  return { first: new Time(first), replay };
}

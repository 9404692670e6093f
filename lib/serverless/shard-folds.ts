import { partitionOf } from "../core/partitioner.js";
import { decodeValue, encodeValue } from "../core/codec.js";
import { EncodingError } from "../core/errors.js";
import { KeyMap } from "../core/keys.js";
import { requirePair } from "../core/pairs.js";
import type { Node } from "../graph/node.js";
import { NarrowNode } from "../graph/ops/narrow.js";
import { type Boundary, boundaryId, type Plan } from "../graph/stage-split.js";

/**
 * The shard stage's fold (docs/architecture.md "Stages"): one record's emissions into the plan's boundaries, and
 * those into partial aggregates and chunks per (boundary, batch time) — a handful of parts per invocation,
 * whatever its record count. Knows nothing of logs or stores.
 */

export interface Fold {
  readonly nodeId: string;
  readonly time: number;
  readonly firstSeq: string;
  readonly combiners?: KeyMap<unknown, unknown>;
  readonly elements?: unknown[];
  /** The finalizer partition whose keys it holds; absent with one partition. */
  readonly partition?: number;
}

/** Partial aggregates and chunks per (boundary, batch time); the last one of each boundary is at hand. */
export class Folds {
  private readonly byKey = new Map<string, Fold>();
  private readonly last: Array<Fold | undefined>;
  /** The folds split by partition, kept until the next add (encoding and committing both ask for them). */
  private split: Fold[] | undefined;

  constructor(
    private readonly boundaries: readonly Boundary[],
    private readonly partitions = 1,
  ) {
    this.last = boundaries.map(() => undefined);
  }

  add(index: number, time: number, value: unknown, seq: string): void {
    this.split = undefined;
    const boundary = this.boundaries[index];
    let f = this.last[index];
    if (f === undefined || f.time !== time) {
      const key = `${index}@${time}`;
      f = this.byKey.get(key);
      if (!f) {
        f = boundary.kind === "partial"
          ? { nodeId: boundaryId(boundary), time, firstSeq: seq, combiners: new KeyMap() }
          : { nodeId: boundaryId(boundary), time, firstSeq: seq, elements: [] };
        this.byKey.set(key, f);
      }
      this.last[index] = f;
    }
    if (boundary.kind === "partial") {
      const pair = value as [unknown, unknown];
      f.combiners!.upsert(pair[0], pair[1], boundary.node.createCombiner, boundary.node.mergeValue);
    } else {
      f.elements!.push(value);
    }
  }

  /**
   * Folds one record's emissions only if every value it adds, and every combiner it changes, can be encoded;
   * otherwise undoes what it did (a combiner from its last encoding: a merge may have changed it in place)
   * and says which operator's output could not be stored.
   */
  addChecked(emitted: Emitted, time: number, seq: string): { operator: string; reason: string } | undefined {
    const undo: Array<() => void> = [];
    const refuse = (boundary: Boundary, e: unknown) => {
      if (!(e instanceof EncodingError)) throw e;
      for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
      this.split = undefined;
      this.last.fill(undefined);
      return { operator: boundary.node.label, reason: `the output of ${boundary.node.label} cannot be stored: ${e.message}` };
    };
    for (let i = 0; i < emitted.count; i++) {
      const index = emitted.boundary[i]!;
      const value = emitted.value[i];
      const boundary = this.boundaries[index]!;
      try {
        encodeValue(value);
      } catch (e) {
        return refuse(boundary, e);
      }
      const key = `${index}@${time}`;
      if (!this.byKey.has(key)) undo.push(() => this.byKey.delete(key));
      if (boundary.kind === "chunk") {
        this.add(index, time, value, seq);
        const elements = this.byKey.get(key)!.elements!;
        const length = elements.length - 1;
        undo.push(() => (elements.length = length));
        continue;
      }
      const combiners = this.byKey.get(key)?.combiners;
      const k = (value as [unknown, unknown])[0];
      const before = combiners?.has(k) ? encodeValue(combiners.get(k)) : undefined;
      this.add(index, time, value, seq);
      const after = this.byKey.get(key)!.combiners!;
      undo.push(() => (before === undefined ? after.delete(k) : after.set(k, decodeValue(before))));
      try {
        encodeValue(after.get(k));
      } catch (e) {
        return refuse(boundary, e);
      }
    }
    return undefined;
  }

  /**
   * Every fold, split by finalizer partition when there are several: combiners by `partitionOf(key)`, chunk
   * elements by their key when they are pairs (so a join's sides meet in one partition) and by their whole
   * encoding otherwise. Split once, at the end, so that folding stays one KeyMap per (boundary, time) and
   * P = 1 writes exactly the parts it always did.
   */
  all(): Fold[] {
    const folds = [...this.byKey.values()];
    if (this.partitions <= 1) return folds;
    return (this.split ??= folds.flatMap((f) => splitFold(f, this.partitions)));
  }
}

function splitFold(f: Fold, partitions: number): Fold[] {
  const { combiners, elements, ...rest } = f;
  const out: Array<Fold | undefined> = new Array(partitions);
  if (combiners) {
    combiners.forEach((c, k) => {
      const p = partitionOf(k, partitions);
      const part = (out[p] ??= { ...rest, partition: p, combiners: new KeyMap() });
      part.combiners!.set(k, c);
    });
  } else {
    for (const e of elements!) {
      const p = partitionOf(Array.isArray(e) && e.length === 2 ? e[0] : e, partitions);
      (out[p] ??= { ...rest, partition: p, elements: [] }).elements!.push(e);
    }
  }
  return out.filter((x): x is Fold => x !== undefined);
}

/** What one record emitted into the boundaries, as two parallel arrays (no tuple per emission). */
export interface Emitted {
  push: (value: unknown) => void;
  count: number;
  readonly boundary: number[];
  readonly value: unknown[];
}

/**
 * One record through the narrow chains: a pusher built once from the plan, whose leaves append to the
 * emitted arrays. A record's emissions are folded only if the whole record went through, so a record whose
 * function throws leaves no trace but its dead letter.
 */
export function recordPipeline(plan: Plan): Emitted {
  const emitted: Emitted = { push: () => undefined, count: 0, boundary: [], value: [] };
  const leaf = (i: number) => {
    // A partial aggregate folds [key, value] pairs; plain JS can hand it anything. Checked here, inside the
    // record's try, so a non-pair is dead-lettered like a throwing function instead of folded as `"a"[0]`.
    const b = plan.boundaries[i];
    const pairsFor = b.kind === "partial" ? b.node.label : undefined;
    return (v: unknown) => {
      if (pairsFor !== undefined) requirePair(v, pairsFor);
      emitted.boundary[emitted.count] = i;
      emitted.value[emitted.count] = v;
      emitted.count++;
    };
  };
  const sinks = new Map<Node, (value: unknown) => void>();
  const sinkOf = (node: Node): ((value: unknown) => void) => {
    const existing = sinks.get(node);
    if (existing) return existing;
    const targets: Array<(value: unknown) => void> = [];
    plan.boundaries.forEach((b, i) => {
      if ((b.kind === "partial" && b.from === node) || (b.kind === "chunk" && b.node === node)) targets.push(leaf(i));
    });
    for (const child of plan.stage1) {
      if (child instanceof NarrowNode && child.parent === node) targets.push(child.step.pipe(sinkOf(child)));
    }
    const sink = targets.length === 1 ? targets[0] : (v: unknown) => { for (const t of targets) t(v); };
    sinks.set(node, sink);
    return sink;
  };
  emitted.push = sinkOf(plan.input);
  return emitted;
}

/**
 * Each fold's payload, in the order of `folds.all()`; undefined when one cannot be encoded (a circular value,
 * say), unless `mustEncode`: then the EncodingError is thrown (the checked ingest let nothing unencodable in).
 */
export function encodeFolds(folds: Folds, mustEncode = false): string[] | undefined {
  const out: string[] = [];
  for (const f of folds.all()) {
    try {
      out.push(encodeValue(f.combiners ? [...f.combiners.entries()] : f.elements));
    } catch (e) {
      if (mustEncode || !(e instanceof EncodingError)) throw e;
      return undefined;
    }
  }
  return out;
}

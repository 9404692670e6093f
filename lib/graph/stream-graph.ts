import { createHash } from "node:crypto";
import { Duration, Time } from "../core/duration.js";
import { IllegalStateError, ValidationError } from "../core/errors.js";
import type { Evaluation } from "./evaluation.js";
import type { Node } from "./node.js";

/** An output operation's work for one batch time: runs the user's sink. */
export interface Job {
  readonly time: Time;
  readonly output: Node;
  run(): Promise<void> | void;
}

/** A node that produces jobs (print, saveAsTextFiles, foreachRDD). */
export interface OutputNode {
  generateJob(time: Time, ev: Evaluation): Job | undefined;
}

/**
 * The plan: every node, the inputs and the outputs (Spark's DStreamGraph). Built once by the operators and
 * `start`ed once; from then on plain, unchanging data that the local scheduler, the checkpoint, the stage
 * split and the finalizer read. Running it is an {@link Evaluation}'s work: the graph holds no RDD and no
 * hook saying where inputs come from or outputs go.
 */
export class StreamGraph {
  readonly nodes: Node[] = [];
  readonly inputs: Node[] = [];
  readonly outputs: Array<Node & OutputNode> = [];
  zeroTime: Time | undefined;
  checkpointDir: string | undefined;
  rememberDuration: Duration | undefined;
  /** Set once the context starts: adding operators after that is an error, as in Spark. */
  frozen: "started" | "stopped" | undefined;
  private readonly ids = new Set<string>();
  private readonly counters = new Map<string, number>();

  constructor(readonly batchDuration: Duration) {}

  /** Gives a node its id: its user-given name, else kind-N by creation order of that kind. */
  register(node: Node): string {
    if (this.frozen) {
      throw new IllegalStateError(
        "GraphFrozen",
        `Adding new inputs, transformations, and output operations after ${this.frozen === "started" ? "starting" : "stopping"} a context is not supported (${node.kind})`,
      );
    }
    let id: string;
    if (node.name !== undefined) {
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(node.name)) {
        throw new ValidationError("BadOperatorName", `operator name "${node.name}" must be 1-64 letters, digits, '_', '-' or '.': it becomes part of storage keys`);
      }
      id = node.name;
    } else {
      const n = (this.counters.get(node.kind) ?? 0) + 1;
      this.counters.set(node.kind, n);
      id = `${node.kind}-${n}`;
    }
    if (this.ids.has(id)) {
      throw new ValidationError("DuplicateOperatorName", `two operators are named "${id}": names must be unique within a pipeline`);
    }
    this.ids.add(id);
    this.nodes.push(node);
    return id;
  }

  addInput(node: Node): void {
    this.inputs.push(node);
  }

  addOutput(node: Node & OutputNode): void {
    this.outputs.push(node);
  }

  node(id: string): Node | undefined {
    return this.nodes.find((n) => n.id === id);
  }

  /** Spark's DStreamGraph.start: initialize from the outputs, spread remember durations, validate. */
  start(zeroTime: Time): void {
    if (this.outputs.length === 0) {
      throw new ValidationError("NoOutputOperation", "No output operations registered, so nothing to execute: add print(), saveAsTextFiles() or foreachRDD()");
    }
    this.zeroTime = zeroTime;
    for (const o of this.outputs) o.initialize(zeroTime);
    for (const o of this.outputs) o.remember(this.rememberDuration);
    for (const o of this.outputs) o.validateAtStart();
    // An input no output reads is still drained every batch (its records are counted, then dropped, as Spark's
    // receivers store blocks no job reads): it needs its zero time too.
    for (const i of this.inputs) if (i.zeroTime === undefined) i.initialize(zeroTime);
  }

  /** Nodes reachable from outputs, parents before children. */
  reachable(): Node[] {
    const seen = new Set<Node>();
    const order: Node[] = [];
    const visit = (n: Node) => {
      if (seen.has(n)) return;
      seen.add(n);
      for (const d of n.dependencies) visit(d);
      order.push(n);
    };
    for (const o of this.outputs) visit(o);
    return order;
  }

  /**
   * What the graph computes, as plain data: per node its id, kind, parents and parameters. A checkpoint
   * stores it so recovery can say exactly what changed.
   */
  describe(): GraphDescription {
    return {
      batchDurationMs: this.batchDuration.milliseconds,
      nodes: this.reachable().map((n) => ({
        id: n.id,
        kind: n.kind,
        parents: n.dependencies.map((d) => d.id),
        slideMs: n.slideDuration.milliseconds,
        ...n.describe(),
      })),
    };
  }

  /** A short hash of `describe()`. */
  hash(): string {
    return createHash("sha256").update(JSON.stringify(this.describe())).digest("hex").slice(0, 16);
  }
}

export interface NodeDescription {
  readonly id: string;
  readonly kind: string;
  readonly parents: string[];
  readonly slideMs: number;
  readonly [param: string]: unknown;
}

export interface GraphDescription {
  readonly batchDurationMs: number;
  readonly nodes: NodeDescription[];
}

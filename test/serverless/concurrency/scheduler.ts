/**
 * A deterministic scheduler for actors that share stores: every call an actor makes to a store (pipeline store,
 * object store, shard directory) waits at a gate until the scheduler releases it, one call at a time, so that a
 * seed (or a script) decides the interleaving. A released call can run, fail before it took effect (throttled,
 * refused) or fail after it took effect (the caller never hears). An actor can be killed (its process crashed or
 * Lambda's timeout ended it); a call it had already sent may still land later, as a late request does.
 */
import { SimulatedCrash } from "../../../lib/testing/faults.js";

export type Outcome = "run" | "fail-before" | "fail-after";

/** One task: a shard invocation, a tick, a finalizer. */
export class Actor {
  dead = false;
  done = false;
  error: unknown;
  readonly logs: string[] = [];
  constructor(
    readonly name: string,
    /** Epoch ms at which Lambda ends the invocation. */
    readonly deadline: number,
  ) {}
}

export interface Gate {
  readonly actor: Actor;
  /** `store.commit`, `objects.put`, `shards.list` … */
  readonly label: string;
  readonly release: (outcome: Outcome) => void;
}

export class Scheduler {
  readonly pending: Gate[] = [];
  readonly actors: Actor[] = [];
  /** What happened, one line per step (printed when a schedule fails). */
  readonly trace: string[] = [];
  private inflight = 0;
  private wakeIdle: (() => void) | undefined;

  constructor(readonly clock: { now: number }) {}

  /** Runs `body` as an actor; its store calls go through `wrap`ped stores bound to it. */
  spawn(name: string, timeoutMs: number, body: (actor: Actor) => Promise<unknown>): Actor {
    const actor = new Actor(name, this.clock.now + timeoutMs);
    this.actors.push(actor);
    this.trace.push(`${this.clock.now} spawn ${name}`);
    void body(actor).then(
      () => void (actor.done = true),
      (e: unknown) => {
        actor.done = true;
        actor.error = e;
      },
    );
    return actor;
  }

  /** The same object, with every method call gated as `<prefix>.<method>` for `actor`. */
  wrap<S extends object>(target: S, actor: Actor, prefix: string): S {
    return new Proxy(target, {
      get: (t, prop) => {
        const value = Reflect.get(t, prop, t) as unknown;
        if (typeof value !== "function") return value;
        return async (...args: unknown[]) => {
          const label = `${prefix}.${String(prop)}`;
          // A process that is gone sends nothing more.
          if (actor.dead) throw new SimulatedCrash(label, "before");
          const outcome = await new Promise<Outcome>((release) => this.pending.push({ actor, label, release }));
          if (outcome === "fail-before") throw new SimulatedCrash(label, "before");
          this.inflight++;
          try {
            const result: unknown = await (value as (...a: unknown[]) => unknown).apply(t, args);
            // A dead actor's late request took effect, but nobody is there to hear it.
            if (outcome === "fail-after" || actor.dead) throw new SimulatedCrash(label, "after");
            return result;
          } finally {
            this.inflight--;
            if (this.inflight === 0) this.wakeIdle?.();
          }
        };
      },
    });
  }

  /** Waits until every actor that can move has reached a gate or ended (no released call still running). */
  async settle(): Promise<void> {
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (this.inflight === 0) return;
      await new Promise<void>((resolve) => (this.wakeIdle = resolve));
      this.wakeIdle = undefined;
    }
  }

  /** Releases one pending call and lets everything it unblocks run to the next gates. */
  async release(gate: Gate, outcome: Outcome = "run"): Promise<void> {
    this.pending.splice(this.pending.indexOf(gate), 1);
    this.trace.push(`${this.clock.now} ${gate.actor.name}${gate.actor.dead ? "(dead)" : ""} ${gate.label}${outcome === "run" ? "" : ` ${outcome}`}`);
    gate.release(outcome);
    await this.settle();
  }

  /** Kills an actor: it makes no further calls; each call it had sent is kept (lands late) or lost by `keep`. */
  kill(actor: Actor, keep: (gate: Gate) => boolean): void {
    if (actor.dead) return;
    actor.dead = true;
    this.trace.push(`${this.clock.now} kill ${actor.name}`);
    for (const gate of this.pending.filter((g) => g.actor === actor && !keep(g))) {
      this.pending.splice(this.pending.indexOf(gate), 1);
      gate.release("fail-before");
    }
  }

  /** The pending calls of one actor, oldest first. */
  gatesOf(actor: Actor): Gate[] {
    return this.pending.filter((g) => g.actor === actor);
  }

  // ---- scripted schedules ----

  /** Releases `actor`'s calls, oldest first, until its next pending call matches `until` (or it ended). */
  async runUntil(actor: Actor, until: (label: string) => boolean): Promise<void> {
    await this.settle();
    for (;;) {
      const next = this.gatesOf(actor)[0];
      if (!next || until(next.label)) return;
      await this.release(next);
    }
  }

  /** Runs `actor` to its end. */
  async finish(actor: Actor): Promise<void> {
    await this.runUntil(actor, () => false);
    if (!actor.done) throw new Error(`${actor.name} is blocked on something other than its own calls`);
  }
}

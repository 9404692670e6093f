import { IllegalStateError, NoSuchElementError } from "./errors.js";

/**
 * The state of one key inside a `mapWithState` function (Spark's `State[S]`). Read it with `exists`, `get`
 * or `getOption`; change it with `update` or `remove`. A state that is timing out can be read but not
 * changed.
 *
 * @example
 * StateSpec.function((word: string, one: number | undefined, state: State<number>) => {
 *   const sum = (one ?? 0) + (state.getOption() ?? 0);
 *   if (!state.isTimingOut()) state.update(sum);
 *   return [word, sum];
 * });
 */
export class State<S> {
  private value: S | undefined;
  private defined = false;
  private timingOut = false;
  private updated = false;
  private removed = false;

  /** @internal Points this object at a key's current state before the user function runs. */
  wrap(present: boolean, value?: S): void {
    this.value = value;
    this.defined = present;
    this.timingOut = false;
    this.updated = false;
    this.removed = false;
  }

  /** @internal Points this object at a state that is being timed out. */
  wrapTimingOut(value: S): void {
    this.wrap(true, value);
    this.timingOut = true;
  }

  exists(): boolean {
    return this.defined;
  }

  /** The state; throws NoSuchElementError when there is none (Spark: "State is not set"). */
  get(): S {
    if (!this.defined) throw new NoSuchElementError("StateNotSet", "State is not set: check state.exists() or use state.getOption() first");
    return this.value as S;
  }

  /** The state, or `undefined` when there is none (Spark's `getOption`, `None` as `undefined`). */
  getOption(): S | undefined {
    return this.defined ? this.value : undefined;
  }

  update(newState: S): void {
    if (this.removed) throw new IllegalStateError("StateRemoved", "Cannot update the state after it has been removed");
    if (this.timingOut) throw new IllegalStateError("StateTimingOut", "Cannot update the state that is timing out: it is being removed; check state.isTimingOut() first");
    this.value = newState;
    this.defined = true;
    this.updated = true;
  }

  remove(): void {
    if (this.timingOut) throw new IllegalStateError("StateTimingOut", "Cannot remove the state that is timing out: it is being removed already");
    if (this.removed) throw new IllegalStateError("StateRemoved", "Cannot remove the state that has already been removed");
    this.value = undefined;
    this.defined = false;
    this.updated = false;
    this.removed = true;
  }

  /** True when the function is being called because the key's state timed out. */
  isTimingOut(): boolean {
    return this.timingOut;
  }

  /** @internal */
  isRemoved(): boolean {
    return this.removed;
  }

  /** @internal */
  isUpdated(): boolean {
    return this.updated;
  }

  toString(): string {
    return this.defined ? `State(${String(this.value)})` : "State(<state not set>)";
  }
}

import { UserFunctionError } from "./errors.js";
import { requirePair } from "./pairs.js";

/**
 * A narrow, element-at-a-time transformation (map, flatMap, filter, mapValues, flatMapValues). A step turns a
 * downstream `emit` into an upstream consumer, so chains fuse into one loop with no array between operators.
 * The same steps run inside RDDs (local engine, finalizer) and per record in the Lambda shard handler, where
 * a record whose step throws is dead-lettered on its own.
 */
export interface Step<T, U> {
  /** The operator's name, used in error messages ("map", "RDD.filter"). */
  readonly label: string;
  pipe(emit: (value: U) => void): (value: T) => void;
}

function fail(label: string, cause: unknown): never {
  throw cause instanceof UserFunctionError ? cause : new UserFunctionError(label, cause);
}

export function mapStep<T, U>(fn: (value: T) => U, label = "map"): Step<T, U> {
  return {
    label,
    pipe: (emit) => (value) => {
      let out: U;
      try {
        out = fn(value);
      } catch (e) {
        fail(label, e);
      }
      emit(out);
    },
  };
}

export function flatMapStep<T, U>(fn: (value: T) => Iterable<U>, label = "flatMap"): Step<T, U> {
  return {
    label,
    pipe: (emit) => (value) => {
      let out: Iterable<U>;
      try {
        out = fn(value);
      } catch (e) {
        fail(label, e);
      }
      if (Array.isArray(out)) {
        for (let i = 0; i < out.length; i++) emit(out[i]);
      } else {
        for (const u of out) emit(u);
      }
    },
  };
}

export function filterStep<T>(fn: (value: T) => boolean, label = "filter"): Step<T, T> {
  return {
    label,
    pipe: (emit) => (value) => {
      let keep: boolean;
      try {
        keep = fn(value);
      } catch (e) {
        fail(label, e);
      }
      if (keep) emit(value);
    },
  };
}

export function mapValuesStep<K, V, W>(fn: (value: V) => W, label = "mapValues"): Step<[K, V], [K, W]> {
  return {
    label,
    pipe: (emit) => (pair) => {
      requirePair(pair, label);
      let out: W;
      try {
        out = fn(pair[1]);
      } catch (e) {
        fail(label, e);
      }
      emit([pair[0], out]);
    },
  };
}

export function flatMapValuesStep<K, V, W>(fn: (value: V) => Iterable<W>, label = "flatMapValues"): Step<[K, V], [K, W]> {
  return {
    label,
    pipe: (emit) => (pair) => {
      requirePair(pair, label);
      let out: Iterable<W>;
      try {
        out = fn(pair[1]);
      } catch (e) {
        fail(label, e);
      }
      for (const w of out) emit([pair[0], w]);
    },
  };
}

/** Calls a user function, turning what it throws into a UserFunctionError naming the operator. */
export function guarded<A extends unknown[], R>(label: string, fn: (...args: A) => R): (...args: A) => R {
  return (...args: A) => {
    try {
      return fn(...args);
    } catch (e) {
      fail(label, e);
    }
  };
}

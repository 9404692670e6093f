import { ValidationError } from "./errors.js";

/** A span of time in whole milliseconds (Spark's `Duration`). */
export class Duration {
  constructor(readonly milliseconds: number) {
    if (!Number.isInteger(milliseconds)) {
      throw new ValidationError("DurationNotInteger", `a duration must be a whole number of milliseconds, got ${milliseconds}`);
    }
  }

  plus(other: Duration): Duration { return new Duration(this.milliseconds + other.milliseconds); }
  minus(other: Duration): Duration { return new Duration(this.milliseconds - other.milliseconds); }
  times(n: number): Duration { return new Duration(this.milliseconds * n); }
  div(other: Duration): number { return this.milliseconds / other.milliseconds; }
  isMultipleOf(other: Duration): boolean { return other.milliseconds !== 0 && this.milliseconds % other.milliseconds === 0; }
  isZero(): boolean { return this.milliseconds === 0; }
  lessThan(other: Duration): boolean { return this.milliseconds < other.milliseconds; }
  max(other: Duration): Duration { return this.milliseconds >= other.milliseconds ? this : other; }
  equals(other: Duration): boolean { return this.milliseconds === other.milliseconds; }
  toString(): string { return `${this.milliseconds} ms`; }
  toJSON(): number { return this.milliseconds; }
}

/** A batch time: milliseconds since the epoch (Spark's `Time`). Prints as Spark does: `1000 ms`. */
export class Time {
  constructor(readonly milliseconds: number) {}

  plus(d: Duration): Time { return new Time(this.milliseconds + d.milliseconds); }
  minus(d: Duration): Time { return new Time(this.milliseconds - d.milliseconds); }
  since(t: Time): Duration { return new Duration(this.milliseconds - t.milliseconds); }
  isMultipleOf(d: Duration): boolean { return this.milliseconds % d.milliseconds === 0; }
  floor(d: Duration): Time { return new Time(Math.floor(this.milliseconds / d.milliseconds) * d.milliseconds); }
  lessThan(t: Time): boolean { return this.milliseconds < t.milliseconds; }
  lessOrEqual(t: Time): boolean { return this.milliseconds <= t.milliseconds; }
  equals(t: Time): boolean { return this.milliseconds === t.milliseconds; }
  toString(): string { return `${this.milliseconds} ms`; }
  toJSON(): number { return this.milliseconds; }
}

export const Milliseconds = (n: number): Duration => new Duration(n);
export const Seconds = (n: number): Duration => new Duration(Math.round(n * 1000));
export const Minutes = (n: number): Duration => new Duration(Math.round(n * 60_000));

export function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return Math.abs(a);
}

import { EncodingError } from "./errors.js";
import { KeyMap } from "./keys.js";

/**
 * The one codec for values that leave the process (parts, node memory, checkpoints): JSON, with the few
 * shapes JSON cannot say tagged — KeyMap (keyed state), Map and Set (which JSON would turn into `{}`),
 * undefined inside arrays, non-finite numbers, Date, bigint. Plain JSON values pass through unchanged, so the
 * stored form stays readable.
 *
 * A value that cannot be written (a circular object) throws an {@link EncodingError} naming why, never a
 * stored form that decodes to something else.
 */
const TAG = "$sparkless";

export function encodeValue(value: unknown): string {
  try {
    return JSON.stringify(value, replacer);
  } catch (e) {
    if (e instanceof EncodingError) throw e;
    const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new EncodingError("ValueNotEncodable", `a value cannot be stored (${why}): keep stream elements and state free of cycles`, {}, { cause: e });
  }
}

export function decodeValue<T = unknown>(text: string): T {
  return JSON.parse(text, reviver) as T;
}

function replacer(this: unknown, key: string, value: unknown): unknown {
  // JSON.stringify calls toJSON before the replacer; look at the raw value for Dates.
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Date) return { [TAG]: "date", v: raw.toISOString() };
  if (value instanceof KeyMap) return { [TAG]: "keymap", v: [...value.entries()] };
  if (value instanceof Map) return { [TAG]: "map", v: [...value] };
  if (value instanceof Set) return { [TAG]: "set", v: [...value] };
  if (value === undefined) return { [TAG]: "undefined" };
  if (typeof value === "bigint") return { [TAG]: "bigint", v: value.toString() };
  if (typeof value === "number" && !Number.isFinite(value)) return { [TAG]: "number", v: String(value) };
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== "object" || !(TAG in value)) return value;
  const tagged = value as { [TAG]: string; v?: unknown };
  switch (tagged[TAG]) {
    case "keymap": {
      const map = new KeyMap<unknown, unknown>();
      for (const [k, v] of tagged.v as Array<[unknown, unknown]>) map.set(k, v);
      return map;
    }
    case "map":
      return new Map(tagged.v as Array<[unknown, unknown]>);
    case "set":
      return new Set(tagged.v as unknown[]);
    case "undefined":
      return undefined;
    case "bigint":
      return BigInt(tagged.v as string);
    case "number":
      return Number(tagged.v);
    case "date":
      return new Date(tagged.v as string);
    default:
      return value;
  }
}

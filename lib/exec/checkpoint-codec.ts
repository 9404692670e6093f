import { KeyMap } from "../core/keys.js";
import { CheckpointError } from "../core/errors.js";

/**
 * How element values go into a checkpoint: JSON, with a tag for what plain JSON cannot say.
 *
 * Strings, booleans, finite numbers, null, arrays and plain objects are written as themselves. Anything
 * else is an object `{"$": tag, "v": ...}`:
 *
 *     undefined            {"$":"undefined"}          (an RDD element, a tuple slot, an object property)
 *     NaN, ±Infinity       {"$":"number","v":"NaN"}
 *     bigint               {"$":"bigint","v":"123"}
 *     Date                 {"$":"date","v":"2024-01-01T00:00:00.000Z"}
 *     Map / Set            {"$":"map","v":[[k,v],...]}  {"$":"set","v":[...]}
 *     KeyMap               {"$":"keymap","v":[[k,v],...]}   (mapWithState's states; insertion order kept)
 *     a plain object that has its own "$" property   {"$":"object","v":{...}}   (so user data never reads as a tag)
 *
 * Functions, symbols, class instances (other than the above) and circular values cannot be written: encoding
 * throws a CheckpointError (`ValueNotCheckpointable`) naming why, rather than storing `{}` and restoring
 * something else.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function encodeValue(value: unknown): Json {
  try {
    return encode(value);
  } catch (e) {
    // A circular value recurses until the stack runs out; catching that costs nothing on the way there.
    if (!(e instanceof RangeError)) throw e;
    throw new CheckpointError("ValueNotCheckpointable", "a circular (or too deeply nested) value cannot be written to a checkpoint", {}, { cause: e });
  }
}

function encode(value: unknown): Json {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : { $: "number", v: String(value) };
    case "undefined":
      return { $: "undefined" };
    case "bigint":
      return { $: "bigint", v: value.toString() };
    case "object": {
      if (value === null) return null;
      if (Array.isArray(value)) {
        const out: Json[] = new Array(value.length);
        for (let i = 0; i < value.length; i++) out[i] = encode(value[i]);
        return out;
      }
      if (value instanceof KeyMap) {
        const entries: Json[] = [];
        for (const [k, v] of (value as KeyMap<unknown, unknown>).entries()) entries.push([encode(k), encode(v)]);
        return { $: "keymap", v: entries };
      }
      if (value instanceof Map) return { $: "map", v: [...value].map(([k, v]) => [encode(k), encode(v)]) };
      if (value instanceof Set) return { $: "set", v: [...value].map(encode) };
      if (value instanceof Date) return { $: "date", v: Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString() };
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new CheckpointError(
          "ValueNotCheckpointable",
          `a ${proto?.constructor?.name ?? "class"} instance cannot be written to a checkpoint: keep stream elements and state as JSON values (strings, numbers, booleans, null, arrays, plain objects), Map, Set, Date or bigint`,
          { type: proto?.constructor?.name },
        );
      }
      const out: { [key: string]: Json } = {};
      for (const k of Object.keys(value)) out[k] = encode((value as Record<string, unknown>)[k]);
      return Object.prototype.hasOwnProperty.call(value, "$") ? { $: "object", v: out } : out;
    }
    default:
      throw new CheckpointError(
        "ValueNotCheckpointable",
        `a ${typeof value} cannot be written to a checkpoint: keep stream elements and state as JSON values`,
        { type: typeof value },
      );
  }
}

export function decodeValue(json: Json): unknown {
  if (json === null || typeof json !== "object") return json;
  if (Array.isArray(json)) {
    const out: unknown[] = new Array(json.length);
    for (let i = 0; i < json.length; i++) out[i] = decodeValue(json[i]);
    return out;
  }
  if (Object.prototype.hasOwnProperty.call(json, "$")) return decodeTagged(json);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(json)) out[k] = decodeValue(json[k]);
  return out;
}

function decodeTagged(json: { [key: string]: Json }): unknown {
  const v = json.v;
  switch (json.$) {
    case "undefined":
      return undefined;
    case "number":
      return Number(v);
    case "bigint":
      return BigInt(v as string);
    case "date":
      return new Date(v as string);
    case "map":
      return new Map((v as Json[][]).map(([k, x]) => [decodeValue(k), decodeValue(x)]));
    case "set":
      return new Set((v as Json[]).map(decodeValue));
    case "keymap": {
      const map = new KeyMap<unknown, unknown>();
      for (const [k, x] of v as Json[][]) map.set(decodeValue(k), decodeValue(x));
      return map;
    }
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as { [key: string]: Json })) out[k] = decodeValue(x);
      return out;
    }
    default:
      throw new CheckpointError("CheckpointCorrupt", `unknown value tag ${JSON.stringify(json.$)} in a checkpoint`);
  }
}

/**
 * How an element prints, as Scala's `toString` would print the matching Spark value: a JS array is a
 * tuple — `["a", 1]` prints `(a,1)`, nested recursively — strings print bare, numbers as JS prints them,
 * `null` as `null`. Objects print as JSON. Used by `print()` and `saveAsTextFiles`.
 */
export function formatElement(value: unknown): string {
  switch (typeof value) {
    case "string":
      return value;
    case "number":
    case "bigint":
    case "boolean":
    case "undefined":
      return String(value);
    case "function":
    case "symbol":
      return String(value);
    default:
      if (value === null) return "null";
      if (Array.isArray(value)) return "(" + value.map(formatElement).join(",") + ")";
      if (value instanceof Date) return value.toISOString();
      if (value instanceof Map) return "Map(" + [...value].map(([k, v]) => `${formatElement(k)} -> ${formatElement(v)}`).join(", ") + ")";
      if (value instanceof Set) return "Set(" + [...value].map(formatElement).join(", ") + ")";
      return JSON.stringify(value);
  }
}

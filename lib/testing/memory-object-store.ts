import { FaultPlan, type CrashPoint } from "./faults.js";
import type { ObjectStore } from "../io/object-store.js";

export { SimulatedCrash, type CrashPoint } from "./faults.js";

/**
 * Objects in this process, with S3's semantics as {@link S3ObjectStore} sees them: a put replaces the whole
 * object, `get` of a missing key is `undefined`, `list` returns keys in S3's order (by UTF-8 bytes), deleting a
 * missing key is not an error.
 *
 * @example
 * const objects = new MemoryObjectStore();
 * objects.failNext("put", "after"); // the object is written, then the caller sees a SimulatedCrash
 */
export class MemoryObjectStore implements ObjectStore {
  private readonly objects = new Map<string, Uint8Array>();
  private readonly faults = new FaultPlan<keyof ObjectStore>();

  /**
   * Makes the next call of `method` throw a {@link SimulatedCrash}: `"before"` it does anything, or `"after"` its
   * effect took place. Calls queue up per method.
   */
  failNext(method: keyof ObjectStore, when: CrashPoint): void {
    this.faults.arm(method, when);
  }

  /** How many objects are stored (for tests). */
  get size(): number {
    return this.objects.size;
  }

  put(key: string, body: string | Uint8Array): Promise<void> {
    return this.faults.run("put", () => {
      // Copy: the caller may reuse its buffer, as it may after an S3 PutObject.
      this.objects.set(key, typeof body === "string" ? Buffer.from(body, "utf8") : Uint8Array.from(body));
    });
  }

  get(key: string): Promise<string | undefined> {
    return this.faults.run("get", () => {
      const body = this.objects.get(key);
      return body === undefined ? undefined : Buffer.from(body).toString("utf8");
    });
  }

  list(prefix: string): Promise<string[]> {
    return this.faults.run("list", () =>
      [...this.objects.keys()]
        .filter((k) => k.startsWith(prefix))
        .sort((a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"))),
    );
  }

  delete(keys: readonly string[]): Promise<void> {
    return this.faults.run("delete", () => {
      for (const k of keys) this.objects.delete(k);
    });
  }
}

import { EventEmitter } from "node:events";

/**
 * What the pollers report as they run, typed by event name (`E` maps each name to its payload): the Kinesis and
 * the Kafka poller extend it. No "error" event is ever emitted (one without a listener throws): failures outside
 * the function are the pollers' "warning"s.
 */
export class TypedEvents<E> {
  private readonly events = new EventEmitter();

  on<K extends keyof E & string>(event: K, listener: (e: E[K]) => void): this {
    this.events.on(event, listener);
    return this;
  }

  off<K extends keyof E & string>(event: K, listener: (e: E[K]) => void): this {
    this.events.off(event, listener);
    return this;
  }

  protected emit<K extends keyof E & string>(event: K, e: E[K]): void {
    this.events.emit(event, e);
  }
}

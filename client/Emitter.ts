/**
 * A tiny typed event emitter for the browser (no Node APIs).
 *
 * The event map holds argument tuples, and only its keys are accepted (as in mediasoup's enhancedEvents.ts).
 * A throwing listener never unwinds into the emitter's caller: the error is reported asynchronously
 * (`reportError` where the platform has it), so a bad UI handler cannot break signalling or media.
 */
export type EventMap<E> = { [K in keyof E]: unknown[] };

export type Listener<A extends unknown[]> = (...args: A) => void;

export class Emitter<E extends EventMap<E>> {
  readonly #listeners = new Map<keyof E, Set<Listener<any>>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Adds a listener that runs at most once; returns a function that removes it. */
  once<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    const wrapper: Listener<E[K]> = (...args) => {
      this.off(event, wrapper);
      listener(...args);
    };
    return this.on(event, wrapper);
  }

  off<K extends keyof E>(event: K, listener: Listener<E[K]>): void {
    const set = this.#listeners.get(event);
    if (!set) {
      return;
    }
    set.delete(listener);
    if (set.size === 0) {
      this.#listeners.delete(event);
    }
  }

  /** Removes every listener of `event`, or of all events. */
  removeAllListeners(event?: keyof E): void {
    if (event === undefined) {
      this.#listeners.clear();
    } else {
      this.#listeners.delete(event);
    }
  }

  listenerCount(event: keyof E): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  /** Calls every listener of `event` in order; returns whether there was any. Never throws. */
  protected emit<K extends keyof E>(event: K, ...args: E[K]): boolean {
    const set = this.#listeners.get(event);
    if (!set || set.size === 0) {
      return false;
    }
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (err) {
        reportListenerError(err);
      }
    }
    return true;
  }
}

function reportListenerError(err: unknown): void {
  const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
  if (typeof report === 'function') {
    report(err);
    return;
  }
  setTimeout(() => {
    throw err;
  }, 0);
}

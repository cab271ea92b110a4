import { EventEmitter } from 'node:events';
import { logger } from './logger.ts';

/** Event maps hold tuples; only their keys can be emitted (mediasoup's enhancedEvents shape). */
export type EventMap = Record<string, unknown[]>;

export class TypedEmitter<E extends EventMap> {
  readonly #ee = new EventEmitter();

  constructor() {
    this.#ee.setMaxListeners(0);
  }

  on<K extends keyof E & string>(event: K, fn: (...args: E[K]) => void): this {
    this.#ee.on(event, fn as (...args: unknown[]) => void);
    return this;
  }

  once<K extends keyof E & string>(event: K, fn: (...args: E[K]) => void): this {
    this.#ee.once(event, fn as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof E & string>(event: K, fn: (...args: E[K]) => void): this {
    this.#ee.off(event, fn as (...args: unknown[]) => void);
    return this;
  }

  /** A throwing listener is logged, never unwound into the caller (often the media path). */
  protected safeEmit<K extends keyof E & string>(event: K, ...args: E[K]): void {
    for (const fn of this.#ee.listeners(event)) {
      try {
        (fn as (...a: unknown[]) => void)(...args);
      } catch (err) {
        logger.error({ err, event }, 'event listener threw');
      }
    }
  }

  protected removeAllListeners(): void {
    this.#ee.removeAllListeners();
  }
}

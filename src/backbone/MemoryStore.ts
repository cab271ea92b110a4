import type { Store } from './Store.ts';
import { dict } from '../util/dict.ts';

type Entry = { value: string | Map<string, string>; expires: number };

/** In-memory Store with lazy expiry; single-threaded JS makes every operation atomic. */
export class MemoryStore implements Store {
  readonly #data = new Map<string, Entry>();

  #live(key: string): Entry | undefined {
    const e = this.#data.get(key);
    if (e && e.expires !== 0 && e.expires <= Date.now()) {
      this.#data.delete(key);
      return undefined;
    }
    return e;
  }

  #expiry(ttlMs?: number): number {
    return ttlMs ? Date.now() + ttlMs : 0;
  }

  get(key: string): Promise<string | undefined> {
    const e = this.#live(key);
    return Promise.resolve(typeof e?.value === 'string' ? e.value : undefined);
  }

  set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.#data.set(key, { value, expires: this.#expiry(ttlMs) });
    return Promise.resolve();
  }

  setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    if (this.#live(key)) {
      return Promise.resolve(false);
    }
    this.#data.set(key, { value, expires: this.#expiry(ttlMs) });
    return Promise.resolve(true);
  }

  refresh(key: string, expected: string, ttlMs: number): Promise<boolean> {
    const e = this.#live(key);
    if (!e || e.value !== expected) {
      return Promise.resolve(false);
    }
    e.expires = this.#expiry(ttlMs);
    return Promise.resolve(true);
  }

  compareAndDelete(key: string, expected: string): Promise<boolean> {
    const e = this.#live(key);
    if (!e || e.value !== expected) {
      return Promise.resolve(false);
    }
    this.#data.delete(key);
    return Promise.resolve(true);
  }

  del(key: string): Promise<void> {
    this.#data.delete(key);
    return Promise.resolve();
  }

  keys(prefix: string): Promise<string[]> {
    return Promise.resolve([...this.#data.keys()].filter((k) => k.startsWith(prefix) && this.#live(k)));
  }

  hset(key: string, fields: Record<string, string>, ttlMs?: number): Promise<void> {
    const e = this.#live(key);
    const map = e && e.value instanceof Map ? e.value : new Map<string, string>();
    for (const [f, v] of Object.entries(fields)) {
      map.set(f, v);
    }
    this.#data.set(key, { value: map, expires: ttlMs ? this.#expiry(ttlMs) : (e?.expires ?? 0) });
    return Promise.resolve();
  }

  hgetall(key: string): Promise<Record<string, string>> {
    const e = this.#live(key);
    return Promise.resolve(dict(e && e.value instanceof Map ? e.value : []));
  }

  hdel(key: string, field: string): Promise<void> {
    const e = this.#live(key);
    if (e && e.value instanceof Map) {
      e.value.delete(field);
    }
    return Promise.resolve();
  }

  /** Nothing to re-write: the data lives as long as the process. */
  onReset(_fn: () => Promise<void>): () => void {
    return () => undefined;
  }

  checkReset(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#data.clear();
    return Promise.resolve();
  }
}

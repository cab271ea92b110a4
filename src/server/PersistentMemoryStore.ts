/**
 * The embedded server's Store: the in-memory Store, plus a snapshot of chosen key prefixes (rooms,
 * services, secrets, replay-protection entries) in `<datadir>/store.json`, so they survive a restart.
 * Writes are coalesced (a few ms after a change) and atomic (temp file + rename); `close()` flushes.
 * TTLs are kept as absolute expiry times, so a key that expires while the server is down is gone.
 */
import { mkdir, readFile, rename, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { MemoryStore, type Store } from '../backbone/index.ts';
import { dict } from '../util/dict.ts';
import { logger } from '../util/logger.ts';

type Value = string | Record<string, string>;
interface Entry {
  v: Value;
  /** Absolute expiry (ms since the epoch); 0 = none. */
  e: number;
}

interface Snapshot {
  version: 1;
  savedAt: number;
  entries: Record<string, Entry>;
}

export const SNAPSHOT_FILE = 'store.json';
const FLUSH_DELAY_MS = 20;

export class PersistentMemoryStore implements Store {
  readonly file: string;
  readonly #inner = new MemoryStore();
  readonly #prefixes: readonly string[];
  /** Mirror of the persisted keys (what goes into the snapshot). */
  readonly #shadow = new Map<string, Entry>();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #dirty = false;
  #closed = false;

  private constructor(dir: string, prefixes: readonly string[]) {
    this.file = join(dir, SNAPSHOT_FILE);
    this.#prefixes = prefixes;
  }

  /**
   * Creates `dir` when missing and loads its snapshot. A snapshot that cannot be parsed stops the
   * start (throws) rather than silently starting empty and overwriting it.
   */
  static async open(dir: string, prefixes: readonly string[]): Promise<PersistentMemoryStore> {
    const store = new PersistentMemoryStore(dir, prefixes);
    await ensureDataDir(dir);
    let text: string | undefined;
    try {
      text = await readFile(store.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw err;
      }
    }
    if (text !== undefined) {
      await store.#load(text);
    }
    return store;
  }

  async #load(text: string): Promise<void> {
    let snap: Snapshot;
    try {
      snap = JSON.parse(text) as Snapshot;
      if (snap.version !== 1 || typeof snap.entries !== 'object' || snap.entries === null) {
        throw new Error('unknown snapshot format');
      }
    } catch (err) {
      throw new Error(`${this.file}: cannot read the store snapshot: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const now = Date.now();
    let loaded = 0;
    for (const [key, entry] of Object.entries(snap.entries)) {
      if (!this.#persisted(key) || (entry.e !== 0 && entry.e <= now)) {
        continue;
      }
      const ttl = entry.e === 0 ? undefined : entry.e - now;
      if (typeof entry.v === 'string') {
        await this.#inner.set(key, entry.v, ttl);
      } else {
        await this.#inner.hset(key, entry.v, ttl);
      }
      this.#shadow.set(key, {
        v: typeof entry.v === 'string' ? entry.v : dict(Object.entries(entry.v)),
        e: entry.e,
      });
      loaded++;
    }
    logger.debug({ file: this.file, keys: loaded }, 'store snapshot loaded');
  }

  #persisted(key: string): boolean {
    return this.#prefixes.some((p) => key.startsWith(p));
  }

  #live(key: string): Entry | undefined {
    const e = this.#shadow.get(key);
    if (e && e.e !== 0 && e.e <= Date.now()) {
      this.#shadow.delete(key);
      return undefined;
    }
    return e;
  }

  #changed(key: string, entry: Entry | undefined): void {
    if (!this.#persisted(key)) {
      return;
    }
    if (entry) {
      this.#shadow.set(key, entry);
    } else {
      this.#shadow.delete(key);
    }
    this.#dirty = true;
    if (!this.#timer && !this.#closed) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.flush().catch((err: unknown) =>
          logger.error({ err, file: this.file }, 'store snapshot failed'),
        );
      }, FLUSH_DELAY_MS);
    }
  }

  /** Writes the snapshot now if anything changed (serialised with any write in progress). */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#writing = this.#writing.then(async () => {
      if (!this.#dirty) {
        return;
      }
      this.#dirty = false;
      const now = Date.now();
      const entries: Record<string, Entry> = {};
      for (const [k, e] of this.#shadow) {
        if (e.e === 0 || e.e > now) {
          entries[k] = e;
        }
      }
      const snap: Snapshot = { version: 1, savedAt: now, entries };
      const tmp = `${this.file}.${process.pid}.tmp`;
      try {
        const fh = await open(tmp, 'w', 0o600);
        try {
          await fh.writeFile(JSON.stringify(snap));
          await fh.sync();
        } finally {
          await fh.close();
        }
        await rename(tmp, this.file);
      } catch (err) {
        this.#dirty = true; // try again with the next change or at close
        throw err;
      }
    });
    return this.#writing;
  }

  get(key: string): Promise<string | undefined> {
    return this.#inner.get(key);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    await this.#inner.set(key, value, ttlMs);
    this.#changed(key, { v: value, e: ttlMs ? Date.now() + ttlMs : 0 });
  }

  async setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    const ok = await this.#inner.setIfAbsent(key, value, ttlMs);
    if (ok) {
      this.#changed(key, { v: value, e: ttlMs ? Date.now() + ttlMs : 0 });
    }
    return ok;
  }

  async refresh(key: string, expected: string, ttlMs: number): Promise<boolean> {
    const ok = await this.#inner.refresh(key, expected, ttlMs);
    if (ok) {
      this.#changed(key, { v: expected, e: Date.now() + ttlMs });
    }
    return ok;
  }

  async compareAndDelete(key: string, expected: string): Promise<boolean> {
    const ok = await this.#inner.compareAndDelete(key, expected);
    if (ok) {
      this.#changed(key, undefined);
    }
    return ok;
  }

  async del(key: string): Promise<void> {
    await this.#inner.del(key);
    this.#changed(key, undefined);
  }

  keys(prefix: string): Promise<string[]> {
    return this.#inner.keys(prefix);
  }

  async hset(key: string, fields: Record<string, string>, ttlMs?: number): Promise<void> {
    await this.#inner.hset(key, fields, ttlMs);
    if (this.#persisted(key)) {
      const prev = this.#live(key);
      const map = dict([
        ...(prev && typeof prev.v !== 'string' ? Object.entries(prev.v) : []),
        ...Object.entries(fields),
      ]);
      this.#changed(key, { v: map, e: ttlMs ? Date.now() + ttlMs : (prev?.e ?? 0) });
    }
  }

  hgetall(key: string): Promise<Record<string, string>> {
    return this.#inner.hgetall(key);
  }

  async hdel(key: string, field: string): Promise<void> {
    await this.#inner.hdel(key, field);
    const prev = this.#persisted(key) ? this.#live(key) : undefined;
    if (prev && typeof prev.v !== 'string') {
      const map = dict(Object.entries(prev.v).filter(([f]) => f !== field));
      this.#changed(key, { v: map, e: prev.e });
    }
  }

  onReset(fn: () => Promise<void>): () => void {
    return this.#inner.onReset(fn);
  }

  checkReset(): Promise<void> {
    return this.#inner.checkReset();
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    try {
      await this.flush();
    } finally {
      await this.#inner.close();
    }
  }
}

/**
 * Creates the data folder (and its parents) when missing, readable by the owner only. Every process
 * writes `secrets.json` there, with or without the embedded Store, so none may assume it exists.
 */
export async function ensureDataDir(dir: string): Promise<void> {
  if ((await mkdir(dir, { recursive: true, mode: 0o700 })) !== undefined) {
    logger.info({ dir }, `created data folder ${dir}`);
  }
}

/** Writes `text` to `file` atomically (temp file + rename), readable by the owner only. */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, file);
}

import { randomUUID } from 'node:crypto';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Store } from './Store.ts';
import { dict } from '../util/dict.ts';
import { logger } from '../util/logger.ts';

/** What RedisStore needs from `[redis]` in the configuration. */
export interface RedisStoreOptions {
  /** `"host:port"` (IPv6 as `"[::1]:6379"`); one address = one server, several = Redis Cluster seeds. */
  addrs: readonly string[];
  /** `AUTH` password; `""` = none. */
  password: string;
  /** Database number; Redis Cluster has only database 0. */
  db: number;
  /** Shown in `CLIENT LIST`. Default "switchboard". */
  name?: string;
  /**
   * Prefixes of durable records (rooms, services) this process keeps a copy of, to write them back
   * when Redis lost its data (see `#restoreMirror`). Default none.
   */
  mirror?: readonly string[];
}

/** How long a reconnect attempt may take before the next one. */
const CONNECT_TIMEOUT_MS = 2_000;
/**
 * Commands issued while Redis is away wait in the client's queue and go out on reconnect; after
 * this many failed reconnects (about 3.6 s with the back-off below) they fail with
 * MaxRetriesPerRequestError, so a long outage surfaces as errors instead of a silent stall.
 */
const MAX_RETRIES_PER_REQUEST = 8;
/** A command written to a connection that never answers (a dead peer without a reset) fails after this. */
const COMMAND_TIMEOUT_MS = 5_000;
const retryStrategy = (times: number): number => Math.min(times * 100, 1_000);
const SCAN_COUNT = 200;
/** How often the Store looks whether Redis lost its data (it also looks after every reconnect). */
const RESET_CHECK_MS = 5_000;
/** The marker outlives missed checks by far; a process that is gone leaves it behind a minute at most. */
const MARKER_TTL_MS = 60_000;
/** How often the mirror is read back from Redis: what another process changed is this stale at a reset. */
const MIRROR_REFRESH_MS = 10_000;
const MIRROR_READ_BATCH = 100;

// Atomic lease operations. `pcall` so a key holding another type (a hash) reads as "not the
// holder" instead of failing, as in MemoryStore.
const REFRESH_LUA = `
local v = redis.pcall('GET', KEYS[1])
if v == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
const COMPARE_AND_DELETE_LUA = `
local v = redis.pcall('GET', KEYS[1])
if v == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;
// Writing back a mirrored hash must not overwrite one another process already wrote back (or changed).
const HSET_IF_ABSENT_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
if tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1`;

/** The commands `defineCommand` adds; ioredis cannot type them itself. */
interface LeaseCommands {
  sbRefresh(key: string, expected: string, ttlMs: number): Promise<number>;
  sbCompareAndDelete(key: string, expected: string): Promise<number>;
  sbHsetIfAbsent(key: string, ttlMs: number, ...fieldsAndValues: string[]): Promise<number>;
}

/** A mirrored key: a string or a hash, and its absolute expiry (0 = none). */
interface MirrorEntry {
  v: string | Record<string, string>;
  e: number;
}
type Client = (Redis | Cluster) & LeaseCommands;

const log = logger.child({ component: 'redis' });

/**
 * The Store over Redis (distributed mode): TTLs in ms (`PX`), claims with `SET NX PX`, renew and
 * release as Lua scripts (atomic on the server), `keys()` with `SCAN` (never `KEYS`, which blocks
 * the server), hashes with `HSET`/`HGETALL`/`HDEL`.
 *
 * Lost data: many deployments run Redis without persistence, so a restart empties it while every
 * process carries on. Each process keeps a marker key of its own; when it is gone (looked at after
 * every reconnect and every few seconds) Redis lost its data, and the Store writes back its mirror
 * of durable records, then runs the `onReset` callbacks of the roles (secrets, members, ...). Redis
 * stays the truth while it has the data: the mirror is a copy read back from it every few seconds
 * (plus this process's own writes), written back only where a key is absent, so the first process to
 * write back wins and changes made just before the loss by another process may be undone.
 */
export class RedisStore implements Store {
  readonly #redis: Client;
  readonly #marker = `sb:store-marker:${randomUUID()}`;
  readonly #resetFns = new Set<() => Promise<void>>();
  readonly #mirrorPrefixes: readonly string[];
  #mirror = new Map<string, MirrorEntry>();
  /** Keys this process wrote while the mirror was being read back (their own value wins). */
  #touched: Set<string> | undefined;
  /** Counts the losses seen; a read-back that straddles one is thrown away. */
  #epoch = 0;
  #checking: Promise<void> | undefined;
  #refreshing = false;
  #timers: NodeJS.Timeout[] = [];
  #closed = false;

  private constructor(redis: Client, mirror: readonly string[]) {
    this.#redis = redis;
    this.#mirrorPrefixes = mirror;
  }

  async #start(): Promise<void> {
    await this.#redis.set(this.#marker, '1', 'PX', MARKER_TTL_MS);
    this.#redis.on('ready', () => void this.checkReset().catch(() => undefined));
    const check = setInterval(() => void this.checkReset().catch(() => undefined), RESET_CHECK_MS);
    this.#timers.push(check);
    if (this.#mirrorPrefixes.length > 0) {
      await this.#refreshMirror();
      this.#timers.push(setInterval(() => void this.#refreshMirror(), MIRROR_REFRESH_MS));
    }
    for (const t of this.#timers) {
      t.unref();
    }
  }

  onReset(fn: () => Promise<void>): () => void {
    this.#resetFns.add(fn);
    return () => this.#resetFns.delete(fn);
  }

  checkReset(): Promise<void> {
    this.#checking ??= this.#check().finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  async #check(): Promise<void> {
    if (this.#closed || (await this.refresh(this.#marker, '1', MARKER_TTL_MS))) {
      return;
    }
    this.#epoch++;
    log.warn('redis lost its data (restarted without persistence?): writing back what this process owns');
    await this.#redis.set(this.#marker, '1', 'PX', MARKER_TTL_MS);
    await this.#restoreMirror();
    for (const fn of [...this.#resetFns]) {
      try {
        await fn();
      } catch (err) {
        log.warn({ err }, 'writing back state after a redis data loss failed');
      }
    }
  }

  /** Writes back every mirrored record Redis does not have (another process may have been first). */
  async #restoreMirror(): Promise<void> {
    let written = 0;
    for (const [key, m] of [...this.#mirror]) {
      const ttl = m.e === 0 ? 0 : m.e - Date.now();
      if (m.e !== 0 && ttl <= 0) {
        this.#mirror.delete(key);
        continue;
      }
      let ok: boolean;
      if (typeof m.v === 'string') {
        ok = ttl > 0 ? await this.setIfAbsent(key, m.v, ttl) : await this.setIfAbsent(key, m.v);
      } else {
        const flat = Object.entries(m.v).flat();
        ok = flat.length > 0 && (await this.#redis.sbHsetIfAbsent(key, ttl, ...flat)) === 1;
      }
      written += ok ? 1 : 0;
    }
    if (this.#mirror.size > 0) {
      log.info(
        { written, mirrored: this.#mirror.size },
        'wrote back mirrored records after a redis data loss',
      );
    }
  }

  /** Reads the mirrored prefixes back from Redis; kept only if Redis did not lose its data meanwhile. */
  async #refreshMirror(): Promise<void> {
    if (this.#refreshing || this.#closed) {
      return;
    }
    this.#refreshing = true;
    const epoch = this.#epoch;
    this.#touched = new Set();
    try {
      const next = new Map<string, MirrorEntry>();
      for (const prefix of this.#mirrorPrefixes) {
        const keys = await this.keys(prefix);
        for (let i = 0; i < keys.length; i += MIRROR_READ_BATCH) {
          await Promise.all(keys.slice(i, i + MIRROR_READ_BATCH).map((k) => this.#readEntry(k, next)));
        }
      }
      // Our marker was set before the read: still there afterwards = Redis kept its data throughout.
      await this.checkReset();
      if (this.#epoch !== epoch) {
        return;
      }
      for (const key of this.#touched) {
        const own = this.#mirror.get(key);
        if (own) {
          next.set(key, own);
        } else {
          next.delete(key);
        }
      }
      this.#mirror = next;
    } catch (err) {
      log.debug({ err }, 'reading back the mirrored records failed (redis away?)');
    } finally {
      this.#touched = undefined;
      this.#refreshing = false;
    }
  }

  async #readEntry(key: string, into: Map<string, MirrorEntry>): Promise<void> {
    const [type, pttl] = await Promise.all([this.#redis.type(key), this.#redis.pttl(key)]);
    let v: string | Record<string, string> | undefined;
    if (type === 'string') {
      v = (await this.#redis.get(key)) ?? undefined;
    } else if (type === 'hash') {
      const h = await this.#redis.hgetall(key);
      v = Object.keys(h).length > 0 ? h : undefined;
    }
    if (v !== undefined && pttl !== -2) {
      into.set(key, { v, e: pttl > 0 ? Date.now() + pttl : 0 });
    }
  }

  /** Keeps the mirror in step with this process's own writes. */
  #isMirrored(key: string): boolean {
    return this.#mirrorPrefixes.some((p) => key.startsWith(p));
  }

  #wrote(key: string, entry: MirrorEntry | undefined): void {
    if (!this.#isMirrored(key)) {
      return;
    }
    if (entry) {
      this.#mirror.set(key, entry);
    } else {
      this.#mirror.delete(key);
    }
    this.#touched?.add(key);
  }

  /** Connects and waits until Redis answers; rejects (and disconnects) on the first connection error. */
  static async connect(opts: RedisStoreOptions): Promise<RedisStore> {
    const client = createClient(opts);
    try {
      await new Promise<void>((resolve, reject) => {
        const settle = (err?: Error): void => {
          client.off('ready', settle).off('error', settle);
          if (err) {
            reject(err);
          } else {
            resolve();
          }
        };
        client.on('ready', settle).on('error', settle);
      });
    } catch (err) {
      client.disconnect();
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`cannot connect to Redis at ${opts.addrs.join(', ')}: ${reason}`, { cause: err });
    }
    watch(client, opts.addrs);
    log.info({ addrs: opts.addrs }, 'redis connected');
    const store = new RedisStore(client, opts.mirror ?? []);
    try {
      await store.#start();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.#redis.get(key)) ?? undefined;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs) {
      await this.#redis.set(key, value, 'PX', ttlMs);
    } else {
      await this.#redis.set(key, value);
    }
    this.#wrote(key, { v: value, e: ttlMs ? Date.now() + ttlMs : 0 });
  }

  async setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    const r = ttlMs
      ? await this.#redis.set(key, value, 'PX', ttlMs, 'NX')
      : await this.#redis.set(key, value, 'NX');
    if (r === 'OK') {
      this.#wrote(key, { v: value, e: ttlMs ? Date.now() + ttlMs : 0 });
    }
    return r === 'OK';
  }

  async refresh(key: string, expected: string, ttlMs: number): Promise<boolean> {
    const ok = (await this.#redis.sbRefresh(key, expected, ttlMs)) === 1;
    if (ok && key !== this.#marker) {
      this.#wrote(key, { v: expected, e: Date.now() + ttlMs });
    }
    return ok;
  }

  async compareAndDelete(key: string, expected: string): Promise<boolean> {
    const ok = (await this.#redis.sbCompareAndDelete(key, expected)) === 1;
    if (ok) {
      this.#wrote(key, undefined);
    }
    return ok;
  }

  async del(key: string): Promise<void> {
    await this.#redis.del(key);
    this.#wrote(key, undefined);
  }

  async keys(prefix: string): Promise<string[]> {
    const match = `${escapeGlob(prefix)}*`;
    // A cluster's keys are spread over its masters: scan each.
    const servers = this.#redis instanceof Cluster ? this.#redis.nodes('master') : [this.#redis];
    const found = new Set<string>(); // SCAN may return a key twice
    for (const server of servers) {
      let cursor = '0';
      do {
        const [next, batch] = await server.scan(cursor, 'MATCH', match, 'COUNT', SCAN_COUNT);
        cursor = next;
        for (const k of batch) {
          found.add(k);
        }
      } while (cursor !== '0');
    }
    return [...found];
  }

  async hset(key: string, fields: Record<string, string>, ttlMs?: number): Promise<void> {
    const tx = this.#redis.multi();
    if (Object.keys(fields).length > 0) {
      tx.hset(key, fields);
    }
    if (ttlMs) {
      tx.pexpire(key, ttlMs);
    }
    const results = await tx.exec();
    const failed = results?.find(([err]) => err);
    if (failed?.[0]) {
      throw failed[0];
    }
    if (this.#isMirrored(key)) {
      // A hash the mirror does not hold yet is read whole: a partial copy written back would be wrong.
      const prev = this.#mirror.get(key);
      const v =
        prev && typeof prev.v !== 'string' ? { ...prev.v, ...fields } : await this.#redis.hgetall(key);
      this.#wrote(key, { v, e: ttlMs ? Date.now() + ttlMs : (prev?.e ?? 0) });
    }
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    // ioredis defines `__proto__` and `constructor` as own fields, but on an ordinary object.
    return dict(Object.entries(await this.#redis.hgetall(key)));
  }

  async hdel(key: string, field: string): Promise<void> {
    await this.#redis.hdel(key, field);
    const prev = this.#mirror.get(key);
    if (prev && typeof prev.v !== 'string') {
      const v = { ...prev.v };
      delete v[field];
      this.#wrote(key, Object.keys(v).length > 0 ? { v, e: prev.e } : undefined);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    for (const t of this.#timers.splice(0)) {
      clearInterval(t);
    }
    await this.#checking?.catch(() => undefined);
    if (this.#redis.status === 'ready') {
      await this.#redis.del(this.#marker).catch(() => undefined);
    }
    try {
      await this.#redis.quit(); // waits for pending replies
    } catch {
      this.#redis.disconnect();
    }
  }
}

/** `"host:port"` → parts; IPv6 in brackets. Throws TypeError naming the config key. */
export function parseRedisAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(addr.trim());
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) {
    throw new TypeError(`redis.addrs: "${addr}" is not "host:port"`);
  }
  return { host: (m[1] ?? m[2])!, port };
}

function createClient(opts: RedisStoreOptions): Client {
  if (opts.addrs.length === 0) {
    throw new TypeError('redis.addrs: at least one address is needed');
  }
  const nodes = opts.addrs.map(parseRedisAddr);
  const common: RedisOptions = {
    ...(opts.password ? { password: opts.password } : {}),
    connectionName: opts.name ?? 'switchboard',
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST,
    retryStrategy,
  };
  let client: Redis | Cluster;
  if (nodes.length === 1) {
    client = new Redis({ ...nodes[0]!, ...common, db: opts.db, lazyConnect: false });
  } else {
    if (opts.db !== 0) {
      throw new TypeError('redis.db: Redis Cluster (several redis.addrs) has only database 0');
    }
    const clusterOpts: ClusterOptions = {
      redisOptions: common,
      clusterRetryStrategy: retryStrategy,
      maxRedirections: 16,
      lazyConnect: false,
    };
    client = new Cluster(nodes, clusterOpts);
  }
  client.defineCommand('sbRefresh', { numberOfKeys: 1, lua: REFRESH_LUA });
  client.defineCommand('sbCompareAndDelete', { numberOfKeys: 1, lua: COMPARE_AND_DELETE_LUA });
  client.defineCommand('sbHsetIfAbsent', { numberOfKeys: 1, lua: HSET_IF_ABSENT_LUA });
  return client as Client;
}

/** Logs connection changes: one warning per outage (ioredis repeats its error on every retry). */
function watch(client: Client, addrs: readonly string[]): void {
  let down = false;
  const lost = (err?: Error): void => {
    if (!down) {
      down = true;
      log.warn({ err, addrs }, 'redis connection lost; reconnecting');
    }
  };
  client.on('error', lost);
  client.on('reconnecting', () => lost());
  client.on('ready', () => {
    if (down) {
      down = false;
      log.info({ addrs }, 'redis reconnected');
    }
  });
  client.on('end', () => log.info({ addrs }, 'redis connection closed'));
}

/** Escapes Redis glob characters so `prefix` matches literally. */
function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

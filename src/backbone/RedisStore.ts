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

/** The commands `defineCommand` adds; ioredis cannot type them itself. */
interface LeaseCommands {
  sbRefresh(key: string, expected: string, ttlMs: number): Promise<number>;
  sbCompareAndDelete(key: string, expected: string): Promise<number>;
}
type Client = (Redis | Cluster) & LeaseCommands;

const log = logger.child({ component: 'redis' });

/**
 * The Store over Redis (distributed mode): TTLs in ms (`PX`), claims with `SET NX PX`, renew and
 * release as Lua scripts (atomic on the server), `keys()` with `SCAN` (never `KEYS`, which blocks
 * the server), hashes with `HSET`/`HGETALL`/`HDEL`.
 */
export class RedisStore implements Store {
  readonly #redis: Client;
  #closed = false;

  private constructor(redis: Client) {
    this.#redis = redis;
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
    return new RedisStore(client);
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
  }

  async setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    const r = ttlMs
      ? await this.#redis.set(key, value, 'PX', ttlMs, 'NX')
      : await this.#redis.set(key, value, 'NX');
    return r === 'OK';
  }

  async refresh(key: string, expected: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.sbRefresh(key, expected, ttlMs)) === 1;
  }

  async compareAndDelete(key: string, expected: string): Promise<boolean> {
    return (await this.#redis.sbCompareAndDelete(key, expected)) === 1;
  }

  async del(key: string): Promise<void> {
    await this.#redis.del(key);
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
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    // ioredis defines `__proto__` and `constructor` as own fields, but on an ordinary object.
    return dict(Object.entries(await this.#redis.hgetall(key)));
  }

  async hdel(key: string, field: string): Promise<void> {
    await this.#redis.hdel(key, field);
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
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

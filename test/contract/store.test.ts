// The Store seam's contract, run against the in-memory MemoryStore and RedisStore on a real
// redis-server. Leases (claim, renew, release) are what placement relies on: they must be atomic.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { MemoryStore, RedisStore, parseRedisAddr, type Store } from '../../src/backbone/index.ts';
import { PersistentMemoryStore } from '../../src/server/PersistentMemoryStore.ts';
import { setLogLevel } from '../../src/util/logger.ts';
import { freePort, startRedis, type RedisServer } from '../helpers/services.ts';
import { waitFor } from '../helpers/waitFor.ts';

setLogLevel('warn');

/** Clients of one store: the memory store hands out itself, Redis a new connection each time. */
interface StoreFixture {
  connect(): Promise<Store>;
  close(): Promise<void>;
}

let seq = 0;
/** A key prefix no other test uses (the fixture is shared within a suite). */
const fresh = (): string => `t${++seq}:`;

/** A hash as an ordinary object: hgetall's has no prototype, which deepEqual (strict) would count as a difference. */
const plain = (h: Record<string, string>): Record<string, string> => ({ ...h });

/** Waits until `key` has expired, polling (no fixed sleep). */
const expired = (s: Store, key: string): Promise<boolean> =>
  waitFor(async () => (await s.get(key)) === undefined, {
    timeout: 5_000,
    interval: 20,
    what: `${key} to expire`,
  });

function storeContract(name: string, makeFixture: () => Promise<StoreFixture>): void {
  void describe(`Store contract: ${name}`, { timeout: 60_000 }, () => {
    let fx: StoreFixture;
    let s: Store;
    let other: Store;

    before(async () => {
      fx = await makeFixture();
      [s, other] = [await fx.connect(), await fx.connect()];
    });
    after(async () => {
      await fx?.close();
    });

    void it('get returns what set stored; del removes it; a missing key is undefined', async () => {
      const k = `${fresh()}k`;
      assert.equal(await s.get(k), undefined);
      await s.set(k, 'v1');
      assert.equal(await other.get(k), 'v1');
      await s.set(k, 'v2 ✓ "quoted"');
      assert.equal(await s.get(k), 'v2 ✓ "quoted"');
      await s.del(k);
      await s.del(k); // deleting a missing key is fine
      assert.equal(await s.get(k), undefined);
    });

    void it('a key set with a TTL expires; set without a TTL keeps it', async () => {
      const p = fresh();
      await s.set(`${p}short`, 'x', 200);
      await s.set(`${p}kept`, 'x', 200);
      await s.set(`${p}kept`, 'y'); // a plain set drops the TTL
      assert.equal(await s.get(`${p}short`), 'x');
      await expired(s, `${p}short`);
      assert.equal(await s.get(`${p}kept`), 'y');
      assert.deepEqual(await s.keys(p), [`${p}kept`]);
    });

    void it('of 10 concurrent claims exactly one wins, and its value is stored', async () => {
      const k = `${fresh()}lease`;
      const claims = Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? other : s).setIfAbsent(k, `node-${i}`, 5_000),
      );
      const won = await Promise.all(claims);
      assert.equal(won.filter(Boolean).length, 1);
      assert.equal(await s.get(k), `node-${won.indexOf(true)}`);
    });

    void it('a claim expires with its TTL and can then be claimed again', async () => {
      const k = `${fresh()}lease`;
      assert.equal(await s.setIfAbsent(k, 'n1', 200), true);
      assert.equal(await other.setIfAbsent(k, 'n2', 200), false);
      await expired(s, k);
      assert.equal(await other.setIfAbsent(k, 'n2'), true);
      assert.equal(await s.get(k), 'n2');
    });

    void it('refresh extends the lease only for its holder', async () => {
      const p = fresh();
      const k = `${p}lease`;
      assert.equal(await s.refresh(k, 'n1', 1_000), false, 'no lease, nothing to refresh');
      await s.setIfAbsent(k, 'n1', 200);
      assert.equal(await other.refresh(k, 'n2', 60_000), false, 'not the holder');
      assert.equal(await s.refresh(k, 'n1', 60_000), true);
      // A probe with the lease's original TTL: once it is gone, the unrefreshed lease would be too.
      await s.set(`${p}probe`, 'x', 200);
      await expired(s, `${p}probe`);
      assert.equal(await s.get(k), 'n1');
    });

    void it('compareAndDelete releases the lease only for its holder', async () => {
      const k = `${fresh()}lease`;
      assert.equal(await s.compareAndDelete(k, 'n1'), false, 'no lease, nothing to release');
      await s.setIfAbsent(k, 'n1', 60_000);
      assert.equal(await other.compareAndDelete(k, 'n2'), false);
      assert.equal(await s.get(k), 'n1');
      assert.equal(await s.compareAndDelete(k, 'n1'), true);
      assert.equal(await s.get(k), undefined);
      assert.equal(await other.setIfAbsent(k, 'n2', 60_000), true, 'free for the next claim');
    });

    void it('refresh and compareAndDelete treat a hash as not held', async () => {
      const k = `${fresh()}h`;
      await s.hset(k, { f: 'n1' });
      assert.equal(await s.refresh(k, 'n1', 1_000), false);
      assert.equal(await s.compareAndDelete(k, 'n1'), false);
      assert.deepEqual(plain(await s.hgetall(k)), { f: 'n1' });
    });

    void it('keys lists live keys under a literal prefix, however many', async () => {
      const p = fresh();
      const glob = `${p}a*[x]?:`; // Redis glob characters must match literally
      const many = Array.from({ length: 450 }, (_, i) => `${p}node:${i}`);
      for (const k of many) {
        await s.set(k, '1');
      }
      await s.set(`${glob}1`, '1');
      await s.hset(`${glob}2`, { f: 'v' });
      await s.set(`${p}aXxy:3`, '1');
      await s.set(`${p}node:gone`, '1', 100);
      await s.set(`${p}nodes`, '1');
      assert.deepEqual((await other.keys(glob)).sort(), [`${glob}1`, `${glob}2`]);
      await expired(s, `${p}node:gone`);
      assert.deepEqual((await s.keys(`${p}node:`)).sort(), [...many].sort());
      assert.deepEqual(await s.keys(`${fresh()}nothing`), []);
    });

    void it('hashes: hset merges fields, hgetall reads them, hdel removes one', async () => {
      const k = `${fresh()}h`;
      assert.deepEqual(plain(await s.hgetall(k)), {});
      await s.hset(k, { a: '1', b: '2' });
      await other.hset(k, { b: '3', c: '4' });
      assert.deepEqual(plain(await s.hgetall(k)), { a: '1', b: '3', c: '4' });
      await s.hdel(k, 'a');
      await s.hdel(k, 'missing');
      assert.deepEqual(plain(await other.hgetall(k)), { b: '3', c: '4' });
      await s.del(k);
      assert.deepEqual(plain(await s.hgetall(k)), {});
    });

    void it('hash fields named like Object.prototype members (uids "constructor", "__proto__") are plain fields', async () => {
      const k = `${fresh()}members`;
      const empty = await s.hgetall(k);
      assert.equal(empty['constructor'], undefined);
      assert.equal(empty['__proto__'], undefined);
      // A computed key: an own field named "__proto__", as `{ [uid]: … }` makes it.
      await s.hset(k, { ['__proto__']: 'p', constructor: 'c', toString: 't' });
      const h = await other.hgetall(k);
      assert.deepEqual(Object.entries(h).sort(), [
        ['__proto__', 'p'],
        ['constructor', 'c'],
        ['toString', 't'],
      ]);
      assert.equal(h['__proto__'], 'p');
      assert.equal(h['constructor'], 'c');
      await s.hdel(k, 'constructor');
      const after = await s.hgetall(k);
      assert.equal(after['constructor'], undefined);
      assert.deepEqual(Object.keys(after).sort(), ['__proto__', 'toString']);
      await s.del(k);
    });

    void it('a hash set with a TTL expires; hset without a TTL keeps the TTL it has', async () => {
      const p = fresh();
      await s.hset(`${p}h`, { a: '1' }, 200);
      await s.hset(`${p}h`, { b: '2' }); // keeps the 200 ms
      await s.hset(`${p}kept`, { a: '1' });
      assert.deepEqual(plain(await s.hgetall(`${p}h`)), { a: '1', b: '2' });
      await waitFor(async () => Object.keys(await s.hgetall(`${p}h`)).length === 0, {
        timeout: 5_000,
        interval: 20,
        what: 'the hash to expire',
      });
      assert.deepEqual(await s.keys(p), [`${p}kept`]);
      await s.hset(`${p}kept`, { b: '2' }, 60_000);
      assert.deepEqual(plain(await s.hgetall(`${p}kept`)), { a: '1', b: '2' });
    });
  });
}

storeContract('MemoryStore', () => {
  const store = new MemoryStore();
  return Promise.resolve({ connect: () => Promise.resolve(store), close: () => store.close() });
});

// The embedded server's Store, persisting every key (its snapshot must keep what the hashes hold).
storeContract('PersistentMemoryStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-contract-'));
  const store = await PersistentMemoryStore.open(dir, ['']);
  return {
    connect: () => Promise.resolve(store),
    close: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

storeContract('RedisStore', async () => {
  const server = await startRedis();
  const stores: RedisStore[] = [];
  return {
    async connect() {
      const store = await RedisStore.connect({ addrs: [server.addr], password: '', db: 0 });
      stores.push(store);
      return store;
    },
    async close() {
      await Promise.all(stores.map((st) => st.close()));
      await server.stop();
    },
  };
});

void describe('RedisStore connection', { timeout: 60_000 }, () => {
  let server: RedisServer;
  const stores: RedisStore[] = [];

  before(async () => {
    server = await startRedis();
  });
  after(async () => {
    await Promise.all(stores.map((st) => st.close()));
    await server?.stop();
  });

  void it('parses host:port addresses, IPv6 in brackets', () => {
    assert.deepEqual(parseRedisAddr('127.0.0.1:6379'), { host: '127.0.0.1', port: 6379 });
    assert.deepEqual(parseRedisAddr('redis.internal:7001'), { host: 'redis.internal', port: 7001 });
    assert.deepEqual(parseRedisAddr('[::1]:6380'), { host: '::1', port: 6380 });
    for (const bad of ['localhost', ':6379', '127.0.0.1:0', '127.0.0.1:99999', '::1:6379']) {
      assert.throws(() => parseRedisAddr(bad), TypeError, bad);
    }
  });

  void it('connect rejects when no server listens', async () => {
    const addr = `127.0.0.1:${await freePort()}`;
    await assert.rejects(
      RedisStore.connect({ addrs: [addr], password: '', db: 0 }),
      /cannot connect to Redis/,
    );
  });

  void it('uses the configured database', async () => {
    const store = await RedisStore.connect({ addrs: [server.addr], password: '', db: 3 });
    stores.push(store);
    await store.set('in-db-3', 'yes');
    const raw = new Redis({ port: server.port, host: '127.0.0.1', db: 3 });
    try {
      assert.equal(await raw.get('in-db-3'), 'yes');
      assert.equal(await raw.select(0).then(() => raw.get('in-db-3')), null);
    } finally {
      raw.disconnect();
    }
  });

  void it('a command issued during a brief outage completes once Redis is back', async () => {
    const store = await RedisStore.connect({ addrs: [server.addr], password: '', db: 0 });
    stores.push(store);
    await store.set('before', '1');
    await server.stop();
    const pending = store.set('during', '2'); // queued while the server is away
    await server.start(); // same port; nothing was persisted
    await pending;
    assert.equal(await store.get('during'), '2');
    assert.equal(await store.get('before'), undefined, 'the restarted server starts empty');
  });

  void it('a command fails clearly when Redis stays away', async () => {
    const store = await RedisStore.connect({ addrs: [server.addr], password: '', db: 0 });
    stores.push(store);
    await server.stop();
    try {
      const started = Date.now();
      await assert.rejects(store.get('x'), /max retries|timed out|closed/i);
      assert.ok(Date.now() - started < 15_000);
    } finally {
      await server.start();
    }
  });
});

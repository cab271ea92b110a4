// Placement through the registry role on the in-memory Bus and Store, with node heartbeats
// written by hand: the load table does not move, as between two real heartbeats.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBus, MemoryStore, BusRequestError, type Store } from '../../../src/backbone/index.ts';
import { ROOM_LEASE_MS, storeKeys, subjects, type NodeLoad } from '../../../src/protocol/cluster.ts';
import { RegistryRole } from '../../../src/registry/index.ts';

const DC = 'dc1';

/** A store whose every call takes a turn of the event loop, as a network round trip would. */
function withLatency(store: Store): Store {
  return new Proxy(store, {
    get(target, key) {
      const v: unknown = Reflect.get(target, key);
      if (typeof v !== 'function') {
        return v;
      }
      return async (...args: unknown[]) => {
        await new Promise((resolve) => setImmediate(resolve));
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

async function setUp(loads: Partial<NodeLoad>[], store: Store = new MemoryStore()) {
  const bus = new MemoryBus();
  for (const l of loads) {
    const load: NodeLoad = { node: 'x', peers: 0, tracks: 0, rooms: 0, cpu: 0, at: Date.now(), ...l };
    await store.set(storeKeys.node(DC, load.node), JSON.stringify(load), 60_000);
  }
  const registry = new RegistryRole(DC, bus, store);
  await registry.start();
  const place = (room: string) => bus.request<{ node: string }>(subjects.registryPlace(DC), { room });
  const owners = async (rooms: readonly string[]) => {
    const count = new Map<string, number>();
    for (const r of rooms) {
      const owner = (await store.get(storeKeys.roomOwner(DC, r))) ?? 'none';
      count.set(owner, (count.get(owner) ?? 0) + 1);
    }
    return Object.fromEntries([...count].sort());
  };
  const close = async () => {
    await registry.close();
    await bus.close();
    await store.close();
  };
  return { bus, store, registry, place, owners, close };
}

const rooms = (n: number, prefix = 'room') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

await test('a burst of 20 concurrent placements between heartbeats spreads evenly over equal nodes', async () => {
  const r = await setUp([{ node: 'a' }, { node: 'b' }]);
  const names = rooms(20);
  const placed = await Promise.all(names.map((n) => r.place(n)));
  assert.deepEqual(await r.owners(names), { a: 10, b: 10 });
  assert.deepEqual(
    placed.map((p) => p.node),
    await Promise.all(names.map(async (n) => (await r.store.get(storeKeys.roomOwner(DC, n)))!)),
    'each answer names the lease holder',
  );
  assert.equal(Object.keys(await r.store.hgetall(storeKeys.nodeRooms(DC, 'a'))).length, 10);
  await r.close();
});

await test('concurrent placements on a store with latency still spread: claims do not overlap', async () => {
  const r = await setUp([{ node: 'a' }, { node: 'b' }], withLatency(new MemoryStore()));
  const names = rooms(20);
  await Promise.all(names.map((n) => r.place(n)));
  assert.deepEqual(await r.owners(names), { a: 10, b: 10 });
  await r.close();
});

await test('new rooms avoid the node with 10 peers until the other carries as much', async () => {
  const r = await setUp([
    { node: 'busy', peers: 10, rooms: 1 },
    { node: 'idle', peers: 0 },
  ]);
  const names = rooms(20);
  const order: string[] = [];
  for (const n of names) {
    order.push((await r.place(n)).node);
  }
  assert.deepEqual(order.slice(0, 11), Array(11).fill('idle'));
  assert.ok(order.slice(11).includes('busy'), `busy never chosen: ${order.join(',')}`);
  await r.close();
});

await test('placing a room twice answers the same owner and leases it once', async () => {
  const r = await setUp([{ node: 'a' }, { node: 'b' }]);
  const first = await r.place('same');
  const again = await Promise.all([r.place('same'), r.place('same'), r.place('same')]);
  assert.deepEqual(again, [first, first, first]);
  const leases = await r.store.hgetall(storeKeys.nodeRooms(DC, first.node));
  assert.deepEqual(Object.keys(leases), ['same']);
  assert.ok(Number(leases.same) > Date.now() && Number(leases.same) <= Date.now() + ROOM_LEASE_MS);
  await r.close();
});

await test('expired leases do not count and are dropped', async () => {
  const r = await setUp([{ node: 'a' }, { node: 'b' }]);
  const stale = Object.fromEntries(rooms(5, 'old').map((n) => [n, String(Date.now() - 1)]));
  await r.store.hset(storeKeys.nodeRooms(DC, 'a'), stale);
  assert.deepEqual(
    await r.registry.leasedRooms(await r.registry.nodes()),
    new Map([
      ['a', 0],
      ['b', 0],
    ]),
  );
  assert.deepEqual(Object.keys(await r.store.hgetall(storeKeys.nodeRooms(DC, 'a'))), []);
  assert.equal((await r.place('new')).node, 'a');
  await r.close();
});

await test('a room whose owner stopped heartbeating moves to a live node', async () => {
  const r = await setUp([{ node: 'live' }]);
  await r.store.set(storeKeys.roomOwner(DC, 'orphan'), 'dead', ROOM_LEASE_MS);
  assert.deepEqual(await r.place('orphan'), { node: 'live' });
  assert.equal(await r.store.get(storeKeys.roomOwner(DC, 'orphan')), 'live');
  await r.close();
});

await test('with no media node, placement fails with no-responder', async () => {
  const r = await setUp([]);
  await assert.rejects(
    r.place('any'),
    (e: unknown) => e instanceof BusRequestError && e.code === 'no-responder',
  );
  await r.close();
});

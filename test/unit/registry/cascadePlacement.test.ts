// Placement of a room's extra peers (cascading): the registry keeps a healthy owner, sends peers past
// its limits to another node (one already hosting the room first), skips draining nodes, and moves a
// room whose owner refused a join and answers no ping. In-memory Bus and Store, hand-written heartbeats.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BusRequestError, MemoryBus, MemoryStore } from '../../../src/backbone/index.ts';
import { ROOM_LEASE_MS, storeKeys, subjects, type NodeLoad } from '../../../src/protocol/cluster.ts';
import { RegistryRole } from '../../../src/registry/index.ts';

const DC = 'dc1';

/** Nodes with the given loads; `alive` nodes answer pings on the Bus, as a running sfu role does. */
async function setUp(loads: Partial<NodeLoad>[], alive: readonly string[] = []) {
  const bus = new MemoryBus();
  const store = new MemoryStore();
  for (const l of loads) {
    const load: NodeLoad = { node: 'x', peers: 0, tracks: 0, rooms: 0, cpu: 0, at: Date.now(), ...l };
    await store.set(storeKeys.node(DC, load.node), JSON.stringify(load), 60_000);
  }
  for (const n of alive) {
    bus.subscribe(subjects.sfuPing(DC, n), () => ({}));
  }
  const registry = new RegistryRole(DC, bus, store);
  await registry.start();
  const place = async (room: string, avoid?: string[]) =>
    (await bus.request<{ node: string }>(subjects.registryPlace(DC), { room, ...(avoid ? { avoid } : {}) }))
      .node;
  const own = (room: string, node: string) => store.set(storeKeys.roomOwner(DC, room), node, ROOM_LEASE_MS);
  const hosts = (room: string, ...nodes: string[]) =>
    store.hset(
      storeKeys.roomNodes(DC, room),
      Object.fromEntries(nodes.map((n) => [n, String(Date.now() + 5000)])),
    );
  const close = async () => {
    await registry.close();
    await bus.close();
    await store.close();
  };
  return { store, place, own, hosts, close };
}

await test('a full owner keeps its room; the new peer goes to another node and the lease stays', async () => {
  const r = await setUp([
    { node: 'a', peers: 2, maxPeers: 2 },
    { node: 'b', peers: 5 },
    { node: 'c', peers: 0 },
  ]);
  await r.own('room', 'a');
  assert.equal(await r.place('room'), 'c'); // least loaded of the others
  assert.equal(await r.store.get(storeKeys.roomOwner(DC, 'room')), 'a');
  await r.close();
});

await test('cascading prefers a node already hosting the room (one upstream copy per node)', async () => {
  const r = await setUp([
    { node: 'a', peers: 2, maxPeers: 2 },
    { node: 'b', peers: 5 },
    { node: 'c', peers: 0 },
  ]);
  await r.own('room', 'a');
  await r.hosts('room', 'a', 'b');
  assert.equal(await r.place('room'), 'b');
  await r.close();
});

await test('a node over its packet rate takes no new rooms', async () => {
  const r = await setUp([
    { node: 'hot', packetRate: 9000, maxPacketRate: 5000 },
    { node: 'cool', peers: 40 },
  ]);
  assert.equal(await r.place('new'), 'cool');
  await r.close();
});

await test('draining nodes get no rooms, and a draining owner loses its room to a live node', async () => {
  const r = await setUp([
    { node: 'leaving', draining: true },
    { node: 'staying', peers: 30 },
  ]);
  assert.equal(await r.place('fresh'), 'staying');
  await r.own('old', 'leaving');
  assert.equal(await r.place('old'), 'staying');
  assert.equal(await r.store.get(storeKeys.roomOwner(DC, 'old')), 'staying');
  await r.close();
});

await test('when every node drains, the refusal says so and when to join again; full nodes say full', async () => {
  const r = await setUp([
    { node: 'a', draining: true },
    { node: 'b', draining: true },
  ]);
  await assert.rejects(r.place('room'), {
    name: 'BusRequestError',
    code: 'unavailable',
    message: 'every media node is draining (a restart or shutdown is under way): join again in 5 s',
  });
  await r.own('owned', 'a');
  await assert.rejects(r.place('owned'), { message: /^every media node is draining/ });
  await r.close();
  const mixed = await setUp([
    { node: 'a', draining: true },
    { node: 'b', peers: 2, maxPeers: 2 },
  ]);
  await assert.rejects(mixed.place('room'), {
    message: 'every media node is full or draining: join again in 5 s',
  });
  await mixed.close();
  const full = await setUp([{ node: 'b', peers: 2, maxPeers: 2 }]);
  await assert.rejects(full.place('room'), { message: 'every media node is full' });
  await full.close();
});

await test('an owner that refused the join but answers pings keeps the room (cascade)', async () => {
  const r = await setUp([{ node: 'a' }, { node: 'b' }], ['a', 'b']);
  await r.own('room', 'a');
  assert.equal(await r.place('room', ['a']), 'b');
  assert.equal(await r.store.get(storeKeys.roomOwner(DC, 'room')), 'a');
  await r.close();
});

await test('an owner in `avoid` that answers no ping has crashed: the room moves', async () => {
  const r = await setUp([{ node: 'dead' }, { node: 'b' }], ['b']);
  await r.own('room', 'dead');
  assert.equal(
    await r.place('room'),
    'dead',
    'its heartbeat has not expired: the fast path still answers it',
  );
  assert.equal(await r.place('room', ['dead']), 'b');
  assert.equal(await r.store.get(storeKeys.roomOwner(DC, 'room')), 'b');
  await r.close();
});

await test('when every node is full, placement fails with unavailable', async () => {
  const r = await setUp([
    { node: 'a', peers: 1, maxPeers: 1 },
    { node: 'b', peers: 3, maxPeers: 3 },
  ]);
  await assert.rejects(
    r.place('new'),
    (e: unknown) => e instanceof BusRequestError && e.code === 'unavailable',
  );
  await r.own('room', 'a');
  await assert.rejects(
    r.place('room'),
    (e: unknown) => e instanceof BusRequestError && e.code === 'unavailable',
  );
  await r.close();
});

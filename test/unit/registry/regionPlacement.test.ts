// Region-aware placement (issue #25): a join goes to a media node of the client's region (the `dc`
// of the signal instance it reached) — the owner there, a node of the region hosting the room, the
// region's least loaded — and to another region only when none of the region's nodes takes peers.
// A room without a live owner is taken over by a node still hosting it, in any region. In-memory Bus
// and Store, hand-written heartbeats.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBus, MemoryStore } from '../../../src/backbone/index.ts';
import { ROOM_LEASE_MS, storeKeys, subjects, type NodeLoad } from '../../../src/protocol/cluster.ts';
import { RegistryRole } from '../../../src/registry/index.ts';

const CLUSTER = 'world';

async function setUp(loads: Partial<NodeLoad>[]) {
  const bus = new MemoryBus();
  const store = new MemoryStore();
  const beat = async (l: Partial<NodeLoad>) => {
    const load: NodeLoad = { node: 'x', peers: 0, tracks: 0, rooms: 0, cpu: 0, at: Date.now(), ...l };
    await store.set(storeKeys.node(CLUSTER, load.node), JSON.stringify(load), 60_000);
  };
  for (const l of loads) {
    await beat(l);
  }
  const registry = new RegistryRole(CLUSTER, bus, store);
  await registry.start();
  const place = async (room: string, dc?: string, avoid?: string[]) =>
    (
      await bus.request<{ node: string }>(subjects.registryPlace(CLUSTER), {
        room,
        ...(dc ? { dc } : {}),
        ...(avoid ? { avoid } : {}),
      })
    ).node;
  const owner = (room: string) => store.get(storeKeys.roomOwner(CLUSTER, room));
  const own = (room: string, node: string) =>
    store.set(storeKeys.roomOwner(CLUSTER, room), node, ROOM_LEASE_MS);
  const hosts = (room: string, ...nodes: string[]) =>
    store.hset(
      storeKeys.roomNodes(CLUSTER, room),
      Object.fromEntries(nodes.map((n) => [n, String(Date.now() + 5000)])),
    );
  const gone = (node: string) => store.del(storeKeys.node(CLUSTER, node));
  const close = async () => {
    await registry.close();
    await bus.close();
    await store.close();
  };
  return { registry, store, place, owner, own, hosts, beat, gone, close };
}

await test('new rooms land in the region of the signal the client reached, even on a busier node', async () => {
  const r = await setUp([
    { node: 'eu-1', dc: 'eu', peers: 40 },
    { node: 'us-1', dc: 'us', peers: 0 },
  ]);
  for (const room of ['r1', 'r2', 'r3']) {
    assert.equal(await r.place(room, 'eu'), 'eu-1');
    assert.equal(await r.owner(room), 'eu-1');
  }
  assert.equal(await r.place('r4', 'us'), 'us-1');
  assert.deepEqual(r.registry.placements, { local: 4, otherRegion: 0 });
  await r.close();
});

await test('a room owned in one region cascades to the other region for its clients', async () => {
  const r = await setUp([
    { node: 'eu-1', dc: 'eu' },
    { node: 'us-1', dc: 'us', peers: 30 },
    { node: 'us-2', dc: 'us', peers: 10 },
  ]);
  assert.equal(await r.place('room', 'eu'), 'eu-1');
  // A US client goes to the least-loaded US node; the owner stays in Europe.
  assert.equal(await r.place('room', 'us'), 'us-2');
  assert.equal(await r.owner('room'), 'eu-1');
  // us-2 hosts the room now (one relay to the owner): the next US client goes there too, even when
  // us-2 has become the busier US node (one copy of the room's tracks per node).
  await r.beat({ node: 'us-2', dc: 'us', peers: 35 });
  assert.equal(await r.place('room', 'us'), 'us-2');
  // European clients still go to the owner.
  assert.equal(await r.place('room', 'eu'), 'eu-1');
  await r.close();
});

await test('a region with no node that takes peers sends its clients elsewhere, and says so', async () => {
  const r = await setUp([
    { node: 'eu-1', dc: 'eu', peers: 2, maxPeers: 2 },
    { node: 'eu-2', dc: 'eu', draining: true },
    { node: 'us-1', dc: 'us', peers: 9 },
    { node: 'ap-1', dc: 'ap', peers: 0 },
  ]);
  // New room: the least-loaded node of any region.
  assert.equal(await r.place('fresh', 'eu'), 'ap-1');
  // A room whose owner is in the US: the owner first.
  await r.own('us-room', 'us-1');
  assert.equal(await r.place('us-room', 'eu'), 'us-1');
  assert.equal(r.registry.placements.otherRegion, 2);
  // No region at all (an older signal): every node is a candidate, as before regions.
  assert.equal(await r.place('anywhere'), 'ap-1');
  await r.close();
});

await test("a crashed owner's room is taken over by a node still hosting it, in any region", async () => {
  const r = await setUp([
    { node: 'eu-1', dc: 'eu' },
    { node: 'eu-2', dc: 'eu', peers: 50 },
    { node: 'us-1', dc: 'us', peers: 20 },
  ]);
  await r.own('room', 'eu-1');
  await r.hosts('room', 'eu-1', 'us-1');
  await r.gone('eu-1'); // its heartbeat expired
  // A European client rejoins: it goes to its region's node, but the room stays with its relay in the US.
  assert.equal(await r.place('room', 'eu'), 'eu-2');
  assert.equal(await r.owner('room'), 'us-1');
  await r.close();
});

await test("a node of the region that is back takes the region's new rooms again", async () => {
  const r = await setUp([{ node: 'us-1', dc: 'us' }]);
  assert.equal(await r.place('while-down', 'eu'), 'us-1');
  await r.beat({ node: 'eu-1b', dc: 'eu', peers: 0 });
  assert.equal(await r.place('after', 'eu'), 'eu-1b');
  // The room that moved keeps its owner; its next European client is served in Europe (cascade).
  assert.equal(await r.place('while-down', 'eu'), 'eu-1b');
  assert.equal(await r.owner('while-down'), 'us-1');
  await r.close();
});

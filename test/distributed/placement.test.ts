// Placement across two heartbeating sfu nodes, asked over NATS with the leases in Redis: a burst of
// new rooms spreads over both nodes, and a node loaded with peers is avoided until the other
// carries as much (the score in src/registry/selectNode.ts, not luck).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NatsBus } from '../../src/backbone/index.ts';
import { HEARTBEAT_MS, storeKeys, subjects } from '../../src/protocol/cluster.ts';
import type { Switchboard } from '../../src/server/Switchboard.ts';
import { TestCluster } from '../helpers/cluster.ts';
import { startNats, startRedis, type NatsServer, type RedisServer } from '../helpers/services.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

const rooms = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

void describe('placement over NATS and Redis', { timeout: 180_000 }, () => {
  let nats: NatsServer | undefined;
  let redis: RedisServer | undefined;
  const clusters: TestCluster[] = [];
  const buses: NatsBus[] = [];
  const peers: WrtcPeer[] = [];

  /** Registry + two sfu nodes in data centre `dc`, plus a Bus client of our own to ask the registry. */
  async function twoNodes(dc: string, ...extra: 'signal'[]) {
    const cluster = new TestCluster(nats!, redis!, dc);
    clusters.push(cluster);
    await cluster.start('registry');
    const sfus: Switchboard[] = [await cluster.start('sfu'), await cluster.start('sfu')];
    const signal = extra.includes('signal') ? await cluster.start('signal') : undefined;
    const bus = await NatsBus.connect(nats!.url, `placement-test-${dc}`);
    buses.push(bus);
    const ids = sfus.map((s) => s.sfu!.nodeId);
    // Past the first heartbeat, whose CPU figure covers only the start-up.
    const since = Date.now();
    await waitFor(
      async () => {
        const loads = await Promise.all(ids.map((id) => cluster.nodeLoad(id)));
        return loads.every((l) => l && l.at >= since + HEARTBEAT_MS / 2);
      },
      { what: 'both sfu nodes to heartbeat' },
    );
    const place = async (room: string) =>
      (await bus.request<{ node: string }>(subjects.registryPlace(dc), { room })).node;
    const count = (owners: readonly string[]) => ids.map((id) => owners.filter((o) => o === id).length);
    return { cluster, ids, signal, place, count };
  }

  before(async () => {
    nats = await startNats();
    redis = await startRedis();
  });

  after(async () => {
    for (const p of peers) {
      await p.close();
    }
    for (const b of buses) {
      await b.close();
    }
    for (const c of clusters) {
      await c.close();
    }
    await nats?.stop();
    await redis?.stop();
  });

  void it('a burst of 20 concurrent placements lands on both nodes, each lease in Redis', async () => {
    const { cluster, ids, place, count } = await twoNodes('burst');
    const names = rooms('burst', 20);
    const owners = await Promise.all(names.map(place));
    const [a, b] = count(owners);
    // Equal nodes: the rooms alternate, give or take what a CPU difference is worth.
    assert.equal(a! + b!, 20, `owners ${owners.join(',')} are not our nodes`);
    assert.ok(a! >= 5 && b! >= 5, `split ${a}/${b}: a burst must not land on one node`);
    for (const [i, room] of names.entries()) {
      assert.equal(await cluster.roomOwner(room), owners[i], `lease of ${room}`);
    }
    for (const [i, id] of ids.entries()) {
      const leased = await cluster.redis.hkeys(storeKeys.nodeRooms(cluster.dc, id));
      assert.equal(leased.length, count(owners)[i], `lease table of ${id}`);
    }
    assert.deepEqual(await Promise.all(names.map(place)), owners, 'placing again keeps every owner');
  });

  void it('new rooms avoid the node with 10 peers until the other carries as much', async () => {
    const { cluster, ids, signal, place } = await twoNodes('loaded', 'signal');
    const busy = await place('busy');
    const idle = ids.find((id) => id !== busy)!;
    for (let i = 0; i < 10; i++) {
      const p = await WrtcPeer.connect(wsUrlOf(signal!.url), `peer${i}`);
      peers.push(p);
      await p.join('busy', `peer${i}`);
    }
    await waitFor(async () => (await cluster.nodeLoad(busy))?.peers === 10, {
      timeout: 30_000,
      what: 'the busy node to heartbeat 10 peers',
    });
    assert.equal((await cluster.nodeLoad(idle))?.peers, 0);

    const owners: string[] = [];
    for (const room of rooms('new', 20)) {
      owners.push(await place(room)); // one at a time: each sees the leases of the one before
    }
    // busy scores 1 room + 10 peers = 110 (+ CPU), idle 10 per room leased: idle takes about 11.
    assert.deepEqual(owners.slice(0, 5), Array(5).fill(idle), `order: ${owners.join(',')}`);
    assert.ok(owners.includes(busy), 'once idle carries as much, busy gets rooms again');
    assert.ok(owners.filter((o) => o === idle).length >= 8, `order: ${owners.join(',')}`);
  });
});

// A cluster on one machine: two signal-only instances, two sfu-only instances and a registry-only
// instance, talking over a real nats-server and redis-server. Two libwebrtc clients join one room
// through different signal instances; their signalling crosses the Bus to the room's one owner.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { storeKeys } from '../../src/protocol/cluster.ts';
import type { Switchboard } from '../../src/server/Switchboard.ts';
import { TestCluster } from '../helpers/cluster.ts';
import { startNats, startRedis, type NatsServer, type RedisServer } from '../helpers/services.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

const ROOM = 'across-the-cluster';

void describe('two signal instances, two sfu nodes, one registry', { timeout: 120_000 }, () => {
  let nats: NatsServer | undefined;
  let redis: RedisServer | undefined;
  let cluster: TestCluster | undefined;
  let signals: Switchboard[] = [];
  let sfus: Switchboard[] = [];
  let alice: WrtcPeer | undefined;
  let bob: WrtcPeer | undefined;

  const sfuIds = (): string[] => sfus.map((s) => s.sfu!.nodeId);

  before(async () => {
    nats = await startNats();
    redis = await startRedis();
    cluster = new TestCluster(nats, redis);
    await cluster.start('registry');
    sfus = [await cluster.start('sfu'), await cluster.start('sfu')];
    signals = [await cluster.start('signal'), await cluster.start('signal')];
    assert.notEqual(signals[0]!.port, signals[1]!.port);
    alice = await WrtcPeer.connect(wsUrlOf(signals[0]!.url), 'alice');
    bob = await WrtcPeer.connect(wsUrlOf(signals[1]!.url), 'bob');
    await alice.join(ROOM, 'alice');
    await bob.join(ROOM, 'bob');
    await alice.publish();
    await bob.publish();
  });

  after(async () => {
    await alice?.close();
    await bob?.close();
    await cluster?.close();
    await nats?.stop();
    await redis?.stop();
  });

  void it('each client decodes more than 20 video frames of the other', async () => {
    const a = alice!;
    const b = bob!;
    await waitFor(() => a.videoFrames(b.publishedStreamId) > 20, {
      timeout: 30_000,
      what: 'alice (signal 1) to decode 20 frames of bob (signal 2)',
    });
    await waitFor(() => b.videoFrames(a.publishedStreamId) > 20, {
      timeout: 30_000,
      what: 'bob (signal 2) to decode 20 frames of alice (signal 1)',
    });
    assert.deepEqual([...a.remoteStreamIds()], [b.publishedStreamId]);
    assert.deepEqual([...b.remoteStreamIds()], [a.publishedStreamId]);
  });

  void it('both clients get the room roster, each through its own signal instance', async () => {
    const roster = (p: WrtcPeer) =>
      (
        p.notifications.filter((n) => n.method === 'participants').at(-1)?.params as
          { peers: { uid: string }[] } | undefined
      )?.peers
        .map((x) => x.uid)
        .sort();
    for (const p of [alice!, bob!]) {
      await waitFor(() => roster(p)?.length === 2, { what: 'a roster of two' });
      assert.deepEqual(roster(p), ['alice', 'bob']);
    }
  });

  void it('each signal instance holds its own client; no instance has a media node', () => {
    assert.deepEqual(
      signals.map((s) => s.signal!.connections),
      [1, 1],
    );
    assert.ok(signals.every((s) => s.sfu === undefined && s.registry === undefined));
  });

  void it('Redis names one sfu node as the room owner, and that node alone hosts both peers', async () => {
    const c = cluster!;
    const owner = await c.roomOwner(ROOM);
    assert.ok(owner && sfuIds().includes(owner), `owner ${owner} is not one of ${sfuIds().join(', ')}`);
    for (const sb of sfus) {
      const session = [...sb.sfu!.sfu.sessions].find((s) => s.id === ROOM);
      if (sb.sfu!.nodeId === owner) {
        assert.equal([...(session?.peers ?? [])].length, 2);
      } else {
        assert.equal(session, undefined, 'the room must not be split over two nodes');
      }
    }
    const leases = await c.redis.hgetall(storeKeys.nodeRooms(c.dc, owner));
    assert.ok(Number(leases[ROOM]) > Date.now(), 'the owner renews its lease on the room');
  });

  void it("both sfu nodes' heartbeats are in Redis, the owner's showing the two peers", async () => {
    const c = cluster!;
    for (const id of sfuIds()) {
      assert.equal(await c.redis.exists(storeKeys.node(c.dc, id)), 1, `node key of ${id}`);
    }
    const owner = (await c.roomOwner(ROOM))!;
    const load = await waitFor(
      async () => {
        const l = await c.nodeLoad(owner);
        return l && l.peers === 2 && l.tracks === 4 ? l : undefined;
      },
      { what: 'the owner heartbeat to report 2 peers and 4 tracks' },
    );
    assert.equal(load.rooms, 1);
    const other = sfuIds().find((id) => id !== owner)!;
    assert.equal((await c.nodeLoad(other))?.peers, 0);
  });

  void it('when both clients leave, the owner releases the room in Redis', async () => {
    const c = cluster!;
    const owner = (await c.roomOwner(ROOM))!;
    await alice!.close();
    await bob!.close();
    await waitFor(async () => (await c.roomOwner(ROOM)) === null, { what: 'the room lease to be released' });
    await waitFor(async () => (await c.redis.hexists(storeKeys.nodeRooms(c.dc, owner), ROOM)) === 0, {
      what: "the room to leave the owner's lease table",
    });
  });
});

// The Bus going away and coming back: a cluster of a registry + room + signal instance and two sfu
// nodes runs a session; the nats-server is stopped and started again on the same port. Every role's
// connection comes back by itself, the running session never noticed (media does not cross NATS and
// nobody was told to reconnect), and new joins work.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NatsBus } from '../../src/backbone/index.ts';
import type { Switchboard } from '../../src/server/Switchboard.ts';
import { TestCluster } from '../helpers/cluster.ts';
import { startNats, startRedis, type NatsServer, type RedisServer } from '../helpers/services.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

void describe('nats-server restarted mid-session', { timeout: 180_000 }, () => {
  let nats: NatsServer | undefined;
  let redis: RedisServer | undefined;
  let cluster: TestCluster | undefined;
  const members: Switchboard[] = [];
  const peers: WrtcPeer[] = [];

  async function join(room: string, uid: string): Promise<WrtcPeer> {
    const p = await WrtcPeer.connect(wsUrlOf(members[0]!.url), uid);
    peers.push(p);
    await p.join(room, uid);
    await p.publish();
    return p;
  }

  async function meet(a: WrtcPeer, b: WrtcPeer, frames: number): Promise<void> {
    await waitFor(
      () => a.videoFrames(b.publishedStreamId) > frames && b.videoFrames(a.publishedStreamId) > frames,
      { timeout: 30_000, what: `${a.label} and ${b.label} to decode ${frames} frames of each other` },
    );
  }

  before(async () => {
    nats = await startNats();
    redis = await startRedis();
    cluster = new TestCluster(nats, redis);
    members.push(await cluster.start('registry', 'room', 'signal'));
    members.push(await cluster.start('sfu'), await cluster.start('sfu'));
    const alice = await join('before', 'alice');
    const bob = await join('before', 'bob');
    await meet(alice, bob, 20);
  });

  after(async () => {
    for (const p of peers) {
      await p.close();
    }
    await cluster?.close();
    await nats?.stop();
    await redis?.stop();
  });

  void it('every role reconnects to the restarted server', async () => {
    await nats!.stop();
    await waitFor(() => members.every((m) => (m.bus as NatsBus).status.state === 'reconnecting'), {
      what: 'every role to notice the server is gone',
    });
    await nats!.start();
    await waitFor(() => members.every((m) => (m.bus as NatsBus).status.state === 'connected'), {
      what: 'every role to reconnect',
    });
  });

  void it('the running session kept its media and nobody was told to reconnect', async () => {
    const [alice, bob] = peers;
    const seen = [alice!.videoFrames(bob!.publishedStreamId), bob!.videoFrames(alice!.publishedStreamId)];
    await meet(alice!, bob!, Math.max(...seen) + 30);
    for (const p of [alice!, bob!]) {
      assert.deepEqual(
        p.notifications.filter((n) => n.method === 'reconnect'),
        [],
      );
    }
  });

  void it('new joins work: two clients meet in a new room, through the registry and the Bus', async () => {
    const carol = await join('after', 'carol');
    const dave = await join('after', 'dave');
    await meet(carol, dave, 20);
    assert.ok(await cluster!.roomOwner('after'));
  });
});

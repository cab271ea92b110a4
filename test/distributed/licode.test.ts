// Licode clients in a cluster (issue #16): two signal instances, two media nodes (the first takes
// two peers, so the room cascades to the second), real nats-server and redis-server. Licode clients
// on different signal instances see each other's streams (the owner's roster on the Bus), decode
// each other across the relay link, and their data streams cross the Bus.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Config } from '../../src/config/index.ts';
import type { Switchboard } from '../../src/server/Switchboard.ts';
import { TestCluster } from '../helpers/cluster.ts';
import { LicodeMediaClient, LicodeTestClient, nuveRoom, nuveToken } from '../helpers/licodeClient.ts';
import { startNats, startRedis, type NatsServer, type RedisServer } from '../helpers/services.ts';
import { waitFor } from '../helpers/waitFor.ts';

const SUPER = { service: 'superservice-licode-cluster', key: 'superservice-key-licode-cluster' };
const MEDIA_TIMEOUT = 30_000;

void describe('Licode clients across a cluster', { timeout: 180_000 }, () => {
  let nats: NatsServer | undefined;
  let redis: RedisServer | undefined;
  let cluster: TestCluster | undefined;
  let signals: Switchboard[] = [];
  let sfus: Switchboard[] = [];
  let room = '';
  const clients: LicodeMediaClient[] = [];
  const keys = (c: Config) => {
    c.api.superserviceid = SUPER.service;
    c.api.superservicekey = SUPER.key;
  };
  const join = async (signal: Switchboard, user: string): Promise<LicodeMediaClient> => {
    // Tokens come from the api role; the client connects to the signal instance it is given.
    const token = await nuveToken(front!.url, SUPER, room, user, 'presenter');
    const c = new LicodeMediaClient(await LicodeTestClient.connect(token, {}, new URL(signal.url).host));
    clients.push(c);
    return c;
  };
  let front: Switchboard | undefined;

  before(async () => {
    nats = await startNats();
    redis = await startRedis();
    cluster = new TestCluster(nats, redis);
    front = await cluster.startWith(keys, 'registry', 'room', 'api');
    sfus = [
      await cluster.startWith((c) => {
        keys(c);
        c.sfu.maxpeers = 2;
      }, 'sfu'),
      await cluster.startWith(keys, 'sfu'),
    ];
    signals = [await cluster.startWith(keys, 'signal'), await cluster.startWith(keys, 'signal')];
    room = await nuveRoom(front.url, SUPER, 'licode-cluster');
  });

  after(async () => {
    for (const c of clients) {
      c.close();
    }
    await cluster?.close();
    await nats?.stop();
    await redis?.stop();
  });

  void it('clients on two signal instances publish, see each other and decode each other across two media nodes', async () => {
    const alice = await join(signals[0]!, 'alice');
    const bob = await join(signals[1]!, 'bob');
    const a = await alice.publish();
    const b = await bob.publish();
    await alice.client.waitFor('onAddStream', (s) => s.id === b.id, MEDIA_TIMEOUT);
    await bob.client.waitFor('onAddStream', (s) => s.id === a.id, MEDIA_TIMEOUT);
    const bobSeesAlice = await bob.subscribe(a.id);
    const aliceSeesBob = await alice.subscribe(b.id);
    await waitFor(() => bob.frames(bobSeesAlice) > 20 && alice.frames(aliceSeesBob) > 20, {
      timeout: MEDIA_TIMEOUT,
      what: 'both to decode 20 frames of the other',
    });
    // The first node took two peers: the subscriptions went to the second one, which relays the room.
    const peers = sfus.map((s) => [...s.sfu!.sfu.sessions].reduce((n, x) => n + x.size, 0));
    assert.ok(peers[1]! >= 2, `peers per node: ${JSON.stringify(peers)}`);
    // A late joiner on either instance gets both streams in connected.
    const carol = await join(signals[1]!, 'carol');
    const ids = carol.client.connected.streams.map((s: { id: number }) => s.id);
    assert.ok(ids.includes(a.id) && ids.includes(b.id), JSON.stringify(ids));
  });

  void it('a data stream published on one instance reaches a subscriber on the other', async () => {
    const [alice, bob] = clients;
    const [id] = await alice!.client.call('publish', {
      options: { state: 'data', data: true, label: 'chat' },
    });
    await bob!.client.waitFor('onAddStream', (s) => s.id === id);
    assert.deepEqual(await bob!.client.call('subscribe', { options: { streamId: id, data: true } }), [true]);
    assert.deepEqual(await alice!.client.call('sendDataStream', { id, msg: 'across' }), [true]);
    assert.deepEqual(await bob!.client.waitFor('onDataStream'), { id, msg: 'across' });
  });
});

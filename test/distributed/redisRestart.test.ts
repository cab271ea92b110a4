// redis-server restarted without persistence mid-session: every process notices Redis lost its data
// and writes back what it owns (secrets, the superservice, room records and their name index,
// members, leases). A signal process started afterwards uses the cluster's secrets (a token minted
// before the restart joins through it), and REST still lists the room and its members.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Switchboard } from '../../src/server/Switchboard.ts';
import { signToken } from '../../src/protocol/tokens.ts';
import { TestCluster } from '../helpers/cluster.ts';
import { apiCall, type Credentials } from '../helpers/nuve.ts';
import { startNats, startRedis, type NatsServer, type RedisServer } from '../helpers/services.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

void describe('redis-server restarted (no persistence) mid-session', { timeout: 180_000 }, () => {
  let nats: NatsServer | undefined;
  let redis: RedisServer | undefined;
  let cluster: TestCluster | undefined;
  let first: Switchboard | undefined;
  let creds: Credentials;
  let roomId = '';
  let bobToken = '';
  const peers: WrtcPeer[] = [];

  async function join(sb: Switchboard, uid: string, token: string): Promise<WrtcPeer> {
    const p = await WrtcPeer.connect(wsUrlOf(sb.url), uid);
    peers.push(p);
    p.joinExtras = { token };
    await p.join(roomId, uid);
    return p;
  }

  async function users(): Promise<string[]> {
    const r = await apiCall(first!.url, 'GET', `/rooms/${roomId}/users`, { creds });
    assert.equal(r.status, 200, r.text);
    return (r.json as { id: string }[]).map((u) => u.id).sort();
  }

  before(async () => {
    nats = await startNats();
    redis = await startRedis();
    cluster = new TestCluster(nats, redis);
    first = await cluster.start('registry', 'room', 'api', 'signal');
    await cluster.start('sfu');
    creds = { service: first.secrets.superserviceId, key: first.secrets.superserviceKey };
    const created = await apiCall(first.url, 'POST', '/rooms', { creds, body: { name: 'weekly' } });
    assert.equal(created.status, 200, created.text);
    roomId = created.json._id as string;
    const mint = (identity: string): Promise<string> =>
      signToken({ secret: first!.secrets.authSecret, identity, room: roomId, ttlSeconds: 600 });
    bobToken = await mint('bob'); // minted before the restart, used after it
    await join(first, 'alice', await mint('alice'));
    assert.deepEqual(await users(), ['alice']);
  });

  after(async () => {
    for (const p of peers) {
      await p.close();
    }
    await cluster?.close();
    await nats?.stop();
    await redis?.stop();
  });

  void it('a signal process started after the restart has the cluster secrets and admits an old token', async () => {
    await redis!.restart();
    const late = await cluster!.start('signal');
    assert.equal(late.secrets.authSecret, first!.secrets.authSecret);
    assert.equal(late.secrets.superserviceId, first!.secrets.superserviceId);
    await join(late, 'bob', bobToken);
  });

  void it('REST still has the room (by id and by name) and lists both members', async () => {
    const byName = await apiCall(first!.url, 'GET', '/rooms/weekly', { creds });
    assert.equal(byName.status, 200, byName.text);
    assert.equal(byName.json._id, roomId);
    await waitFor(async () => (await users()).join(',') === 'alice,bob', {
      what: 'alice (written back) and bob in the member list',
    });
    // The name index came back too: the name stays taken.
    const dup = await apiCall(first!.url, 'POST', '/rooms', { creds, body: { name: 'weekly' } });
    assert.equal(dup.status, 409, dup.text);
  });
});

// Webhooks: room, participant and track events POSTed to a local receiver, signed with the room's
// service key (HMAC-SHA256 of the body, checked here with node:crypto), retried after a 500.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { apiCall } from '../helpers/nuve.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

const SUPER = { service: 'hooks-super', key: 'hooks-superservice-key-01' };

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  event: {
    event: string;
    id: string;
    room: { sid: string };
    participant?: { identity: string };
    track?: { type: string };
  };
  status: number;
}

void describe('webhooks', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let receiver: Server;
  const received: Received[] = [];
  const peers: WrtcPeer[] = [];
  let failNext = true;

  const delivered = (type: string, room: string) =>
    received.filter((r) => r.status === 200 && r.event.event === type && r.event.room.sid === room);

  before(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        // The very first delivery fails: it must come again.
        const status = failNext ? 500 : 200;
        failNext = false;
        received.push({ headers: req.headers, body, event: JSON.parse(body) as Received['event'], status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    sb = await startSwitchboard((c) => {
      c.webhooks.urls = [url];
      c.api.superserviceid = SUPER.service;
      c.api.superservicekey = SUPER.key;
    });
  });

  after(async () => {
    for (const p of peers) {
      await p.close();
    }
    await sb?.close();
    await new Promise((resolve) => receiver.close(resolve));
  });

  void it('a room a peer joins, publishes in and leaves yields each of the six event types', async () => {
    const alice = await WrtcPeer.connect(wsUrlOf(sb!.url), 'alice');
    peers.push(alice);
    await alice.join('hooked', 'alice');
    await alice.publish();
    await waitFor(() => delivered('track_published', 'hooked').length === 2, { what: 'two track_published' });
    await alice.close();
    await waitFor(() => delivered('room_finished', 'hooked').length === 1, { what: 'room_finished' });
    await waitFor(() => delivered('track_unpublished', 'hooked').length === 2, {
      what: 'two track_unpublished',
    });
    // room_started was the first delivery, answered with 500: its retry comes 500 ms later, which a
    // quick join-publish-leave can outrun.
    for (const type of ['room_started', 'participant_joined', 'participant_left']) {
      await waitFor(() => delivered(type, 'hooked').length > 0, { what: type });
      assert.equal(delivered(type, 'hooked').length, 1, type);
    }
    assert.equal(delivered('participant_joined', 'hooked')[0]!.event.participant?.identity, 'alice');
    assert.deepEqual(
      delivered('track_published', 'hooked')
        .map((r) => r.event.track?.type)
        .sort(),
      ['audio', 'video'],
    );
  });

  void it('every delivery is signed with the service key: sha256=HMAC-SHA256(key, body)', () => {
    for (const r of received) {
      const expected = `sha256=${createHmac('sha256', SUPER.key).update(r.body).digest('hex')}`;
      assert.equal(r.headers['x-switchboard-signature'], expected, `signature of ${r.event.event}`);
      assert.equal(r.headers['x-switchboard-event'], r.event.event);
      assert.equal(r.headers['x-switchboard-service'], SUPER.service);
      assert.equal(r.headers['content-type'], 'application/json');
    }
  });

  void it('the delivery answered with 500 was retried and then delivered', () => {
    const first = received[0]!;
    assert.equal(first.status, 500);
    const retries = received.filter((r) => r.event.id === first.event.id);
    assert.equal(retries.length, 2, 'the failed delivery came exactly once more');
    assert.equal(retries[1]!.status, 200);
    assert.equal(retries[1]!.body, first.body);
    // Every event was delivered once with success.
    const ok = received.filter((r) => r.status === 200).map((r) => r.event.id);
    assert.equal(new Set(ok).size, ok.length);
  });

  void it("events of a service's room are signed with that service's key", async () => {
    const key = 'acme-service-key-000001';
    const svc = (await apiCall(sb!.url, 'POST', '/services', { creds: SUPER, body: { name: 'acme', key } }))
      .text;
    const creds = { service: svc, key };
    const room = (await apiCall(sb!.url, 'POST', '/rooms', { creds, body: { name: 'acme-call' } })).json as {
      _id: string;
    };
    const token = (
      await apiCall(sb!.url, 'POST', `/rooms/${room._id}/tokens?format=jwt`, {
        creds,
        body: { identity: 'bob' },
      })
    ).text;
    const bob = await WrtcPeer.connect(`${wsUrlOf(sb!.url)}?access_token=${token}`, 'bob');
    peers.push(bob);
    await bob.join(room._id, 'bob');
    await waitFor(() => delivered('participant_joined', room._id).length === 1, {
      what: "bob's participant_joined",
    });
    const r = delivered('participant_joined', room._id)[0]!;
    assert.equal(r.headers['x-switchboard-service'], svc);
    assert.equal(
      r.headers['x-switchboard-signature'],
      `sha256=${createHmac('sha256', key).update(r.body).digest('hex')}`,
    );
  });
  void it("a service's room made by a join: every event, the last ones after the room is gone too, is signed with the service's key", async () => {
    const key = 'adhoc-service-key-00001';
    const svc = (await apiCall(sb!.url, 'POST', '/services', { creds: SUPER, body: { name: 'adhoc', key } }))
      .text;
    const token = await new SignJWT({ room: 'adhoc-call' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('carol')
      .setIssuer(svc)
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(key));
    const carol = await WrtcPeer.connect(`${wsUrlOf(sb!.url)}?access_token=${token}`, 'carol');
    peers.push(carol);
    await carol.join('adhoc-call', 'carol');
    await carol.publish();
    await waitFor(() => delivered('track_published', 'adhoc-call').length === 2, {
      what: 'two track_published',
    });
    await carol.close();
    // The room made by the join is deleted with its last member; its last events come after that.
    await waitFor(() => delivered('room_finished', 'adhoc-call').length === 1, { what: 'room_finished' });
    await waitFor(() => delivered('track_unpublished', 'adhoc-call').length === 2, {
      what: 'two track_unpublished',
    });
    const mine = received.filter((r) => r.status === 200 && r.event.room.sid === 'adhoc-call');
    assert.ok(mine.length >= 6, `at least six events, got ${mine.map((r) => r.event.event).join(', ')}`);
    for (const r of mine) {
      assert.equal(r.headers['x-switchboard-service'], svc, `service of ${r.event.event}`);
      assert.equal(
        r.headers['x-switchboard-signature'],
        `sha256=${createHmac('sha256', key).update(r.body).digest('hex')}`,
        `signature of ${r.event.event}`,
      );
    }
  });
});

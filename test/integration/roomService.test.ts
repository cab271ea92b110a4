// The room service on /ws: host and guests, lock / password / max peers enforced at join, peer events,
// messages, and kick / mute / end acting on the media (packet counts stop growing).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RawSocket } from '../helpers/rawSocket.ts';
import { fetchMetrics, metricValue, startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { RpcError, WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';
import { signToken, type GrantFlags } from '../../src/protocol/tokens.ts';

const SECRET = 'room-service-test-secret-01';
const ROOM = 'team';

const token = (identity: string, grants: Partial<GrantFlags> = {}) =>
  signToken({ secret: SECRET, identity, room: ROOM, grants, ttlSeconds: 600 });

interface RpcReply {
  error?: { code: number; message: string };
}

/** Resolves once `sample` has not grown across two polls in a row (packets stopped arriving). */
async function stopsGrowing(sample: () => Promise<number>, what: string): Promise<number> {
  let prev = await sample();
  let stable = 0;
  return waitFor(
    async () => {
      const v = await sample();
      stable = v <= prev ? stable + 1 : 0;
      prev = v;
      return stable >= 2 ? v : undefined;
    },
    { interval: 500, what },
  );
}

/** Resolves once `sample` has grown by more than `by`. */
async function grows(sample: () => Promise<number>, by: number, what: string): Promise<void> {
  const start = await sample();
  await waitFor(async () => (await sample()) > start + by, { what });
}

function rejectsWith(p: Promise<unknown>, code: number, message: RegExp): Promise<void> {
  return assert.rejects(p, (err: RpcError) => {
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

void describe('room service', { timeout: 240_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  const peers: WrtcPeer[] = [];
  const sockets: RawSocket[] = [];
  let host: WrtcPeer;
  let guest: WrtcPeer;
  let quiet: WrtcPeer;

  async function join(
    label: string,
    extras: Record<string, unknown> = {},
    grants: Partial<GrantFlags> = {},
  ): Promise<WrtcPeer> {
    const p = await WrtcPeer.connect(wsUrlOf(sb!.url), label);
    peers.push(p);
    p.joinExtras = { token: await token(label, grants), ...extras };
    await p.join(ROOM, label);
    return p;
  }

  /** A join the room refuses before media: a placeholder offer is enough. */
  async function refused(
    label: string,
    extras: Record<string, unknown> = {},
  ): Promise<{ code: number; message: string }> {
    const ws = await RawSocket.connect(wsUrlOf(sb!.url));
    sockets.push(ws);
    const params = {
      sid: ROOM,
      uid: label,
      offer: { type: 'offer', sdp: 'v=0\r\n' },
      token: await token(label),
      ...extras,
    };
    const reply = await ws.request<RpcReply>(JSON.stringify({ id: 1, method: 'join', params }));
    assert.ok(reply.error, 'expected the join to be refused');
    return reply.error;
  }

  const hostAudio = async () => (await host.inboundStats()).audio;
  const hostVideo = async () => (await host.inboundStats()).video;
  const notes = (p: WrtcPeer, method: string) =>
    p.notifications.filter((n) => n.method === method).map((n) => n.params);

  before(async () => {
    sb = await startSwitchboard((c) => {
      c.auth.anonymous = false;
      c.auth.secret = SECRET;
    });
    host = await join('host', {}, { roomAdmin: true });
    guest = await join('guest');
    await guest.publish();
    await waitFor(async () => (await hostAudio()) > 50 && host.videoFrames() > 5, {
      what: "host to receive guest's media",
    });
  });

  after(async () => {
    for (const s of sockets) {
      await s.close();
    }
    for (const p of peers) {
      await p.close();
    }
    await sb?.close();
  });

  void it('joiners get room.joined with their role; others get room.peer join events', async () => {
    await waitFor(() => notes(guest, 'room.joined').length === 1, { what: 'guest to get room.joined' });
    const joined = notes(guest, 'room.joined')[0];
    assert.equal(joined.role, 'guest');
    assert.equal(joined.room.id, ROOM);
    assert.deepEqual(
      joined.peers.map((p: { uid: string }) => p.uid),
      ['host'],
    );
    assert.equal(notes(host, 'room.joined')[0].role, 'host');
    await waitFor(() => notes(host, 'room.peer').some((e) => e.state === 'join' && e.peer.uid === 'guest'), {
      what: 'host to get a join event for guest',
    });
    const list = await guest.call<{ uid: string; role: string }[]>('room.peers', {});
    assert.deepEqual(
      list.map((p) => [p.uid, p.role]),
      [
        ['host', 'host'],
        ['guest', 'guest'],
      ],
    );
  });

  void it('only the host changes room settings', async () => {
    await rejectsWith(guest.call('room.lock', {}), 403, /only the host/);
    await rejectsWith(guest.call('room.setMaxPeers', { maxPeers: 1 }), 403, /only the host/);
    await rejectsWith(guest.call('room.kick', { uid: 'host' }), 403, /only the host/);
    await rejectsWith(guest.call('room.end', {}), 403, /only the host/);
    await rejectsWith(guest.call('room.mute', { uid: 'host', kind: 'audio' }), 403, /only the host/);
    const bad = await guest.call('room.setMaxPeers', { maxPeers: 'many' }).catch((e: RpcError) => e);
    assert.equal((bad as RpcError).code, -32602);
  });

  void it('a locked room refuses new joins until unlocked', async () => {
    const info = await host.call<{ locked: boolean }>('room.lock', {});
    assert.equal(info.locked, true);
    await waitFor(() => notes(guest, 'room.updated').some((u) => u.room.locked === true), {
      what: 'guest to see the lock',
    });
    const err = await refused('intruder');
    assert.deepEqual([err.code, err.message], [403, 'room is locked']);
    await host.call('room.unlock', {});
    assert.equal((await guest.call<{ locked: boolean }>('room.info', {})).locked, false);
  });

  void it('a room password is required at join, and a wrong one is refused', async () => {
    const info = await host.call<{ hasPassword: boolean }>('room.setPassword', { password: 's3cret' });
    assert.equal(info.hasPassword, true);
    assert.deepEqual(Object.values(await refused('nopass')), [401, 'room password required']);
    assert.deepEqual(Object.values(await refused('badpass', { password: 'guess' })), [
      401,
      'wrong room password',
    ]);
    // Receives nothing: a media-core bug closes a late subscriber when a publisher leaves (reported).
    quiet = await join('quiet', { password: 's3cret' }, { canSubscribe: false });
    await host.call('room.setPassword', { password: null });
  });

  void it('max peers holds, also for two joins racing for the last place', async () => {
    await host.call('room.setMaxPeers', { maxPeers: 4 }); // host, guest, quiet + one
    const racers = await Promise.allSettled([join('racer-a'), join('racer-b')]);
    const ok = racers.filter((r) => r.status === 'fulfilled');
    const failed = racers.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(ok.length, 1, 'exactly one racer got in');
    assert.equal((failed[0]!.reason as RpcError).code, 403);
    assert.match((failed[0]!.reason as Error).message, /room is full/);
    assert.equal((await host.call<unknown[]>('room.peers', {})).length, 4);
    // The winner leaves: its place frees up.
    const winner = peers.find((p) => p.label.startsWith('racer-') && notes(p, 'room.joined').length > 0)!;
    await winner.close();
    await waitFor(async () => (await host.call<unknown[]>('room.peers', {})).length === 3, {
      what: 'the racer to leave',
    });
    await host.call('room.setMaxPeers', { maxPeers: 0 });
  });

  void it('messages reach one peer or everyone else', async () => {
    assert.deepEqual(await guest.call('room.message', { to: 'host', data: { text: 'hi host' } }), {
      delivered: 1,
    });
    await waitFor(
      () => notes(host, 'room.message').some((m) => m.from === 'guest' && m.data.text === 'hi host'),
      {
        what: 'host to get the message',
      },
    );
    assert.deepEqual(await host.call('room.message', { to: 'all', type: 'chat', data: 'hello all' }), {
      delivered: 2,
    });
    for (const p of [guest, quiet]) {
      await waitFor(() => notes(p, 'room.message').some((m) => m.from === 'host' && m.type === 'chat'), {
        what: `${p.label} to get the broadcast`,
      });
    }
    assert.ok(
      !notes(host, 'room.message').some((m) => m.from === 'host'),
      'the sender got its own broadcast',
    );
    await rejectsWith(guest.call('room.message', { to: 'nobody', data: 1 }), 404, /no peer/);
  });

  void it("the host mutes a guest's audio: its packets stop while video flows; the owner unmutes", async () => {
    assert.deepEqual(await host.call('room.mute', { uid: 'guest', kind: 'audio' }), { tracks: 1 });
    await stopsGrowing(hostAudio, "guest's audio to stop at the host");
    await grows(hostVideo, 20, "guest's video to keep flowing");
    await rejectsWith(
      host.call('room.mute', { uid: 'guest', kind: 'audio', muted: false }),
      403,
      /only the owner can unmute/,
    );
    await guest.call('room.mute', { uid: 'guest', kind: 'audio', muted: false });
    await grows(hostAudio, 20, "guest's audio to flow again");
  });

  void it('the host kicks a guest: its socket closes and its media stops', async () => {
    await host.call('room.kick', { uid: 'guest', reason: 'be quiet' });
    const closed = await guest.socketClosed;
    assert.deepEqual(closed, { code: 4001, reason: 'kicked' });
    assert.equal(notes(guest, 'room.kicked')[0]?.reason, 'be quiet');
    const audio = await stopsGrowing(hostAudio, 'host to stop receiving the kicked guest');
    const video = await stopsGrowing(hostVideo, 'host to stop receiving video of the kicked guest');
    await waitFor(() => notes(host, 'room.peer').some((e) => e.state === 'leave' && e.peer.uid === 'guest'), {
      what: 'host to get the leave event',
    });
    assert.ok(audio >= 0 && video >= 0);
    assert.deepEqual(
      (await host.call<{ uid: string }[]>('room.peers', {})).map((p) => p.uid),
      ['host', 'quiet'],
    );
  });

  void it('the host ends the room: everyone is disconnected and the media node drops the session', async () => {
    assert.deepEqual(await host.call('room.end', { reason: 'done' }), { peers: 2 });
    for (const p of [host, quiet]) {
      assert.deepEqual(await p.socketClosed, { code: 4002, reason: 'room ended' });
      assert.equal(notes(p, 'room.ended')[0]?.reason, 'done');
    }
    const s = sb!;
    await waitFor(async () => metricValue(await fetchMetrics(s), 'sfu_peers') === 0, {
      what: 'no peers left',
    });
  });
});

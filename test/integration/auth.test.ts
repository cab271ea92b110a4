// Tokens on /ws with anonymous mode off: who may join, publish, subscribe, send data, be seen.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RawSocket } from '../helpers/rawSocket.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { RpcError, WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';
import { signToken, type GrantFlags } from '../../src/protocol/tokens.ts';

const SECRET = 'auth-test-secret-0123456789';
const ROOM = 'auth-room';

function token(
  identity: string,
  grants: Partial<GrantFlags> = {},
  o: { room?: string; ttl?: number; secret?: string; now?: number } = {},
) {
  return signToken({
    secret: o.secret ?? SECRET,
    identity,
    room: o.room ?? ROOM,
    grants,
    ttlSeconds: o.ttl ?? 600,
    ...(o.now !== undefined ? { now: o.now } : {}),
  });
}

interface RpcReply {
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string };
}

void describe('access tokens on /ws', { timeout: 180_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  const peers: WrtcPeer[] = [];
  const sockets: RawSocket[] = [];
  let alice: WrtcPeer;
  let viewer: WrtcPeer;

  /** A join refused before any media: a raw socket and a placeholder offer are enough. */
  async function refusedJoin(
    params: Record<string, unknown>,
    query = '',
  ): Promise<{ code: number; message: string }> {
    const ws = await RawSocket.connect(`${wsUrlOf(sb!.url)}${query}`);
    sockets.push(ws);
    const reply = await ws.request<RpcReply>(
      JSON.stringify({
        id: 1,
        method: 'join',
        params: { sid: ROOM, uid: 'x', offer: { type: 'offer', sdp: 'v=0\r\n' }, ...params },
      }),
    );
    assert.ok(reply.error, `expected an error, got ${JSON.stringify(reply)}`);
    return reply.error;
  }

  async function joinPeer(label: string, t: string, via: 'param' | 'query'): Promise<WrtcPeer> {
    const url =
      via === 'query' ? `${wsUrlOf(sb!.url)}?access_token=${encodeURIComponent(t)}` : wsUrlOf(sb!.url);
    const p = await WrtcPeer.connect(url, label);
    peers.push(p);
    if (via === 'param') {
      p.joinExtras = { token: t };
    }
    await p.join(ROOM, label);
    return p;
  }

  const audioIn = async (p: WrtcPeer): Promise<number> => (await p.inboundStats()).audio;
  const totalIn = async (p: WrtcPeer): Promise<number> => {
    const s = await p.inboundStats();
    return s.audio + s.video;
  };
  /** Lets the viewer receive `n` more audio packets: a window of real media time, not a sleep. */
  async function mediaWindow(n: number, what: string): Promise<void> {
    const start = await audioIn(viewer);
    await waitFor(async () => (await audioIn(viewer)) >= start + n, { what });
  }

  before(async () => {
    sb = await startSwitchboard((c) => {
      c.auth.anonymous = false;
      c.auth.secret = SECRET;
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

  void it('a join without a token is refused with 401', async () => {
    const err = await refusedJoin({});
    assert.equal(err.code, 401);
    assert.match(err.message, /access token required/);
  });

  void it('a token with a bad signature is refused with 401', async () => {
    const err = await refusedJoin({
      token: await token('mallory', {}, { secret: 'not-the-server-secret-00' }),
    });
    assert.deepEqual([err.code, err.message], [401, 'invalid token signature']);
  });

  void it('an expired token is refused with 401', async () => {
    const err = await refusedJoin({
      token: await token('late', {}, { ttl: 60, now: Math.floor(Date.now() / 1000) - 3600 }),
    });
    assert.deepEqual([err.code, err.message], [401, 'token expired']);
  });

  void it('a token for room A cannot join room B (403), also through access_token', async () => {
    const t = await token('wanderer', {}, { room: 'other-room' });
    const err = await refusedJoin({}, `?access_token=${encodeURIComponent(t)}`);
    assert.equal(err.code, 403);
    assert.match(err.message, /token is for room "other-room", not "auth-room"/);
  });

  void it('a full token (join param) publishes; a subscribe-only token (access_token query) receives it', async () => {
    alice = await joinPeer('alice', await token('alice'), 'param');
    await alice.publish();
    viewer = await joinPeer(
      'viewer',
      await token('viewer', { canPublish: false, canPublishData: false }),
      'query',
    );
    await waitFor(async () => (await audioIn(viewer)) > 50 && viewer.videoFrames() > 5, {
      what: "the viewer to receive alice's media",
    });
  });

  void it('a subscribe-only token cannot publish: its offer is refused and nobody receives its packets', async () => {
    await assert.rejects(viewer.publish(), (err: RpcError) => {
      assert.equal(err.code, 403);
      assert.match(err.message, /canPublish=false/);
      return true;
    });
    assert.ok((await viewer.outboundStats()).audio >= 0);
    await mediaWindow(100, 'two more seconds of media');
    assert.equal(await totalIn(alice), 0, 'alice received packets from the viewer');
    assert.equal(alice.remoteTracks.size, 0);
  });

  void it("canPublishData=false: the client's own data channel is not fanned out and room.message is refused", async () => {
    const chat = viewer.publisher.createDataChannel('chat');
    await waitFor(() => chat.readyState === 'open' && alice.channels.get('chat')?.readyState === 'open', {
      what: "the viewer's chat channel to open",
    });
    chat.send('from-viewer');
    await assert.rejects(
      viewer.call('room.message', { to: 'all', data: 'hi' }),
      (err: RpcError) => err.code === 403,
    );
    // A peer allowed to send data uses the same label afterwards: its message arrives, the viewer's never did.
    const talker = await joinPeer('talker', await token('talker', { canSubscribe: false }), 'param');
    const own = talker.publisher.createDataChannel('chat');
    await waitFor(() => own.readyState === 'open', { what: "talker's chat channel to open" });
    own.send('from-talker');
    await waitFor(() => alice.dataMessages.some((m) => m.label === 'chat' && m.data === 'from-talker'), {
      what: "alice to get talker's message",
    });
    assert.ok(
      !alice.dataMessages.some((m) => m.data === 'from-viewer'),
      "the viewer's message was fanned out",
    );
  });

  void it('canSubscribe=false: the peer receives no media while others do, and its own tracks reach others', async () => {
    const talker = peers.find((p) => p.label === 'talker')!;
    await talker.publish();
    await waitFor(() => alice.remoteStreamIds().has(talker.publishedStreamId!), {
      what: "alice to get talker's stream",
    });
    await mediaWindow(100, 'two more seconds of media');
    assert.equal(await totalIn(talker), 0, 'the publish-only peer received packets');
    assert.equal(talker.remoteTracks.size, 0);
  });

  void it('hidden: a hidden peer is not listed in the roster or room.peers', async () => {
    await joinPeer('ghost', await token('ghost', { hidden: true, canPublish: false }), 'param');
    const late = await joinPeer('late', await token('late'), 'param');
    const lastRoster = () =>
      alice.notifications.filter((n) => n.method === 'participants').at(-1)?.params as
        { peers: { uid: string }[] } | undefined;
    await waitFor(() => lastRoster()?.peers.some((p) => p.uid === 'late'), {
      what: 'alice to see late in the roster',
    });
    assert.ok(!lastRoster()!.peers.some((p) => p.uid === 'ghost'), 'ghost is in the roster');
    const listed = await late.call<{ uid: string }[]>('room.peers', {});
    assert.deepEqual(listed.map((p) => p.uid).sort(), ['alice', 'late', 'talker', 'viewer']);
  });
});

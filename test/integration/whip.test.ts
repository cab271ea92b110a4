// WHIP (RFC 9725) at the protocol level, with plain HTTP and a libwebrtc publisher: a session is a
// participant of its room (a /ws client decodes its video), the resource's lifecycle (POST, PATCH
// trickle, ICE restart, DELETE, a second DELETE 404), every refusal the RFC asks for (415, 400, 404,
// 412, 428, 401, 403, 413) — and none of them disturbs the session that streams meanwhile.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signToken, type GrantFlags } from '../../src/protocol/tokens.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WhipPublisher } from '../helpers/whipPublisher.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

const ROOM = 'whip-room';
const SECRET = 'whip-test-secret-0123456789';

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp', ...headers }, body });
}

void describe('WHIP ingest (anonymous mode)', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let viewer: WrtcPeer | undefined;
  let whip: WhipPublisher | undefined;
  const endpoint = () => `${sb!.url}/whip/rooms/${ROOM}`;

  before(async () => {
    sb = await startSwitchboard();
    viewer = await WrtcPeer.connect(wsUrlOf(sb.url), 'viewer');
    await viewer.join(ROOM, 'viewer');
  });

  after(async () => {
    whip?.close();
    await viewer?.close();
    await sb?.close();
  });

  void it('POST: 201 with the answer, Location, ETag, Accept-Patch; a /ws client decodes the stream', async () => {
    whip = new WhipPublisher();
    const res = await whip.publish(`${endpoint()}?name=Studio`);
    assert.equal(res.status, 201, res.body);
    assert.equal(res.headers.get('content-type'), 'application/sdp');
    assert.match(res.headers.get('location')!, /^\/whip\/sessions\/[A-Za-z0-9_-]{22}$/);
    assert.match(res.headers.get('etag')!, /^"[^"]+"$/);
    assert.equal(res.headers.get('accept-patch'), 'application/trickle-ice-sdpfrag');
    assert.match(res.body, /^v=0\r\n/);
    assert.match(res.body, /a=recvonly/);
    const v = viewer!;
    await waitFor(() => v.videoFrames(whip!.streamId) > 20, {
      what: 'the /ws viewer to decode the WHIP video',
    });
    await waitFor(async () => (await v.inboundStats()).audio > 50, { what: 'the WHIP audio' });
  });

  void it('the WHIP publisher is a participant: the roster shows it by name, and REST lists it', async () => {
    const v = viewer!;
    await waitFor(() => roster(v).some((p) => p.name === 'Studio' && p.streams.length > 0), {
      what: 'the roster to show the WHIP publisher',
    });
  });

  void it('PATCH trickles candidates (204, no ETag); a fragment without candidates too', async () => {
    const w = whip!;
    await Promise.all(w.patches);
    for (const r of await Promise.all(w.patches)) {
      assert.equal(r.status, 204);
      assert.equal(r.headers.get('etag'), null);
    }
    const same = await patch(w, 'a=end-of-candidates\r\n');
    assert.equal(same.status, 204);
    // A restart must bring both new credentials.
    assert.equal((await patch(w, 'a=end-of-candidates\r\n', { 'if-match': '*' })).status, 400);
  });

  void it('ICE restart: 200 with new credentials, candidates and ETag; media flows on the new ICE session', async () => {
    const w = whip!;
    const oldEtag = w.etag!;
    const res = await w.restartIce();
    assert.equal(res.status, 200, res.body);
    assert.equal(res.headers.get('content-type'), 'application/trickle-ice-sdpfrag');
    assert.match(res.body, /^a=ice-ufrag:\S+\r\na=ice-pwd:\S+\r\n/);
    assert.match(res.body, /a=candidate:/);
    assert.notEqual(w.etag, oldEtag);
    await waitFor(() => w.pc.iceConnectionState === 'connected' || w.pc.iceConnectionState === 'completed', {
      what: 'the publisher to reconnect on the new ICE session',
    });
    const v = viewer!;
    const before = v.videoFrames(w.streamId);
    await waitFor(() => v.videoFrames(w.streamId) > before + 20, { what: 'frames after the ICE restart' });
    // The old ICE session's ETag is stale now; the new one takes trickles.
    assert.equal((await patch(w, 'a=end-of-candidates\r\n', { 'if-match': oldEtag })).status, 412);
    assert.equal((await patch(w, 'a=end-of-candidates\r\n')).status, 204);
  });

  void it('PATCH refusals: 428 without If-Match, 412 for another ETag, 415, 400, 404', async () => {
    const w = whip!;
    assert.equal((await patch(w, 'a=end-of-candidates\r\n', { 'if-match': null })).status, 428);
    assert.equal((await patch(w, 'a=end-of-candidates\r\n', { 'if-match': '"stale"' })).status, 412);
    assert.equal((await patch(w, 'a=end-of-candidates\r\n', { 'content-type': 'text/plain' })).status, 415);
    const bad = await patch(w, 'a=candidate:garbage\r\n');
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /malformed candidate/);
    assert.equal((await patch(w, 'hello\r\n')).status, 400);
    const other = await fetch(`${sb!.url}/whip/sessions/AAAAAAAAAAAAAAAAAAAAAA`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': '*' },
      body: 'a=end-of-candidates\r\n',
    });
    assert.equal(other.status, 404);
  });

  void it('POST refusals: 415, 400 for garbage, no media, recvonly; 413 for a huge body', async () => {
    const wrongType = await fetch(endpoint(), {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'v=0',
    });
    assert.equal(wrongType.status, 415);
    const garbage = await post(endpoint(), 'this is not SDP');
    assert.equal(garbage.status, 400);
    assert.match(await garbage.text(), /not an SDP offer/);
    const noMedia = await post(endpoint(), 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n');
    assert.equal(noMedia.status, 400);
    assert.match(await noMedia.text(), /no audio or video/);
    const recv = await viewer!.subscriber.createOffer().catch(() => undefined);
    if (recv?.sdp) {
      const r = await post(endpoint(), recv.sdp.replace(/a=sendrecv/g, 'a=recvonly'));
      assert.equal(r.status, 400);
    }
    const huge = await post(endpoint(), `v=0\r\n${'a=x\r\n'.repeat(400_000)}`);
    assert.equal(huge.status, 413);
    assert.equal((await post(endpoint(), '')).status, 400);
  });

  void it('OPTIONS answers CORS and Accept-Post; GET on the endpoint is 204', async () => {
    const pre = await fetch(endpoint(), {
      method: 'OPTIONS',
      headers: { origin: 'https://obs.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://obs.example');
    assert.match(pre.headers.get('access-control-allow-methods')!, /PATCH/);
    assert.match(pre.headers.get('access-control-expose-headers')!, /Location/);
    assert.equal(pre.headers.get('accept-post'), 'application/sdp');
    assert.equal((await fetch(endpoint())).status, 204);
  });

  void it('none of that disturbed the session: the viewer still decodes new frames', async () => {
    const v = viewer!;
    const before = v.videoFrames(whip!.streamId);
    await waitFor(() => v.videoFrames(whip!.streamId) > before + 20, {
      what: 'more frames after the bad requests',
    });
  });

  void it('DELETE ends the session (200): the stream leaves the room; a second DELETE is 404', async () => {
    const w = whip!;
    assert.equal(await w.stop(), 200);
    const v = viewer!;
    await waitFor(() => !roster(v).some((p) => p.name === 'Studio'), { what: 'the WHIP publisher to leave' });
    assert.equal(await w.stop(), 404);
    assert.equal((await patch(w, 'a=end-of-candidates\r\n')).status, 404);
  });
});

void describe('WHIP with tokens', { timeout: 60_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  const token = (identity: string, grants: Partial<GrantFlags> = {}, room = ROOM) =>
    signToken({ secret: SECRET, identity, room, grants, ttlSeconds: 600, name: `${identity} cam` });

  before(async () => {
    sb = await startSwitchboard((c) => {
      c.auth.anonymous = false;
      c.auth.secret = SECRET;
    });
  });

  after(async () => {
    await sb?.close();
  });

  void it('401 without a token or with a bad one; 403 for another room or without canPublish', async () => {
    const offer = new WhipPublisher();
    try {
      const sdp = (await offer.pc.createOffer()).sdp!;
      const url = `${sb!.url}/whip/rooms/${ROOM}`;
      assert.equal((await post(url, sdp)).status, 401);
      assert.equal((await post(url, sdp, { authorization: 'Bearer not.a.jwt' })).status, 401);
      const elsewhere = await post(url, sdp, { authorization: `Bearer ${await token('cam', {}, 'other')}` });
      assert.equal(elsewhere.status, 403);
      assert.match(await elsewhere.text(), /other/);
      const viewerOnly = await post(url, sdp, {
        authorization: `Bearer ${await token('cam', { canPublish: false })}`,
      });
      assert.equal(viewerOnly.status, 403);
      assert.match(await viewerOnly.text(), /canPublish/);
    } finally {
      offer.close();
    }
  });

  void it('a token session: PATCH and DELETE need its own identity (403 for another one)', async () => {
    const w = new WhipPublisher(await token('studio'));
    try {
      const res = await w.publish(`${sb!.url}/whip/rooms/${ROOM}`);
      assert.equal(res.status, 201, res.body);
      const other = await token('intruder');
      const stolen = await fetch(w.location!, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${other}` },
      });
      assert.equal(stolen.status, 403);
      const anonymous = await fetch(w.location!, { method: 'DELETE' });
      assert.equal(anonymous.status, 401);
      assert.equal(await w.stop(), 200);
    } finally {
      w.close();
    }
  });
});

/** The last roster `peer` got (`participants` notification). */
function roster(peer: WrtcPeer): { uid: string; name: string; streams: unknown[] }[] {
  const last = peer.notifications.filter((n) => n.method === 'participants').at(-1)?.params as
    { peers: { uid: string; name: string; streams: unknown[] }[] } | undefined;
  return last?.peers ?? [];
}

function patch(
  w: WhipPublisher,
  body: string,
  headers: Record<string, string | null> = {},
): Promise<Response> {
  const h: Record<string, string> = {
    'content-type': 'application/trickle-ice-sdpfrag',
    'if-match': w.etag ?? '*',
  };
  for (const [k, v] of Object.entries(headers)) {
    if (v === null) {
      delete h[k];
    } else {
      h[k] = v;
    }
  }
  return fetch(w.location!, { method: 'PATCH', headers: h, body });
}

void describe('WHIP on a full node', { timeout: 60_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  const open: WhipPublisher[] = [];

  before(async () => {
    sb = await startSwitchboard((c) => {
      c.sfu.maxpeers = 1;
    });
  });

  after(async () => {
    for (const w of open) {
      w.close();
    }
    await sb?.close();
  });

  void it('503 with Retry-After when no media node takes the session; the first one is unharmed', async () => {
    const first = new WhipPublisher();
    open.push(first);
    assert.equal((await first.publish(`${sb!.url}/whip/rooms/full`)).status, 201);
    // The node counts its peers in its heartbeat (a second at most).
    await new Promise((r) => setTimeout(r, 1200));
    const second = new WhipPublisher();
    open.push(second);
    const res = await second.publish(`${sb!.url}/whip/rooms/full`);
    assert.equal(res.status, 503, res.body);
    assert.equal(res.headers.get('retry-after'), '5');
    assert.match(res.body, /full/);
    assert.equal(await first.stop(), 200);
  });
});

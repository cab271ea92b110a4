// ION's cluster client: the published ion-sdk-js 1.8.2 bundle `ion-connector.min.js` (Ion.Connector,
// Ion.Room, Ion.RTC over gRPC-web WebSockets), loaded unchanged into Chromium against Switchboard, with
// ION's own JWTs; a demo page (JSON-RPC on /ws) in the same room.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { signToken } from '../../src/protocol/tokens.ts';
import { signIonToken } from '../../src/signal/ion/ionAuth.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { inboundStats, remoteTiles } from '../helpers/pageStats.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { AbortWait, waitFor } from '../helpers/waitFor.ts';

const require = createRequire(import.meta.url);
const MEDIA_TIMEOUT = 30000;
const ROOM = 'ion-cluster-room';
const PASSWORD = 'open sesame';
/** Ion.RTC's subscriber PC (its Client's Role.sub transport). */
const ION_SUBSCRIBER = 'window.ion && window.ion.rtc._rtc.transports && window.ion.rtc._rtc.transports[1].pc';

interface IonPageState {
  roomJoin: { success: boolean; code: number; reason: string; role: number; maxpeers: number } | null;
  rtcJoined: boolean;
  published: boolean;
  localStreamId: string | null;
  error: string | null;
  peerEvents: { state: number; uid: string; name: string }[];
  messages: { from: string; to: string; type: string; data: string }[];
  trackEvents: { state: number; uid: string; tracks: { id: string; kind: string; stream_id: string }[] }[];
  streams: Record<string, string[]>;
  closes: { service: string; status: number; message: string }[];
  disconnects: { sid: string; reason: string }[];
}

/**
 * An ION cluster app as ion-app-web writes it: one Connector, a Room and an RTC on it, Room.join with a
 * password, then RTC.join and publish. `media: false` stops after Room.join.
 */
function ionScript(url: string, token: string, uid: string, password: string, media: boolean): string {
  return `(() => {
    const state = { roomJoin: null, rtcJoined: false, published: false, localStreamId: null, error: null,
      peerEvents: [], messages: [], trackEvents: [], streams: {}, closes: [], disconnects: [] };
    const connector = new Ion.Connector(${JSON.stringify(url)}, ${JSON.stringify(token)});
    connector.onclose = (service, ev) => state.closes.push({ service: service.name,
      status: ev.detail.status, message: ev.detail.statusMessage });
    const room = new Ion.Room(connector);
    const rtc = new Ion.RTC(connector, { codec: 'vp8', iceServers: [] });
    window.ion = Object.assign(state, { connector, room, rtc });
    room.ondisconnect = (d) => state.disconnects.push({ sid: d.getSid ? d.getSid() : d.sid, reason: d.getReason ? d.getReason() : d.reason });
    room.onpeerevent = (ev) => state.peerEvents.push({ state: ev.state, uid: ev.peer.uid, name: ev.peer.displayname });
    room.onmessage = (m) => {
      const bytes = typeof m.data === 'string' ? Uint8Array.from(atob(m.data), (c) => c.charCodeAt(0)) : m.data;
      state.messages.push({ from: m.from, to: m.to, type: m.type, data: new TextDecoder().decode(bytes) });
    };
    rtc.ontrackevent = (ev) => state.trackEvents.push({ state: ev.state, uid: ev.uid,
      tracks: ev.tracks.map((t) => ({ id: t.id, kind: t.kind, stream_id: t.stream_id })) });
    rtc.ontrack = (track, stream) => { (state.streams[stream.id] = state.streams[stream.id] || []).push(track.kind); };
    const run = async () => {
      const r = await room.join({ sid: ${JSON.stringify(ROOM)}, uid: ${JSON.stringify(uid)},
        displayname: ${JSON.stringify(`${uid} name`)}, extrainfo: new Uint8Array(), destination: '',
        role: Ion.Role.GUEST, protocol: Ion.Protocol.WEBRTC, avatar: '', direction: Ion.Direction.INCOMING,
        vendor: 'test' }, ${JSON.stringify(password)});
      const err = r.error || {};
      state.roomJoin = { success: r.success,
        code: typeof err.getCode === 'function' ? err.getCode() : (err.errType || 0),
        reason: typeof err.getReason === 'function' ? err.getReason() : (err.reason || ''),
        role: r.role, maxpeers: r.room ? r.room.maxpeers : -1 };
      if (!r.success || !${media}) return;
      await rtc.join(${JSON.stringify(ROOM)}, ${JSON.stringify(uid)}, undefined);
      state.rtcJoined = true;
      const local = await Ion.LocalStream.getUserMedia({ resolution: 'vga', audio: true, video: true, codec: 'vp8' });
      state.localStreamId = local.id;
      rtc.publish(local);
      state.published = true;
    };
    run().catch((err) => { state.error = String((err && (err.message || err.reason || JSON.stringify(err))) || err); });
  })()`;
}

/** ION's JWT (pkg/auth/claims.go) signed with the server's key. */
function ionToken(secret: string, uid: string, services: string[]): Promise<string> {
  return signIonToken({
    key: secret,
    uid,
    sid: ROOM,
    publish: true,
    subscribe: true,
    services,
    ttlSeconds: 600,
  });
}

void describe('ion-sdk-js 1.8.2 Ion.Connector (gRPC-web)', { timeout: 240_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let browser: TestBrowser | undefined;
  const pages: Record<string, Page> = {};

  const stateOf = (page: Page): Promise<IonPageState | null> =>
    page.evaluate<IonPageState | null>(
      `window.ion ? (({ roomJoin, rtcJoined, published, localStreamId, error, peerEvents, messages, trackEvents, streams, closes, disconnects }) =>
        ({ roomJoin, rtcJoined, published, localStreamId, error, peerEvents, messages, trackEvents, streams, closes, disconnects }))(window.ion) : null`,
    );
  const waitForState = (
    page: Page,
    check: (s: IonPageState) => boolean,
    what: string,
  ): Promise<IonPageState> =>
    waitFor(
      async () => {
        const s = await stateOf(page);
        if (s?.error) {
          throw new AbortWait(`ion page failed: ${s.error}`);
        }
        return s && check(s) ? s : undefined;
      },
      { timeout: MEDIA_TIMEOUT, what },
    );

  /** A page of the server's origin running the connector bundle and `ionScript`. */
  const openIonPage = async (
    label: string,
    token: string,
    uid: string,
    password: string,
    media = true,
  ): Promise<Page> => {
    const page = await browser!.newPage(label);
    await page.route(`${sb!.url}/ion-connector.html`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: '<!doctype html><html><head><meta charset="utf-8"><title>Ion.Connector</title></head><body></body></html>',
      }),
    );
    await page.goto(`${sb!.url}/ion-connector.html`);
    await page.addScriptTag({ path: require.resolve('ion-sdk-js/dist/ion-connector.min.js') });
    await page.evaluate(ionScript(sb!.url, token, uid, password, media));
    pages[label] = page;
    return page;
  };

  const api = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const token = await signToken({
      secret: sb!.secrets.authSecret,
      identity: 'admin',
      grants: { api: true },
      ttlSeconds: 600,
    });
    const res = await fetch(`${sb!.url}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${text}`);
    return (res.headers.get('content-type') ?? '').includes('json') ? (JSON.parse(text) as unknown) : text;
  };

  before(async () => {
    sb = await startSwitchboard((cfg) => {
      cfg.auth.anonymous = false;
    });
    browser = await launchBrowser();
    await api('POST', '/rooms', { name: ROOM, options: { password: PASSWORD, maxPeers: 3 } });
    const secret = sb.secrets.authSecret;
    await openIonPage('alice', await ionToken(secret, 'alice', ['rtc', 'room']), 'alice', PASSWORD);
    await waitForState(pages.alice!, (s) => s.published, 'alice to join the room and publish');
    await openIonPage('bob', await ionToken(secret, 'bob', ['rtc', 'room']), 'bob', PASSWORD);
  });

  after(async () => {
    await browser?.close();
    await sb?.close();
  });

  void it('Room.join with the password succeeds, and RTC.join and publish go through', async () => {
    const s = await waitForState(pages.bob!, (st) => st.published, 'bob to join and publish');
    assert.equal(s.roomJoin?.success, true);
    assert.equal(s.roomJoin?.maxpeers, 3, 'the room info of the JoinReply');
    assert.deepEqual(s.closes, [], 'no stream ended');
  });

  void it('each page decodes the other one’s video', async () => {
    for (const label of ['alice', 'bob']) {
      await waitFor(
        async () => ((await inboundStats(pages[label]!, ION_SUBSCRIBER))?.framesDecoded ?? 0) > 30,
        {
          timeout: MEDIA_TIMEOUT,
          what: `${label}'s subscriber PC to decode 30 frames`,
        },
      );
    }
    const a = await stateOf(pages.alice!);
    const b = await stateOf(pages.bob!);
    assert.ok(a && b);
    assert.deepEqual(a.streams[b.localStreamId!]?.sort(), ['audio', 'video'], "alice gets bob's stream");
    assert.deepEqual(b.streams[a.localStreamId!]?.sort(), ['audio', 'video'], "bob gets alice's stream");
  });

  void it('peer events: alice hears of bob joining, bob of alice already there', async () => {
    const a = await waitForState(
      pages.alice!,
      (s) => s.peerEvents.some((e) => e.uid === 'bob'),
      'a peer event for bob',
    );
    const join = a.peerEvents.find((e) => e.uid === 'bob')!;
    assert.equal(join.state, 1, 'PeerState.JOIN (the JS enum: NONE=0, JOIN=1)');
    assert.equal(join.name, 'bob name');
    const b = await waitForState(
      pages.bob!,
      (s) => s.peerEvents.some((e) => e.uid === 'alice'),
      'a peer event for alice',
    );
    assert.equal(b.peerEvents.find((e) => e.uid === 'alice')!.state, 1);
  });

  void it("track events announce the other's audio and video tracks with their stream id", async () => {
    const b = await waitForState(
      pages.bob!,
      (s) => s.trackEvents.some((e) => e.uid === 'alice'),
      'a track event for alice',
    );
    const a = (await stateOf(pages.alice!))!;
    const tracks = b.trackEvents.filter((e) => e.uid === 'alice' && e.state === 0).flatMap((e) => e.tracks);
    assert.deepEqual(tracks.map((t) => t.kind).sort(), ['audio', 'video']);
    assert.ok(
      tracks.every((t) => t.stream_id === a.localStreamId),
      JSON.stringify(tracks),
    );
    assert.ok(!b.trackEvents.some((e) => e.uid === 'bob'), 'no track events for its own tracks');
  });

  void it('a message from bob to everyone reaches alice with its sender and payload', async () => {
    await pages.bob!.evaluate(
      `window.ion.room.message(${JSON.stringify(ROOM)}, 'bob', 'all', 'application/json', new Map([['text', 'hello alice']]))`,
    );
    const a = await waitForState(pages.alice!, (s) => s.messages.length > 0, 'alice to get the message');
    assert.equal(a.messages[0]!.from, 'bob');
    assert.deepEqual(JSON.parse(a.messages[0]!.data), { text: 'hello alice' });
  });

  void it("a demo-page client in the room sees the ION clients' streams and they see its", async () => {
    const demoToken = await signToken({
      secret: sb!.secrets.authSecret,
      identity: 'demo',
      room: ROOM,
      ttlSeconds: 600,
      grants: { roomAdmin: true }, // a host gets past the password and the full room
    });
    const demo = await browser!.newPage('demo');
    pages.demo = demo;
    await demo.goto(`${sb!.url}/?room=${ROOM}&name=demo&autojoin=1&token=${demoToken}`);
    const a = (await stateOf(pages.alice!))!;
    await waitFor(async () => (await remoteTiles(demo)).some((t) => t.streamId === a.localStreamId), {
      timeout: MEDIA_TIMEOUT,
      what: "the demo page to show alice's stream",
    });
    await waitFor(async () => ((await inboundStats(demo))?.framesDecoded ?? 0) > 30, {
      timeout: MEDIA_TIMEOUT,
      what: 'the demo page to decode 30 frames',
    });
    await waitForState(
      pages.alice!,
      (s) => s.peerEvents.some((e) => e.uid === 'demo'),
      'a peer event for the demo user',
    );
    await waitForState(
      pages.alice!,
      (s) => Object.keys(s.streams).length >= 2,
      "alice to receive the demo page's stream too",
    );
  });

  void it('a wrong password is refused with PasswordRequired', async () => {
    const page = await openIonPage(
      'mallory',
      await ionToken(sb!.secrets.authSecret, 'mallory', ['rtc', 'room']),
      'mallory',
      'wrong',
      false,
    );
    const s = await waitForState(page, (st) => st.roomJoin !== null, 'the refused join');
    assert.equal(s.roomJoin!.success, false);
    assert.equal(s.roomJoin!.code, 5, 'ErrorType.PasswordRequired');
    assert.match(s.roomJoin!.reason, /password/);
    await page.close();
  });

  void it('a full room is refused with PermissionDenied', async () => {
    // alice, bob and the demo user: maxPeers 3 is reached.
    const page = await openIonPage(
      'carol',
      await ionToken(sb!.secrets.authSecret, 'carol', ['rtc', 'room']),
      'carol',
      PASSWORD,
      false,
    );
    const s = await waitForState(page, (st) => st.roomJoin !== null, 'the refused join');
    assert.equal(s.roomJoin!.success, false);
    assert.equal(s.roomJoin!.code, 2, 'ErrorType.PermissionDenied');
    assert.match(s.roomJoin!.reason, /full/);
    await page.close();
  });

  void it('a locked room is refused with RoomLocked', async () => {
    const rooms = (await api('GET', '/rooms')) as { _id?: string; id?: string; name: string }[];
    const id = rooms.find((r) => r.name === ROOM)!;
    await api('PATCH', `/rooms/${id._id ?? id.id}`, { options: { locked: true, maxPeers: 0 } });
    const page = await openIonPage(
      'dave',
      await ionToken(sb!.secrets.authSecret, 'dave', ['rtc', 'room']),
      'dave',
      PASSWORD,
      false,
    );
    const s = await waitForState(page, (st) => st.roomJoin !== null, 'the refused join');
    assert.equal(s.roomJoin!.success, false);
    assert.equal(s.roomJoin!.code, 4, 'ErrorType.RoomLocked');
    await page.close();
    // Members get the room's new state.
    await api('PATCH', `/rooms/${id._id ?? id.id}`, { options: { locked: false } });
  });

  void it('a token without the room service ends the Room stream with UNAUTHENTICATED, as ION does', async () => {
    const page = await openIonPage(
      'eve',
      await ionToken(sb!.secrets.authSecret, 'eve', ['rtc']),
      'eve',
      PASSWORD,
      false,
    );
    const s = await waitForState(
      page,
      (st) => st.closes.some((c) => c.service === 'room'),
      'the room stream to end',
    );
    const c = s.closes.find((x) => x.service === 'room')!;
    assert.equal(c.status, 16, 'grpc.Code.Unauthenticated');
    assert.match(c.message, /access denied/);
    assert.equal(s.roomJoin, null, 'no JoinReply');
    assert.ok(!s.closes.some((x) => x.service === 'rtc'), 'the rtc stream (rtc service granted) stays open');
    await page.close();
  });

  void it('the members are still connected after all the refusals', async () => {
    const a = (await stateOf(pages.alice!))!;
    assert.deepEqual(a.closes, []);
    const before = (await inboundStats(pages.bob!, ION_SUBSCRIBER))?.framesDecoded ?? 0;
    await waitFor(
      async () => ((await inboundStats(pages.bob!, ION_SUBSCRIBER))?.framesDecoded ?? 0) > before + 10,
      {
        timeout: MEDIA_TIMEOUT,
        what: 'bob to keep decoding',
      },
    );
  });

  void it('bob removed through the REST API: Disconnect on his Room stream, his RTC stream ends, alice gets LEAVE', async () => {
    const rooms = (await api('GET', '/rooms')) as { _id?: string; id?: string; name: string }[];
    const id = rooms.find((r) => r.name === ROOM)!;
    await api('DELETE', `/rooms/${id._id ?? id.id}/users/bob`);
    const b = await waitForState(
      pages.bob!,
      (s) => s.disconnects.length > 0 && s.closes.some((c) => c.service === 'rtc'),
      "bob's Disconnect and the end of his RTC stream",
    );
    assert.equal(b.disconnects[0]!.sid, ROOM);
    await waitForState(
      pages.alice!,
      (s) => s.peerEvents.some((e) => e.uid === 'bob' && e.state === 3),
      'a LEAVE peer event for bob (PeerState.LEAVE = 3)',
    );
    await waitForState(
      pages.alice!,
      (s) => s.trackEvents.some((e) => e.uid === 'bob' && e.state === 2),
      "a REMOVE track event for bob's tracks",
    );
  });
});

// LiveKit's protocol (issue #20) with the unchanged npm `livekit-client` 2.23.0 in headless Chromium (fake
// camera and microphone) and tokens from `livekit-server-sdk` 2.19.2's AccessToken. The page
// (test/e2e/livekit/page.ts, bundled at test time) uses the SDK with its default options, so connect()
// first tries the single-PC `/rtc/v1`, is told 404 by /rtc/v1/validate and falls back to the two-PC
// `/rtc`: that fallback is part of what is tested. Publishing is `enableCameraAndMicrophone()` (VP8
// with the SDK's default simulcast). One server and one browser for the whole file:
//   alice and bob publish and decode each other, hear each other as active speakers; refused tokens
//   leave them undisturbed; carol (subscribing only) joins for data messages and leaves; alice mutes; a
//   demo-page participant (dave) joins the same room and leaves; a participant without canPublish cannot
//   publish and the others keep decoding; at the end livekit-server-sdk's RoomService finds the room empty.
// The join time of a livekit-client participant (connect() → Connected, → first remote frame) is printed.
// Each page's livekit-client debug log and signalling exchanges go to test-output/livekit/<page>.log;
// SB_LIVEKIT_LOG=debug (or info…) sets the server's log level (standard output).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TrackSource } from '@livekit/protocol';
import { RoomServiceClient } from 'livekit-server-sdk';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import {
  bundleLivekitPage,
  LK_KEY,
  LK_SECRET,
  livekitToken,
  openLivekitPage,
  type LivekitPage,
} from '../helpers/livekit.ts';
import { inboundStats, remoteTiles } from '../helpers/pageStats.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import type { LkError, LkEvent, RemoteVideo } from './livekit/page.ts';

// 30 s: e2e tests share a small CI machine with other Chromium pages.
const MEDIA_TIMEOUT = 30_000;
const ROOM = 'lk-e2e';
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

type ConnectResult = { connectMs: number } | { error: LkError };
type PublishResult = { sources: string[] } | { error: LkError };

void describe('livekit-client 2.23 against Switchboard', { timeout: 180_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let browser: TestBrowser | undefined;
  let script = '';
  let wsUrl = '';
  const pages: LivekitPage[] = [];
  let alice: LivekitPage;
  let bob: LivekitPage;
  let carol: LivekitPage;
  let viewer: LivekitPage;

  const grant = { roomJoin: true, room: ROOM };

  async function open(label: string): Promise<LivekitPage> {
    const p = await openLivekitPage(browser!, sb!.url, script, label);
    pages.push(p);
    return p;
  }

  /** `window.lk.<call>` in the page. */
  function lk<T>(p: LivekitPage, call: string): Promise<T> {
    return p.page.evaluate<T>(`window.lk.${call}`);
  }

  async function connect(p: LivekitPage, identity: string, extra: object = {}): Promise<ConnectResult> {
    const token = await livekitToken({
      identity,
      name: identity.toUpperCase(),
      grant: { ...grant, ...extra },
    });
    return lk<ConnectResult>(p, `connect(${JSON.stringify(wsUrl)}, ${JSON.stringify(token)})`);
  }

  /** Adds the page's signalling exchanges and log tail to a failure, and saves its full log. */
  async function explain<T>(p: LivekitPage, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      const file = await p.saveLog();
      const tail = p.log.slice(-25).join('\n    ');
      throw new Error(
        `${(err as Error).message}\n  [${p.label}] exchanges: ${p.exchanges.join(' | ')}\n  [${p.label}] log tail (full: ${file}):\n    ${tail}`,
        { cause: err },
      );
    }
  }

  function events(p: LivekitPage): Promise<LkEvent[]> {
    return lk<LkEvent[]>(p, 'events');
  }

  /** The first recorded event of `p` that `match` accepts (waits for it). */
  function event(p: LivekitPage, what: string, match: (e: LkEvent) => boolean): Promise<LkEvent> {
    return explain(p, () =>
      waitFor(async () => (await events(p)).find(match), {
        timeout: MEDIA_TIMEOUT,
        what: `${p.label}: ${what}`,
      }),
    );
  }

  async function videoOf(p: LivekitPage, identity: string): Promise<RemoteVideo | undefined> {
    return (await lk<RemoteVideo[]>(p, 'videos()')).find((v) => v.identity === identity);
  }

  /**
   * `p` decodes `identity`'s video: its <video> element has a size and presented a frame, more than 10
   * frames were decoded, and decoding goes on (framesDecoded and the element's totalVideoFrames grow by
   * 20). Presented-frame counts (requestVideoFrameCallback) are not required to grow: with several pages
   * on a loaded machine Chromium composites background pages at a frame or two a second.
   */
  async function decodes(p: LivekitPage, identity: string): Promise<RemoteVideo> {
    let last: RemoteVideo | undefined;
    const snapshot = async (): Promise<RemoteVideo | undefined> => (last = await videoOf(p, identity));
    return explain(p, async () => {
      try {
        const first = await waitFor(
          async () => {
            const v = await snapshot();
            return v && v.frames > 0 && v.framesDecoded > 10 && v.videoWidth > 0 && v.frameWidth > 0
              ? v
              : undefined;
          },
          { timeout: MEDIA_TIMEOUT, what: `${p.label} to decode 10 frames of ${identity}'s video` },
        );
        return await waitFor(
          async () => {
            const v = await snapshot();
            return v &&
              v.framesDecoded > first.framesDecoded + 20 &&
              v.totalVideoFrames > first.totalVideoFrames + 20
              ? v
              : undefined;
          },
          { timeout: MEDIA_TIMEOUT, what: `${p.label}: ${identity}'s video to keep decoding` },
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last ?? null)}`, {
          cause: err,
        });
      }
    });
  }

  /** A participant's join, in ms from its connect() call: → Connected, → first frame of `video`, → probe answer. */
  async function joinTime(
    p: LivekitPage,
    video: RemoteVideo,
  ): Promise<{ connected: number; firstFrame: number; probe: number | null }> {
    const st = await lk<{ connectStartedAt: number; probeAnsweredAt: number | null }>(p, 'state()');
    const connected = (await events(p)).find((e) => e.type === 'connected');
    assert.ok(connected && video.firstFrameAt !== null, `${p.label} connected and presented a frame`);
    return {
      connected: Math.round(connected.at - st.connectStartedAt),
      firstFrame: Math.round(video.firstFrameAt - st.connectStartedAt),
      probe: st.probeAnsweredAt === null ? null : Math.round(st.probeAnsweredAt - st.connectStartedAt),
    };
  }

  before(async () => {
    const level = process.env.SB_LIVEKIT_LOG;
    [script, sb] = await Promise.all([
      bundleLivekitPage(),
      startSwitchboard((cfg) => {
        cfg.livekit.keys = { [LK_KEY]: LK_SECRET };
        if (level && (LEVELS as readonly string[]).includes(level)) {
          cfg.log.level = level as (typeof LEVELS)[number];
        }
      }),
    ]);
    wsUrl = sb.url.replace(/^http/, 'ws');
    browser = await launchBrowser();
  });

  after(async () => {
    for (const p of pages) {
      await p.saveLog().catch(() => undefined);
    }
    await browser?.close();
    await sb?.close();
  });

  void it('alice and bob connect with default options (/rtc/v1 probed, 404, then /rtc) and publish camera and microphone', async () => {
    alice = await open('alice');
    const a = await connect(alice, 'alice');
    assert.ok(
      'connectMs' in a,
      `alice connects: ${JSON.stringify(a)}; exchanges: ${alice.exchanges.join(' | ')}`,
    );
    assert.deepEqual(await lk<{ state: string }>(alice, 'state()').then((s) => s.state), 'connected');

    const pa = await explain(alice, () => lk<PublishResult>(alice, 'publish()'));
    assert.deepEqual(pa, { sources: ['camera', 'microphone'] }, `alice publishes: ${JSON.stringify(pa)}`);

    bob = await open('bob');
    const b = await connect(bob, 'bob');
    assert.ok(
      'connectMs' in b,
      `bob connects: ${JSON.stringify(b)}; exchanges: ${bob.exchanges.join(' | ')}`,
    );
    const pb = await explain(bob, () => lk<PublishResult>(bob, 'publish()'));
    assert.deepEqual(pb, { sources: ['camera', 'microphone'] }, `bob publishes: ${JSON.stringify(pb)}`);
    // Each knows the other, by identity, with a camera and a microphone.
    for (const [p, other] of [
      [alice, 'bob'],
      [bob, 'alice'],
    ] as const) {
      await explain(p, () =>
        waitFor(
          async () => {
            const r = await lk<{ identity: string; tracks: { source: string }[] }[]>(p, 'remotes()');
            const o = r.find((x) => x.identity === other);
            return (
              o?.tracks
                .map((t) => t.source)
                .sort()
                .join() === 'camera,microphone'
            );
          },
          { timeout: MEDIA_TIMEOUT, what: `${p.label} to list ${other}'s camera and microphone` },
        ),
      );
    }
    assert.ok(
      (await events(alice)).some((e) => e.type === 'participantConnected' && e.identity === 'bob'),
      'alice got ParticipantConnected for bob',
    );
  });

  void it('the SDK tried /rtc/v1 first, was told 404 by /rtc/v1/validate (with CORS: the page is on another origin), and fell back to /rtc', () => {
    for (const p of [alice, bob]) {
      const ex = p.exchanges;
      const v1 = ex.indexOf('ws /rtc/v1');
      const probe = ex.findIndex((e) => e.startsWith('GET /rtc/v1/validate → 404 '));
      const v0 = ex.indexOf('ws /rtc');
      assert.ok(
        v1 >= 0 && probe > v1 && v0 > probe,
        `${p.label}: v1, its 404 probe, then /rtc: ${ex.join(' | ')}`,
      );
      assert.ok(!ex.includes('ws /rtc closed'), `${p.label}'s /rtc socket stays open: ${ex.join(' | ')}`);
    }
  });

  void it('refused tokens (bad signature, unknown API key, expired, no roomJoin): connect() fails NotAllowed 401; nobody sees them', async () => {
    const refused = await open('refused');
    const cases: [string, Promise<string>][] = [
      ['bad signature', livekitToken({ identity: 'mallory', grant, secret: 'not-the-secret-of-this-key' })],
      ['unknown API key', livekitToken({ identity: 'mallory', grant, apiKey: 'nosuchkey' })],
      ['expired token', livekitToken({ identity: 'mallory', grant, ttl: '-1m' })],
      ['no roomJoin', livekitToken({ identity: 'mallory', grant: { room: ROOM, canPublish: true } })],
    ];
    for (const [what, tokenP] of cases) {
      const token = await tokenP;
      const r = await lk<ConnectResult>(
        refused,
        `connect(${JSON.stringify(wsUrl)}, ${JSON.stringify(token)})`,
      );
      const said = `${what}: ${JSON.stringify(r)}; exchanges: ${refused.exchanges.join(' | ')}`;
      refused.exchanges.length = 0;
      assert.ok('error' in r, `connect() must fail: ${said}`);
      assert.equal(r.error.name, 'ConnectionError', said);
      assert.equal(r.error.reason, 'NotAllowed', said);
      assert.equal(r.error.status, 401, said);
    }
    for (const p of [alice, bob]) {
      assert.ok(!(await events(p)).some((e) => e.identity === 'mallory'), `${p.label} never saw mallory`);
    }
    await refused.page.close();
  });

  void it("each decodes the other's video (frames decoded keep growing, the <video> shows them with a size); bob's join time", async () => {
    const atBob = await decodes(bob, 'alice');
    const atAlice = await decodes(alice, 'bob');
    assert.ok(atBob.frameWidth > 0 && atAlice.frameWidth > 0);
    for (const [p, other] of [
      [alice, 'bob'],
      [bob, 'alice'],
    ] as const) {
      const subs = (await events(p)).filter((e) => e.type === 'trackSubscribed' && e.identity === other);
      assert.deepEqual(
        subs.map((e) => e.source).sort(),
        ['camera', 'microphone'],
        `${p.label} subscribed ${other}'s two tracks`,
      );
    }
    // bob joined a room where alice already published: connect() → Connected, → alice's first frame.
    const t = await joinTime(bob, atBob);
    console.log(
      `LIVEKIT JOIN TIME (livekit-client 2.23.0 in Chromium, default options, so with the /rtc/v1 probe): ` +
        `connect() → Connected ${t.connected} ms; connect() → first remote video frame ${t.firstFrame} ms ` +
        `(${atBob.videoWidth}x${atBob.videoHeight}); of which until /rtc/v1/validate's 404 had arrived: ${t.probe} ms`,
    );
  });

  void it("each publishes its camera as three simulcast layers (the server's answer kept them) and hears the other's microphone", async () => {
    for (const p of [alice, bob]) {
      type Camera = {
        encodings: { rid: string | null }[];
        outbound: { rid: string | null; bytesSent: number }[];
      };
      const cam = await lk<Camera | null>(p, 'camera()');
      // Chrome keeps one encoding when the answer has no a=simulcast; here the SDK's three rids stay.
      const rids = cam?.encodings.map((e) => e.rid) ?? [];
      assert.equal(
        new Set(rids.filter((r) => r !== null)).size,
        3,
        `${p.label}'s camera encodings: ${JSON.stringify(cam)}`,
      );
      assert.ok(
        cam!.outbound.length === 3 &&
          cam!.outbound.every((o) => o.rid !== null) &&
          cam!.outbound.some((o) => o.bytesSent > 0),
        `${p.label}'s camera sends per rid: ${JSON.stringify(cam)}`,
      );
    }
    for (const [p, other] of [
      [alice, 'bob'],
      [bob, 'alice'],
    ] as const) {
      let last: unknown;
      await explain(p, () =>
        waitFor(
          async () => {
            const a = (
              await lk<{ identity: string; packetsReceived: number; totalAudioEnergy: number }[]>(
                p,
                'audios()',
              )
            ).find((x) => x.identity === other);
            last = a;
            return a && a.packetsReceived > 50 && a.totalAudioEnergy > 0;
          },
          { timeout: MEDIA_TIMEOUT, what: `${p.label} to receive and decode ${other}'s audio` },
        ).catch((err: unknown) => {
          throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last)}`, { cause: err });
        }),
      );
    }
  });

  void it('each receives ActiveSpeakersChanged naming the other (the fake microphone beeps)', async () => {
    for (const [p, other] of [
      [alice, 'bob'],
      [bob, 'alice'],
    ] as const) {
      await event(
        p,
        `ActiveSpeakersChanged naming ${other}`,
        (e) => e.type === 'activeSpeakers' && e.speakers!.includes(other),
      );
    }
  });

  void it('a data message with a topic to one destination arrives there, from its sender, and not at a third participant', async () => {
    carol = await open('carol');
    const c = await connect(carol, 'carol');
    assert.ok(
      'connectMs' in c,
      `carol connects: ${JSON.stringify(c)}; exchanges: ${carol.exchanges.join(' | ')}`,
    );
    await event(
      alice,
      'ParticipantConnected for carol',
      (e) => e.type === 'participantConnected' && e.identity === 'carol',
    );
    // carol, who publishes nothing, decodes alice: a second join-time sample.
    const carolSees = await decodes(carol, 'alice');
    const t = await joinTime(carol, carolSees);
    console.log(
      `LIVEKIT JOIN TIME, second sample (carol, subscribing only, two publishers in the room): ` +
        `→ Connected ${t.connected} ms; → first remote video frame ${t.firstFrame} ms; probe answered at ${t.probe} ms`,
    );
    // carol's data channels are up once she hears a broadcast; bob's too.
    await explain(alice, () => lk(alice, `sendData('hello all', { reliable: true, topic: 'all' })`));
    for (const p of [bob, carol]) {
      await event(p, "alice's broadcast", (e) => e.type === 'data' && e.text === 'hello all');
    }
    await lk(
      alice,
      `sendData('for bob only', { reliable: true, topic: 'private', destinationIdentities: ['bob'] })`,
    );
    // A second broadcast after it: once carol has it, the private one (same sender, ordered channel,
    // sent first) would have reached her if the server had not kept it from her.
    await lk(alice, `sendData('after', { reliable: true, topic: 'all' })`);
    const got = await event(
      bob,
      "alice's message to bob",
      (e) => e.type === 'data' && e.text === 'for bob only',
    );
    assert.equal(got.topic, 'private');
    assert.equal(got.identity, 'alice');
    assert.equal(got.reliable, true);
    await event(carol, "alice's second broadcast", (e) => e.type === 'data' && e.text === 'after');
    const atCarol = (await events(carol))
      .filter((e) => e.type === 'data')
      .map((e) => `${e.identity}:${e.topic}:${e.text}`);
    assert.deepEqual(atCarol, ['alice:all:hello all', 'alice:all:after']);
    // Lossy, to a destination too: bob → alice.
    await explain(bob, () =>
      waitFor(
        async () => {
          await lk(
            bob,
            `sendData('lossy hi', { reliable: false, topic: 'fast', destinationIdentities: ['alice'] })`,
          );
          return (await events(alice)).find((e) => e.type === 'data' && e.text === 'lossy hi');
        },
        { timeout: 10_000, interval: 500, what: "bob's lossy message to reach alice" },
      ),
    );
    const lossy = (await events(alice)).find((e) => e.type === 'data' && e.text === 'lossy hi')!;
    assert.deepEqual([lossy.identity, lossy.topic, lossy.reliable], ['bob', 'fast', false]);
    assert.ok(
      !(await events(carol)).some((e) => e.text === 'lossy hi'),
      'carol did not get the lossy message to alice',
    );
  });

  void it("alice's mute shows on bob and carol as TrackMuted, unmute as TrackUnmuted; her video resumes", async () => {
    await lk(alice, 'setMicrophone(false)');
    for (const p of [bob, carol]) {
      await event(
        p,
        "TrackMuted of alice's microphone",
        (e) => e.type === 'trackMuted' && e.identity === 'alice' && e.source === 'microphone',
      );
    }
    await lk(alice, 'setMicrophone(true)');
    for (const p of [bob, carol]) {
      await event(
        p,
        "TrackUnmuted of alice's microphone",
        (e) => e.type === 'trackUnmuted' && e.identity === 'alice' && e.source === 'microphone',
      );
    }
    await lk(alice, 'setCamera(false)');
    await event(
      bob,
      "TrackMuted of alice's camera",
      (e) => e.type === 'trackMuted' && e.identity === 'alice' && e.source === 'camera',
    );
    await lk(alice, 'setCamera(true)');
    await event(
      bob,
      "TrackUnmuted of alice's camera",
      (e) => e.type === 'trackUnmuted' && e.identity === 'alice' && e.source === 'camera',
    );
    await decodes(bob, 'alice');
  });

  void it('carol leaves: ParticipantDisconnected on alice and bob; her own Disconnected says CLIENT_INITIATED', async () => {
    await lk(carol, 'disconnect()');
    const own = await event(carol, 'Disconnected', (e) => e.type === 'disconnected');
    assert.equal(own.reason, 'CLIENT_INITIATED');
    for (const p of [alice, bob]) {
      await event(
        p,
        'ParticipantDisconnected for carol',
        (e) => e.type === 'participantDisconnected' && e.identity === 'carol',
      );
      assert.ok(!(await lk<{ identity: string }[]>(p, 'remotes()')).some((r) => r.identity === 'carol'));
    }
    await carol.page.close();
  });

  void it('a demo-page participant (dave) in the same room: he decodes alice and bob, they decode him; his leaving shows', async () => {
    const dave = await browser!.newPage('dave (demo page)');
    await dave.goto(`${sb!.url}/?room=${ROOM}&name=dave&autojoin=1`);
    // alice's SDK lists dave (named dave) with a camera and a microphone, and shows his video.
    const daveId = await explain(alice, () =>
      waitFor(
        async () => {
          const r = await lk<
            { identity: string; name: string; tracks: { source: string; subscribed: boolean }[] }[]
          >(alice, 'remotes()');
          const d = r.find((x) => x.name === 'dave' || x.identity === 'dave');
          return d && d.tracks.filter((t) => t.subscribed).length === 2 ? d.identity : undefined;
        },
        { timeout: MEDIA_TIMEOUT, what: "alice to list and subscribe dave's two tracks" },
      ),
    );
    await decodes(alice, daveId);
    await decodes(bob, daveId);
    // dave's page lists alice and bob (by their names), shows a tile for each, and decodes both.
    const ROSTER = `(window.sb.client ? window.sb.client.participants : []).map((p) => ({ uid: p.uid, name: p.name, streams: p.streams.map((s) => s.streamId) }))`;
    let seen: unknown;
    const tiles = await waitFor(
      async () => {
        const roster = await dave.evaluate<{ uid: string; name: string; streams: string[] }[]>(ROSTER);
        const t = await remoteTiles(dave);
        seen = { roster, tiles: t };
        const wanted = ['ALICE', 'BOB'].map((n) => roster.find((r) => r.name === n));
        return wanted.every((w) => w && w.streams.length > 0 && t.some((x) => w.streams.includes(x.streamId)))
          ? t
          : undefined;
      },
      { timeout: MEDIA_TIMEOUT, what: "dave's page to list ALICE and BOB and show a tile of each's stream" },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; dave's page: ${JSON.stringify(seen)}`, { cause: err });
    });
    assert.equal(tiles.length, 2, `dave's remote tiles: ${JSON.stringify(seen)}`);
    let last: unknown;
    await waitFor(
      async () => {
        const s = await inboundStats(dave);
        last = s;
        return (
          s &&
          s.video.filter((v) => v.framesDecoded > 30 && v.frameWidth > 0).length >= 2 &&
          s.audioPackets > 50
        );
      },
      { timeout: MEDIA_TIMEOUT, what: "dave's page to decode 30 frames of both alice's and bob's video" },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last)}`, { cause: err });
    });
    // dave's page closes: the livekit-client participants see him leave.
    await dave.close();
    for (const p of [alice, bob]) {
      await event(
        p,
        'ParticipantDisconnected for dave',
        (e) => e.type === 'participantDisconnected' && e.identity === daveId,
      );
    }
  });

  void it('a participant without canPublish joins and decodes, its publish fails with PublishTrackError; the others keep decoding', async () => {
    // A token without canPublish joins and subscribes; publishing fails in the SDK, from the permission
    // the server's JoinResponse gave it.
    viewer = await open('viewer');
    const v = await connect(viewer, 'viewer', { canPublish: false });
    assert.ok(
      'connectMs' in v,
      `viewer connects: ${JSON.stringify(v)}; exchanges: ${viewer.exchanges.join(' | ')}`,
    );
    const pub = await lk<PublishResult>(viewer, 'publish()');
    assert.ok('error' in pub, `viewer's publish must fail: ${JSON.stringify(pub)}`);
    assert.equal(pub.error.name, 'PublishTrackError', JSON.stringify(pub.error));
    assert.match(pub.error.message, /insufficient permissions/);
    await decodes(viewer, 'alice');

    // alice sees the viewer with no tracks; alice and bob still decode each other.
    await event(
      alice,
      'ParticipantConnected for viewer',
      (e) => e.type === 'participantConnected' && e.identity === 'viewer',
    );
    const seen = (await lk<{ identity: string; tracks: unknown[] }[]>(alice, 'remotes()')).find(
      (r) => r.identity === 'viewer',
    );
    assert.deepEqual(seen?.tracks, [], 'the viewer publishes nothing');
    await decodes(alice, 'bob');
    await decodes(bob, 'alice');
    assert.equal((await lk<{ state: string }>(alice, 'state()')).state, 'connected');
    assert.ok(!(await events(alice)).some((e) => e.type === 'reconnecting' || e.type === 'disconnected'));
  });

  void it('bob leaves: alice gets ParticipantDisconnected and stops listing him', async () => {
    await lk(bob, 'disconnect()');
    await event(
      alice,
      'ParticipantDisconnected for bob',
      (e) => e.type === 'participantDisconnected' && e.identity === 'bob',
    );
    assert.ok(!(await lk<{ identity: string }[]>(alice, 'remotes()')).some((r) => r.identity === 'bob'));
  });

  void it("once everyone has left, livekit-server-sdk's RoomService lists nobody in the room", async () => {
    const svc = new RoomServiceClient(sb!.url, LK_KEY, LK_SECRET);
    // While alice is still in: she is listed, with her camera and microphone.
    const me = (await svc.listParticipants(ROOM)).find((x) => x.identity === 'alice');
    assert.deepEqual(
      me?.tracks.map((t) => t.source).sort(),
      [TrackSource.CAMERA, TrackSource.MICROPHONE].sort(),
      `alice as RoomService lists her: ${JSON.stringify(me?.toJson())}`,
    );
    await lk(alice, 'disconnect()');
    await lk(viewer, 'disconnect()');
    let last: unknown;
    await waitFor(
      async () => {
        try {
          const list = await svc.listParticipants(ROOM);
          last = list.map((x) => x.identity);
          return list.length === 0;
        } catch (err) {
          // An empty room may be gone altogether.
          last = err;
          return /not.?found|does not exist/i.test(String(err));
        }
      },
      { timeout: MEDIA_TIMEOUT, what: 'the room to be empty' },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; last: ${String(last)}`, { cause: err });
    });
  });
});

// The media core's rosters and per-track subscriptions on real SFU sessions: werift clients make the
// offers (audio + simulcast video) and answer the server's subscriber offers; no media flows (the
// integration test src/../test/integration/subscriptions.test.ts checks RTP), so this runs anywhere.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MediaStream, MediaStreamTrack, RTCPeerConnection } from 'werift';
import { defaultConfig } from '../../../src/config/index.ts';
import { SFU, Subscriptions, type Peer } from '../../../src/media/index.ts';
import { mediaOptions } from '../../../src/sfu/SfuRole.ts';
import { SwitchboardError } from '../../../src/util/errors.ts';
import { waitFor } from '../../helpers/waitFor.ts';

const sfu = new SFU(mediaOptions(defaultConfig()));
const clientPcs: RTCPeerConnection[] = [];

/** A werift publisher offer: one stream with an audio track and a simulcast (f, h, q) video track. */
async function publisherOffer(): Promise<{ sdp: string; streamId: string; audio: string; video: string }> {
  const pc = new RTCPeerConnection({ iceUseIpv6: false });
  clientPcs.push(pc);
  const audio = new MediaStreamTrack({ kind: 'audio' });
  const video = new MediaStreamTrack({ kind: 'video' });
  const stream = new MediaStream([audio, video]);
  pc.addTransceiver(audio, { direction: 'sendonly', streams: [stream] });
  pc.addTransceiver(video, {
    direction: 'sendonly',
    streams: [stream],
    simulcast: ['f', 'h', 'q'].map((rid) => ({ rid, direction: 'send' as const })),
  });
  await pc.setLocalDescription(await pc.createOffer());
  return { sdp: pc.localDescription!.sdp, streamId: stream.id, audio: audio.id!, video: video.id! };
}

/** A peer joined to room `sid` whose subscriber offers a werift PC answers (`offers`: every offer). */
async function join(
  sid: string,
  uid: string,
  o: { offer?: string; subscribes?: Subscriptions } = {},
): Promise<{ peer: Peer; offers: string[]; answer(): Promise<void> }> {
  const offers: string[] = [];
  const pc = new RTCPeerConnection({ iceUseIpv6: false });
  clientPcs.push(pc);
  const { peer } = await sfu.join({
    sid,
    uid,
    name: uid,
    offer: o.offer,
    subscribes: o.subscribes,
    sink: (method, params) => {
      if (method === 'offer') {
        offers.push((params as { sdp: string }).sdp);
      }
    },
  });
  return {
    peer,
    offers,
    /** Answers the latest offer (as a client does), so the next one can go out. */
    answer: async () => {
      await pc.setRemoteDescription({ type: 'offer', sdp: offers.at(-1)! });
      await pc.setLocalDescription(await pc.createAnswer());
      await peer.answer(pc.localDescription!.sdp);
    },
  };
}

/** The media sections of an SDP: kind and direction. */
function sections(sdp: string): string[] {
  return sdp
    .split(/\r?\nm=/)
    .slice(1)
    .map((m) => {
      const kind = m.split(' ')[0]!;
      const dir = /a=(sendonly|recvonly|sendrecv|inactive)/.exec(m)?.[1];
      return dir ? `${kind} ${dir}` : kind;
    });
}

const kinds = (p: Peer) => [...p.subscriber.downTracks].map((dt) => dt.kind).sort();

await test('the roster lists each track: its id, kind, publisher mute and offered simulcast rids, lowest first', async () => {
  const pub = await publisherOffer();
  const { peer } = await join('roster', 'pub', { offer: pub.sdp });
  const session = sfu.getSession('roster')!;
  assert.deepEqual(session.participants(), [
    {
      uid: 'pub',
      name: 'pub',
      streams: [
        {
          streamId: pub.streamId,
          audio: true,
          video: true,
          audioMuted: false,
          videoMuted: false,
          tracks: [
            { id: pub.audio, kind: 'audio', muted: false, layers: [] },
            { id: pub.video, kind: 'video', muted: false, layers: ['q', 'h', 'f'] },
          ],
        },
      ],
    },
  ]);
  assert.ok(peer.muteOwn(pub.streamId, 'video', true));
  const tracks = session.participants()[0]!.streams[0]!.tracks;
  assert.deepEqual(
    tracks.map((t) => [t.kind, t.muted]),
    [
      ['audio', false],
      ['video', true],
    ],
  );
});

await test('a peer subscribed to nothing (NoAutoSubscribe) is offered its subscriber PC, then gets exactly the track it subscribes to', async () => {
  const pub = await publisherOffer();
  await join('manual', 'pub', { offer: pub.sdp });
  const session = sfu.getSession('manual')!;
  const sub = await join('manual', 'sub', {
    subscribes: Subscriptions.only([], { channels: true, offer: true }),
  });
  await waitFor(() => sub.offers.length === 1, { what: 'the subscriber offer at join' });
  assert.deepEqual(sections(sub.offers[0]!), ['application'], 'the ion-sfu channel only');
  assert.deepEqual(kinds(sub.peer), []);
  await sub.answer();

  session.subscribe(sub.peer, [{ trackId: pub.video, subscribe: true }]);
  assert.deepEqual(kinds(sub.peer), ['video']);
  assert.equal([...sub.peer.subscriber.downTracks][0]!.receiver.trackId, pub.video);
  await waitFor(() => sub.offers.length === 2, { what: 'a re-offer with the video' });
  assert.deepEqual(sections(sub.offers[1]!), ['application', 'video sendonly']);
  await sub.answer();

  session.subscribe(sub.peer, [{ trackId: pub.video, subscribe: false }]);
  assert.deepEqual(kinds(sub.peer), []);
  await waitFor(() => sub.offers.length === 3, { what: 'a re-offer without the video' });
  assert.deepEqual(sections(sub.offers[2]!), ['application', 'video inactive']);
});

await test('an unknown track id changes nothing and is refused with not-found naming it', async () => {
  const pub = await publisherOffer();
  const owner = await join('unknown', 'pub', { offer: pub.sdp });
  const sub = await join('unknown', 'sub', {
    subscribes: Subscriptions.only([], { channels: true, offer: true }),
  });
  assert.throws(
    () =>
      sfu.getSession('unknown')!.subscribe(sub.peer, [
        { trackId: pub.video, subscribe: true },
        { trackId: 'no-such-track', subscribe: true },
      ]),
    (err: unknown) =>
      err instanceof SwitchboardError && err.code === 'not-found' && /no-such-track/.test(err.message),
  );
  assert.deepEqual(kinds(sub.peer), [], 'the valid change before it was not applied either');
  assert.throws(
    () => sfu.getSession('unknown')!.subscribe(owner.peer, [{ trackId: pub.video, subscribe: true }]),
    /no track/,
    'its own tracks are not among the tracks a peer can subscribe to',
  );
});

await test('mute pauses a subscribed track, layer caps its simulcast layer', async () => {
  const pub = await publisherOffer();
  await join('prefs', 'pub', { offer: pub.sdp });
  const session = sfu.getSession('prefs')!;
  const sub = await join('prefs', 'sub', {
    subscribes: Subscriptions.only([], { channels: true, offer: true }),
  });
  session.subscribe(sub.peer, [{ trackId: pub.video, subscribe: true, mute: true, ceiling: 'low' }]);
  const dt = [...sub.peer.subscriber.downTracks][0]!;
  assert.equal(dt.muted, true);
  assert.equal(dt.ceiling, -1, 'a muted track wants no layer (dynacast)');
  session.subscribe(sub.peer, [{ trackId: pub.video, subscribe: true, mute: false }]);
  assert.equal(dt.muted, false);
  assert.equal(dt.ceiling, 0, 'the low layer at most');
  assert.deepEqual(
    dt.receiver.wantedLayers().map((l) => l.rid),
    ['q'],
  );
  session.subscribe(sub.peer, [{ trackId: pub.video, subscribe: true, ceiling: 'high' }]);
  assert.equal(dt.ceiling, 2);
  assert.equal([...sub.peer.subscriber.downTracks].length, 1, 'subscribing again keeps the one DownTrack');
});

await test('an auto-subscribed peer that unsubscribed a track does not get it back from a new publication until it subscribes again', async () => {
  const pub = await publisherOffer();
  await join('auto', 'pub', { offer: pub.sdp });
  const session = sfu.getSession('auto')!;
  const sub = await join('auto', 'sub');
  assert.deepEqual(kinds(sub.peer), ['audio', 'video']);
  session.subscribe(sub.peer, [{ trackId: pub.audio, subscribe: false }]);
  assert.deepEqual(kinds(sub.peer), ['video']);
  // The publisher joins again with the same tracks (new Receivers, same track ids).
  await join('auto', 'pub', { offer: pub.sdp });
  await waitFor(
    () => kinds(sub.peer).length === 1 && [...sub.peer.subscriber.downTracks][0]!.receiver.closed === false,
    {
      what: 'the re-published video to be forwarded',
    },
  );
  assert.deepEqual(kinds(sub.peer), ['video']);
  session.subscribe(sub.peer, [{ trackId: pub.audio, subscribe: true }]);
  assert.deepEqual(kinds(sub.peer), ['audio', 'video']);
});

await test("a Licode peer gets its one stream's tracks; one that only publishes is never offered", async () => {
  const a = await publisherOffer();
  const b = await publisherOffer();
  await join('licode', 'a', { offer: a.sdp });
  await join('licode', 'b', { offer: b.sdp });
  const viewer = await join('licode', 'viewer', { subscribes: Subscriptions.only([a.streamId]) });
  assert.deepEqual(
    [...viewer.peer.subscriber.downTracks].map((dt) => dt.streamId),
    [a.streamId, a.streamId],
  );
  await waitFor(() => viewer.offers.length === 1, { what: "the viewer's offer" });
  const c = await publisherOffer();
  const publisher = await join('licode', 'c', { offer: c.sdp, subscribes: Subscriptions.only([]) });
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(publisher.offers.length, 0);
  assert.deepEqual(kinds(publisher.peer), []);
});

// Top-level tests run one after another: this is after the last one.
sfu.close();
for (const pc of clientPcs) {
  await pc.close();
}

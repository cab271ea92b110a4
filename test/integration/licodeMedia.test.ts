// Licode's media flows (issue #16) with a client written from the wire notes and libwebrtc
// (@roamhq/wrtc): a peer connection per published stream (client offer) and per subscription
// (server offer whose msid is the publisher's label), onAddStream once media arrives, a late joiner
// gets the streams in `connected`, an ion-sfu client in the same room sees the Licode stream and the
// other way round, and unpublish / unsubscribe / leaving clean up on the media node.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiCall } from '../helpers/nuve.ts';
import { LicodeMediaClient, LicodeTestClient, nuveRoom, nuveToken } from '../helpers/licodeClient.ts';
import { fetchMetrics, metricValue, startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

const SUPER = { service: 'superservice-licode-media', key: 'superservice-key-licode-media' };
const MEDIA_TIMEOUT = 20_000;

void describe('Licode clients publish and subscribe through the media core', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let room = '';
  let roomName = '';
  const closers: (() => unknown)[] = [];
  const join = async (user: string): Promise<LicodeMediaClient> => {
    const c = new LicodeMediaClient(
      await LicodeTestClient.connect(await nuveToken(sb!.url, SUPER, room, user, 'presenter')),
    );
    closers.push(() => c.close());
    return c;
  };
  let alice: LicodeMediaClient;
  let bob: LicodeMediaClient;
  let alicePub: { id: number; label: string; connectionId: string };
  let bobPub: { id: number; label: string; connectionId: string };
  let bobSeesAlice = '';

  before(async () => {
    sb = await startSwitchboard((c) => {
      c.api.superserviceid = SUPER.service;
      c.api.superservicekey = SUPER.key;
    });
    roomName = 'licode-media';
    room = await nuveRoom(sb.url, SUPER, roomName);
  });

  after(async () => {
    for (const close of closers.reverse()) {
      await close();
    }
    await sb?.close();
  });

  void it('two clients publish; each is told of the other (and itself) once media flows, with its label and attributes', async () => {
    alice = await join('alice');
    bob = await join('bob');
    alicePub = await alice.publish({ name: 'Alice' });
    bobPub = await bob.publish({ name: 'Bob' });
    for (const c of [alice, bob]) {
      for (const p of [alicePub, bobPub]) {
        const added = await c.client.waitFor('onAddStream', (s) => s.id === p.id, MEDIA_TIMEOUT);
        assert.equal(added.label, p.label);
        assert.equal(added.audio, true);
        assert.equal(added.video, true);
      }
    }
    assert.deepEqual(alice.client.events('onAddStream').find((s) => s.id === bobPub.id).attributes, {
      name: 'Bob',
    });
  });

  void it("each subscribes to the other's stream and decodes its video; the stream id is the publisher's label", async () => {
    bobSeesAlice = await bob.subscribe(alicePub.id);
    const aliceSeesBob = await alice.subscribe(bobPub.id);
    for (const [c, conn, who] of [
      [bob, bobSeesAlice, 'bob'],
      [alice, aliceSeesBob, 'alice'],
    ] as const) {
      await waitFor(() => c.frames(conn) > 20, {
        timeout: MEDIA_TIMEOUT,
        what: `${who} to decode 20 frames`,
      });
    }
    const tracks = bob.connections.get(bobSeesAlice)!.tracks;
    assert.deepEqual(new Set(tracks.map((t) => t.kind)), new Set(['audio', 'video']));
    assert.ok(
      tracks.every((t) => t.streamId === alicePub.label),
      JSON.stringify(tracks),
    );
  });

  void it('updatestream muteStream: a subscription stops receiving video and starts again; a publisher mutes for everyone', async () => {
    const aliceSeesBob = [...alice.connections.keys()].find((k) => k !== alicePub.connectionId)!;
    const stalled = async (c: LicodeMediaClient, conn: string) => {
      const a = c.frames(conn);
      await sleep(1000);
      return c.frames(conn) - a <= 2;
    };
    const update = (c: LicodeMediaClient, id: number, config: unknown) =>
      c.client.call('streamMessage', { options: { streamId: id, msg: { type: 'updatestream', config } } });
    assert.deepEqual(await update(bob, alicePub.id, { muteStream: { audio: false, video: true } }), [true]);
    await waitFor(() => stalled(bob, bobSeesAlice), { timeout: 10_000, what: "bob's view of alice to stop" });
    assert.ok(!(await stalled(alice, aliceSeesBob)), 'alice still receives bob');
    assert.deepEqual(await update(bob, alicePub.id, { muteStream: { audio: false, video: false } }), [true]);
    await waitFor(async () => !(await stalled(bob, bobSeesAlice)), {
      timeout: 10_000,
      what: 'bob to see alice again',
    });
    // Bob mutes his own video: alice's view of him stops.
    assert.deepEqual(await update(bob, bobPub.id, { muteStream: { video: true } }), [true]);
    await waitFor(() => stalled(alice, aliceSeesBob), {
      timeout: 10_000,
      what: "alice's view of bob to stop",
    });
    assert.deepEqual(await update(bob, bobPub.id, { muteStream: { video: false } }), [true]);
    await waitFor(async () => !(await stalled(alice, aliceSeesBob)), {
      timeout: 10_000,
      what: 'alice to see bob again',
    });
  });

  void it('a late joiner gets both streams in connected; an ion-sfu client in the room receives them and is seen in turn', async () => {
    const carol = await join('carol');
    const ids = carol.client.connected.streams.map((s: { id: number }) => s.id);
    assert.ok(ids.includes(alicePub.id) && ids.includes(bobPub.id), JSON.stringify(ids));

    const ion = await WrtcPeer.connect(wsUrlOf(sb!.url), 'dave');
    closers.push(() => ion.close());
    await ion.join(room, 'dave');
    await ion.publish();
    await waitFor(() => ion.videoFrames(alicePub.label) > 10 && ion.videoFrames(bobPub.label) > 10, {
      timeout: MEDIA_TIMEOUT,
      what: 'the ion-sfu client to decode both Licode streams',
    });
    const daveStream = await carol.client.waitFor(
      'onAddStream',
      (s) => s.label === ion.publishedStreamId,
      MEDIA_TIMEOUT,
    );
    const conn = await carol.subscribe(daveStream.id);
    await waitFor(() => carol.frames(conn) > 10, {
      timeout: MEDIA_TIMEOUT,
      what: "carol to decode dave's video",
    });
  });

  void it("startRecorder / stopRecorder record a stream with Switchboard's recording (presenter role)", async () => {
    const [id, ...rest] = await alice.client.call('startRecorder', { to: bobPub.id });
    assert.equal(typeof id, 'string', JSON.stringify([id, ...rest]));
    await sleep(2000);
    assert.deepEqual(await alice.client.call('stopRecorder', { id }), [true]);
    const rec = await waitFor(
      async () => {
        const a = await apiCall(sb!.url, 'GET', `/rooms/${room}/recordings/${String(id)}`, { creds: SUPER });
        return a.json?.state === 'finished' ? a.json : undefined;
      },
      { what: 'the recording to finish' },
    );
    assert.ok(rec.size > 10_000, JSON.stringify(rec));
    assert.equal(rec.streamId, bobPub.label);
    assert.equal(rec.participant.identity, 'bob'); // the client, not one of its peers
  });

  void it("getStreamStats: the media node's figures for a stream, per ssrc, in Licode's shape", async () => {
    const [stats] = (await alice.client.call('getStreamStats', bobPub.id)) as [any];
    const tracks = Object.entries(stats.publisher).filter(([k]) => k !== 'total') as [string, any][];
    assert.deepEqual(
      new Set(tracks.map(([, t]) => t.type)),
      new Set(['audio', 'video']),
      JSON.stringify(stats),
    );
    for (const [ssrc, t] of tracks) {
      assert.match(ssrc, /^\d+$/);
      assert.ok(t.packetsReceived > 50 && t.bytesReceived > 1000, JSON.stringify(t));
    }
    assert.equal(tracks.find(([, t]) => t.type === 'video')![1].width, 320);
    assert.ok(stats.publisher.total.bitrateCalculated > 0);
    assert.ok(stats.subscribers >= 1, JSON.stringify(stats));
  });

  void it('unsubscribe and unpublish end their media peers; the others are told the stream is gone', async () => {
    const peersBefore = metricValue(await fetchMetrics(sb!), 'sfu_peers') ?? 0;
    assert.deepEqual(await bob.client.call('unsubscribe', alicePub.id), [true]);
    // First the server's re-offer sets the subscription's m-lines inactive (erizo.js waits for its
    // tracks to end), then the peer goes.
    const pc = bob.connections.get(bobSeesAlice)!.pc;
    await waitFor(() => pc.getTransceivers().every((t) => t.currentDirection === 'inactive'), {
      what: "bob's subscription to go inactive",
    });
    await waitFor(async () => (metricValue(await fetchMetrics(sb!), 'sfu_peers') ?? 0) === peersBefore - 1, {
      what: "bob's subscription peer to close",
    });
    assert.deepEqual(await alice.client.call('unpublish', alicePub.id), [true]);
    for (const c of [bob, alice]) {
      await c.client.waitFor('onRemoveStream', (p) => p.id === alicePub.id, MEDIA_TIMEOUT);
    }
  });

  void it('a client that leaves takes its peers with it; nothing of its stays on the media node', async () => {
    const before = metricValue(await fetchMetrics(sb!), 'sfu_peers') ?? 0;
    bob.close(); // bob's publisher peer and his subscription to alice (already gone) and nothing else
    await alice.client.waitFor('onRemoveStream', (p) => p.id === bobPub.id, MEDIA_TIMEOUT);
    await waitFor(async () => (metricValue(await fetchMetrics(sb!), 'sfu_peers') ?? 0) < before, {
      what: "bob's peers to close",
    });
  });

  void it("Nuve's DELETE /rooms/:room/users/:user disconnects a Licode client and its streams go", async () => {
    const erin = await join('erin');
    const pub = await erin.publish();
    await alice.client.waitFor('onAddStream', (s) => s.id === pub.id, MEDIA_TIMEOUT);
    const del = await apiCall(sb!.url, 'DELETE', `/rooms/${room}/users/erin`, { creds: SUPER });
    assert.equal(del.status, 200, del.text);
    await waitFor(() => !erin.client.socket.connected, { what: "erin's socket to close" });
    await alice.client.waitFor('onRemoveStream', (p) => p.id === pub.id, MEDIA_TIMEOUT);
  });

  void it('once every client has left, no peer and no track is left on the media node', async () => {
    for (const close of closers.splice(0).reverse()) {
      await close();
    }
    await waitFor(
      async () => {
        const m = await fetchMetrics(sb!);
        return ['sfu_peers', 'sfu_audio_tracks', 'sfu_video_tracks'].every(
          (n) => (metricValue(m, n) ?? 0) === 0,
        );
      },
      { timeout: 15_000, what: 'no peers and no tracks on the node' },
    );
  });
});

// ion-sfu's join config (NoPublish, NoSubscribe, NoAutoSubscribe) and our per-track `subscription`
// method on /ws, with independent libwebrtc clients (@roamhq/wrtc): what each one really receives.
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../helpers/waitFor.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { RpcError, WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

const ROOM = 'subscriptions';

interface RosterTrack {
  id: string;
  kind: string;
  muted: boolean;
  layers: string[];
}
interface RosterPeer {
  uid: string;
  streams: { streamId: string; tracks?: RosterTrack[] }[];
}

/** The tracks of `uid`'s stream `streamId` in the latest roster `peer` received. */
function rosterTracks(peer: WrtcPeer, uid: string, streamId: string): RosterTrack[] | undefined {
  const last = peer.notifications.filter((n) => n.method === 'participants').at(-1);
  const p = (last?.params as { peers: RosterPeer[] } | undefined)?.peers.find((x) => x.uid === uid);
  return p?.streams.find((s) => s.streamId === streamId)?.tracks;
}

/** The RpcError `call` rejects with. */
async function refusal(p: Promise<unknown>): Promise<RpcError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof RpcError, String(err));
    return err;
  }
  assert.fail('expected an error reply');
}

void describe('join config and per-track subscriptions on /ws', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  const peers: WrtcPeer[] = [];
  let pub: WrtcPeer;
  let manual: WrtcPeer; // NoAutoSubscribe
  let tracks: RosterTrack[] = [];
  const track = (kind: string) => tracks.find((t) => t.kind === kind)!;

  const connect = async (uid: string) => {
    const p = await WrtcPeer.connect(wsUrlOf(sb!.url), uid);
    peers.push(p);
    return p;
  };

  before(async () => {
    sb = await startSwitchboard();
    pub = await connect('pub');
    await pub.join(ROOM, 'pub');
    await pub.publish();
    manual = await connect('manual');
    await manual.join(ROOM, 'manual', { NoAutoSubscribe: true });
  });

  after(async () => {
    for (const p of peers) {
      await p.close();
    }
    await sb?.close();
  });

  void it("the roster lists the publisher's tracks with their ids and kinds", async () => {
    tracks = await waitFor(
      () =>
        rosterTracks(manual, 'pub', pub.publishedStreamId!)?.length === 2 &&
        rosterTracks(manual, 'pub', pub.publishedStreamId!),
      {
        what: "the publisher's two tracks in the roster",
      },
    );
    const local = pub.publisher.getSenders().map((s) => s.track!);
    assert.deepEqual(tracks.map((t) => [t.kind, t.muted, t.layers]).sort(), [
      ['audio', false, []],
      ['video', false, []],
    ]);
    for (const t of tracks) {
      assert.equal(t.id, local.find((l) => l.kind === t.kind)!.id, `${t.kind}: the publisher's own track id`);
    }
  });

  void it('a NoAutoSubscribe peer receives nothing while the publisher sends', async () => {
    await waitFor(async () => (await pub.outboundStats()).video > 100, {
      what: 'the publisher to send video',
    });
    await delay(1000);
    assert.deepEqual(await manual.inboundStats(), { audio: 0, video: 0 });
    assert.equal(manual.remoteTracks.size, 0);
  });

  void it('subscribing to the video track brings the video and not the audio', async () => {
    assert.deepEqual(
      await manual.call('subscription', { subscriptions: [{ trackId: track('video').id, subscribe: true }] }),
      {},
    );
    await waitFor(() => manual.videoFrames(pub.publishedStreamId) > 10, {
      what: 'manual to decode 10 frames',
    });
    assert.equal((await manual.inboundStats()).audio, 0);
    assert.deepEqual(
      [...manual.remoteTracks.values()].map((t) => [t.kind, t.id]),
      [['video', track('video').id]],
    );
  });

  void it('unsubscribing stops the video', async () => {
    assert.deepEqual(
      await manual.call('subscription', {
        subscriptions: [{ trackId: track('video').id, subscribe: false }],
      }),
      {},
    );
    await waitFor(
      () =>
        manual.subscriber
          .getTransceivers()
          .some((t) => t.receiver.track.kind === 'video' && t.currentDirection === 'inactive'),
      { what: 'the video m-line to go inactive' },
    );
    const before = (await manual.inboundStats()).video;
    await delay(1000);
    const later = (await manual.inboundStats()).video;
    assert.equal(later, before, `no video packets after the unsubscribe (${before} → ${later})`);
  });

  void it('an unknown track id is refused, naming it', async () => {
    const err = await refusal(
      manual.call('subscription', { subscriptions: [{ trackId: 'nope', subscribe: true }] }),
    );
    assert.match(err.message, /no track nope/);
  });

  void it('a NoSubscribe peer joins (its ion-sfu channel arrives), receives nothing and may not subscribe', async () => {
    const passive = await connect('passive');
    await passive.join(ROOM, 'passive', { NoSubscribe: true });
    const err = await refusal(
      passive.call('subscription', { subscriptions: [{ trackId: track('audio').id, subscribe: true }] }),
    );
    assert.equal(err.code, 403);
    assert.match(err.message, /NoSubscribe/);
    await delay(500);
    assert.deepEqual(await passive.inboundStats(), { audio: 0, video: 0 });
  });

  void it("a NoPublish peer's offer with a sending track is refused", async () => {
    const viewer = await connect('viewer');
    await viewer.join(ROOM, 'viewer', { NoPublish: true });
    const err = await refusal(viewer.publish());
    assert.equal(err.code, 403);
    assert.match(err.message, /not allowed to publish .*NoPublish/);
  });

  void it('data channels reach a NoAutoSubscribe peer, not a NoSubscribe one', async () => {
    const chat = pub.publisher.createDataChannel('chat');
    await waitFor(() => chat.readyState === 'open' && manual.channels.get('chat')?.readyState === 'open', {
      what: 'the chat channel fanned out to the NoAutoSubscribe peer',
    });
    const passive = peers.find((p) => p.label === 'passive')!;
    await delay(500);
    assert.equal(passive.channels.has('chat'), false);
  });
});

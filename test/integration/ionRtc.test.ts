// ION's rtc.RTC/Signal from an independent client (gRPC-web + libwebrtc, test/helpers/ionRtcClient.ts):
// join config (NoAutoSubscribe, NoPublish), per-track `subscription` driven by TrackEvents, and the
// errors ION's client gets.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IonRtcClient } from '../helpers/ionRtcClient.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';

const ROOM = 'ion-rtc';
const MEDIA_TIMEOUT = 20_000;

void describe('ION rtc.RTC/Signal', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  const clients: IonRtcClient[] = [];
  const open = async (): Promise<IonRtcClient> => {
    const c = await IonRtcClient.open(sb!.url);
    clients.push(c);
    return c;
  };
  let bob: IonRtcClient;
  let bobStream = '';

  before(async () => {
    sb = await startSwitchboard();
    bob = await open();
    await bob.join(ROOM, 'bob');
    bobStream = await bob.publish();
  });

  after(async () => {
    for (const c of clients) {
      c.close();
    }
    await sb?.close();
  });

  void it('NoAutoSubscribe: track events announce the tracks, nothing arrives until subscribed', async () => {
    const alice = await open();
    await alice.join(ROOM, 'alice', { NoAutoSubscribe: 'true' });
    await waitFor(() => alice.trackEvents.some((e) => e.uid === 'bob' && e.state === 'ADD'), {
      timeout: MEDIA_TIMEOUT,
      what: "a track event for bob's tracks",
    });
    const tracks = alice.trackEvents.filter((e) => e.uid === 'bob').flatMap((e) => e.tracks);
    const video = tracks.find((t) => t.kind === 'video')!;
    const audio = tracks.find((t) => t.kind === 'audio')!;
    assert.ok(video && audio, JSON.stringify(tracks));
    assert.equal(video.streamId, bobStream);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(alice.tracks.size, 0, 'nothing received before subscribing');

    const r = await alice.subscribe([{ trackId: video.id, subscribe: true }]);
    assert.equal(r.success, true, JSON.stringify(r.error));
    await waitFor(() => alice.videoFrames(bobStream) > 20, {
      timeout: MEDIA_TIMEOUT,
      what: "alice to decode bob's video after subscribing",
    });
    assert.deepEqual(
      [...alice.tracks.values()].map((t) => t.kind),
      ['video'],
      'only the subscribed track arrives',
    );

    const un = await alice.subscribe([{ trackId: video.id, subscribe: false }]);
    assert.equal(un.success, true);
    const at = alice.videoFrames(bobStream);
    await new Promise((res) => setTimeout(res, 1500));
    const settled = alice.videoFrames(bobStream);
    await new Promise((res) => setTimeout(res, 1500));
    assert.ok(
      alice.videoFrames(bobStream) - settled <= 2,
      `frames after unsubscribing: ${at} → ${settled} → ${alice.videoFrames(bobStream)}`,
    );
  });

  void it('a subscription to an unknown track fails with success false and an error', async () => {
    const carol = await open();
    await carol.join(ROOM, 'carol', { NoAutoSubscribe: 'true' });
    const r = await carol.subscribe([{ trackId: 'no-such-track', subscribe: true }]);
    assert.equal(r.success, false);
    assert.equal(r.error?.code, 404, JSON.stringify(r.error));
  });

  void it('NoPublish: the renegotiation that adds tracks is refused with an error reply', async () => {
    const dave = await open();
    await dave.join(ROOM, 'dave', { NoPublish: 'true' });
    await assert.rejects(dave.publish(), (err: Error & { code?: number }) => {
      assert.equal(err.code, 403, err.message);
      return true;
    });
  });

  void it('an auto-subscribed client receives both tracks, and a second join on the stream is refused', async () => {
    const erin = await open();
    await erin.join(ROOM, 'erin');
    await waitFor(() => erin.videoFrames(bobStream) > 10, {
      timeout: MEDIA_TIMEOUT,
      what: "erin to decode bob's video",
    });
    await waitFor(() => [...erin.tracks.values()].some((t) => t.kind === 'audio'), {
      timeout: MEDIA_TIMEOUT,
      what: "erin to receive bob's audio",
    });
    await assert.rejects(erin.join(ROOM, 'erin'), /already exists/);
  });
});

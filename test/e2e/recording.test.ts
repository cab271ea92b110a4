// Recording what headless Chromium publishes (fake camera + microphone, the demo page): VP8, VP9 and
// H.264 for ~5 s each, probed with ffprobe and decoded with ffmpeg; a simulcast publisher whose
// recorded layer changes (a viewer prefers `low`, dynacast pauses the upper layers) with the recording
// stopped at and during the switch; the publisher's page closing mid-recording.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { decodeErrors, ffprobe, seconds, startTimes } from '../helpers/media.ts';
import { apiCall } from '../helpers/nuve.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import type { Peer } from '../../src/media/index.ts';
import type { Recorder } from '../../src/recording/Recorder.ts';
import type { RecordingInfo } from '../../src/protocol/recording.ts';

const run = promisify(execFile);

/** Widths of the decoded video frames, in order. */
async function frameWidths(file: string): Promise<number[]> {
  const { stdout } = await run(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v', '-show_entries', 'frame=width', '-of', 'csv=p=0', file],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
}

/**
 * How far apart the recorder puts a publisher's audio and video, in ms: for each track, the capture time
 * the recorder gives the RTP time of the publisher's latest RTCP sender report (its own statement of
 * when it captured that instant, on one clock for all its tracks) minus the report's; video's minus
 * audio's is the A/V error of the file. Undefined until both tracks have reported. (Earlier reports
 * are not used: a starved Chromium shifts its audio's RTP-to-NTP relation by hundreds of ms between
 * reports, and the latest is the one a receiver syncs by.)
 */
function syncError(peer: Peer, recorder: Recorder): number | undefined {
  const offset = (kind: string): number | undefined => {
    const r = [...peer.receivers].find((x) => x.kind === kind);
    const sr = r?.layers[0]?.senderReport;
    const at = sr && recorder.captureMs(r.trackId, sr.ssrc, sr.rtpTimestamp);
    return sr && at !== undefined ? at - sr.ntpMs : undefined;
  };
  const a = offset('audio');
  const v = offset('video');
  return a !== undefined && v !== undefined ? v - a : undefined;
}

void describe('recording from Chromium', { timeout: 420_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let browser: TestBrowser | undefined;
  let dir = '';

  const api = (method: string, path: string, body?: unknown) =>
    apiCall(sb!.url, method, path, {
      creds: { service: sb!.secrets.superserviceId, key: sb!.secrets.superserviceKey },
      ...(body !== undefined ? { body } : {}),
    });
  const manager = () => sb!.sfu!.recordings.manager;

  /** The media node's peer named `name` once its audio and video flow. */
  async function publisherPeer(room: string, name: string): Promise<Peer> {
    return waitFor(
      () => {
        const session = sb!.sfu!.sfu.getSession(room);
        const peer = session ? [...session.peers].find((p) => p.name === name) : undefined;
        const rs = peer ? [...peer.receivers] : [];
        return rs.length === 2 && rs.every((r) => r.packets > 50) ? peer : undefined;
      },
      { timeout: 45_000, what: `${name}'s audio and video at the server` },
    );
  }

  async function start(room: string, uid: string): Promise<RecordingInfo> {
    const r = await api('POST', `/rooms/${room}/recordings`, { uid });
    assert.equal(r.status, 201, r.text);
    return r.json as RecordingInfo;
  }

  const stop = async (room: string, id: string): Promise<RecordingInfo> =>
    (await api('DELETE', `/rooms/${room}/recordings/${id}`)).json as RecordingInfo;

  /** Waits until the active recording has written media; returns when and how much. */
  const firstMedia = (id: string) =>
    waitFor(
      () => {
        const d = manager().get(id)?.duration ?? 0;
        return d > 0 ? { at: Date.now(), duration: d } : undefined;
      },
      { timeout: 20_000, interval: 20, what: `recording ${id} to write its first frames` },
    );

  const holds = (id: string, s: number) =>
    waitFor(() => (manager().get(id)?.duration ?? 0) >= s, { timeout: 30_000, what: `${s} s recorded` });

  async function assertValid(file: string): Promise<void> {
    assert.equal(await decodeErrors(file), '', `ffmpeg decodes ${file} without errors`);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchboard-e2e-rec-'));
    sb = await startSwitchboard((c) => {
      c.recording.path = dir;
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await sb?.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const [codec, videoCodec, format] of [
    ['vp8', 'vp8', 'webm'],
    ['vp9', 'vp9', 'webm'],
    ['h264', 'h264', 'matroska'],
  ] as const) {
    void it(`${codec}: ~5 s of camera and microphone give one file with both streams, in time and in sync`, async () => {
      const room = `rec-${codec}`;
      const page = await browser!.newPage(`${codec}-pub`);
      await page.goto(`${sb!.url}/?room=${room}&name=pub&autojoin=1&simulcast=0&codec=${codec}`);
      const peer = await publisherPeer(room, 'pub');
      const info = await start(room, peer.uid);
      const first = await firstMedia(info.id);
      await holds(info.id, 5);
      // The recorder's capture-time mapping against the publisher's own (its sender reports; Chromium
      // sends audio's every ~5 s). The recorder takes a new report with the track's next packet, so a
      // reading taken between the two is retried.
      let error: number | undefined;
      await waitFor(
        () => {
          error = syncError(peer, manager().recorder(info.id)!);
          return error !== undefined && Math.abs(error) <= 20;
        },
        { timeout: 20_000, what: 'sender reports of both tracks during the recording' },
      ).catch(() => undefined);
      assert.ok(error !== undefined, 'both tracks have sender reports');
      assert.ok(Math.abs(error) <= 20, `audio and video are ${error.toFixed(1)} ms apart`);
      const stoppedAt = Date.now();
      const done = await stop(room, info.id);
      assert.equal(done.state, 'finished', done.error);

      const probe = await ffprobe(done.path);
      assert.match(probe.format.format_name, new RegExp(format));
      const codecs = probe.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort();
      assert.deepEqual(codecs, ['audio:opus', `video:${videoCodec}`]);
      const expected = (stoppedAt - first.at) / 1000 + first.duration;
      const duration = seconds(probe.format.duration);
      assert.ok(
        Math.abs(duration - expected) <= 0.1 * expected,
        `duration ${duration} s, expected ${expected.toFixed(2)} s ± 10 %`,
      );
      const t = startTimes(probe);
      assert.ok(Math.abs(t.audio - t.video) <= 0.2, `audio starts at ${t.audio} s, video at ${t.video} s`);
      // Each stream covers the recording, so neither drifts away from the other.
      for (const s of probe.streams) {
        const packets = await run(
          'ffprobe',
          [
            '-v',
            'error',
            '-select_streams',
            s.codec_type === 'audio' ? 'a' : 'v',
            '-show_entries',
            'packet=pts_time',
            '-of',
            'csv=p=0',
            done.path,
          ],
          { maxBuffer: 16 * 1024 * 1024 },
        );
        const last = Math.max(...packets.stdout.split('\n').filter(Boolean).map(Number));
        assert.ok(Math.abs(last - duration) < 0.3, `${s.codec_type} ends at ${last} s of ${duration} s`);
      }
      await assertValid(done.path);
      await page.close();
    });
  }

  void it('simulcast: the highest layer is recorded, a layer switch is followed, and a stop at or during it leaves a valid file', async () => {
    const room = 'rec-simulcast';
    const pub = await browser!.newPage('sim-pub');
    await pub.goto(`${sb!.url}/?room=${room}&name=pub&autojoin=1`);
    const viewer = await browser!.newPage('sim-viewer');
    await viewer.goto(`${sb!.url}/?room=${room}&name=viewer&autojoin=1&publish=0`);
    const peer = await publisherPeer(room, 'pub');
    const video = [...peer.receivers].find((r) => r.kind === 'video')!;
    const streamId = video.streamId;
    // Chrome ramps simulcast up: q first, h and f a few seconds later.
    await waitFor(() => video.layers.find((l) => l.rid === 'f' && l.packets > 100), {
      timeout: 90_000,
      what: 'the publisher to send its full layer',
    });
    const prefer = (page: Page, layer: string) =>
      page.evaluate(`window.sb.client.preferLayer(${JSON.stringify(streamId)}, ${JSON.stringify(layer)})`);
    const videoLayer = (id: string) =>
      manager()
        .get(id)
        ?.tracks.find((t) => t.kind === 'video')?.layer;
    // The viewer must be subscribed (its choice reaches the server) before it can prefer a layer.
    await waitFor(() => viewer.evaluate<boolean>(`!!document.querySelector('.tile.remote')`), {
      timeout: 30_000,
      what: 'the viewer to show the publisher',
    });

    // 1. Starts on the full layer; the viewer's `low` pauses f and h; the recording follows to q.
    //    Chromium scales every layer down when its CPU is short, so the widths each layer had (from its
    //    VP8 keyframes at the server) are sampled as it goes.
    const layerWidths = new Map<string, Set<number>>();
    const sampler = setInterval(() => {
      for (const l of video.layers) {
        if (l.width > 0) {
          layerWidths.set(l.rid, (layerWidths.get(l.rid) ?? new Set()).add(l.width));
        }
      }
    }, 50);
    const a = await start(room, peer.uid);
    await waitFor(() => videoLayer(a.id) === 'f', {
      timeout: 20_000,
      what: 'the recording to be on layer f',
    });
    await holds(a.id, 2);
    await prefer(viewer, 'low');
    await waitFor(() => videoLayer(a.id) === 'q', { timeout: 30_000, what: 'the recording to switch to q' });
    await holds(a.id, (manager().get(a.id)?.duration ?? 0) + 1);
    const doneA = await stop(room, a.id);
    assert.equal(doneA.state, 'finished', doneA.error);
    await assertValid(doneA.path);
    clearInterval(sampler);
    const widths = await frameWidths(doneA.path);
    const had = (rid: string) => [...(layerWidths.get(rid) ?? [])];
    assert.ok(
      had('f').includes(widths[0]!),
      `the recording starts on the full layer (${widths[0]}, f: ${had('f').join()})`,
    );
    assert.ok(!had('q').includes(widths[0]!), `not on the quarter layer (q: ${had('q').join()})`);
    assert.ok(
      had('q').includes(widths.at(-1)!),
      `and ends on the quarter layer (${widths.at(-1)}, q: ${had('q').join()})`,
    );

    // 2. A recording on q; the viewer asks for high again, and the recording is stopped the moment it
    //    moves to f, in the middle of the switch (the new layer's first keyframe still arriving).
    const b = await start(room, peer.uid);
    await waitFor(() => videoLayer(b.id) === 'q', { timeout: 20_000, what: 'the new recording to be on q' });
    await holds(b.id, 1);
    await prefer(viewer, 'high');
    await waitFor(() => videoLayer(b.id) === 'f', { timeout: 60_000, what: 'the recording to switch to f' });
    const doneB = await stop(room, b.id);
    assert.equal(doneB.state, 'finished', doneB.error);
    await assertValid(doneB.path);
    const firstB = (await frameWidths(doneB.path))[0]!;
    assert.ok(firstB <= Math.max(...had('q')), `recording b starts on the quarter layer (${firstB})`);

    // 3. The publisher leaves mid-recording.
    const c = await start(room, peer.uid);
    await holds(c.id, 2);
    await pub.close();
    const doneC = await waitFor(
      async () => {
        const r = (await api('GET', `/rooms/${room}/recordings/${c.id}`)).json as RecordingInfo;
        return r.state !== 'recording' ? r : undefined;
      },
      { what: 'the recording to end with its publisher' },
    );
    assert.equal(doneC.state, 'finished', doneC.error);
    assert.equal(doneC.reason, 'source-ended');
    const probe = await ffprobe(doneC.path);
    assert.deepEqual(probe.streams.map((s) => s.codec_type).sort(), ['audio', 'video']);
    await assertValid(doneC.path);
    await viewer.close();
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AddTrackRequest,
  SimulcastCodec,
  TrackSource,
  TrackType,
  VideoLayer,
  VideoQuality,
} from '@livekit/protocol';
import { livekitSid } from '../../../../src/protocol/livekit.ts';
import { PublishedTracks } from '../../../../src/signal/livekit/PublishedTracks.ts';
import { Speakers } from '../../../../src/signal/livekit/Speakers.ts';

const camera = new AddTrackRequest({
  cid: 'cam-1',
  type: TrackType.VIDEO,
  name: 'camera',
  source: TrackSource.CAMERA,
  width: 1280,
  height: 720,
  layers: ['q', 'h', 'f'].map((rid) => new VideoLayer({ rid })),
  simulcastCodecs: [new SimulcastCodec({ codec: 'VP8', cid: 'cam-1' })],
});

void test('add_track: TrackInfo with the sid of its cid, simulcast layers, codec; refusals say why', () => {
  const t = new PublishedTracks('PA_me', []);
  const info = t.add(camera);
  assert.ok(typeof info !== 'string');
  assert.equal(info.sid, livekitSid.track('cam-1'));
  assert.equal(info.mimeType, 'video/VP8');
  assert.deepEqual(
    info.layers.map((l) => [l.rid, l.quality, l.width]),
    [
      ['q', VideoQuality.LOW, 320],
      ['h', VideoQuality.MEDIUM, 640],
      ['f', VideoQuality.HIGH, 1280],
    ],
  );
  const refusal = (r: ReturnType<PublishedTracks['add']>) => (typeof r === 'string' ? r : 'published');
  assert.match(refusal(t.add(new AddTrackRequest({ cid: '', type: TrackType.AUDIO }))), /cid/);
  assert.match(refusal(t.add(new AddTrackRequest({ cid: 'd', type: TrackType.DATA }))), /type/);
  const screenOnly = new PublishedTracks('PA_me', ['screen_share']);
  assert.match(refusal(screenOnly.add(camera)), /CAMERA is not granted/);
});

void test('camera and microphone share a stream, the screen share has its own, marked in the record', () => {
  const t = new PublishedTracks('PA_me', []);
  t.add(camera);
  t.add(new AddTrackRequest({ cid: 'mic-1', type: TrackType.AUDIO }));
  t.add(new AddTrackRequest({ cid: 'scr-1', type: TrackType.VIDEO, source: TrackSource.SCREEN_SHARE }));
  assert.equal(t.streamOf('cam-1'), 'PA_me');
  assert.equal(t.streamOf('mic-1'), 'PA_me');
  assert.equal(t.streamOf('scr-1'), 'PA_me-screen');
  const r = t.recorded();
  assert.equal(r.screen, 'PA_me-screen');
  assert.deepEqual(r.tracks?.['mic-1'], { name: '', source: TrackSource.MICROPHONE, width: 0, height: 0 });
  assert.equal(t.bySid(livekitSid.track('scr-1'))?.cid, 'scr-1');
});

void test('dynacast: the rids received become enabled qualities, per codec', () => {
  const t = new PublishedTracks('PA_me', []);
  t.add(camera);
  const u = t.qualityUpdate('cam-1', ['q', 'h']);
  assert.equal(u?.trackSid, livekitSid.track('cam-1'));
  assert.deepEqual(
    u?.subscribedCodecs.map((c) => [c.codec, c.qualities.map((q) => q.enabled)]),
    [['vp8', [true, true, false]]],
  );
  assert.equal(t.qualityUpdate('unknown', ['q']), undefined);
});

void test('speakers: deltas, loudest first, and inactive ones once', () => {
  const s = new Speakers();
  const sidOf = (stream: string) => (stream === 'nobody' ? undefined : `PA_${stream}`);
  assert.deepEqual(
    s.update(['a', 'b', 'nobody'], sidOf).map((x) => [x.sid, x.active, x.level > 0.5]),
    [
      ['PA_a', true, true],
      ['PA_b', true, true],
    ],
  );
  assert.deepEqual(s.update(['a', 'b'], sidOf), []);
  assert.deepEqual(
    s.update(['b'], sidOf).map((x) => [x.sid, x.active]),
    [
      ['PA_b', true], // now the loudest: a new level
      ['PA_a', false],
    ],
  );
  assert.deepEqual(
    s.update([], sidOf).map((x) => [x.sid, x.active]),
    [['PA_b', false]],
  );
});

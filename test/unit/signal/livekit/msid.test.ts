import assert from 'node:assert/strict';
import { test } from 'node:test';
import { livekitSid } from '../../../../src/protocol/livekit.ts';
import { renameMsids } from '../../../../src/signal/livekit/msid.ts';

const offer = [
  'v=0',
  'o=- 1 1 IN IP4 0.0.0.0',
  's=-',
  't=0 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=mid:0',
  'a=msid:stream-a track-audio',
  'a=ssrc:1111 msid:stream-a track-audio',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'a=mid:1',
  'a=msid:- track-video',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'a=mid:2',
  'a=msid:stream-c track-unknown',
  '',
].join('\r\n');

const owners: Record<string, { uid: string; streamId: string }> = {
  'track-audio': { uid: 'alice', streamId: 'stream-a' },
  'track-video': { uid: 'bob', streamId: '-' },
};

void test('msids become <participant sid>|<stream> <track sid>, on a=msid and a=ssrc lines alike', () => {
  const r = renameMsids('room1', offer, (id) => owners[id]);
  const alice = livekitSid.participant('room1', 'alice');
  const audio = livekitSid.track('track-audio');
  assert.match(r.sdp, new RegExp(`^a=msid:${alice}\\|stream-a ${audio}\\r$`, 'm'));
  assert.match(r.sdp, new RegExp(`^a=ssrc:1111 msid:${alice}\\|stream-a ${audio}\\r$`, 'm'));
  assert.ok(alice.startsWith('PA_') && audio.startsWith('TR_'));
});

void test('a stream without an id (-) takes the track sid; unknown tracks stay and are listed', () => {
  const r = renameMsids('room1', offer, (id) => owners[id]);
  const bob = livekitSid.participant('room1', 'bob');
  const video = livekitSid.track('track-video');
  assert.match(r.sdp, new RegExp(`^a=msid:${bob}\\|${video} ${video}\\r$`, 'm'));
  assert.match(r.sdp, /^a=msid:stream-c track-unknown\r$/m);
  assert.deepEqual(r.unknown, ['track-unknown']);
  assert.deepEqual(r.midToTrackId, { '0': livekitSid.track('track-audio'), '1': video });
});

void test('sids are stable and differ per room and participant', () => {
  assert.equal(livekitSid.participant('r', 'a'), livekitSid.participant('r', 'a'));
  assert.notEqual(livekitSid.participant('r', 'a'), livekitSid.participant('r2', 'a'));
  assert.notEqual(livekitSid.participant('r', 'a'), livekitSid.participant('r', 'b'));
  assert.match(livekitSid.room('r'), /^RM_[0-9a-f]{12}$/);
});

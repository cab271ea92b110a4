import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DisconnectReason, ParticipantInfo_State, TrackSource } from '@livekit/protocol';
import { livekitSid } from '../../../../src/protocol/livekit.ts';
import { RoomState } from '../../../../src/signal/livekit/RoomState.ts';

const member = (uid: string, info?: unknown) => ({
  uid,
  name: uid.toUpperCase(),
  role: 'guest' as const,
  joinedAt: 1_700_000_000_000,
  ...(info !== undefined ? { info } : {}),
});
const roster = (uid: string, tracks: { id: string; kind: 'audio' | 'video'; muted?: boolean }[]) => ({
  uid,
  name: uid,
  streams: [
    {
      streamId: `${uid}-stream`,
      audio: tracks.some((t) => t.kind === 'audio'),
      video: tracks.some((t) => t.kind === 'video'),
      tracks: tracks.map((t) => ({ id: t.id, kind: t.kind, muted: t.muted ?? false, layers: [] })),
    },
  ],
});

void test('the others, not us, with their tracks; unchanged participants are not sent again', () => {
  const s = new RoomState('room', 'me');
  s.setMembers([member('me'), member('ann')]);
  s.setRoster([
    roster('me', []),
    roster('ann', [
      { id: 'a1', kind: 'audio' },
      { id: 'v1', kind: 'video' },
    ]),
  ]);
  const first = s.snapshot();
  assert.deepEqual(
    first.map((p) => p.identity),
    ['ann'],
  );
  assert.equal(first[0]!.name, 'ANN');
  assert.equal(first[0]!.sid, livekitSid.participant('room', 'ann'));
  assert.deepEqual(
    first[0]!.tracks.map((t) => [t.sid, t.source]),
    [
      [livekitSid.track('a1'), TrackSource.MICROPHONE],
      [livekitSid.track('v1'), TrackSource.CAMERA],
    ],
  );
  assert.deepEqual(s.changes(), []);
  assert.deepEqual(s.trackOwner('v1'), { uid: 'ann', streamId: 'ann-stream' });
  assert.equal(s.streamOwner('ann-stream'), 'ann');
});

void test('a mute and a new track raise the version; a LiveKit member shows its metadata and track names', () => {
  const s = new RoomState('room', 'me');
  s.setMembers([
    member('ann', {
      livekit: { metadata: '{"x":1}', tracks: { v1: { name: 'cam', source: TrackSource.SCREEN_SHARE } } },
    }),
  ]);
  s.setRoster([roster('ann', [{ id: 'v1', kind: 'video' }])]);
  const [v1] = s.snapshot();
  s.setRoster([roster('ann', [{ id: 'v1', kind: 'video', muted: true }])]);
  const [v2] = s.changes();
  assert.ok(v2!.version > v1!.version);
  assert.equal(v2!.tracks[0]!.muted, true);
  assert.equal(v2!.metadata, '{"x":1}');
  assert.equal(v2!.tracks[0]!.name, 'cam');
  assert.equal(v2!.tracks[0]!.source, TrackSource.SCREEN_SHARE);
});

void test('a participant gone from members and roster goes once as DISCONNECTED, with why', () => {
  const s = new RoomState('room', 'me');
  s.setMembers([member('ann'), member('bob')]);
  s.setRoster([roster('ann', []), roster('bob', [])]);
  s.snapshot();
  s.memberEvent('leave', member('bob'), 'kicked');
  assert.deepEqual(s.changes(), []); // its peer is still in the roster
  s.setRoster([roster('ann', [])]);
  const [gone] = s.changes();
  assert.equal(gone!.identity, 'bob');
  assert.equal(gone!.state, ParticipantInfo_State.DISCONNECTED);
  assert.equal(gone!.disconnectReason, DisconnectReason.PARTICIPANT_REMOVED);
  assert.deepEqual(s.changes(), []);
});

void test('another protocol member: its info is the metadata as JSON; its marked screen stream is a screen share', () => {
  const s = new RoomState('room', 'me');
  s.setMembers([member('web', { screen: 'web-stream' })]);
  s.setRoster([roster('web', [{ id: 'v9', kind: 'video' }])]);
  const [p] = s.snapshot();
  assert.equal(p!.metadata, '{"screen":"web-stream"}');
  assert.equal(p!.tracks[0]!.source, TrackSource.SCREEN_SHARE);
});

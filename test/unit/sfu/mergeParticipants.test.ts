// A participant reported by several nodes of a cascaded room (a Licode client's peers, one per
// stream, may sit on different nodes) is one roster entry with the streams of all.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeParticipants } from '../../../src/sfu/Relays.ts';

const stream = (streamId: string) => ({
  streamId,
  audio: true,
  video: true,
  audioMuted: false,
  videoMuted: false,
  tracks: [
    { id: `${streamId}-audio`, kind: 'audio' as const, muted: false, layers: [] },
    { id: `${streamId}-video`, kind: 'video' as const, muted: false, layers: ['q', 'h', 'f'] },
  ],
});

await test('entries of one uid merge; their streams are kept once each; order of first sight', () => {
  const merged = mergeParticipants([
    { uid: 'lena', name: 'Lena', streams: [stream('a')] },
    { uid: 'dave', name: 'Dave', streams: [stream('d')] },
    { uid: 'lena', name: 'Lena', streams: [] },
    { uid: 'lena', name: 'Lena', streams: [stream('a'), stream('b')] },
  ]);
  assert.deepEqual(
    merged.map((p) => [p.uid, p.streams.map((s) => s.streamId)]),
    [
      ['lena', ['a', 'b']],
      ['dave', ['d']],
    ],
  );
});

await test('a merged stream keeps its tracks (ids, kinds, layers) as the node reporting it sent them', () => {
  const merged = mergeParticipants([
    { uid: 'lena', name: 'Lena', streams: [stream('a')] },
    { uid: 'lena', name: 'Lena', streams: [stream('b')] },
  ]);
  assert.deepEqual(merged[0]!.streams, [stream('a'), stream('b')]);
});

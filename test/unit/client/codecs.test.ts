// The SDK's video codec check (client/codecs.ts): the server's list is the media path's, an unsupported
// choice is an error in words.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import {
  assertVideoCodec,
  SERVER_VIDEO_CODECS,
  UnsupportedCodecError,
  usableVideoCodecs,
  videoCodecProblem,
} from '../../../client/codecs.ts';

void describe('client codecs', () => {
  void it('SERVER_VIDEO_CODECS lists exactly the video codecs src/media/werift.ts negotiates', async () => {
    const source = await readFile(new URL('../../../src/media/werift.ts', import.meta.url), 'utf8');
    const negotiated = new Set(
      [...source.matchAll(/mimeType: 'video\/(\w+)'/g)].map((m) => m[1]!.toLowerCase()),
    );
    assert.deepEqual([...negotiated].sort(), [...SERVER_VIDEO_CODECS].sort());
  });

  void it('AV1 is refused in words, naming what the server forwards', () => {
    assert.match(
      videoCodecProblem('av1') ?? '',
      /^AV1 is not supported by this server \(it forwards VP8, VP9, H\.264\)/,
    );
    assert.throws(() => assertVideoCodec('av1'), UnsupportedCodecError);
  });

  void it('an unknown name is refused; known ones are accepted in any case', () => {
    assert.match(videoCodecProblem('theora') ?? '', /not a video codec this page knows/);
    assert.equal(assertVideoCodec('VP9'), 'vp9');
    assert.equal(videoCodecProblem('h264'), undefined);
  });

  void it('without a browser to ask, the usable codecs are the server’s', () => {
    assert.deepEqual(usableVideoCodecs(), [...SERVER_VIDEO_CODECS]);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'sdp-transform';
import { withStartBitrate } from '../../../src/media/startBitrate.ts';

const SDP = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=mid:0',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98 102',
  'a=mid:1',
  'a=rtpmap:96 VP8/90000',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:98 VP9/90000',
  'a=fmtp:98 profile-id=0',
  'a=rtpmap:102 H264/90000',
  'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  '',
].join('\r\n');

const fmtps = (sdp: string, kind: string) =>
  Object.fromEntries(
    parse(sdp)
      .media.find((m) => m.type === kind)!
      .fmtp.map((f) => [f.payload, f.config]),
  );

await test('every video codec gets x-google-start-bitrate; rtx and audio are left alone', () => {
  const out = withStartBitrate(SDP, 1000);
  assert.deepEqual(fmtps(out, 'video'), {
    96: 'x-google-start-bitrate=1000',
    97: 'apt=96',
    98: 'profile-id=0;x-google-start-bitrate=1000',
    102: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f;x-google-start-bitrate=1000',
  });
  assert.deepEqual(fmtps(out, 'audio'), { 111: 'minptime=10;useinbandfec=1' });
  assert.ok(out.endsWith('\r\n') && !out.includes('\n\n') && !/[^\r]\n/.test(out), 'CRLF line ends kept');
  const lines = out.split('\r\n');
  assert.equal(lines[lines.indexOf('a=rtpmap:96 VP8/90000') + 1], 'a=fmtp:96 x-google-start-bitrate=1000');
});

await test('0 leaves the SDP as it is, and a second pass adds nothing', () => {
  assert.equal(withStartBitrate(SDP, 0), SDP);
  const once = withStartBitrate(SDP, 800);
  assert.equal(withStartBitrate(once, 800), once);
});

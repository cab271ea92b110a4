import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertValidOffer } from '../../../src/media/sdpCheck.ts';

const good = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=mid:0',
  'a=ice-ufrag:abcd',
  'a=ice-pwd:abcdefghijklmnopqrstuvwx',
  'a=fingerprint:sha-256 AB:CD',
  'a=setup:actpass',
  'a=sendonly',
  'a=rtpmap:111 opus/48000/2',
  '',
].join('\r\n');

await test('a minimal WebRTC offer passes', () => {
  assert.doesNotThrow(() => assertValidOffer(good));
});

await test('garbage, offers without media, ICE credentials or fingerprint are refused with the reason', () => {
  assert.throws(() => assertValidOffer('garbage'), /invalid SDP offer: must start with v=0/);
  assert.throws(() => assertValidOffer('v=0\r\ns=-\r\n'), /no media sections/);
  assert.throws(() => assertValidOffer(good.replace(/a=ice-ufrag:.*\r\n/, '')), /no ICE credentials/);
  assert.throws(() => assertValidOffer(good.replace(/a=fingerprint:.*\r\n/, '')), /no DTLS fingerprint/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtpHeader } from 'werift';
import { absSendTime, rtpHeaderSize, writeRtpHeader } from '../../../src/media/rtpHeader.ts';

await test('a header without extensions is 12 bytes and parses back with werift', () => {
  const buf = Buffer.alloc(rtpHeaderSize([]));
  const len = writeRtpHeader(buf, 0, true, 96, 65535, 0xfffffffe, 0xdeadbeef, []);
  assert.equal(len, 12);
  const h = RtpHeader.deSerialize(buf);
  assert.equal(h.marker, true);
  assert.equal(h.payloadType, 96);
  assert.equal(h.sequenceNumber, 65535);
  assert.equal(h.timestamp, 0xfffffffe);
  assert.equal(h.ssrc, 0xdeadbeef);
  assert.equal(h.extension, false);
});

await test('extensions are written with the subscriber ids given, padded to 32 bits', () => {
  const exts = [
    { id: 3, value: Buffer.from('1') }, // mid "1"
    { id: 2, value: Buffer.from([0x80 | 30]) }, // audio level, voice bit
    { id: 4, value: Buffer.from([1, 2, 3]) },
  ];
  const buf = Buffer.alloc(rtpHeaderSize(exts));
  const len = writeRtpHeader(buf, 0, false, 111, 7, 960, 1, exts);
  assert.equal(len, buf.length);
  assert.equal((len - 12) % 4, 0);
  const h = RtpHeader.deSerialize(buf);
  assert.equal(h.extensionProfile, 0xbede);
  assert.deepEqual(
    h.extensions.map((e) => [e.id, [...e.payload]]),
    [
      [3, [0x31]],
      [2, [0x80 | 30]],
      [4, [1, 2, 3]],
    ],
  );
});

await test('abs-send-time is 6.18 fixed-point seconds in 24 bits', () => {
  const out = Buffer.alloc(3);
  absSendTime(1500, out); // 1.5 s
  assert.equal(out.readUIntBE(0, 3), 1.5 * 262144);
  absSendTime(64_000, out); // 64 s wraps the 6-bit seconds field
  assert.equal(out.readUIntBE(0, 3), 0);
});

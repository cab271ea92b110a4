// RtpView reads RTP in place: every header-extension form (RFC 8285 one-byte and two-byte, with
// padding between elements), CSRCs, RTP padding, and truncated or malformed headers refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtpHeader, RtpPacket } from 'werift';
import { RtpView } from '../../../src/media/RtpView.ts';

function parsed(buf: Buffer): RtpView | undefined {
  const v = new RtpView();
  return v.parseHeader(buf, buf.length) && v.setLength(buf.length) ? v : undefined;
}

await test('fixed header fields and the payload of a plain packet', () => {
  const payload = Buffer.from([9, 8, 7, 6, 5]);
  const buf = new RtpPacket(
    new RtpHeader({
      sequenceNumber: 65535,
      timestamp: 0xfffffff0,
      ssrc: 0xdeadbeef,
      payloadType: 111,
      marker: true,
    }),
    payload,
  ).serialize();
  const v = parsed(buf)!;
  assert.equal(v.seq, 65535);
  assert.equal(v.timestamp, 0xfffffff0);
  assert.equal(v.ssrc, 0xdeadbeef);
  assert.equal(v.payloadType, 111);
  assert.equal(v.marker, true);
  assert.equal(v.headerLength, 12);
  assert.deepEqual(v.payload, payload);
  assert.equal(v.extension(1), -1);
});

await test('one-byte extensions (0xBEDE) with padding bytes between elements, and CSRCs before them', () => {
  // V=2 X=1 CC=2, PT 96; CSRCs; extension block of 3 words: id 1 "ab", pad, pad, id 3 [0x7f], id 5 4 bytes
  const hdr = Buffer.from([
    0x92,
    0x60,
    0x00,
    0x01,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    2, // fixed
    0,
    0,
    0,
    7,
    0,
    0,
    0,
    8, // CSRCs
    0xbe,
    0xde,
    0x00,
    0x03,
    0x11,
    0x61,
    0x62,
    0x00,
    0x00,
    0x30,
    0x7f,
    0x53,
    1,
    2,
    3,
    4,
  ]);
  const v = parsed(Buffer.concat([hdr, Buffer.from([0xaa, 0xbb])]))!;
  assert.equal(v.headerLength, hdr.length);
  assert.equal(v.extProfile, 0xbede);
  assert.equal(v.extensionString(1), 'ab');
  const at = v.extension(3);
  assert.equal(v.buf[at], 0x7f);
  assert.equal(v.extValueLength, 1);
  assert.equal(v.extension(5), 32);
  assert.equal(v.extValueLength, 4);
  assert.equal(v.extension(2), -1);
  assert.deepEqual(v.payload, Buffer.from([0xaa, 0xbb]));
});

await test('two-byte extensions (0x1000), including an empty element and one longer than 16 bytes', () => {
  const long = Buffer.alloc(20, 0x41);
  const elements = Buffer.concat([Buffer.from([1, 0, 0, 2, 20]), long, Buffer.from([3, 1, 0x55])]);
  const words = Math.ceil(elements.length / 4);
  const block = Buffer.concat([
    Buffer.from([0x10, 0x00, 0, words]),
    elements,
    Buffer.alloc(words * 4 - elements.length),
  ]);
  const fixed = Buffer.from([0x90, 96, 0, 5, 0, 0, 0, 0, 0, 0, 0, 9]);
  const v = parsed(Buffer.concat([fixed, block, Buffer.from([1])]))!;
  assert.equal(v.extension(1), 12 + 4 + 2);
  assert.equal(v.extValueLength, 0);
  assert.equal(v.extensionString(2), 'A'.repeat(20));
  assert.equal(v.buf[v.extension(3)], 0x55);
  assert.equal(v.payloadLength, 1);
});

await test('RTP padding is stripped from the payload; bad padding is refused', () => {
  const fixed = Buffer.from([0xa0, 96, 0, 5, 0, 0, 0, 0, 0, 0, 0, 9]); // P=1
  const v = parsed(Buffer.concat([fixed, Buffer.from([1, 2, 3, 0, 0, 3])]))!;
  assert.deepEqual(v.payload, Buffer.from([1, 2, 3]));
  const probe = parsed(Buffer.concat([fixed, Buffer.from([0, 0, 0, 4])]))!; // padding only
  assert.equal(v.payloadLength, 3);
  assert.equal(probe.payloadLength, 0);
  assert.equal(parsed(Buffer.concat([fixed, Buffer.from([1, 9])])), undefined); // more padding than payload
  assert.equal(parsed(Buffer.concat([fixed, Buffer.from([1, 0])])), undefined); // zero padding count
});

await test('truncated and malformed headers are refused; a bad extension block ends the search', () => {
  assert.equal(parsed(Buffer.from([0x80, 96, 0, 1])), undefined); // shorter than 12
  assert.equal(parsed(Buffer.alloc(20)), undefined); // version 0
  assert.equal(parsed(Buffer.from([0x83, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1])), undefined); // 3 CSRCs announced, 1 present
  // X=1 with a block length beyond the packet
  assert.equal(
    parsed(Buffer.from([0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 9, 0x10, 1, 0, 0])),
    undefined,
  );
  // An element that claims more bytes than the block has: not found, no throw
  const v = parsed(Buffer.from([0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0x1f, 1, 2, 3]))!;
  assert.equal(v.extension(1), -1);
  // id 15 stops the one-byte parse (RFC 8285 §4.2)
  const w = parsed(
    Buffer.from([0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0xf0, 0x20, 0x41, 0]),
  )!;
  assert.equal(w.extension(2), -1);
});

// Keyframe detection where the payload lies inside the packet (offsets, no copy): VP8, VP9, H.264
// single NAL, STAP-A and FU-A; what lies before `start` or after `end` is never read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isH264Keyframe, isVp9Keyframe, newVp8Info, parseVp8 } from '../../../src/media/vp8.ts';

/** `payload` after 12 bytes of 0xff "header" and before 4 bytes of 0xff "tag". */
const inPacket = (payload: number[]) => {
  const buf = Buffer.concat([Buffer.alloc(12, 0xff), Buffer.from(payload), Buffer.alloc(4, 0xff)]);
  return [buf, 12, 12 + payload.length] as const;
};

await test('VP8: keyframe start with its size, delta frame, and a descriptor cut short', () => {
  const info = newVp8Info();
  // X=1 S=1, I=1 T=1 (7-bit picture id, TID 2), payload header P=0, start code, 640×360
  const key = inPacket([0x90, 0xa0, 0x05, 0x80, 0x00, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]);
  parseVp8(...key, info);
  assert.deepEqual(info, { start: true, keyframe: true, opaque: false, tid: 2, width: 640, height: 360 });
  parseVp8(...inPacket([0x90, 0xa0, 0x05, 0x40, 0x01]), info);
  assert.equal(info.keyframe, false);
  assert.equal(info.tid, 1);
  assert.equal(info.start, true);
  parseVp8(...inPacket([0x90]), info); // X set, no extension byte inside the payload
  assert.equal(info.keyframe, false);
  assert.equal(info.start, false);
  parseVp8(...inPacket([0x00, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]), info); // S=0
  assert.deepEqual([info.start, info.keyframe, info.opaque], [false, false, false]);
});

await test('VP8 with an encrypted payload header: a claimed keyframe without the start code is opaque, never a keyframe', () => {
  const info = newVp8Info();
  // Descriptor S=1 PID=0 in clear; the frame (P=0 by chance) is garbage after it.
  parseVp8(...inPacket([0x10, 0xa6, 0x3f, 0x11, 0x52, 0x9d, 0x01, 0x2b, 0x00, 0x00, 0x00]), info);
  assert.deepEqual([info.start, info.keyframe, info.opaque, info.width], [true, false, true, 0]);
  // P=1 garbage: a delta as far as anyone can tell, not flagged.
  parseVp8(...inPacket([0x10, 0xa7, 0x3f, 0x11]), info);
  assert.deepEqual([info.start, info.keyframe, info.opaque], [true, false, false]);
  // A keyframe header cut before its start code: opaque too.
  parseVp8(...inPacket([0x10, 0x00, 0x00, 0x00, 0x9d]), info);
  assert.deepEqual([info.keyframe, info.opaque], [false, true]);
});

await test('VP9: start of a frame that is not inter-predicted', () => {
  assert.equal(isVp9Keyframe(...inPacket([0x08])), true); // B=1, P=0
  assert.equal(isVp9Keyframe(...inPacket([0x48])), false); // P=1
  assert.equal(isVp9Keyframe(...inPacket([])), false);
});

await test('H.264: IDR and SPS as single NAL, inside STAP-A, at an FU-A start', () => {
  assert.equal(isH264Keyframe(...inPacket([0x65, 0x88])), true); // IDR
  assert.equal(isH264Keyframe(...inPacket([0x67, 0x42])), true); // SPS
  assert.equal(isH264Keyframe(...inPacket([0x41, 0x9a])), false); // non-IDR slice
  // STAP-A: a SEI (type 6, 2 bytes), then an SPS
  assert.equal(isH264Keyframe(...inPacket([0x78, 0, 2, 0x06, 0x05, 0, 2, 0x67, 0x42])), true);
  // STAP-A whose second size runs past the payload: the SPS-looking 0xff after the end is not read
  assert.equal(isH264Keyframe(...inPacket([0x78, 0, 2, 0x06, 0x05, 0, 9])), false);
  assert.equal(isH264Keyframe(...inPacket([0x7c, 0x85])), true); // FU-A start of an IDR
  assert.equal(isH264Keyframe(...inPacket([0x7c, 0x05])), false); // FU-A continuation
});

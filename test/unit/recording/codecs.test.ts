import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  codecSpec,
  opusDurationMs,
  opusHead,
  videoConfig,
  vp8Size,
  vp9Size,
} from '../../../src/recording/codecs.ts';
import { safeName } from '../../../src/recording/RecordingManager.ts';

/** A VP8 keyframe header (RFC 6386 §9.1): frame tag, start code, 14-bit sizes with scale bits. */
function vp8Key(width: number, height: number): Buffer {
  const b = Buffer.alloc(16);
  b[0] = 0x10; // keyframe (bit 0 = 0), version 0, show_frame
  b.set([0x9d, 0x01, 0x2a], 3);
  b.writeUInt16LE(width | 0x4000, 6); // a scale bit set: must be masked off
  b.writeUInt16LE(height, 8);
  return b;
}

/** A VP9 profile-0 keyframe's uncompressed header up to frame_size. */
function vp9Key(width: number, height: number): Buffer {
  const bits: number[] = [];
  const put = (v: number, n: number) => {
    for (let i = n - 1; i >= 0; i--) {
      bits.push((v >> i) & 1);
    }
  };
  put(2, 2); // frame_marker
  put(0, 1); // profile_low_bit
  put(0, 1); // profile_high_bit
  put(0, 1); // show_existing_frame
  put(0, 1); // frame_type = KEY_FRAME
  put(1, 1); // show_frame
  put(0, 1); // error_resilient_mode
  put(0x49, 8);
  put(0x83, 8);
  put(0x42, 8);
  put(2, 3); // color_space BT.709
  put(0, 1); // color_range
  put(width - 1, 16);
  put(height - 1, 16);
  const out = Buffer.alloc(Math.ceil(bits.length / 8) + 2);
  bits.forEach((bit, i) => {
    out[i >> 3]! |= bit << (7 - (i & 7));
  });
  return out;
}

await test('codecSpec: VP8, VP9 and Opus go into WebM, H.264 into Matroska, others are not recordable', () => {
  assert.deepEqual(
    ['video/VP8', 'video/VP9', 'audio/opus'].map((m) => codecSpec(m)?.webm),
    [true, true, true],
  );
  assert.equal(codecSpec('video/H264')?.webm, false);
  assert.equal(codecSpec('video/H264')?.depacketizer, 'MPEG4/ISO/AVC');
  assert.equal(codecSpec('audio/PCMU'), undefined);
});

await test('VP8 keyframe size, none for an interframe', () => {
  assert.deepEqual(vp8Size(vp8Key(960, 540)), { width: 960, height: 540 });
  const inter = vp8Key(960, 540);
  inter[0] = 0x11;
  assert.equal(vp8Size(inter), undefined);
  assert.deepEqual(videoConfig('vp8', vp8Key(320, 240)), { codec: 'vp8', codedWidth: 320, codedHeight: 240 });
});

await test('VP9 keyframe profile and size from the uncompressed header', () => {
  assert.deepEqual(vp9Size(vp9Key(640, 360)), { profile: 0, width: 640, height: 360 });
  assert.equal(videoConfig('vp9', vp9Key(640, 360))?.codec, 'vp09.00.10.08');
  assert.equal(vp9Size(Buffer.from([0x86, 0, 0])), undefined); // an interframe
  assert.equal(vp9Size(Buffer.from([0x82])), undefined); // truncated
});

await test('Opus packet duration from the TOC byte (RFC 6716 §3.1)', () => {
  assert.equal(opusDurationMs(Buffer.from([(31 << 3) | 0])), 20); // CELT FB 20 ms, one frame
  assert.equal(opusDurationMs(Buffer.from([(1 << 3) | 1])), 40); // SILK NB 20 ms, two frames
  assert.equal(opusDurationMs(Buffer.from([(16 << 3) | 3, 4])), 10); // CELT 2.5 ms, four frames
  assert.equal(opusDurationMs(Buffer.alloc(0)), 20);
});

await test('OpusHead: version 1, the channel count, no pre-skip, 48 kHz', () => {
  const h = Buffer.from(opusHead(2));
  assert.equal(h.subarray(0, 8).toString('latin1'), 'OpusHead');
  assert.equal(h[8], 1);
  assert.equal(h[9], 2);
  assert.equal(h.readUInt16LE(10), 0);
  assert.equal(h.readUInt32LE(12), 48000);
});

await test('safeName keeps file names portable and never . or ..', () => {
  assert.equal(safeName('alice'), 'alice');
  assert.equal(safeName('../etc/passwd'), '.._etc_passwd');
  assert.equal(safeName('..'), '_..');
  assert.equal(safeName(''), '_');
  assert.equal(safeName('Zoë Müller'), 'Zo__M_ller');
  assert.equal(safeName('x'.repeat(100)).length, 64);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtpMunger } from '../../../src/media/RtpMunger.ts';

const CLOCK = 90000;

await test('sequence numbers pass through unchanged and wrap at 16 bits', () => {
  const m = new RtpMunger();
  const out: number[] = [];
  for (const seq of [65533, 65534, 65535, 0, 1]) {
    assert.equal(m.update(seq, 1000, 0, CLOCK), true);
    out.push(m.seq);
  }
  assert.deepEqual(out, [65533, 65534, 65535, 0, 1]);
});

await test('timestamps wrap at 32 bits', () => {
  const m = new RtpMunger();
  m.update(10, 0xffffff00, 0, CLOCK);
  assert.equal(m.ts, 0xffffff00);
  m.update(11, 0x00000100, 0, CLOCK);
  assert.equal(m.ts, 0x100);
});

await test('after a pause the output continues right after the last packet sent, across a 16-bit wrap', () => {
  const m = new RtpMunger();
  m.update(65534, 5000, 0, CLOCK);
  m.update(65535, 8000, 33, CLOCK);
  m.pause();
  // The source resumes far away (another layer or after mute): numbering stays continuous.
  assert.equal(m.update(1200, 900_000, 1033, CLOCK), true);
  assert.equal(m.seq, 0); // 65535 + 1 wraps to 0
  assert.equal(m.ts, (8000 + 90_000) >>> 0); // one second of clock later
  m.update(1201, 903_000, 1066, CLOCK);
  assert.equal(m.seq, 1);
  assert.equal(m.ts, 8000 + 90_000 + 3000);
});

await test('a resync near the 32-bit timestamp limit wraps the output timestamp', () => {
  const m = new RtpMunger();
  m.update(1, 0xfffffff0, 0, CLOCK);
  m.pause();
  m.update(500, 42, 1000, CLOCK);
  assert.equal(m.ts, (0xfffffff0 + 90_000) >>> 0);
});

await test('late packets from before a resync are dropped, reordered ones after it keep their slot', () => {
  const m = new RtpMunger();
  m.update(100, 0, 0, CLOCK);
  m.update(101, 3000, 33, CLOCK);
  m.pause();
  m.update(200, 90_000, 1000, CLOCK); // out seq 102
  assert.equal(m.seq, 102);
  assert.equal(m.update(150, 50_000, 1001, CLOCK), false); // stale: before the resync point
  m.update(202, 96_000, 1066, CLOCK);
  assert.equal(m.seq, 104);
  assert.equal(m.update(201, 93_000, 1067, CLOCK), true); // reordered within the new run
  assert.equal(m.seq, 103);
});

await test('skipping a padding-only packet leaves no hole in the output sequence', () => {
  const m = new RtpMunger();
  m.update(10, 0, 0, CLOCK);
  m.skip(11);
  m.update(12, 3000, 33, CLOCK);
  assert.equal(m.seq, 11);
});

await test('sequence extension works across many 16-bit cycles', () => {
  const m = new RtpMunger();
  let seq = 60000;
  for (let i = 0; i < 200_000; i++) {
    assert.equal(m.update(seq, i * 3000, i, CLOCK), true);
    assert.equal(m.seq, seq);
    seq = (seq + 1) & 0xffff;
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RtpClock } from '../../../src/recording/RtpClock.ts';

await test('RtpClock extends 32-bit timestamps across the wrap, older packets staying older', () => {
  const c = new RtpClock(90000);
  const start = 0xffff_ff00;
  assert.equal(c.extend(start), start);
  assert.equal(c.extend(0x100), 0x1_0000_0100); // wrapped forward
  assert.equal(c.extend(0xffff_fff0), 0xffff_fff0); // a late packet from before the wrap
  assert.equal(c.extend(0x200), 0x1_0000_0200);
});

await test('RtpClock maps media time with the smallest arrival offset seen (the least delayed packet)', () => {
  const c = new RtpClock(48000);
  assert.equal(c.synced, false);
  c.observe(48000, 10_050); // 1.000 s of media arrives at 10.050 s: 50 ms late
  c.observe(96000, 11_020); // 2.000 s arrives at 11.020 s: 20 ms late, the best so far
  c.observe(144000, 12_090);
  assert.equal(c.synced, true);
  assert.equal(c.wallMs(c.extend(144000)), 12_020);
  assert.equal(c.wallMs(c.extend(48000)), 10_020);
});

await test('two RtpClocks of one capture clock agree whatever their timestamp bases (simulcast layers)', () => {
  const a = new RtpClock(90000);
  const b = new RtpClock(90000);
  const baseA = 1_000_000;
  const baseB = 4_000_000_000;
  for (let i = 0; i < 30; i++) {
    const captureMs = 1000 + i * 33;
    a.observe(baseA + captureMs * 90, 5000 + captureMs + (i % 3) * 4);
    b.observe((baseB + captureMs * 90) >>> 0, 5000 + captureMs + ((i + 1) % 3) * 4);
  }
  const t = 1000 + 29 * 33;
  assert.equal(a.wallMs(a.extend(baseA + t * 90)), b.wallMs(b.extend((baseB + t * 90) >>> 0)));
});

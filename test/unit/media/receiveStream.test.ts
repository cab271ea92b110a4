// ReceiveStream: the NACK list from gaps (across the 16-bit wrap, retries, give-up) and RFC 3550
// receiver-report statistics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NACK_MAX_GAP,
  NACK_MAX_RETRY_MS,
  NACK_MIN_RETRY_MS,
  NACK_RETRY_MS,
  ReceiveStream,
} from '../../../src/media/ReceiveStream.ts';

await test('gaps across the sequence wrap are NACKed as 16-bit numbers, and a recovered packet leaves the list', () => {
  const s = new ReceiveStream(1, 90000, true);
  const t = 1000;
  s.received(65533, 0, t);
  s.received(65534, 0, t);
  s.received(65536 + 2, 0, t); // 65535, 0 and 1 lost (extended numbers 65535, 65536, 65537)
  assert.deepEqual(s.nacks(t), [65535, 0, 1]);
  assert.deepEqual(s.nacks(t + 1), [], 'not again before the retry interval');
  s.received(65536, 0, t + 5); // the retransmission of 0
  assert.equal(s.recovered, 1);
  assert.deepEqual(s.nacks(t + NACK_RETRY_MS), [65535, 1]);
  s.received(65535, 0, t + 50);
  s.received(65537, 0, t + 50);
  assert.equal(s.pendingNacks, 0);
});

await test('a missing packet is given up after its tries or a second; a jump beyond NACK_MAX_GAP is not NACKed', () => {
  const s = new ReceiveStream(1, 90000, true);
  s.received(10, 0, 0);
  s.received(12, 0, 0);
  let asked = 0;
  for (let t = 0; t < 2000; t += NACK_RETRY_MS) {
    asked += s.nacks(t).length;
  }
  assert.ok(asked >= 2 && asked <= 10, `asked ${asked} times`);
  assert.equal(s.pendingNacks, 0);
  s.received(12 + NACK_MAX_GAP + 2, 0, 3000);
  assert.equal(s.pendingNacks, 0);
  const audio = new ReceiveStream(2, 48000, false);
  audio.received(1, 0, 0);
  audio.received(5, 0, 0);
  assert.equal(audio.pendingNacks, 0, 'no NACK for a stream without NACK feedback');
});

await test('retries wait a round trip and a half, measured from packets that came back after one NACK', () => {
  const s = new ReceiveStream(1, 90000, true);
  assert.equal(s.retryMs, NACK_RETRY_MS, 'before any measurement');
  s.received(100, 0, 0);
  s.received(102, 0, 0); // 101 lost
  assert.deepEqual(s.nacks(0), [101]);
  s.received(101, 0, 100); // answered 100 ms after the NACK
  assert.equal(s.retryMs, 150);
  s.received(104, 0, 200); // 103 lost
  assert.deepEqual(s.nacks(200), [103]);
  assert.deepEqual(s.nacks(200 + NACK_RETRY_MS), [], 'not at the old fixed interval');
  assert.deepEqual(s.nacks(349), []);
  assert.deepEqual(s.nacks(350), [103], 'again after 150 ms');
  s.received(103, 0, 400); // answered after a second NACK: ambiguous, not a sample
  assert.equal(s.retryMs, 150);
  /** The retry interval of a stream whose one NACKed packet came back `ms` later. */
  const retryAfterAnswer = (ms: number): number => {
    const r = new ReceiveStream(2, 90000, true);
    r.received(1, 0, 0);
    r.received(3, 0, 0);
    r.nacks(0);
    r.received(2, 0, ms);
    return r.retryMs;
  };
  assert.equal(retryAfterAnswer(900), NACK_MAX_RETRY_MS);
  assert.equal(retryAfterAnswer(1), NACK_MIN_RETRY_MS);
});

await test('receiver report: cumulative and interval loss, highest extended sequence, jitter, LSR/DLSR', () => {
  const s = new ReceiveStream(7, 90000, true);
  // 100 packets 20 ms apart (1800 ticks each), every tenth lost, across the wrap.
  for (let i = 0; i < 100; i++) {
    if (i % 10 !== 5) {
      s.received(65500 + i, (i * 1800) >>> 0, 10_000 + i * 20);
    }
  }
  s.senderReport((0x12345678n << 32n) | 0x9abc0000n, 11_000);
  const r = s.report(11_500)!;
  assert.equal(r.ssrc, 7);
  assert.equal(r.packetsLost, 10);
  assert.equal(r.fractionLost, Math.floor((10 * 256) / 100));
  assert.equal(r.highestSequence, 65500 + 99);
  assert.equal(r.jitter, 0, 'packets arrive exactly on their timestamps');
  assert.equal(r.lsr, 0x56789abc);
  assert.equal(r.dlsr, 65536 / 2); // half a second in 1/65536 s
  // Next interval: nothing lost.
  for (let i = 100; i < 150; i++) {
    s.received(65500 + i, (i * 1800 + (i % 2) * 900) >>> 0, 10_000 + i * 20);
  }
  const r2 = s.report(12_000)!;
  assert.equal(r2.fractionLost, 0);
  assert.equal(r2.packetsLost, 10);
  assert.ok(r2.jitter > 100 && r2.jitter < 900, `jitter ${r2.jitter}`);
});
